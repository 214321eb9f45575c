//! The `registrar:` address of an external target: a SIP URI reduced to what a driver needs
//! to open a socket (RFC 3261 §19.1.1): scheme, host, port and transport.

use std::fmt;

use crate::report::Keyword;

/// `sip` or `sips` (RFC 3261 §19.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SipScheme {
    Sip,
    /// Secure SIP: TLS on every hop (RFC 3261 §26.2.2).
    Sips,
}

/// The `transport=` URI parameter (RFC 3261 §19.1.1): the SIP layer's own transport type,
/// so what a target file names is what the parties send on.
pub use crate::core::sip::Transport;

impl Keyword for Transport {
    const ALL: &'static [Self] = &Transport::ALL;
    fn as_str(self) -> &'static str {
        self.param()
    }
    /// URI parameter values are case-insensitive (RFC 3261 §19.1.4).
    fn from_word(word: &str) -> Option<Self> {
        Transport::from_token(word)
    }
}

/// A parsed registrar address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registrar {
    pub scheme: SipScheme,
    /// Host name, IPv4 address, or IPv6 address without brackets.
    pub host: String,
    /// `None`: use [`Registrar::port_or_default`] (SRV lookup is not done).
    pub port: Option<u16>,
    pub transport: Transport,
}

impl Registrar {
    /// The explicit port, else 5061 for TLS and 5060 otherwise (RFC 3261 §19.1.2).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(match self.transport {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        })
    }
}

/// Why a registrar address was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrarError {
    #[error("a server URI must start with `sip:` or `sips:`")]
    BadScheme,
    #[error("registrar has no host")]
    MissingHost,
    #[error("registrar host `{0}` is not a host name or IP address")]
    BadHost(String),
    #[error("registrar address has a user part (`{0}@`); give only host, port and transport")]
    UserPart(String),
    #[error("registrar port `{0}` is not a number from 1 to 65535")]
    BadPort(String),
    #[error("unknown transport `{0}`")]
    BadTransport(String),
    #[error("unknown registrar URI parameter `{0}`")]
    UnknownParameter(String),
    #[error("`sips:` requires TLS, not `transport={0}`")]
    SipsWithoutTls(String),
}

/// Parses `sip:host[:port][;transport=udp|tcp|tls]` (also `sips:` and `[v6]` hosts).
/// Without `transport=`, `sip:` means UDP and `sips:` means TLS (RFC 3261 §19.1.2).
pub fn parse_registrar(s: &str) -> Result<Registrar, RegistrarError> {
    let s = s.trim();
    let (scheme, rest) = match s.split_once(':') {
        Some((sc, rest)) if sc.eq_ignore_ascii_case("sip") => (SipScheme::Sip, rest),
        Some((sc, rest)) if sc.eq_ignore_ascii_case("sips") => (SipScheme::Sips, rest),
        _ => return Err(RegistrarError::BadScheme),
    };
    let mut parts = rest.split(';');
    // `split` always yields at least one item.
    let hostport = parts.next().unwrap_or_default();
    if let Some((user, _)) = hostport.split_once('@') {
        return Err(RegistrarError::UserPart(user.to_string()));
    }
    let (host, port) = split_host_port(hostport)?;
    let mut transport = None;
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if !name.eq_ignore_ascii_case("transport") {
            return Err(RegistrarError::UnknownParameter(name.to_string()));
        }
        transport = Some(
            Transport::from_word(value)
                .ok_or_else(|| RegistrarError::BadTransport(value.to_string()))?,
        );
    }
    let transport = match (scheme, transport) {
        (SipScheme::Sip, t) => t.unwrap_or(Transport::Udp),
        (SipScheme::Sips, None | Some(Transport::Tls)) => Transport::Tls,
        // RFC 5630 §3.1.3: `sips:…;transport=tcp` means TLS over TCP.
        (SipScheme::Sips, Some(Transport::Tcp)) => Transport::Tls,
        (SipScheme::Sips, Some(Transport::Udp)) => {
            return Err(RegistrarError::SipsWithoutTls("udp".into()));
        }
    };
    Ok(Registrar {
        scheme,
        host,
        port,
        transport,
    })
}

