//! Finding the target's registrar before the first call: RFC 3263 gives the candidates
//! (`crate::locate`), and where there are several, an OPTIONS to each in turn picks the
//! first that answers at all (RFC 3263 §4.3: the next one when one does not respond).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};

use crate::core::Time;
use crate::core::rtp::{Classifier, Codec};
use crate::driver::{self, LiveAddrs};
use crate::locate::{Candidate, Resolver, Target as LocateTarget, Transport};
use crate::roles::ua::{ReplacesMode, UaConfig, UserAgent};
use crate::roles::{Actor, Transmit};
use crate::runner::AddrAlloc;
use crate::scenario::{ExternalTarget, Registrar, SipScheme, parse_registrar};

/// How long one candidate gets to answer the OPTIONS before the next is tried.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the registrar is, and how it was found (for messages and the console).
#[derive(Debug, Clone)]
pub struct Located {
    pub proxy: SocketAddr,
    /// The registrar as reached: the URI's scheme and host (the name a TLS certificate
    /// must carry, RFC 5922), the port and transport of the server chosen.
    pub registrar: Registrar,
    /// The accounts' domain: the profile's `domain:`, else the registrar URI's host.
    pub domain: String,
    /// "pbx.acme.test → 10.0.0.5:5060 (udp)", and the candidates that did not answer.
    pub how: String,
    /// With an outbound proxy (then `proxy` and `registrar` are where it was found), the
    /// `Route` every request outside a dialog carries toward it (RFC 3261 §8.1.2).
    pub outbound_route: Option<String>,
}

/// Locates the first hop of `t` — its outbound proxy when it has one, else its registrar
/// — (through `t.dns` or the system's resolver) and, when DNS gives several servers, keeps
/// the first that answers an OPTIONS.
pub fn locate(
    t: &ExternalTarget,
    rt: &tokio::runtime::Runtime,
    bind: Option<IpAddr>,
) -> anyhow::Result<Located> {
    let registrar = parse_registrar(&t.registrar)
        .map_err(|e| anyhow!("target `{}`: registrar `{}`: {e}", t.name, t.registrar))?;
    // The accounts' domain comes from the registrar, whoever carries the requests there.
    let domain = t
        .domain
        .clone()
        .unwrap_or_else(|| uri_host(&registrar.host));
    let (hop_uri, what) = match &t.outbound_proxy {
        Some(p) => (p.as_str(), "outbound proxy"),
        None => (t.registrar.as_str(), "registrar"),
    };
    let hop = parse_registrar(hop_uri)
        .map_err(|e| anyhow!("target `{}`: {what} `{hop_uri}`: {e}", t.name))?;
    let mut located = locate_hop(t, rt, bind, hop_uri, &hop, &domain)?;
    if t.outbound_proxy.is_some() {
        located.outbound_route = Some(loose_route(hop_uri));
        located.how = format!("outbound proxy {}", located.how);
    }
    Ok(located)
}

/// `<URI;lr>`: a Route to a loose router (RFC 3261 §16.12.1.1), as an outbound proxy is.
fn loose_route(uri: &str) -> String {
    let has_lr = crate::core::sip::SipUri::parse(uri)
        .is_ok_and(|u| u.params.iter().any(|(k, _)| k.eq_ignore_ascii_case("lr")));
    if has_lr {
        format!("<{uri}>")
    } else {
        format!("<{uri};lr>")
    }
}

