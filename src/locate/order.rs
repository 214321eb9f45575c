//! The pure half of RFC 3263 §4: what to ask DNS for, given what the URI says, and in
//! which order to try what DNS answered. No I/O here, so each ordering rule has a unit
//! test beside it; `super` does the queries.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{LocateError, Target, Transport};

/// The port of a transport when neither the URI nor an SRV record gives one
/// (RFC 3261 §19.1.2, RFC 3263 §4.2).
pub(crate) fn default_port(transport: Transport) -> u16 {
    match transport {
        Transport::Tls => 5061,
        Transport::Udp | Transport::Tcp => 5060,
    }
}

/// Our preference when the server states none: RFC 3263 §4.1 lists the SRV queries of a
/// client without NAPTR as `_sips._tcp`, `_sip._tcp`, `_sip._udp`, and we keep that order
/// (TLS first because a `sip:` client that supports TLS should use it, §4.1). Also breaks
/// ties between NAPTR records of equal order and preference.
fn transport_rank(transport: Transport) -> u8 {
    match transport {
        Transport::Tls => 0,
        Transport::Tcp => 1,
        Transport::Udp => 2,
    }
}

/// The SRV name for a transport (RFC 3263 §4.1, §4.2): TLS is always `_sips._tcp`, also for
/// a `sip:` URI whose client chose TLS (§4.2).
pub(crate) fn srv_name(transport: Transport, domain: &str) -> String {
    match transport {
        Transport::Tls => format!("_sips._tcp.{domain}"),
        Transport::Tcp => format!("_sip._tcp.{domain}"),
        Transport::Udp => format!("_sip._udp.{domain}"),
    }
}

/// What RFC 3263 §4 makes of a URI before any query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// §4: a numeric host is the address; no DNS at all.
    Literal(IpAddr, u16, Transport),
    /// §4.2: a name with a port: A/AAAA only, on that port.
    Addresses { port: u16, transport: Transport },
    /// §4.2: `transport=` without a port: SRV for that transport only, then A/AAAA of the
    /// name on the transport's default port.
    Srv(Transport),
    /// §4.1: neither: NAPTR, else SRV for each transport we support, else A/AAAA.
    Naptr { sips: bool },
}

/// The transport the URI names, with `sips:` folded in: `sips:…;transport=tcp` means TLS
/// over TCP (RFC 5630 §3.1.3), and `sips:` over UDP does not exist (RFC 3261 §26.2.2).
fn uri_transport(target: &Target<'_>) -> Result<Option<Transport>, LocateError> {
    match (target.scheme_sips, target.transport) {
        (true, Some(Transport::Udp)) => Err(LocateError::SipsOverUdp {
            host: target.host.to_string(),
        }),
        (true, Some(_)) => Ok(Some(Transport::Tls)),
        (_, t) => Ok(t),
    }
}

/// The transport when the URI gives none and DNS does not choose one: UDP for `sip:`, TLS
/// for `sips:` (RFC 3263 §4.1, last paragraphs).
pub(crate) fn scheme_default(sips: bool) -> Transport {
    if sips { Transport::Tls } else { Transport::Udp }
}

/// The host without IPv6 brackets or a final root dot; `None` when empty.
pub(crate) fn bare_host(host: &str) -> &str {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host)
}

pub(crate) fn plan(target: &Target<'_>) -> Result<Plan, LocateError> {
    let transport = uri_transport(target)?;
    let host = bare_host(target.host);
    if host.is_empty() {
        return Err(LocateError::BadName {
            host: target.host.to_string(),
            reason: "the host is empty".into(),
        });
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        let t = transport.unwrap_or(scheme_default(target.scheme_sips));
        return Ok(Plan::Literal(ip, target.port.unwrap_or(default_port(t)), t));
    }
    Ok(match (target.port, transport) {
        (Some(port), t) => Plan::Addresses {
            port,
            transport: t.unwrap_or(scheme_default(target.scheme_sips)),
        },
        (None, Some(t)) => Plan::Srv(t),
        (None, None) => Plan::Naptr {
            sips: target.scheme_sips,
        },
    })
}

