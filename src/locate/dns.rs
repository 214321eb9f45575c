//! The queries: hickory-resolver asked for one record type at a time, each query bounded,
//! its failures turned into a [`LocateError`] that names the server asked.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use tokio::task::JoinSet;

use super::order::{Naptr, Srv, order_addrs};
use super::{LocateError, QUERY_TIMEOUT};

/// hickory's own timeout for one try; with one retry the two fit in [`QUERY_TIMEOUT`],
/// which our own timer enforces whatever hickory does.
const TRY_TIMEOUT: Duration = Duration::from_secs(1);

/// A configured resolver and the words for who it asks.
#[derive(Clone)]
pub(crate) struct Dns {
    resolver: TokioResolver,
    servers: Arc<str>,
}

impl Dns {
    pub(crate) fn system() -> Result<Dns, LocateError> {
        let (config, opts) = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| LocateError::SystemConfig(e.to_string()))?;
        Dns::build(config, opts, ResolveHosts::Auto).map_err(LocateError::SystemConfig)
    }

    pub(crate) fn with_server(addr: SocketAddr) -> Result<Dns, LocateError> {
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = addr.port();
        let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_name_servers(vec![server]);
        // A lab's own server is the whole truth: /etc/hosts would mix in this machine's names.
        Dns::build(config, ResolverOpts::default(), ResolveHosts::Never).map_err(|reason| {
            LocateError::DnsFailed {
                server: format!("DNS server {addr}"),
                query: "the resolver's setup".into(),
                reason,
            }
        })
    }

    fn build(
        config: ResolverConfig,
        mut opts: ResolverOpts,
        hosts: ResolveHosts,
    ) -> Result<Dns, String> {
        let servers = describe_servers(config.name_servers());
        opts.timeout = TRY_TIMEOUT;
        opts.attempts = 1;
        opts.use_hosts_file = hosts;
        // The configured order, as the C library tries resolv.conf: hickory's default
        // reorders by past latency, which would make two runs ask different servers.
        opts.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Dns {
            resolver,
            servers: servers.into(),
        })
    }

    pub(crate) fn servers(&self) -> &str {
        &self.servers
    }

    /// The answers of one type for `name`, empty for NXDOMAIN or no data. Names are
    /// queried as fully qualified: RFC 3263 resolves the URI's domain as written, and a
    /// search list would turn each miss into one query per search domain and could find
    /// a server of another domain than the one the certificate is checked against.
    async fn query(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, LocateError> {
        let what = format!("{rtype} {name}");
        let fqdn = Name::from_ascii(format!("{name}.")).map_err(|e| LocateError::BadName {
            host: name.to_string(),
            reason: e.to_string(),
        })?;
        let answer = tokio::time::timeout(QUERY_TIMEOUT, self.resolver.lookup(fqdn, rtype)).await;
        let result = match answer {
            Ok(Ok(lookup)) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect()),
            Ok(Err(e)) if e.is_no_records_found() => Ok(Vec::new()),
            Ok(Err(e)) if is_timeout(&e) => Err(self.no_answer(what.clone())),
            Err(_) => Err(self.no_answer(what.clone())),
            Ok(Err(e)) => Err(LocateError::DnsFailed {
                server: self.servers.to_string(),
                query: what.clone(),
                reason: describe_error(&e),
            }),
        };
        match &result {
            Ok(records) => tracing::debug!(query = %what, answers = records.len(), "DNS"),
            Err(e) => tracing::debug!(query = %what, error = %e, "DNS"),
        }
        result
    }

    fn no_answer(&self, query: String) -> LocateError {
        LocateError::NoAnswer {
            server: self.servers.to_string(),
            query,
            after: QUERY_TIMEOUT,
        }
    }

    pub(crate) async fn naptr(&self, domain: &str) -> Result<Vec<Naptr>, LocateError> {
        let records = self.query(domain, RecordType::NAPTR).await?;
        Ok(records
            .into_iter()
            .filter_map(|data| match data {
                RData::NAPTR(n) => Some(Naptr {
                    order: n.order,
                    preference: n.preference,
                    flags: String::from_utf8_lossy(&n.flags).into_owned(),
                    services: String::from_utf8_lossy(&n.services).into_owned(),
                    replacement: name_str(&n.replacement),
                }),
                _ => None,
            })
            .collect())
    }

    async fn srv(&self, name: &str) -> Result<Vec<Srv>, LocateError> {
        let records = self.query(name, RecordType::SRV).await?;
        Ok(records
            .into_iter()
            .filter_map(|data| match data {
                RData::SRV(s) => Some(Srv {
                    priority: s.priority,
                    weight: s.weight,
                    port: s.port,
                    target: name_str(&s.target),
                }),
                _ => None,
            })
            .collect())
    }

    /// The SRV sets of `names`, queried side by side, in the order of `names`.
    pub(crate) async fn srv_all(&self, names: &[String]) -> Result<Vec<Vec<Srv>>, LocateError> {
        settle(
            self.side_by_side(names, |dns, name| async move { dns.srv(&name).await })
                .await,
        )
    }

    /// A and AAAA of `name`, side by side, IPv4 first ([`order_addrs`]).
    pub(crate) async fn addresses(&self, name: &str) -> Result<Vec<IpAddr>, LocateError> {
        let (v4, v6) = tokio::join!(
            self.query(name, RecordType::A),
            self.query(name, RecordType::AAAA)
        );
        let families = settle(vec![v4, v6])?;
        let v4: Vec<Ipv4Addr> = families
            .first()
            .into_iter()
            .flatten()
            .filter_map(|d| match d {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect();
        let v6: Vec<Ipv6Addr> = families
            .get(1)
            .into_iter()
            .flatten()
            .filter_map(|d| match d {
                RData::AAAA(a) => Some(a.0),
                _ => None,
            })
            .collect();
        Ok(order_addrs(&v4, &v6))
    }

    /// The addresses of each of `names`, side by side, in the order of `names`.
    pub(crate) async fn addresses_all(
        &self,
        names: &[String],
    ) -> Result<Vec<Vec<IpAddr>>, LocateError> {
        settle(
            self.side_by_side(names, |dns, name| async move { dns.addresses(&name).await })
                .await,
        )
    }

    /// Runs `lookup` for every name at once and returns the results in the names' order.
    /// The tasks end with the returned future: dropping it (the total bound) aborts them.
    async fn side_by_side<T, F, Fut>(
        &self,
        names: &[String],
        lookup: F,
    ) -> Vec<Result<T, LocateError>>
    where
        F: Fn(Dns, String) -> Fut,
        Fut: Future<Output = Result<T, LocateError>> + Send + 'static,
        T: Send + 'static,
    {
        let mut tasks = JoinSet::new();
        for (i, name) in names.iter().enumerate() {
            let query = lookup(self.clone(), name.clone());
            tasks.spawn(async move { (i, query.await) });
        }
        let mut slots: Vec<Option<Result<T, LocateError>>> =
            std::iter::repeat_with(|| None).take(names.len()).collect();
        while let Some(joined) = tasks.join_next().await {
            // A task only fails to join if it panicked; its slot stays empty.
            if let Ok((i, result)) = joined
                && let Some(slot) = slots.get_mut(i)
            {
                *slot = Some(result);
            }
        }
        slots
            .into_iter()
            .zip(names)
            .map(|(slot, name)| {
                slot.unwrap_or_else(|| {
                    Err(LocateError::DnsFailed {
                        server: self.servers.to_string(),
                        query: name.clone(),
                        reason: "the lookup ended without a result".into(),
                    })
                })
            })
            .collect()
    }
}

/// Queries of one step (the SRV sets, the two address families, the SRV targets) stand
/// or fall together: a failure is reported unless another query of the step found
/// records, since a candidate list is only an order to try and a partial one still
/// leads somewhere. (A middlebox that drops AAAA queries must not hide the A records.)
fn settle<T>(results: Vec<Result<Vec<T>, LocateError>>) -> Result<Vec<Vec<T>>, LocateError> {
    let found = results.iter().any(|r| matches!(r, Ok(v) if !v.is_empty()));
    results
        .into_iter()
        .map(|r| match r {
            Err(e) if found => {
                tracing::warn!("{e}; going on with the other answers");
                Ok(Vec::new())
            }
            r => r,
        })
        .collect()
}

fn is_timeout(e: &NetError) -> bool {
    match e {
        NetError::Timeout => true,
        NetError::Io(io) => io.kind() == std::io::ErrorKind::TimedOut,
        _ => false,
    }
}

fn describe_error(e: &NetError) -> String {
    match e {
        NetError::Dns(DnsError::ResponseCode(code)) => {
            format!("it answered {code} (RCODE {})", u16::from(*code))
        }
        other => other.to_string(),
    }
}

/// A name as text without the root dot; the root itself is "".
fn name_str(name: &Name) -> String {
    let s = name.to_ascii();
    s.strip_suffix('.').unwrap_or(&s).to_string()
}

/// "DNS server 127.0.0.53:53", or "DNS servers a:53, b:53" for several.
fn describe_servers(servers: &[NameServerConfig]) -> String {
    let mut addrs: Vec<String> = Vec::new();
    for s in servers {
        let port = s.connections.first().map_or(53, |c| c.port);
        let addr = SocketAddr::new(s.ip, port).to_string();
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    match addrs.as_slice() {
        [] => "no DNS server".into(),
        [one] => format!("DNS server {one}"),
        many => format!("DNS servers {}", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_stands_unless_the_step_found_something() {
        let fail = || LocateError::NotFound {
            host: "h".into(),
            asked: "x".into(),
        };
        let got = settle(vec![Ok(vec![1]), Err(fail())]).unwrap();
        assert_eq!(got, [vec![1], vec![]]);
        assert_eq!(settle(vec![Ok(Vec::<u8>::new()), Err(fail())]), Err(fail()));
        assert_eq!(settle::<u8>(vec![Ok(vec![]), Ok(vec![])]).unwrap().len(), 2);
    }

    #[test]
    fn names_lose_the_root_dot() {
        assert_eq!(name_str(&Name::root()), "");
        let n = Name::from_ascii("_sip._udp.acme.test.").unwrap();
        assert_eq!(name_str(&n), "_sip._udp.acme.test");
    }

    #[test]
    fn servers_are_named_with_their_port() {
        let one = [NameServerConfig::udp_and_tcp("127.0.0.53".parse().unwrap())];
        assert_eq!(describe_servers(&one), "DNS server 127.0.0.53:53");
        let mut v6 = NameServerConfig::udp_and_tcp("::1".parse().unwrap());
        v6.connections[0].port = 5353;
        let two = [one[0].clone(), v6];
        assert_eq!(
            describe_servers(&two),
            "DNS servers 127.0.0.53:53, [::1]:5353"
        );
    }

    #[test]
    fn with_server_builds_without_a_runtime() {
        let dns = Dns::with_server("127.0.0.1:5353".parse().unwrap()).unwrap();
        assert_eq!(dns.servers(), "DNS server 127.0.0.1:5353");
    }
}
