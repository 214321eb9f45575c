//! RFC 3263 server location against a real DNS server: Debian's dnsmasq on loopback, one
//! per test with the records that test needs, under the test-only zone `flipcheck.test`.
//! Every address is on 127.0.0.0/8 or ::1, and nothing is sent to them: locating only
//! asks DNS.

mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use flipcheck::locate::{
    Candidate, LOCATE_TIMEOUT, LocateError, QUERY_TIMEOUT, Resolver, Target, Transport,
};

use common::dns::{Dnsmasq, ZONE, free_port, host, naptr, srv};

/// Locating through a test's DNS server.
trait Locate {
    fn resolver(&self) -> Resolver;
    async fn locate(&self, target: Target<'_>) -> Result<Vec<Candidate>, LocateError>;
}

impl Locate for Dnsmasq {
    fn resolver(&self) -> Resolver {
        Resolver::with_server(self.addr).expect("resolver for the test server")
    }

    /// Locates `uri`'s target, printing dnsmasq's query log if it fails.
    async fn locate(&self, target: Target<'_>) -> Result<Vec<Candidate>, LocateError> {
        let got = self.resolver().locate(&target).await;
        if got.is_err() {
            eprintln!("dnsmasq log:\n{}", self.log());
        }
        got
    }
}

fn sip(host: &str) -> Target<'_> {
    Target {
        scheme_sips: false,
        host,
        port: None,
        transport: None,
    }
}

/// `addr transport` of each candidate, for one-line asserts.
fn brief(candidates: &[Candidate]) -> Vec<String> {
    candidates
        .iter()
        .map(|c| {
            let t = match c.transport {
                Transport::Udp => "udp",
                Transport::Tcp => "tcp",
                Transport::Tls => "tls",
            };
            format!("{} {t}", c.addr)
        })
        .collect()
}

#[tokio::test]
async fn ip_literal_needs_no_dns() {
    // Nothing listens at this server: any query would fail.
    let resolver = Resolver::with_server(free_port()).unwrap();
    let start = Instant::now();
    let got = resolver
        .locate(&Target {
            port: Some(5070),
            ..sip("127.0.0.9")
        })
        .await
        .unwrap();
    assert_eq!(brief(&got), ["127.0.0.9:5070 udp"]);
    assert_eq!(got[0].host, "127.0.0.9");
    let got = resolver
        .locate(&Target {
            scheme_sips: true,
            ..sip("[::1]")
        })
        .await
        .unwrap();
    assert_eq!(brief(&got), ["[::1]:5061 tls"]);
    let got = resolver
        .locate(&Target {
            transport: Some(Transport::Tcp),
            ..sip("127.0.0.9")
        })
        .await
        .unwrap();
    assert_eq!(brief(&got), ["127.0.0.9:5060 tcp"]);
    assert!(start.elapsed() < Duration::from_millis(100));
}

#[tokio::test]
async fn name_with_port_asks_only_for_addresses() {
    let pbx = format!("pbx.{ZONE}");
    let Some(dns) = Dnsmasq::start(&[
        host("pbx", "127.0.0.2"),
        host("elsewhere", "127.0.0.9"),
        // Ignored: an explicit port skips NAPTR and SRV (RFC 3263 §4.2).
        format!("--srv-host=_sip._udp.{pbx},elsewhere.{ZONE},5090,0,0"),
        format!("--naptr-record={pbx},10,10,S,SIP+D2T,,_sip._tcp.{pbx}"),
    ]) else {
        return;
    };
    let got = dns
        .locate(Target {
            port: Some(5070),
            ..sip(&pbx)
        })
        .await
        .unwrap();
    assert_eq!(brief(&got), ["127.0.0.2:5070 udp"]);
    assert_eq!(
        (got[0].host.as_str(), got[0].target.as_str()),
        (&*pbx, &*pbx)
    );
    let got = dns
        .locate(Target {
            scheme_sips: true,
            port: Some(5071),
            ..sip(&pbx)
        })
        .await
        .unwrap();
    assert_eq!(brief(&got), ["127.0.0.2:5071 tls"]);
    assert!(!dns.log().contains("query[SRV]"), "{}", dns.log());
    assert!(!dns.log().contains("query[NAPTR]"), "{}", dns.log());
}

#[tokio::test]
async fn srv_priorities_give_the_failover_order() {
    let Some(dns) = Dnsmasq::start(&[
        srv("_sip._udp", "backup", 5071, 20, 0),
        srv("_sip._udp", "primary", 5070, 10, 0),
        host("primary", "127.0.0.2"),
        host("backup", "127.0.0.3"),
    ]) else {
        return;
    };
    // No NAPTR: SRV for each transport, only `_sip._udp` has records.
    let got = dns.locate(sip(ZONE)).await.unwrap();
    assert_eq!(brief(&got), ["127.0.0.2:5070 udp", "127.0.0.3:5071 udp"]);
    assert_eq!(got[0].target, format!("primary.{ZONE}"));
    assert_eq!(got[1].target, format!("backup.{ZONE}"));
    // The certificate and SNI name is the URI's domain, not the SRV target (RFC 5922 §4).
    assert!(got.iter().all(|c| c.host == ZONE));
}