/// One NAPTR record, reduced to what RFC 3263 §4.1 reads; names without the root dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Naptr {
    pub order: u16,
    pub preference: u16,
    pub flags: String,
    pub services: String,
    /// Empty for the root name, which a regexp rewrite uses and SIP does not.
    pub replacement: String,
}

/// A transport offered by the server and the SRV name to look up for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Service {
    pub transport: Transport,
    pub srv: String,
}

/// The transports a NAPTR service field names that we support. RFC 3263 §4.1 spells them
/// `SIP+D2U`, `SIP+D2T` and `SIPS+D2T`; RFC 3403 §4.1 lets one field list several
/// resolution services (`SIP+D2U+D2T`), so each is read. SCTP (`D2S`) and WebSocket
/// (`D2W`) are not ours; `SIPS+D2U` would be DTLS, which SIP does not define.
fn naptr_transports(services: &str, sips_only: bool) -> Vec<Transport> {
    let mut parts = services.split('+');
    let secure = match parts.next() {
        Some(p) if p.eq_ignore_ascii_case("SIPS") => true,
        Some(p) if p.eq_ignore_ascii_case("SIP") => false,
        _ => return Vec::new(),
    };
    // §4.1: a client resolving a SIPS URI MUST discard services that are not SIPS.
    if sips_only && !secure {
        return Vec::new();
    }
    parts
        .filter_map(|rs| match (secure, rs.to_ascii_uppercase().as_str()) {
            (true, "D2T") => Some(Transport::Tls),
            (false, "D2T") => Some(Transport::Tcp),
            (false, "D2U") => Some(Transport::Udp),
            _ => None,
        })
        .collect()
}

/// The usable services of a NAPTR set, most preferred first (RFC 3263 §4.1, RFC 3403 §4.1):
/// by order, then preference, then our transport preference for ties. Records of a higher
/// order, which RFC 3403 considers only when the lower ones fail, are kept after them as
/// later failover. Only the `S` flag (the replacement is an SRV name, §4.1) is followed;
/// other flags and regexp rewrites are not used by SIP and are skipped.
pub(crate) fn naptr_services(records: &[Naptr], sips: bool) -> Vec<Service> {
    let mut found: Vec<(u16, u16, Service)> = Vec::new();
    for r in records {
        if !r.flags.eq_ignore_ascii_case("s") || r.replacement.is_empty() {
            continue;
        }
        for transport in naptr_transports(&r.services, sips) {
            found.push((
                r.order,
                r.preference,
                Service {
                    transport,
                    srv: r.replacement.clone(),
                },
            ));
        }
    }
    found.sort_by_key(|(order, pref, s)| (*order, *pref, transport_rank(s.transport)));
    let mut out: Vec<Service> = Vec::new();
    for (_, _, s) in found {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The SRV queries of a client that found no usable NAPTR record (RFC 3263 §4.1): every
/// transport we support, `_sips` only for a `sips:` URI.
pub(crate) fn default_services(sips: bool, domain: &str) -> Vec<Service> {
    let transports: &[Transport] = if sips {
        &[Transport::Tls]
    } else {
        &[Transport::Tls, Transport::Tcp, Transport::Udp]
    };
    transports
        .iter()
        .map(|&transport| Service {
            transport,
            srv: srv_name(transport, domain),
        })
        .collect()
}

/// One SRV record; `target` without the root dot, empty for `.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// Whether an SRV set says the service is "decidedly not available" (RFC 2782: target `.`).
pub(crate) fn declines(set: &[Srv]) -> bool {
    !set.is_empty() && set.iter().all(|s| s.target.is_empty())
}

/// The order to try an SRV set (RFC 2782): lowest priority first. Within a priority,
/// RFC 2782 picks at random in proportion to weight, which spreads the load of many
/// clients. flipcheck is one client testing one system, and a run must be repeatable (the
/// same target file tries the same servers in the same order, so a failover a report shows
/// can be reproduced), so we order by weight, heaviest first — the most likely random
/// pick comes first — and break ties by target and port. Weight 0 sorts last, as RFC 2782
/// gives it a very small chance when others have weight. Records with target `.` or
/// port 0 cannot be contacted and are dropped.
pub(crate) fn order_srv(mut set: Vec<Srv>) -> Vec<Srv> {
    set.retain(|s| !s.target.is_empty() && s.port != 0);
    set.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.weight.cmp(&a.weight))
            .then_with(|| a.target.cmp(&b.target))
            .then(a.port.cmp(&b.port))
    });
    set.dedup();
    set
}

