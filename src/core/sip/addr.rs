//! Typed header values: name-addr (From, To, Contact, Route, ...), Via, CSeq, Replaces.
//!
//! Parsers take one *unfolded* value (one element of a comma list) and are lenient about
//! whitespace where RFC 3261 §25.1 allows LWS (`SWS ";" SWS`, `SWS "=" SWS`, around `/` in
//! Via). Values are kept as written; nothing is case-folded.

use std::fmt;

use super::error::ParseError;
use super::header::{find_top_level, is_token, is_token_char, is_wsp};
use super::uri::{is_absolute_uri, parse_port};

/// Header parameters `;name[=value]` in order, as written (quoted values keep their quotes).
pub type Params = Vec<(String, Option<String>)>;

fn get_param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref().unwrap_or(""))
}

fn put_param(params: &mut Params, name: &str, value: Option<&str>) {
    let value = value.map(str::to_string);
    match params
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(p) => p.1 = value,
        None => params.push((name.to_string(), value)),
    }
}

fn write_params(f: &mut fmt::Formatter<'_>, params: &Params) -> fmt::Result {
    for (n, v) in params {
        match v {
            Some(v) => write!(f, ";{n}={v}")?,
            None => write!(f, ";{n}")?,
        }
    }
    Ok(())
}

/// Parses `*( SWS ";" SWS generic-param )` (RFC 3261 §25.1). `s` must be empty or start
/// (after whitespace) with `;`.
pub(crate) fn parse_params(s: &str, what: &'static str) -> Result<Params, ParseError> {
    let mut out = Vec::new();
    let mut rest = s.trim_matches(is_wsp);
    if rest.is_empty() {
        return Ok(out);
    }
    rest = rest
        .strip_prefix(';')
        .ok_or_else(|| ParseError::value(what, format!("unexpected {rest:?}")))?;
    loop {
        let end = find_top_level(rest, b';').unwrap_or(rest.len());
        let item = rest[..end].trim_matches(is_wsp);
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n.trim_matches(is_wsp), Some(v.trim_matches(is_wsp))),
            None => (item, None),
        };
        if !is_token(name) {
            return Err(ParseError::value(what, format!("bad parameter {item:?}")));
        }
        if let Some(v) = value {
            let ok = if v.starts_with('"') {
                matches!(quoted_end(v), Some(e) if e == v.len())
            } else {
                !v.contains([' ', '\t', '"'])
            };
            if !ok {
                return Err(ParseError::value(
                    what,
                    format!("bad parameter value {v:?}"),
                ));
            }
        }
        out.push((name.to_string(), value.map(str::to_string)));
        match rest.get(end + 1..) {
            Some(r) => rest = r,
            None => return Ok(out),
        }
    }
}