#[tokio::test]
async fn a_refused_naptr_query_falls_through_to_srv() {
    let Some(dns) = Dnsmasq::start_refusing_the_rest(&[
        srv("_sip._tcp", "pbx", 5070, 10, 0),
        host("pbx", "127.0.0.2"),
    ]) else {
        return;
    };
    let got = dns.locate(sip(ZONE)).await.unwrap();
    assert_eq!(brief(&got), ["127.0.0.2:5070 tcp"]);
    assert!(dns.log().contains("query[NAPTR]"), "{}", dns.log());

    // A name the server refuses everything for: the error names the refusal.
    let err = dns
        .resolver()
        .locate(&sip("none.example"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Refused"), "{text}");
}

#[tokio::test]
async fn weights_order_a_priority_heaviest_first() {
    let Some(dns) = Dnsmasq::start(&[
        srv("_sip._udp", "light", 5060, 10, 10),
        srv("_sip._udp", "heavy", 5060, 10, 60),
        srv("_sip._udp", "middle", 5060, 10, 30),
        srv("_sip._udp", "later", 5060, 20, 100),
        host("light", "127.0.0.2"),
        host("heavy", "127.0.0.3"),
        host("middle", "127.0.0.4"),
        host("later", "127.0.0.5"),
    ]) else {
        return;
    };
    let target = Target {
        transport: Some(Transport::Udp),
        ..sip(ZONE)
    };
    let got = dns.locate(target).await.unwrap();
    assert_eq!(
        brief(&got),
        [
            "127.0.0.3:5060 udp",
            "127.0.0.4:5060 udp",
            "127.0.0.2:5060 udp",
            "127.0.0.5:5060 udp"
        ]
    );
    // Deterministic: the same answer every time.
    assert_eq!(dns.locate(target).await.unwrap(), got);
}

fn three_transports() -> Vec<String> {
    vec![
        srv("_sips._tcp", "tls", 5061, 0, 0),
        srv("_sip._tcp", "tcp", 5060, 0, 0),
        srv("_sip._udp", "udp", 5060, 0, 0),
        host("tls", "127.0.0.2"),
        host("tcp", "127.0.0.3"),
        host("udp", "127.0.0.4"),
    ]
}

#[tokio::test]
async fn naptr_chooses_tls_over_udp() {
    let mut records = three_transports();
    records.push(naptr(20, 10, "SIP+D2U", "_sip._udp"));
    records.push(naptr(10, 10, "SIPS+D2T", "_sips._tcp"));
    let Some(dns) = Dnsmasq::start(&records) else {
        return;
    };
    let got = dns.locate(sip(ZONE)).await.unwrap();
    // Only the transports NAPTR offers, in its order; `_sip._tcp` is not used.
    assert_eq!(brief(&got), ["127.0.0.2:5061 tls", "127.0.0.4:5060 udp"]);
    assert_eq!(
        (got[0].host.as_str(), got[0].target.as_str()),
        (ZONE, "tls.flipcheck.test")
    );
}

#[tokio::test]
async fn naptr_order_beats_our_preference() {
    let mut records = three_transports();
    records.push(naptr(10, 10, "SIP+D2U", "_sip._udp"));
    records.push(naptr(20, 10, "SIPS+D2T", "_sips._tcp"));
    let Some(dns) = Dnsmasq::start(&records) else {
        return;
    };
    let got = dns.locate(sip(ZONE)).await.unwrap();
    assert_eq!(brief(&got), ["127.0.0.4:5060 udp", "127.0.0.2:5061 tls"]);
}

#[tokio::test]
async fn without_naptr_tls_then_tcp_then_udp() {
    let Some(dns) = Dnsmasq::start(&three_transports()) else {
        return;
    };
    let got = dns.locate(sip(ZONE)).await.unwrap();
    assert_eq!(
        brief(&got),
        [
            "127.0.0.2:5061 tls",
            "127.0.0.3:5060 tcp",
            "127.0.0.4:5060 udp"
        ]
    );
}

#[tokio::test]
async fn sips_selects_only_tls() {
    let mut records = three_transports();
    let Some(plain) = Dnsmasq::start(&records) else {
        return;
    };
    records.push(naptr(10, 10, "SIP+D2U", "_sip._udp"));
    records.push(naptr(20, 10, "SIPS+D2T", "_sips._tcp"));
    let Some(with_naptr) = Dnsmasq::start(&records) else {
        return;
    };
    let sips = Target {
        scheme_sips: true,
        ..sip(ZONE)
    };
    for dns in [&plain, &with_naptr] {
        let got = dns.locate(sips).await.unwrap();
        assert_eq!(brief(&got), ["127.0.0.2:5061 tls"], "{}", dns.log());
    }
    assert!(!plain.log().contains("_sip._udp"), "{}", plain.log());
}

#[tokio::test]
async fn transport_tcp_selects_sip_tcp() {
    let mut records = three_transports();
    records.push(naptr(10, 10, "SIP+D2U", "_sip._udp"));
    let Some(dns) = Dnsmasq::start(&records) else {
        return;
    };
    let got = dns
        .locate(Target {
            transport: Some(Transport::Tcp),
            ..sip(ZONE)
        })
        .await
        .unwrap();
    assert_eq!(brief(&got), ["127.0.0.3:5060 tcp"]);
    assert!(!dns.log().contains("query[NAPTR]"), "{}", dns.log());
    // transport=tls on a sip: URI is `_sips._tcp` (RFC 3263 §4.2).
    let got = dns
        .locate(Target {
            transport: Some(Transport::Tls),
            ..sip(ZONE)
        })
        .await
        .unwrap();
    assert_eq!(brief(&got), ["127.0.0.2:5061 tls"]);
}

#[tokio::test]
async fn no_records_at_all_is_a_clear_error() {
    let Some(dns) = Dnsmasq::start(&[]) else {
        return;
    };
    let name = format!("nothing.{ZONE}");
    let start = Instant::now();
    let err = dns.resolver().locate(&sip(&name)).await.unwrap_err();
    eprintln!("no records: {err} ({:?})", start.elapsed());
    assert_eq!(
        err.to_string(),
        "no SIP server found for nothing.flipcheck.test: no NAPTR, SRV \
         (_sips._tcp.nothing.flipcheck.test, _sip._tcp.nothing.flipcheck.test, \
         _sip._udp.nothing.flipcheck.test) or A/AAAA records"
    );
    let err = dns
        .resolver()
        .locate(&Target {
            port: Some(5060),
            ..sip(&name)
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no SIP server found for nothing.flipcheck.test: no A/AAAA records"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn srv_targets_without_addresses_or_declined() {
    let Some(dns) = Dnsmasq::start(&[
        srv("_sip._udp", "ghost", 5060, 0, 0),
        // No target: "." — the service is decidedly not available (RFC 2782).
        format!("--srv-host=_sip._udp.closed.{ZONE}"),
    ]) else {
        return;
    };
    let err = dns.resolver().locate(&sip(ZONE)).await.unwrap_err();
    assert!(
        matches!(err, LocateError::NoAddresses { .. }) && err.to_string().contains("ghost"),
        "{err}"
    );
    let closed = format!("closed.{ZONE}");
    let err = dns.resolver().locate(&sip(&closed)).await.unwrap_err();
    assert!(matches!(err, LocateError::Declined { .. }), "{err}");
    assert!(err.to_string().contains("_sip._udp.closed"), "{err}");
}

#[tokio::test]
async fn addresses_ipv4_first_unless_only_ipv6() {
    let Some(dns) = Dnsmasq::start(&[host("dual", "127.0.0.3,::1"), host("six", "::1")]) else {
        return;
    };
    let dual = format!("dual.{ZONE}");
    let got = dns.locate(sip(&dual)).await.unwrap();
    assert_eq!(brief(&got), ["127.0.0.3:5060 udp", "[::1]:5060 udp"]);
    let six = format!("six.{ZONE}");
    let got = dns
        .locate(Target {
            scheme_sips: true,
            ..sip(&six)
        })
        .await
        .unwrap();
    assert_eq!(brief(&got), ["[::1]:5061 tls"]);
}

#[tokio::test]
async fn silent_dns_server_is_reported_within_the_bound() {
    // Takes the datagrams and never answers; no TCP listener either.
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = silent.local_addr().unwrap();
    let resolver = Resolver::with_server(addr).unwrap();
    let start = Instant::now();
    let err = resolver
        .locate(&sip("acme.flipcheck.test"))
        .await
        .unwrap_err();
    let took = start.elapsed();
    eprintln!("silent server: {err} ({took:?})");
    assert_eq!(
        err.to_string(),
        format!("DNS server {addr} did not answer within 2 s (NAPTR acme.flipcheck.test)")
    );
    assert!(
        took >= QUERY_TIMEOUT - Duration::from_millis(100),
        "{took:?}"
    );
    assert!(took < QUERY_TIMEOUT + Duration::from_secs(1), "{took:?}");
    assert!(took < LOCATE_TIMEOUT);
    drop(silent);
}

#[tokio::test]
async fn absent_dns_server_is_reported_within_the_bound() {
    // Nothing bound at all. The kernel's ICMP "port unreachable" does not reach hickory's
    // unconnected UDP socket, so this is a timeout like the silent server's.
    let addr = free_port();
    let resolver = Resolver::with_server(addr).unwrap();
    let start = Instant::now();
    let err = resolver
        .locate(&Target {
            port: Some(5060),
            ..sip("acme.flipcheck.test")
        })
        .await
        .unwrap_err();
    let took = start.elapsed();
    eprintln!("absent server: {err} ({took:?})");
    assert_eq!(
        err.to_string(),
        format!("DNS server {addr} did not answer within 2 s (A acme.flipcheck.test)")
    );
    assert!(took < QUERY_TIMEOUT + Duration::from_secs(1), "{took:?}");
}
