//! RFC violations that a parsed message still carries.
//!
//! The parser accepts whatever it can read so that flipcheck can show what a vendor sent;
//! this module says what is wrong with it. Errors break an RFC MUST (RFC 4475's invalid
//! messages and its "reject above the parser" cases); warnings are legal but worth a look
//! (RFC 2543 leftovers, trailing octets).

use super::addr::{CSeq, NameAddr, Replaces, Via};
use super::header::{
    count_raw_elements, find_top_level, is_list_header, is_token, is_wsp, names_match,
    starts_with_ci,
};
use super::message::{EndOfHead, Message, StartLine};
use super::parse::parse_decimal;
use super::uri::{SipUri, is_absolute_uri};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Breaks an RFC MUST; a strict receiver rejects the message.
    Error,
    /// Legal but suspicious, or legacy (RFC 2543) syntax.
    Warning,
}

/// One problem found in a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable machine-readable name, e.g. `content-length-mismatch`.
    pub rule: &'static str,
    /// What exactly is wrong, for people (with the line number where one is known).
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// Rules that are warnings; every other rule is an error.
const WARNING_RULES: &[&str] = &[
    "trailing-octets",
    "rfc2543-via",
    "rfc2543-missing-max-forwards",
    "rfc2543-missing-from-tag",
];

