//! The transports SIP runs over (RFC 3261 §18): UDP, TCP and TLS. What each one changes
//! above it: the token in Via (§20.42), the `transport=` URI parameter (§19.1.1), and
//! whether transactions retransmit (§17: only over unreliable transports).

use ::core::fmt;
use ::core::net::SocketAddr;

use super::build::host_port;

/// A transport SIP messages travel on. Media (RTP) always goes over UDP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2.1).
    Tls,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Udp, Transport::Tcp, Transport::Tls];

    /// TCP and TLS deliver every message once and in order, so nothing above them
    /// retransmits (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The token in a Via's sent-protocol (RFC 3261 §20.42): `UDP`, `TCP`, `TLS`.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The value of the `transport=` URI parameter (RFC 3261 §19.1.1), lower case.
    pub fn param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The transport a `transport=` value or Via token names (case-insensitive, RFC 3261
    /// §19.1.4 and §7.1).
    pub fn from_token(token: &str) -> Option<Transport> {
        Transport::ALL
            .into_iter()
            .find(|t| t.param().eq_ignore_ascii_case(token))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.param())
    }
}

/// The URI of `user` (or of the host itself) at `addr`, reached over `transport`: the
/// Contact a party puts in its messages. UDP needs no parameter (the default for `sip:`,
/// RFC 3261 §19.1.2); TCP and TLS say `;transport=tcp|tls` (§19.1.4), and with `sips` the
/// URI is a SIPS URI, which means TLS on every hop (§19.1, §26.2.2) and needs no parameter.
pub fn sip_uri(user: Option<&str>, addr: SocketAddr, transport: Transport, sips: bool) -> String {
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    let host = host_port(addr);
    if sips && transport == Transport::Tls {
        return format!("sips:{user}{host}");
    }
    match transport {
        Transport::Udp => format!("sip:{user}{host}"),
        t => format!("sip:{user}{host};transport={}", t.param()),
    }
}

/// Whether a URI (or a name-addr's URI) is a SIPS URI (RFC 3261 §19.1).
pub fn is_sips(uri: &str) -> bool {
    let uri = uri.trim_start();
    let uri = uri.find('<').map_or(uri, |i| &uri[i + 1..]).trim_start();
    uri.get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("sips:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_reliability() {
        let words: Vec<_> = Transport::ALL
            .iter()
            .map(|t| (t.via_token(), t.param(), t.is_reliable()))
            .collect();
        assert_eq!(
            words,
            [
                ("UDP", "udp", false),
                ("TCP", "tcp", true),
                ("TLS", "tls", true)
            ]
        );
        assert_eq!(Transport::from_token("TcP"), Some(Transport::Tcp));
        assert_eq!(Transport::from_token("sctp"), None);
        assert_eq!(Transport::default(), Transport::Udp);
    }

    #[test]
    fn contact_uris_name_their_transport() {
        let a: SocketAddr = "127.0.0.1:5070".parse().unwrap();
        let v6: SocketAddr = "[::1]:5070".parse().unwrap();
        let uri = |t, sips| sip_uri(Some("alice"), a, t, sips);
        assert_eq!(uri(Transport::Udp, false), "sip:alice@127.0.0.1:5070");
        assert_eq!(
            uri(Transport::Tcp, false),
            "sip:alice@127.0.0.1:5070;transport=tcp"
        );
        assert_eq!(
            uri(Transport::Tls, false),
            "sip:alice@127.0.0.1:5070;transport=tls"
        );
        assert_eq!(uri(Transport::Tls, true), "sips:alice@127.0.0.1:5070");
        // SIPS needs TLS; over another transport the flag cannot apply.
        assert_eq!(
            uri(Transport::Tcp, true),
            "sip:alice@127.0.0.1:5070;transport=tcp"
        );
        assert_eq!(
            sip_uri(None, v6, Transport::Tcp, false),
            "sip:[::1]:5070;transport=tcp"
        );
        assert!(is_sips("SIPS:alice@h"));
        assert!(is_sips("\"A\" <sips:alice@h>;tag=1"));
        assert!(!is_sips("<sip:alice@h;transport=tls>"));
        assert!(!is_sips("sip"));
    }
}