/// Byte length of the quoted string at the start of `s` (including both quotes), honouring
/// `\` quoted-pairs; `None` if unterminated.
fn quoted_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Content of a quoted string with quoted-pairs resolved (`\"` → `"`).
fn unquote(q: &str) -> String {
    let inner = &q[1..q.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `name-addr` or `addr-spec` with header parameters (RFC 3261 §20.10, §25.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped; `None` if absent or empty.
    pub display: Option<String>,
    /// The URI as written (any scheme; see [`super::SipUri`] to parse sip/sips).
    pub uri: String,
    /// Header parameters after `>` (or after a bare addr-spec: RFC 3261 §20 says parameters
    /// there belong to the header, not the URI).
    pub params: Params,
}

impl NameAddr {
    /// A bare `<uri>` with no display name or parameters.
    pub fn new(uri: &str) -> NameAddr {
        NameAddr {
            display: None,
            uri: uri.to_string(),
            params: Vec::new(),
        }
    }

    /// Parses one name-addr / addr-spec value. Lenient: whitespace just inside `<...>`
    /// (RFC 4475 §3.1.2.14) and unquoted display names with non-token characters (§3.1.2.15)
    /// are accepted; `validate` reports them.
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        const W: &str = "name-addr";
        let s = s.trim_matches(is_wsp);
        let (display, uri, rest) = if s.starts_with('"') {
            let e = quoted_end(s)
                .ok_or_else(|| ParseError::value(W, format!("unterminated quote in {s:?}")))?;
            let display = unquote(&s[..e]);
            let after = s[e..].trim_start_matches(is_wsp);
            let (uri, rest) = bracketed(after)?;
            (Some(display), uri, rest)
        } else if let Some(lt) = find_top_level(s, b'<') {
            let display = s[..lt].trim_matches(is_wsp);
            if display.contains('"') {
                return Err(ParseError::value(W, format!("stray quote in {s:?}")));
            }
            let (uri, rest) = bracketed(&s[lt..])?;
            (Some(display.to_string()), uri, rest)
        } else {
            // addr-spec: RFC 3261 §20.10 — a URI with ',', '?' or ';' must be in <>; a ';'
            // here starts the header parameters.
            let end = s.find(';').unwrap_or(s.len());
            let uri = s[..end].trim_end_matches(is_wsp);
            if uri.contains(['?', ',']) {
                return Err(ParseError::value(
                    W,
                    format!("addr-spec with '?' or ',' must be enclosed in <>: {s:?}"),
                ));
            }
            (None, uri, &s[end..])
        };
        if !is_absolute_uri(uri) {
            return Err(ParseError::value(W, format!("bad URI {uri:?}")));
        }
        Ok(NameAddr {
            display: display.filter(|d| !d.is_empty()),
            uri: uri.to_string(),
            params: parse_params(rest, W)?,
        })
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag")
    }

    /// A header parameter by case-insensitive name; `Some("")` for a flag parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        get_param(&self.params, name)
    }

    /// Sets (or adds) a header parameter; `None` makes it a flag (`;lr`).
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        put_param(&mut self.params, name, value)
    }

    /// Removes a header parameter (all spellings of its name).
    pub fn remove_param(&mut self, name: &str) {
        self.params.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

/// Splits `<uri>rest` (whitespace inside the brackets tolerated) into uri and rest.
fn bracketed(s: &str) -> Result<(&str, &str), ParseError> {
    let inner = s
        .strip_prefix('<')
        .ok_or_else(|| ParseError::value("name-addr", format!("expected '<' in {s:?}")))?;
    let gt = inner
        .find('>')
        .ok_or_else(|| ParseError::value("name-addr", format!("no '>' in {s:?}")))?;
    Ok((inner[..gt].trim_matches(is_wsp), &inner[gt + 1..]))
}

impl fmt::Display for NameAddr {
    /// Always the `<uri>` form: `"Display" <sip:a@b>;tag=x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            f.write_str("\"")?;
            for c in d.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

/// One Via value (RFC 3261 §20.42). Only `SIP/2.0` is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// Transport as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, or an unknown token).
    pub transport: String,
    /// Host name or address; an IPv6 reference keeps its brackets.
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    /// Parses `SIP / 2.0 / transport sent-by *(;param)`, with LWS allowed around `/` and `:`.
    /// A trailing RFC 2543 comment `( ... )` is ignored.
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        const W: &str = "Via";
        let err = |d: &str| ParseError::value(W, format!("{d} in {s:?}"));
        let mut parts = s.splitn(3, '/');
        let (Some(name), Some(version), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(err("no sent-protocol"));
        };
        if !name.trim_matches(is_wsp).eq_ignore_ascii_case("SIP")
            || version.trim_matches(is_wsp) != "2.0"
        {
            return Err(err("protocol is not SIP/2.0"));
        }
        let rest = rest.trim_start_matches(is_wsp);
        let tend = rest
            .bytes()
            .position(|c| !is_token_char(c))
            .unwrap_or(rest.len());
        let transport = &rest[..tend];
        if transport.is_empty() {
            return Err(err("no transport"));
        }
        let after = &rest[tend..];
        let sent_by = after.trim_start_matches(is_wsp);
        if sent_by.len() == after.len() {
            return Err(err("no whitespace before sent-by"));
        }
        let (host, after_host) = if sent_by.starts_with('[') {
            let close = sent_by
                .find(']')
                .ok_or_else(|| err("unterminated IPv6 reference"))?;
            (&sent_by[..=close], &sent_by[close + 1..])
        } else {
            let end = sent_by
                .find([':', ';', ' ', '\t', '('])
                .unwrap_or(sent_by.len());
            (&sent_by[..end], &sent_by[end..])
        };
        let host_ok = if host.starts_with('[') {
            host[1..host.len() - 1]
                .bytes()
                .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        } else {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        };
        if !host_ok {
            return Err(err("bad host"));
        }
        let mut rest = after_host.trim_start_matches(is_wsp);
        let mut port = None;
        if let Some(p) = rest.strip_prefix(':') {
            let p = p.trim_start_matches(is_wsp);
            let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
            port = Some(parse_port(&p[..end]).ok_or_else(|| err("bad port"))?);
            rest = &p[end..];
        }
        // RFC 2543 allowed a comment after the Via; RFC 3261 dropped it. Ignore it.
        let params_part = match find_top_level(rest, b'(') {
            Some(i) if rest[i..].trim_end_matches(is_wsp).ends_with(')') => &rest[..i],
            _ => rest,
        };
        Ok(Via {
            transport: transport.to_string(),
            host: host.to_string(),
            port,
            params: parse_params(params_part, W)?,
        })
    }

    /// The `branch` parameter (RFC 3261 §8.1.1.7).
    pub fn branch(&self) -> Option<&str> {
        self.param("branch")
    }

    /// A parameter by case-insensitive name; `Some("")` for a flag (`;rport`).
    pub fn param(&self, name: &str) -> Option<&str> {
        get_param(&self.params, name)
    }

    /// Sets (or adds) a parameter; `None` makes it a flag.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        put_param(&mut self.params, name, value)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

/// CSeq (RFC 3261 §20.16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: String,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`; leading zeros are fine, values beyond 32 bits are not.
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let mut it = s.split([' ', '\t']).filter(|p| !p.is_empty());
        let (Some(n), Some(m), None) = (it.next(), it.next(), it.next()) else {
            return Err(ParseError::value(
                "CSeq",
                format!("expected 'number method': {s:?}"),
            ));
        };
        if !n.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::value("CSeq", format!("bad number {n:?}")));
        }
        let seq = n
            .parse()
            .map_err(|_| ParseError::value("CSeq", format!("number too large {n:?}")))?;
        Ok(CSeq {
            seq,
            method: m.to_string(),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Replaces (RFC 3891 §6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
    pub early_only: bool,
}

impl Replaces {
    /// Parses `callid ;to-tag=x ;from-tag=y [;early-only]`; both tags are mandatory.
    pub fn parse(s: &str) -> Result<Replaces, ParseError> {
        const W: &str = "Replaces";
        let s = s.trim_matches(is_wsp);
        let end = s.find(';').unwrap_or(s.len());
        let call_id = s[..end].trim_matches(is_wsp);
        if call_id.is_empty() || call_id.contains([' ', '\t']) {
            return Err(ParseError::value(W, format!("bad Call-ID in {s:?}")));
        }
        let params = parse_params(&s[end..], W)?;
        let tag = |n: &str| {
            get_param(&params, n)
                .map(str::to_string)
                .ok_or_else(|| ParseError::value(W, format!("no {n} in {s:?}")))
        };
        Ok(Replaces {
            call_id: call_id.to_string(),
            to_tag: tag("to-tag")?,
            from_tag: tag("from-tag")?,
            early_only: get_param(&params, "early-only").is_some(),
        })
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )?;
        if self.early_only {
            f.write_str(";early-only")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "addr_tests.rs"]
mod tests;
