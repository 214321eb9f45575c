//! Locating a SIP server as RFC 3263 §4 says: from what a `sip:`/`sips:` URI names to an
//! ordered list of (address, port, transport) to try, the first first and the next on
//! failure (§4.3).
//!
//! - A numeric host is the address: its port, or 5060 (5061 for TLS); transport from the
//!   URI, else UDP for `sip:` and TLS for `sips:`. No DNS.
//! - A name with a port: A/AAAA of the name only (§4.2).
//! - A name with `transport=` but no port: SRV for that transport only (§4.2).
//! - A name with neither: NAPTR (§4.1) for `SIP+D2U`, `SIP+D2T`, `SIPS+D2T` (only
//!   `SIPS+D2T` for `sips:`), following each record's SRV name; with no usable NAPTR, SRV
//!   for `_sips._tcp`, `_sip._tcp`, `_sip._udp` (only `_sips._tcp` for `sips:`).
//! - SRV sets are ordered by priority, then by weight, heaviest first: deterministic, not
//!   RFC 2782's weighted random pick, so that two runs try the same servers in the same
//!   order. Every target is expanded to its A, then AAAA, addresses; with no SRV at all,
//!   the A/AAAA records of the name itself on the transport's default port.
//! - Candidates of every transport the server offers are kept, in the server's (NAPTR)
//!   or our (TLS, TCP, UDP) order: RFC 3263 §4.1 picks the first transport, and the
//!   others are later failover.

mod dns;
mod error;
mod order;

use std::net::SocketAddr;

/// The transports we can locate: the `transport=` vocabulary of a target's registrar.
pub use crate::scenario::Transport;
pub use error::LocateError;

/// What the URI says, before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// `sips:` rather than `sip:`: TLS only (RFC 3261 §26.2.2).
    pub scheme_sips: bool,
    /// A DNS name, or an IPv4/IPv6 literal (with or without brackets).
    pub host: &'a str,
    /// The URI's explicit port: skips NAPTR and SRV (RFC 3263 §4.2).
    pub port: Option<u16>,
    /// The URI's `transport=` parameter: skips NAPTR (RFC 3263 §4.1).
    pub transport: Option<Transport>,
}

/// One place to send a request to, in failover order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub addr: SocketAddr,
    pub transport: Transport,
    /// The name for TLS SNI and the certificate check: the URI's host, never an SRV target
    /// or NAPTR replacement. Those come from unsigned DNS, so a spoofed answer could name
    /// any host it holds a certificate for; RFC 5922 §4 has the client check the domain
    /// it was asked to reach (RFC 6125 §6.2.1: the source domain, not a derived one).
    /// For an IP literal this is the literal, which SNI cannot carry (RFC 6066 §3).
    pub host: String,
    /// The name this address was found under: the SRV target, or the URI's host. For
    /// people (logs, reports), not for TLS.
    pub target: String,
}

/// Locates SIP servers through one DNS configuration. Built once per run; it remembers
/// answers only for its own lifetime (within their TTLs), so nothing carries over from one
/// run to the next. Use it within one tokio runtime: its sockets live there.
#[derive(Clone)]
pub struct Resolver {
    dns: dns::Dns,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("servers", &self.dns.servers())
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// The system's resolver configuration: the name servers of `/etc/resolv.conf`, and
    /// `/etc/hosts` for A/AAAA as the C library would.
    pub fn system() -> Result<Resolver, LocateError> {
        Ok(Resolver {
            dns: dns::Dns::system()?,
        })
    }

    /// One DNS server, asked over UDP and (for long answers) TCP at `addr`: a lab's own
    /// server, as a target file's `dns: ADDR:PORT` names it. `/etc/hosts` is not read.
    pub fn with_server(addr: SocketAddr) -> Result<Resolver, LocateError> {
        Ok(Resolver {
            dns: dns::Dns::with_server(addr)?,
        })
    }

    /// "DNS server 127.0.0.53:53" or "DNS servers a:53, b:53": who is asked.
    pub fn servers(&self) -> &str {
        self.dns.servers()
    }

    /// The servers to try for `target`, in order: try the first, and on failure (a
    /// transport error, a timeout without any response, or a 503; RFC 3263 §4.3) the
    /// next. Never empty when `Ok`. Every query is bounded ([`QUERY_TIMEOUT`]) and so is
    /// the whole ([`LOCATE_TIMEOUT`]), so this cannot hang.
    pub async fn locate(&self, target: &Target<'_>) -> Result<Vec<Candidate>, LocateError> {
        let plan = order::plan(target)?;
        let host = order::bare_host(target.host);
        let located = locate_name(&self.dns, host, plan);
        match tokio::time::timeout(LOCATE_TIMEOUT, located).await {
            Ok(result) => result,
            Err(_) => Err(LocateError::TooSlow {
                host: host.to_string(),
                server: self.dns.servers().to_string(),
                after: LOCATE_TIMEOUT,
            }),
        }
    }
}

/// How long one query may take, retries included. Loopback and LAN servers answer in
/// milliseconds and public ones in tens of them; 2 s tolerates one lost datagram
/// (retried after 1 s) and still reports a dead server before a person wonders.
pub const QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long all queries of one `locate` may take: a net under the per-query bounds. The
/// longest chain is three steps (NAPTR, SRV, A/AAAA; each step's queries run side by side),
/// each within [`QUERY_TIMEOUT`], and a query that gets no answer ends the lookup unless
/// another query of its step found records; so this is reached only when every step is
/// slow and still answers.
pub const LOCATE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6);