impl Finding {
    /// The severity of this finding's rule.
    pub fn severity(&self) -> Severity {
        if WARNING_RULES.contains(&self.rule) {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// Headers that RFC 3261 §20 (and the RFCs defining them) allow at most once.
const SINGLE_VALUE: &[&str] = &[
    "To",
    "From",
    "CSeq",
    "Call-ID",
    "Max-Forwards",
    "Content-Type",
    "Expires",
    "Min-Expires",
    "Date",
    "Replaces",
    "Refer-To",
    "Referred-By",
    "Event",
    "Session-ID",
    "Session-Expires",
    "Subscription-State",
    "RSeq",
    "RAck",
];

/// The RFC 3261 §8.1.1.7 magic cookie that marks an RFC 3261 (not RFC 2543) sender.
const MAGIC_COOKIE: &str = "z9hG4bK";

struct Out(Vec<Finding>);

impl Out {
    fn add(&mut self, rule: &'static str, message: String) {
        self.0.push(Finding { rule, message });
    }
}

/// Lists the RFC violations in `msg` (empty for a clean message).
pub fn validate(msg: &Message) -> Vec<Finding> {
    let mut out = Out(Vec::new());
    check_framing(msg, &mut out);
    let rfc3261 = msg
        .top_via()
        .and_then(|v| v.branch().map(|b| b.starts_with(MAGIC_COOKIE)))
        .unwrap_or(false);
    check_start_line(msg, &mut out);
    check_presence(msg, rfc3261, &mut out);
    check_values(msg, &mut out);
    check_body(msg, &mut out);
    out.0
}

/// Line structure: RFC 3261 §7 (CRLF line ends, the empty line, `name: value` lines).
fn check_framing(msg: &Message, out: &mut Out) {
    if msg.end_of_head == EndOfHead::Missing {
        out.add(
            "missing-empty-line",
            "the header section is not ended by an empty line (RFC 3261 §7)".into(),
        );
    }
    if msg.head_raw.is_some() {
        out.add(
            "non-utf8",
            "the header section holds bytes that are not UTF-8 (RFC 3261 §25.1 TEXT-UTF8)".into(),
        );
    }
    let hb = msg.head.as_bytes();
    if let Some(i) = (0..hb.len()).find(|&i| hb[i] == b'\n' && (i == 0 || hb[i - 1] != b'\r')) {
        let line = 1 + hb[..i].iter().filter(|&&c| c == b'\n').count();
        out.add(
            "bare-lf",
            format!("line {line} ends in LF without CR (RFC 3261 §7: CRLF)"),
        );
    }
    for h in &msg.headers {
        if h.malformed {
            let text = h.raw.and_then(|(a, b)| msg.head.get(a..b)).unwrap_or("");
            out.add(
                "malformed-header-line",
                format!("line {}: not a header field: {:?}", h.line, text.trim_end()),
            );
        } else if !is_token(h.name.get(&msg.head)) {
            out.add(
                "bad-header-name",
                format!(
                    "line {}: header name {:?} is not a token",
                    h.line,
                    h.name.get(&msg.head)
                ),
            );
        }
    }
}

fn check_start_line(msg: &Message, out: &mut Out) {
    let raw = msg
        .start_raw
        .and_then(|(a, b)| msg.head.get(a..b))
        .map(|s| s.trim_end_matches(['\r', '\n']));
    let (version, canonical) = match &msg.start {
        StartLine::Request {
            method,
            uri,
            version,
        } => {
            if !is_token(method) {
                out.add("bad-method", format!("method {method:?} is not a token"));
            }
            check_request_uri(uri, out);
            (version, format!("{method} {uri} {version}"))
        }
        StartLine::Response {
            version,
            code,
            reason,
        } => {
            if !(100..=699).contains(code) {
                out.add(
                    "bad-status-code",
                    format!("status code {code} is not 100-699 (RFC 3261 §7.2)"),
                );
            }
            (version, format!("{version} {code} {reason}"))
        }
    };
    if version != "SIP/2.0" {
        out.add(
            "bad-version",
            format!("protocol version {version:?} is not SIP/2.0 (RFC 3261 §7.1; answer 505)"),
        );
    }
    if raw.is_some_and(|r| r != canonical) {
        out.add(
            "start-line-whitespace",
            format!(
                "start line {:?} is not separated by single SPs (RFC 3261 §7.1)",
                raw.unwrap_or("")
            ),
        );
    }
}

fn check_request_uri(uri: &str, out: &mut Out) {
    if !is_absolute_uri(uri) {
        out.add(
            "bad-request-uri",
            format!("Request-URI {uri:?} is not an absolute URI (RFC 3261 §7.1)"),
        );
        return;
    }
    let scheme = uri.split(':').next().unwrap_or("");
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        match SipUri::parse(uri) {
            Err(e) => out.add("bad-request-uri", format!("Request-URI: {e}")),
            Ok(u) if !u.headers.is_empty() => out.add(
                "request-uri-headers",
                format!("Request-URI {uri:?} carries headers (RFC 3261 §19.1.5)"),
            ),
            Ok(_) => {}
        }
    }
}

/// Mandatory headers (RFC 3261 §8.1.1) and single-value headers (§20; RFC 4475 §3.3.8).
fn check_presence(msg: &Message, rfc3261: bool, out: &mut Out) {
    for name in ["To", "From", "CSeq", "Call-ID", "Via"] {
        if msg.header_count(name) == 0 {
            out.add(
                "missing-header",
                format!("no {name} header (RFC 3261 §8.1.1)"),
            );
        }
    }
    if msg.is_request() && msg.header_count("Max-Forwards") == 0 {
        if rfc3261 {
            out.add(
                "missing-header",
                "no Max-Forwards header (RFC 3261 §8.1.1.6)".into(),
            );
        } else {
            out.add(
                "rfc2543-missing-max-forwards",
                "no Max-Forwards (RFC 2543 style request, RFC 3261 §8.1.1.6)".into(),
            );
        }
    }
    for name in SINGLE_VALUE {
        let n: usize = msg
            .headers
            .iter()
            .filter(|h| !h.malformed && names_match(h.name.get(&msg.head), name))
            .count();
        if n > 1 {
            out.add(
                "multiple-values",
                format!("{name} appears {n} times but allows one value (RFC 3261 §20)"),
            );
        }
    }
    let cl = msg.header_count("Content-Length");
    if cl > 1 {
        out.add(
            "multiple-content-length",
            format!("Content-Length appears {cl} times (RFC 3261 §20.14)"),
        );
    }
    if msg.is_request()
        && let Some(from) = msg.from_addr()
        && from.tag().is_none()
    {
        let (rule, sev) = if rfc3261 {
            ("missing-from-tag", "MUST")
        } else {
            ("rfc2543-missing-from-tag", "RFC 2543 style")
        };
        out.add(rule, format!("From has no tag ({sev}, RFC 3261 §8.1.1.3)"));
    }
}

/// Rule name for a header whose value does not parse.
fn bad_rule(name: &str) -> &'static str {
    const RULES: &[(&str, &str)] = &[
        ("From", "bad-from"),
        ("To", "bad-to"),
        ("Contact", "bad-contact"),
        ("Route", "bad-route"),
        ("Record-Route", "bad-record-route"),
        ("Via", "bad-via"),
        ("CSeq", "bad-cseq"),
    ];
    RULES
        .iter()
        .find(|(n, _)| names_match(n, name))
        .map_or("bad-header-value", |(_, r)| r)
}

/// Headers whose values are name-addr / addr-spec.
const NAME_ADDR_HEADERS: &[&str] = &[
    "From",
    "To",
    "Contact",
    "Route",
    "Record-Route",
    "Path",
    "Service-Route",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Refer-To",
    "Referred-By",
];

fn check_values(msg: &Message, out: &mut Out) {
    for h in msg.headers.iter().filter(|h| !h.malformed) {
        let name = h.name.get(&msg.head);
        let value = h.value.get(&msg.head);
        let line = h.line;
        if is_list_header(name) && !value.is_empty() {
            let (total, empty) = count_raw_elements(value);
            if empty > 0 && total > 1 {
                out.add(
                    "empty-list-element",
                    format!("line {line}: {name} has empty list elements: {value:?}"),
                );
            }
        }
        let elements: Vec<&str> = if is_list_header(name) {
            super::header::split_list(value).collect()
        } else {
            vec![value]
        };
        for v in elements {
            check_value(msg, name, v, line, out);
        }
    }
}

fn check_value(msg: &Message, name: &str, v: &str, line: usize, out: &mut Out) {
    let bad = |out: &mut Out, detail: String| {
        out.add(bad_rule(name), format!("line {line}: {name}: {detail}"));
    };
    if NAME_ADDR_HEADERS.iter().any(|n| names_match(n, name)) {
        if names_match(name, "Contact") && v == "*" {
            return;
        }
        match NameAddr::parse(v) {
            Err(e) => bad(out, e.to_string()),
            Ok(na) => {
                check_name_addr_syntax(name, v, line, out);
                if (starts_with_ci(&na.uri, "sip:") || starts_with_ci(&na.uri, "sips:"))
                    && let Err(e) = SipUri::parse(&na.uri)
                {
                    bad(out, e.to_string());
                }
                if names_match(name, "Contact")
                    && let Some(e) = na.param("expires")
                    && parse_decimal(e)
                        .and_then(|n| u32::try_from(n).ok())
                        .is_none()
                {
                    out.add(
                        "bad-expires",
                        format!(
                            "line {line}: Contact expires={e:?} is not 0..2^32-1 (RFC 3261 §20.10)"
                        ),
                    );
                }
            }
        }
        return;
    }
    match super::header::canonical_name(name)
        .to_ascii_lowercase()
        .as_str()
    {
        "via" => match Via::parse(v) {
            Err(e) => bad(out, e.to_string()),
            Ok(via) => {
                // Only the top Via matters for transaction matching (RFC 3261 §17.2.3);
                // warning about each lower one would bury the report.
                let is_top = msg.header("Via") == Some(v);
                if is_top && !via.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE)) {
                    out.add(
                        "rfc2543-via",
                        format!("line {line}: Via without a z9hG4bK branch (RFC 3261 §8.1.1.7)"),
                    );
                }
            }
        },
        "cseq" => match CSeq::parse(v) {
            Err(e) => bad(out, e.to_string()),
            Ok(c) => {
                if c.seq >= 1 << 31 {
                    bad(
                        out,
                        format!("sequence {} is not below 2^31 (RFC 3261 §8.1.1.5)", c.seq),
                    );
                }
                if !is_token(&c.method) {
                    bad(out, format!("method {:?} is not a token", c.method));
                }
                if let Some(m) = msg.method()
                    && m != c.method
                {
                    out.add(
                        "cseq-method-mismatch",
                        format!(
                            "line {line}: CSeq method {:?} differs from request method {m:?} (RFC 3261 §8.1.1.5)",
                            c.method
                        ),
                    );
                }
            }
        },
        "call-id" if (v.is_empty() || v.contains([' ', '\t'])) => {
            out.add(
                "bad-call-id",
                format!("line {line}: Call-ID {v:?} (RFC 3261 §20.8)"),
            );
        }
        "max-forwards" if parse_decimal(v).is_none_or(|n| n > 255) => {
            out.add(
                "bad-max-forwards",
                format!("line {line}: Max-Forwards {v:?} is not 0-255 (RFC 3261 §20.22)"),
            );
        }
        "expires" | "min-expires"
            if parse_decimal(v)
                .and_then(|n| u32::try_from(n).ok())
                .is_none() =>
        {
            out.add(
                "bad-expires",
                format!("line {line}: {name} {v:?} is not 0..2^32-1 (RFC 3261 §20.19)"),
            );
        }
        "content-length" if parse_decimal(v).is_none() => {
            out.add(
                    "bad-content-length",
                    format!("line {line}: Content-Length {v:?} is not a non-negative number (RFC 3261 §20.14)"),
                );
        }
        "retry-after" => {
            let secs = v.split([' ', '\t', ';', '(']).next().unwrap_or("");
            if parse_decimal(secs)
                .and_then(|n| u32::try_from(n).ok())
                .is_none()
            {
                out.add(
                    "bad-retry-after",
                    format!("line {line}: Retry-After {v:?} (RFC 3261 §20.33)"),
                );
            }
        }
        "warning" => {
            let code = v.split([' ', '\t']).next().unwrap_or("");
            if code.len() != 3 || !code.bytes().all(|c| c.is_ascii_digit()) {
                out.add(
                    "bad-warning",
                    format!("line {line}: warn-code {code:?} is not 3 digits (RFC 3261 §20.43)"),
                );
            }
        }
        "date" if !is_rfc1123_date(v) => {
            out.add(
                "bad-date",
                format!("line {line}: Date {v:?} is not an RFC 1123 date in GMT (RFC 3261 §20.17)"),
            );
        }
        "replaces" => {
            if let Err(e) = Replaces::parse(v) {
                bad(out, e.to_string());
            }
        }
        _ => {}
    }
}

