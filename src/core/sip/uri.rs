//! SIP and SIPS URIs (RFC 3261 §19.1), kept as written so that `Display` round-trips.
//!
//! Nothing is unescaped or case-folded on parse: a compatibility tester must be able to show
//! exactly what a peer sent. Comparison rules (§19.1.4) are the caller's business; use
//! [`unescape`] where a decoded user part is needed.

use std::fmt;

use super::error::ParseError;

/// A `sip:` or `sips:` URI. Other schemes (`tel:`, unknown ones) are not parsed; `NameAddr`
/// keeps those as raw strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    /// `sip` or `sips`, in the case it was written.
    pub scheme: String,
    /// User part, still %-escaped; may contain `;` (RFC 4475 §3.1.1.9).
    pub user: Option<String>,
    /// Password after `user:` (deprecated by RFC 3261 §19.1.1 but legal).
    pub password: Option<String>,
    /// Host name, IPv4 address, or IPv6 reference *including* its brackets (`[2001:db8::1]`).
    pub host: String,
    pub port: Option<u16>,
    /// URI parameters (`;lr`, `;transport=tcp`) as written; `None` value for a flag.
    pub params: Vec<(String, Option<String>)>,
    /// URI headers (`?Route=%3Csip:x%3E`), still escaped.
    pub headers: Vec<(String, String)>,
}