/// RFC 3263 §4: a literal as it is, a name through §4.1–4.2.
async fn locate_name(
    dns: &dns::Dns,
    host: &str,
    plan: order::Plan,
) -> Result<Vec<Candidate>, LocateError> {
    match plan {
        order::Plan::Literal(ip, port, transport) => Ok(vec![Candidate {
            addr: SocketAddr::new(ip, port),
            transport,
            host: ip.to_string(),
            target: ip.to_string(),
        }]),
        order::Plan::Addresses { port, transport } => {
            let addrs = dns.addresses(host).await?;
            if addrs.is_empty() {
                return Err(LocateError::NotFound {
                    host: host.to_string(),
                    asked: "A/AAAA".into(),
                });
            }
            Ok(candidates_at(host, host, &addrs, port, transport))
        }
        order::Plan::Srv(transport) => {
            let services = vec![order::Service {
                transport,
                srv: order::srv_name(transport, host),
            }];
            via_srv(dns, host, &services, transport, "").await
        }
        order::Plan::Naptr { sips } => {
            // A server that answers NAPTR with an error (dnsmasq REFUSEs types it does
            // not hold and has no upstream for) has still answered: RFC 3263 §4.1 goes
            // on to SRV when NAPTR gives nothing usable. Silence stays fatal, since SRV
            // would only wait as long again on the same server.
            let (records, refused) = match dns.naptr(host).await {
                Ok(records) => (records, None),
                Err(LocateError::DnsFailed { reason, .. }) => {
                    tracing::debug!(host, %reason, "NAPTR failed; trying SRV");
                    (Vec::new(), Some(reason))
                }
                Err(e) => return Err(e),
            };
            let services = order::naptr_services(&records, sips);
            match services.first() {
                // §4.1: the transport the server prefers, also for a missing SRV set.
                Some(first) => via_srv(dns, host, &services, first.transport, "").await,
                None => {
                    let services = order::default_services(sips, host);
                    let asked = match (&refused, records.is_empty()) {
                        (Some(reason), _) => format!("NAPTR (the query failed: {reason}), "),
                        (None, true) => "NAPTR, ".to_string(),
                        (None, false) => {
                            "usable NAPTR (none for SIP over UDP, TCP or TLS), ".to_string()
                        }
                    };
                    via_srv(dns, host, &services, order::scheme_default(sips), &asked).await
                }
            }
        }
    }
}

/// SRV for each service (side by side), then the addresses of every target, in the
/// services' order; with no SRV records at all, the A/AAAA of `host` on the default port
/// of `fallback` (RFC 3263 §4.2). `asked_before` starts the "no … records" message.
async fn via_srv(
    dns: &dns::Dns,
    host: &str,
    services: &[order::Service],
    fallback: Transport,
    asked_before: &str,
) -> Result<Vec<Candidate>, LocateError> {
    let names: Vec<String> = services.iter().map(|s| s.srv.clone()).collect();
    let sets = dns.srv_all(&names).await?;
    let mut chosen: Vec<(Transport, order::Srv)> = Vec::new();
    let mut declined: Vec<&str> = Vec::new();
    for (service, set) in services.iter().zip(sets) {
        if order::declines(&set) {
            declined.push(&service.srv);
        }
        chosen.extend(
            order::order_srv(set)
                .into_iter()
                .map(|srv| (service.transport, srv)),
        );
    }
    if chosen.is_empty() {
        if !declined.is_empty() {
            return Err(LocateError::Declined {
                host: host.to_string(),
                names: declined.join(", "),
            });
        }
        let addrs = dns.addresses(host).await?;
        if addrs.is_empty() {
            return Err(LocateError::NotFound {
                host: host.to_string(),
                asked: format!("{asked_before}SRV ({}) or A/AAAA", names.join(", ")),
            });
        }
        return Ok(candidates_at(
            host,
            host,
            &addrs,
            order::default_port(fallback),
            fallback,
        ));
    }
    let mut targets: Vec<String> = Vec::new();
    for (_, srv) in &chosen {
        if !targets.contains(&srv.target) {
            targets.push(srv.target.clone());
        }
    }
    let resolved = dns.addresses_all(&targets).await?;
    let mut out: Vec<Candidate> = Vec::new();
    for (transport, srv) in &chosen {
        let Some(i) = targets.iter().position(|t| *t == srv.target) else {
            continue;
        };
        for c in candidates_at(host, &srv.target, &resolved[i], srv.port, *transport) {
            if !out
                .iter()
                .any(|o| o.addr == c.addr && o.transport == c.transport)
            {
                out.push(c);
            }
        }
    }
    if out.is_empty() {
        return Err(LocateError::NoAddresses {
            host: host.to_string(),
            targets: targets.join(", "),
        });
    }
    Ok(out)
}

fn candidates_at(
    host: &str,
    target: &str,
    addrs: &[std::net::IpAddr],
    port: u16,
    transport: Transport,
) -> Vec<Candidate> {
    addrs
        .iter()
        .map(|&ip| Candidate {
            addr: SocketAddr::new(ip, port),
            transport,
            host: host.to_string(),
            target: target.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_config_builds_or_says_why() {
        // Reads /etc/resolv.conf; sends nothing.
        match Resolver::system() {
            Ok(r) => assert!(r.servers().starts_with("DNS server"), "{r:?}"),
            Err(e) => assert!(e.to_string().contains("/etc/resolv.conf"), "{e}"),
        }
    }

    #[tokio::test]
    async fn literals_are_returned_without_dns() {
        // Port 9 (discard) on loopback: any query would go unanswered.
        let r = Resolver::with_server("127.0.0.1:9".parse().unwrap()).unwrap();
        let target = Target {
            scheme_sips: false,
            host: "2001:db8::5",
            port: None,
            transport: None,
        };
        let got = r.locate(&target).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].addr, "[2001:db8::5]:5060".parse().unwrap());
        assert_eq!(got[0].transport, Transport::Udp);
    }
}