/// [`locate`] for one server URI (`registrar`, already parsed from `uri`).
fn locate_hop(
    t: &ExternalTarget,
    rt: &tokio::runtime::Runtime,
    bind: Option<IpAddr>,
    uri: &str,
    registrar: &Registrar,
    domain: &str,
) -> anyhow::Result<Located> {
    // Whether `transport=` was written: without it RFC 3263 asks NAPTR which to use.
    let explicit = crate::core::sip::SipUri::parse(uri).is_ok_and(|u| {
        u.params
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("transport"))
    });
    let target = LocateTarget {
        scheme_sips: registrar.scheme == SipScheme::Sips,
        host: &registrar.host,
        port: registrar.port,
        transport: explicit.then_some(registrar.transport),
    };
    let resolver = match t.dns {
        Some(server) => Resolver::with_server(server),
        None => Resolver::system(),
    }
    .map_err(|e| anyhow!("target `{}`: {e}", t.name))?;
    let candidates = rt
        .block_on(resolver.locate(&target))
        .map_err(|e| anyhow!("target `{}`: {e}", t.name))?;
    let describe = |c: &Candidate| {
        let t = transport_word(c.transport);
        if c.target == c.addr.ip().to_string() {
            format!("{} ({t})", c.addr)
        } else {
            format!("{} → {} ({t})", c.target, c.addr)
        }
    };
    let located = |c: &Candidate, how: String| Located {
        proxy: c.addr,
        registrar: Registrar {
            scheme: registrar.scheme,
            host: registrar.host.clone(),
            port: Some(c.addr.port()),
            transport: c.transport,
        },
        domain: domain.to_string(),
        how,
        outbound_route: None,
    };
    if candidates.len() == 1 {
        return Ok(located(&candidates[0], describe(&candidates[0])));
    }
    let tls = crate::roles::TlsClientOptions {
        ca_file: t.tls.ca_file.clone(),
        insecure: t.tls.insecure,
    };
    let mut silent = Vec::new();
    for c in &candidates {
        if answers(rt, c, registrar, domain, &tls, bind)? {
            let how = if silent.is_empty() {
                describe(c)
            } else {
                format!("{} after no answer from {}", describe(c), silent.join(", "))
            };
            return Ok(located(c, how));
        }
        silent.push(format!("{} ({})", c.addr, transport_word(c.transport)));
    }
    // None answered: run against the first, whose silence the scenario then reports.
    let how = format!(
        "{} (no candidate answered OPTIONS: {})",
        describe(&candidates[0]),
        silent.join(", ")
    );
    Ok(located(&candidates[0], how))
}

/// A host as a URI carries it: IPv6 literals in brackets (RFC 3261 §19.1.1).
pub fn uri_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn transport_word(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
    }
}

/// Whether anything answers an OPTIONS at candidate `c` within [`PING_TIMEOUT`], over its
/// transport (any status: a 403 or 405 is an answer too).
fn answers(
    rt: &tokio::runtime::Runtime,
    c: &Candidate,
    registrar: &Registrar,
    domain: &str,
    tls: &crate::roles::TlsClientOptions,
    bind: Option<IpAddr>,
) -> anyhow::Result<bool> {
    let addr = c.addr;
    let ip = match bind {
        Some(ip) => ip,
        None => super::run::route_toward(addr).with_context(|| format!("no route to {addr}"))?,
    };
    let mut addrs = LiveAddrs::new(ip);
    let cfg = UaConfig {
        name: "ping".into(),
        username: "flipcheck".into(),
        password: String::new(),
        domain: domain.to_string(),
        proxy: addr,
        sip_addr: addrs.alloc()?,
        rtp_addr: addrs.alloc()?,
        codecs: vec![Codec::Pcmu],
        signature: 0,
        replaces: ReplacesMode::Accept,
        auto_answer: false,
        seed: super::run::random_seed(),
        transport: c.transport,
        sips: registrar.scheme == SipScheme::Sips,
        options: Default::default(),
    };
    let mut ping = Ping {
        ua: UserAgent::new(cfg, Arc::new(Classifier::new())),
        started: false,
        deadline: Time::ZERO + PING_TIMEOUT,
        over: false,
        tls: crate::roles::TlsClient {
            options: tls.clone(),
            names: vec![(addr, registrar.host.clone())],
        },
    };
    rt.block_on(driver::run(
        &mut ping,
        addrs.sockets,
        PING_TIMEOUT + Duration::from_secs(1),
    ))?;
    Ok(matches!(ping.ua.options_answer(), Some(Ok(_))))
}

/// One OPTIONS, as an actor.
struct Ping {
    ua: UserAgent,
    started: bool,
    deadline: Time,
    over: bool,
    tls: crate::roles::TlsClient,
}

impl Actor for Ping {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        self.ua.handle_datagram(now, local, from, data);
    }
    fn handle_timeout(&mut self, now: Time) {
        if !self.started {
            self.started = true;
            self.ua.options(now);
        }
        if self.ua.poll_timeout() <= now {
            self.ua.handle_timeout(now);
        }
        self.over |= now >= self.deadline;
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ua.poll_transmit()
    }
    fn poll_timeout(&self) -> Time {
        if !self.started {
            return Time::ZERO;
        }
        self.ua.poll_timeout().min(self.deadline)
    }
    fn addresses(&self) -> Vec<SocketAddr> {
        self.ua.addresses().to_vec()
    }
    fn is_done(&self) -> bool {
        self.over || self.ua.options_answer().is_some()
    }
    fn tls_client(&self) -> crate::roles::TlsClient {
        self.tls.clone()
    }
}