/// Strict name-addr syntax the lenient parser lets through: an unquoted display name must
/// be tokens (RFC 4475 §3.1.2.15) and `<...>` must not hold whitespace (§3.1.2.14).
fn check_name_addr_syntax(name: &str, v: &str, line: usize, out: &mut Out) {
    let Some(lt) = find_top_level(v, b'<') else {
        return;
    };
    let display = v[..lt].trim_matches(is_wsp);
    if !display.starts_with('"')
        && !display.is_empty()
        && !display
            .split([' ', '\t'])
            .filter(|p| !p.is_empty())
            .all(is_token)
    {
        out.add(
            "bad-display-name",
            format!("line {line}: {name}: unquoted display name {display:?} is not tokens (RFC 3261 §25.1)"),
        );
    }
    let inner = &v[lt + 1..];
    let inner = &inner[..inner.find('>').unwrap_or(inner.len())];
    if inner.starts_with(is_wsp) || inner.ends_with(is_wsp) {
        out.add(
            "bad-addr-spec",
            format!("line {line}: {name}: whitespace inside <{inner}> (RFC 3261 §25.1)"),
        );
    }
}

/// RFC 1123 date as RFC 3261 §20.17 requires: `Sat, 13 Nov 2010 23:29:00 GMT`.
fn is_rfc1123_date(v: &str) -> bool {
    const DAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: &[&str] = &[
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    // byte comparisons only: `v` may hold multi-byte characters at any offset
    b.len() == 29
        && DAYS.iter().any(|d| d.as_bytes() == &b[..3])
        && &b[3..5] == b", "
        && digits(5..7)
        && b[7] == b' '
        && MONTHS.iter().any(|m| m.as_bytes() == &b[8..11])
        && b[11] == b' '
        && digits(12..16)
        && b[16] == b' '
        && digits(17..19)
        && b[19] == b':'
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
        && &b[25..] == b" GMT"
}

/// Content-Length against the body (RFC 3261 §18.3, §20.14).
fn check_body(msg: &Message, out: &mut Out) {
    if let Some(n) = msg.content_length()
        && msg.header_count("Content-Length") == 1
        && n != msg.body().len()
    {
        out.add(
            "content-length-mismatch",
            format!(
                "Content-Length {n} but only {} body octets arrived (RFC 3261 §18.3)",
                msg.body().len()
            ),
        );
    }
    if !msg.trailing().is_empty() {
        out.add(
            "trailing-octets",
            format!(
                "{} octets after the Content-Length body were ignored (RFC 3261 §18.3)",
                msg.trailing().len()
            ),
        );
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