impl SipUri {
    /// Parses a `sip:`/`sips:` URI. No whitespace is allowed anywhere in it.
    pub fn parse(s: &str) -> Result<SipUri, ParseError> {
        let err = |d: &str| ParseError::value("SIP URI", format!("{d} in {s:?}"));
        let (scheme, rest) = s.split_once(':').ok_or_else(|| err("no scheme"))?;
        if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
            return Err(err("not a sip/sips scheme"));
        }
        if rest
            .bytes()
            .any(|c| c <= b' ' || c == 0x7f || c == b'<' || c == b'>')
        {
            return Err(err("whitespace, control character or <> in URI"));
        }
        // RFC 3261 §25.1: neither userinfo nor params/headers may hold an unescaped '@', so
        // the first '@' ends the userinfo even when the user part holds ';', '?' or ','.
        let (userinfo, hostpart) = match rest.find('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => match ui.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(ui.to_string()), None),
            },
        };
        // host [":" port]
        let (host, after_host) = if hostpart.starts_with('[') {
            let close = hostpart
                .find(']')
                .ok_or_else(|| err("unterminated IPv6 reference"))?;
            let h = &hostpart[..=close];
            if !h[1..close]
                .bytes()
                .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
            {
                return Err(err("bad IPv6 reference"));
            }
            (h, &hostpart[close + 1..])
        } else {
            let end = hostpart.find([':', ';', '?']).unwrap_or(hostpart.len());
            (&hostpart[..end], &hostpart[end..])
        };
        if host.is_empty() || !(host.starts_with('[') || is_hostname(host)) {
            return Err(err("bad host"));
        }
        let (port, after_port) = match after_host.strip_prefix(':') {
            Some(p) => {
                let end = p.find([';', '?']).unwrap_or(p.len());
                (
                    Some(parse_port(&p[..end]).ok_or_else(|| err("bad port"))?),
                    &p[end..],
                )
            }
            None => (None, after_host),
        };
        let (param_part, header_part) = match after_port.find('?') {
            Some(q) => (&after_port[..q], Some(&after_port[q + 1..])),
            None => (after_port, None),
        };
        let mut params = Vec::new();
        if !param_part.is_empty() {
            let p = param_part
                .strip_prefix(';')
                .ok_or_else(|| err("junk after host"))?;
            for item in p.split(';') {
                let (n, v) = match item.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (item, None),
                };
                if n.is_empty() {
                    return Err(err("empty URI parameter"));
                }
                params.push((n.to_string(), v));
            }
        }
        let mut headers = Vec::new();
        if let Some(h) = header_part {
            for item in h.split('&') {
                let (n, v) = item
                    .split_once('=')
                    .ok_or_else(|| err("URI header without ="))?;
                if n.is_empty() {
                    return Err(err("empty URI header name"));
                }
                headers.push((n.to_string(), v.to_string()));
            }
        }
        Ok(SipUri {
            scheme: scheme.to_string(),
            user,
            password,
            host: host.to_string(),
            port,
            params,
            headers,
        })
    }

    /// A URI parameter's value (case-insensitive name); `Some("")` for a flag like `;lr`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// True for `sips:`.
    pub fn is_sips(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("sips")
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for (n, v) in &self.params {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

/// Host names as seen in the field: RFC 3261 `hostname` / IPv4 plus `_`, which is illegal in
/// DNS host names but common in lab setups; rejecting it would only hide the real finding.
fn is_hostname(h: &str) -> bool {
    h.bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_')
}

/// A port: 1..=5 digits that fit 16 bits.
pub(crate) fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// True if `s` looks like an absolute URI: `scheme ":" something` with no whitespace
/// (RFC 3261 §25.1 `absoluteURI`, loosely). Used for Request-URIs of any scheme.
pub fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sb = scheme.bytes();
    matches!(sb.next(), Some(c) if c.is_ascii_alphabetic())
        && sb.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !rest
            .bytes()
            .any(|c| c <= b' ' || c == 0x7f || c == b'<' || c == b'>' || c == b'"')
}

/// Decodes %HH escapes (RFC 3261 §25.1 `escaped`); a `%` not followed by two hex digits is
/// kept as is. Returns bytes because `%00` and non-UTF-8 escapes are legal (RFC 4475 §3.1.1.4).
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_uri_round_trips() {
        let s =
            "sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Route=%3Csip:x%3E";
        let u = SipUri::parse(s).unwrap();
        assert_eq!(u.scheme, "sips");
        assert!(u.is_sips());
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("TRANSPORT"), Some("tcp"));
        assert_eq!(u.param("lr"), Some(""));
        assert_eq!(u.param("maddr"), None);
        assert_eq!(
            u.headers,
            vec![
                ("Subject".to_string(), "hi".to_string()),
                ("Route".to_string(), "%3Csip:x%3E".to_string())
            ]
        );
        assert_eq!(u.to_string(), s);
    }

    #[test]
    fn ipv6_without_port_and_host_only() {
        let u = SipUri::parse("sip:[::1]").unwrap();
        assert_eq!(u.host, "[::1]");
        assert_eq!(u.port, None);
        assert_eq!(u.user, None);
        let u = SipUri::parse("SIP:example.com;lr").unwrap();
        assert_eq!(u.to_string(), "SIP:example.com;lr");
    }

    #[test]
    fn odd_user_parts() {
        // RFC 4475 §3.1.1.9 and §3.1.1.2
        let u = SipUri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, "example.com");
        let s = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
        let u = SipUri::parse(s).unwrap();
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert_eq!(u.to_string(), s);
    }

    #[test]
    fn rejects() {
        for s in [
            "tel:+123",
            "sip:",
            "sip:user@",
            "sip:host:99999",
            "sip:host:x",
            "sip:host;",
            "sip:a b@host",
            "sip:[::1",
            "sip:host?x",
            "<sip:host>",
            "sip:host junk",
        ] {
            assert!(SipUri::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn absolute_uris() {
        assert!(is_absolute_uri(
            "nobodyKnowsThisScheme:totallyopaquecontent"
        ));
        assert!(is_absolute_uri("soap.beep://192.0.2.103:3002"));
        assert!(!is_absolute_uri("<sip:user@example.com>"));
        assert!(!is_absolute_uri("sip:user@example.com; lr"));
        assert!(!is_absolute_uri("sip:"));
        assert!(!is_absolute_uri("1sip:x"));
    }

    #[test]
    fn unescapes() {
        assert_eq!(
            unescape("sips%3Auser%40example.com"),
            b"sips:user@example.com"
        );
        assert_eq!(unescape("null-%00-null"), b"null-\0-null");
        assert_eq!(unescape("%Z%4"), b"%Z%4");
        assert_eq!(unescape("%"), b"%");
    }
}