fn split_host_port(hp: &str) -> Result<(String, Option<u16>), RegistrarError> {
    let (host, port) = if let Some(v6) = hp.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| RegistrarError::BadHost(hp.to_string()))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(RegistrarError::BadHost(addr.to_string()));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| RegistrarError::BadHost(hp.to_string()))?,
            ),
        };
        (addr.to_string(), port)
    } else {
        let (h, p) = match hp.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        };
        if h.is_empty() {
            return Err(RegistrarError::MissingHost);
        }
        // RFC 3261 §25.1 hostname: alphanumerics, `-` and `.`.
        let ok = h
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !h.starts_with(['-', '.']);
        if !ok {
            return Err(RegistrarError::BadHost(h.to_string()));
        }
        (h.to_string(), p)
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Some(n),
            _ => return Err(RegistrarError::BadPort(p.to_string())),
        },
    };
    Ok((host, port))
}

impl fmt::Display for Registrar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            SipScheme::Sip => "sip",
            SipScheme::Sips => "sips",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}:[{}]", self.host)?;
        } else {
            write!(f, "{scheme}:{}", self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, ";transport={}", self.transport.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Registrar {
        parse_registrar(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_the_design_example() {
        let r = ok("sip:pbx.acme.test:5060;transport=udp");
        assert_eq!(
            r,
            Registrar {
                scheme: SipScheme::Sip,
                host: "pbx.acme.test".into(),
                port: Some(5060),
                transport: Transport::Udp
            }
        );
        assert_eq!(r.to_string(), "sip:pbx.acme.test:5060;transport=udp");
    }

    #[test]
    fn defaults_follow_rfc_3261_19_1_2() {
        let r = ok("sip:10.0.0.1");
        assert_eq!(
            (r.transport, r.port, r.port_or_default()),
            (Transport::Udp, None, 5060)
        );
        let r = ok("sips:pbx.example.com");
        assert_eq!((r.transport, r.port_or_default()), (Transport::Tls, 5061));
        let r = ok("SIP:pbx;transport=TCP");
        assert_eq!((r.transport, r.port_or_default()), (Transport::Tcp, 5060));
        assert_eq!(ok("sips:h;transport=tcp").transport, Transport::Tls);
        let r = ok("sip:[2001:db8::1]:5070;transport=tls");
        assert_eq!((r.host.as_str(), r.port), ("2001:db8::1", Some(5070)));
        assert_eq!(r.to_string(), "sip:[2001:db8::1]:5070;transport=tls");
    }

    #[test]
    fn rejects_bad_addresses() {
        use RegistrarError::*;
        let err = |s: &str| parse_registrar(s).unwrap_err();
        assert_eq!(err("http://pbx"), BadScheme);
        assert_eq!(err("pbx.acme.test:5060"), BadScheme);
        assert_eq!(err("sip:"), MissingHost);
        assert_eq!(err("sip::5060"), MissingHost);
        assert_eq!(err("sip:pbx:50x"), BadPort("50x".into()));
        assert_eq!(err("sip:pbx:0"), BadPort("0".into()));
        assert_eq!(err("sip:pbx:70000"), BadPort("70000".into()));
        assert_eq!(err("sip:pbx:+5"), BadPort("+5".into()));
        assert_eq!(err("sip:pbx;transport=udpp"), BadTransport("udpp".into()));
        assert_eq!(err("sip:pbx;lr"), UnknownParameter("lr".into()));
        assert_eq!(err("sips:pbx;transport=udp"), SipsWithoutTls("udp".into()));
        assert_eq!(err("sip:alice@pbx"), UserPart("alice".into()));
        assert_eq!(err("sip:pb x"), BadHost("pb x".into()));
        assert_eq!(err("sip:[zz::1]"), BadHost("zz::1".into()));
    }
}