/// The addresses of one name in the order to try them: IPv4 first, then IPv6, each in the
/// order DNS gave (the server's round robin). IPv4 first, not RFC 6724's IPv6 preference,
/// because flipcheck's live driver binds IPv4 sockets by default, and a lab PBX that
/// publishes AAAA is often not reachable over IPv6 from the test host; without a
/// Happy-Eyeballs race (RFC 8305) trying IPv4 first gives the predictable answer. IPv6
/// is still tried, and is all there is when the name has only AAAA records.
pub(crate) fn order_addrs(v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::with_capacity(v4.len() + v6.len());
    for ip in v4
        .iter()
        .map(|&a| IpAddr::V4(a))
        .chain(v6.iter().map(|&a| IpAddr::V6(a)))
    {
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(sips: bool, host: &str, port: Option<u16>, t: Option<Transport>) -> Target<'_> {
        Target {
            scheme_sips: sips,
            host,
            port,
            transport: t,
        }
    }

    fn naptr(order: u16, pref: u16, flags: &str, services: &str, repl: &str) -> Naptr {
        Naptr {
            order,
            preference: pref,
            flags: flags.into(),
            services: services.into(),
            replacement: repl.into(),
        }
    }

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    #[test]
    fn plans_follow_rfc_3263_section_4() {
        use Transport::*;
        let p = |t: Target<'_>| plan(&t).unwrap();
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            p(target(false, "10.1.2.3", None, None)),
            Plan::Literal(v4, 5060, Udp)
        );
        assert_eq!(
            p(target(true, "10.1.2.3", None, None)),
            Plan::Literal(v4, 5061, Tls)
        );
        assert_eq!(
            p(target(false, "[2001:db8::1]", Some(5080), Some(Tcp))),
            Plan::Literal(v6, 5080, Tcp)
        );
        assert_eq!(
            p(target(false, "10.1.2.3", None, Some(Tls))),
            Plan::Literal(v4, 5061, Tls)
        );
        assert_eq!(
            p(target(false, "pbx.acme.test", Some(5070), None)),
            Plan::Addresses {
                port: 5070,
                transport: Udp
            }
        );
        assert_eq!(
            p(target(true, "acme.test", Some(5071), None)),
            Plan::Addresses {
                port: 5071,
                transport: Tls
            }
        );
        assert_eq!(
            p(target(false, "acme.test", None, Some(Tcp))),
            Plan::Srv(Tcp)
        );
        assert_eq!(
            p(target(true, "acme.test", None, Some(Tcp))),
            Plan::Srv(Tls)
        );
        assert_eq!(
            p(target(true, "acme.test.", None, None)),
            Plan::Naptr { sips: true }
        );
        assert!(matches!(
            plan(&target(true, "acme.test", None, Some(Udp))),
            Err(LocateError::SipsOverUdp { .. })
        ));
        assert!(matches!(
            plan(&target(false, " ", None, None)),
            Err(LocateError::BadName { .. })
        ));
    }

    #[test]
    fn naptr_order_then_preference_then_transport() {
        let records = [
            naptr(100, 50, "s", "SIP+D2U", "_sip._udp.acme.test"),
            naptr(90, 50, "s", "SIP+D2T", "_sip._tcp.acme.test"),
            naptr(50, 50, "S", "SIPS+D2T", "_sips._tcp.acme.test"),
        ];
        let got: Vec<Transport> = naptr_services(&records, false)
            .iter()
            .map(|s| s.transport)
            .collect();
        assert_eq!(got, [Transport::Tls, Transport::Tcp, Transport::Udp]);

        // Same order: preference decides, then our transport preference.
        let records = [
            naptr(10, 20, "s", "SIPS+D2T", "_sips._tcp.acme.test"),
            naptr(10, 10, "s", "SIP+D2U", "_sip._udp.acme.test"),
            naptr(10, 20, "s", "SIP+D2T", "_sip._tcp.acme.test"),
        ];
        let got: Vec<Transport> = naptr_services(&records, false)
            .iter()
            .map(|s| s.transport)
            .collect();
        assert_eq!(got, [Transport::Udp, Transport::Tls, Transport::Tcp]);
    }

    #[test]
    fn naptr_filters_what_we_cannot_use() {
        let records = [
            naptr(10, 10, "s", "SIP+D2S", "_sip._sctp.acme.test"),
            naptr(10, 10, "s", "SIP+D2W", "_sip._ws.acme.test"),
            naptr(10, 10, "s", "SIPS+D2U", "_sips._udp.acme.test"),
            naptr(10, 10, "u", "SIP+D2U", "_sip._udp.acme.test"),
            naptr(10, 10, "", "SIP+D2U", "_sip._udp.acme.test"),
            naptr(10, 10, "s", "SIP+D2U", ""),
            naptr(10, 10, "s", "E2U+sip", "_sip._udp.acme.test"),
            naptr(20, 10, "s", "sip+d2u", "_sip._udp.acme.test"),
        ];
        assert_eq!(
            naptr_services(&records, false),
            [Service {
                transport: Transport::Udp,
                srv: "_sip._udp.acme.test".into()
            }]
        );
    }

    #[test]
    fn sips_keeps_only_sips_services() {
        let records = [
            naptr(10, 10, "s", "SIP+D2U", "_sip._udp.acme.test"),
            naptr(20, 10, "s", "SIPS+D2T", "_sips._tcp.acme.test"),
        ];
        assert_eq!(
            naptr_services(&records, true),
            [Service {
                transport: Transport::Tls,
                srv: "_sips._tcp.acme.test".into()
            }]
        );
        assert_eq!(default_services(true, "acme.test").len(), 1);
    }

    #[test]
    fn one_field_may_list_several_resolution_services() {
        let records = [naptr(10, 10, "s", "SIP+D2U+D2T", "_sip.acme.test")];
        let got: Vec<Transport> = naptr_services(&records, false)
            .iter()
            .map(|s| s.transport)
            .collect();
        assert_eq!(got, [Transport::Tcp, Transport::Udp]);
    }

    #[test]
    fn default_services_in_preference_order() {
        let names: Vec<String> = default_services(false, "acme.test")
            .into_iter()
            .map(|s| s.srv)
            .collect();
        assert_eq!(
            names,
            [
                "_sips._tcp.acme.test",
                "_sip._tcp.acme.test",
                "_sip._udp.acme.test"
            ]
        );
    }

    #[test]
    fn srv_by_priority_then_weight() {
        let ordered = order_srv(vec![
            srv(20, 100, 5060, "backup.acme.test"),
            srv(10, 10, 5060, "light.acme.test"),
            srv(10, 0, 5060, "zero.acme.test"),
            srv(10, 90, 5060, "heavy.acme.test"),
            srv(10, 10, 5060, "alight.acme.test"),
        ]);
        let targets: Vec<&str> = ordered.iter().map(|s| s.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "heavy.acme.test",
                "alight.acme.test",
                "light.acme.test",
                "zero.acme.test",
                "backup.acme.test"
            ]
        );
    }

    #[test]
    fn srv_drops_what_cannot_be_contacted() {
        assert!(order_srv(vec![srv(0, 0, 0, "a.acme.test"), srv(0, 0, 5060, "")]).is_empty());
        assert!(declines(&[srv(0, 0, 0, "")]));
        assert!(!declines(&[srv(0, 0, 0, ""), srv(1, 0, 5060, "a")]));
        assert!(!declines(&[]));
        let twice = order_srv(vec![srv(0, 0, 5060, "a"), srv(0, 0, 5060, "a")]);
        assert_eq!(twice.len(), 1);
    }

    #[test]
    fn ipv4_first_unless_only_ipv6() {
        let v4: Ipv4Addr = "127.0.0.3".parse().unwrap();
        let v6 = Ipv6Addr::LOCALHOST;
        assert_eq!(order_addrs(&[v4], &[v6]), [IpAddr::V4(v4), IpAddr::V6(v6)]);
        assert_eq!(order_addrs(&[], &[v6]), [IpAddr::V6(v6)]);
        assert_eq!(order_addrs(&[v4, v4], &[]), [IpAddr::V4(v4)]);
    }
}
