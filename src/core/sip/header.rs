//! Header names and list values: compact forms, case-insensitive matching, and splitting of
//! comma lists that respects quoted strings and `<...>`.
//!
//! RFC 3261 §7.3.1: header names are case-insensitive and a header field whose grammar is a
//! comma-separated list may be written as several lines or as one line with commas; both mean
//! the same thing. §7.3.3 defines single-letter compact forms, later RFCs add more.

/// Compact forms: RFC 3261 §7.3.3 (i m e l c f s k t v), RFC 6665 (o u), RFC 3515 (r),
/// RFC 3892 (b), RFC 4028 (x), RFC 3841 (a j d), RFC 4474 (y n).
const COMPACT: &[(u8, &str)] = &[
    (b'i', "Call-ID"),
    (b'm', "Contact"),
    (b'e', "Content-Encoding"),
    (b'l', "Content-Length"),
    (b'c', "Content-Type"),
    (b'f', "From"),
    (b's', "Subject"),
    (b'k', "Supported"),
    (b't', "To"),
    (b'v', "Via"),
    (b'o', "Event"),
    (b'r', "Refer-To"),
    (b'b', "Referred-By"),
    (b'x', "Session-Expires"),
    (b'u', "Allow-Events"),
    (b'a', "Accept-Contact"),
    (b'j', "Reject-Contact"),
    (b'd', "Request-Disposition"),
    (b'y', "Identity"),
    (b'n', "Identity-Info"),
];

/// Headers whose grammar is `#element` (a comma list), so `A: x, y` equals `A: x` + `A: y`.
/// Deliberately absent: the authentication headers (their parameters are comma separated,
/// RFC 3261 §20.7, §20.27), Date (its value contains a comma), Subject, Call-ID, and every
/// header we do not know (splitting an unknown value could change its meaning).
const LIST_HEADERS: &[&str] = &[
    "Via",
    "Route",
    "Record-Route",
    "Contact",
    "Supported",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "Allow",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Allow-Events",
    "Content-Encoding",
    "Content-Language",
    "In-Reply-To",
    "Alert-Info",
    "Call-Info",
    "Error-Info",
    "Warning",
    "Path",
    "Service-Route",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "P-Associated-URI",
    "P-Visited-Network-ID",
    "Reason",
    "Security-Client",
    "Security-Server",
    "Security-Verify",
    "History-Info",
    "Accept-Contact",
    "Reject-Contact",
    "Request-Disposition",
    "Diversion",
    "Resource-Priority",
    "Accept-Resource-Priority",
    "Geolocation",
    "Permission-Missing",
    "Trigger-Consent",
];

/// The long form of a header name: a compact letter (either case) becomes its long name,
/// anything else is returned unchanged (still in the case it was written).
pub fn canonical_name(name: &str) -> &str {
    if let [c] = name.as_bytes() {
        let c = c.to_ascii_lowercase();
        for (k, long) in COMPACT {
            if *k == c {
                return long;
            }
        }
    }
    name
}

/// The compact letter of a long header name, if it has one.
pub fn compact_form(name: &str) -> Option<char> {
    COMPACT
        .iter()
        .find(|(_, long)| long.eq_ignore_ascii_case(name))
        .map(|(c, _)| *c as char)
}

/// True if two header names denote the same header (case-insensitive, compact forms both ways).
pub fn names_match(a: &str, b: &str) -> bool {
    canonical_name(a).eq_ignore_ascii_case(canonical_name(b))
}

/// True if the header's values form a comma list (Via, Contact, Route, Supported, ...;
/// not the authentication headers, Date, or unknown headers).
pub fn is_list_header(name: &str) -> bool {
    let name = canonical_name(name);
    LIST_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Splits a comma list into trimmed elements, never inside a quoted string (with `\`
/// escapes) or `<...>`. Empty elements (`a,,b`) are skipped; `validate` reports them.
pub fn split_list(value: &str) -> SplitList<'_> {
    SplitList { rest: value }
}

/// Iterator returned by [`split_list`].
#[derive(Clone, Debug)]
pub struct SplitList<'a> {
    rest: &'a str,
}

impl<'a> Iterator for SplitList<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let end = find_top_level(self.rest, b',').unwrap_or(self.rest.len());
            let item = self.rest[..end].trim_matches(is_wsp);
            self.rest = self.rest.get(end + 1..).unwrap_or("");
            if !item.is_empty() {
                return Some(item);
            }
        }
    }
}

/// Number of comma-separated elements including empty ones (`a,,b` → 3); for `validate`.
pub fn count_raw_elements(value: &str) -> (usize, usize) {
    let mut total = 0;
    let mut empty = 0;
    let mut rest = value;
    loop {
        let end = find_top_level(rest, b',').unwrap_or(rest.len());
        total += 1;
        if rest[..end].trim_matches(is_wsp).is_empty() {
            empty += 1;
        }
        match rest.get(end + 1..) {
            Some(r) => rest = r,
            None => return (total, empty),
        }
    }
}

/// Byte index of the first `sep` that is outside quoted strings and `<...>`.
/// An unterminated quote or `<` swallows the rest, so nothing after it is split off.
pub(crate) fn find_top_level(s: &str, sep: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut in_quote = false;
    let mut in_angle = false;
    while i < b.len() {
        let c = b[i];
        if in_quote {
            match c {
                b'\\' => i += 1,
                b'"' => in_quote = false,
                _ => {}
            }
        } else if in_angle {
            if c == b'>' {
                in_angle = false;
            }
        } else if c == sep {
            return Some(i);
        } else if c == b'"' {
            in_quote = true;
        } else if c == b'<' {
            in_angle = true;
        }
        i += 1;
    }
    None
}

/// SP or HTAB (RFC 3261 §25.1 WSP).
pub(crate) fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 3261 §25.1 `token` characters.
pub(crate) fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// ASCII case-insensitive prefix test that never slices `s` (it may be any UTF-8).
pub(crate) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// True if `s` is a non-empty RFC 3261 token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_both_ways() {
        assert_eq!(canonical_name("i"), "Call-ID");
        assert_eq!(canonical_name("V"), "Via");
        assert_eq!(canonical_name("Via"), "Via");
        assert_eq!(canonical_name("X-Foo"), "X-Foo");
        assert_eq!(compact_form("call-id"), Some('i'));
        assert_eq!(compact_form("Route"), None);
        assert!(names_match("i", "Call-ID"));
        assert!(names_match("CALL-ID", "I"));
        assert!(names_match("v", "via"));
        assert!(!names_match("v", "To"));
        assert!(names_match("y", "Identity"));
    }

    #[test]
    fn list_headers() {
        assert!(is_list_header("Via"));
        assert!(is_list_header("m"));
        assert!(is_list_header("record-route"));
        assert!(!is_list_header("WWW-Authenticate"));
        assert!(!is_list_header("Authorization"));
        assert!(!is_list_header("Date"));
        assert!(!is_list_header("X-Unknown"));
    }

    #[test]
    fn split_respects_quotes_and_angles() {
        let v = r#""Bell, A. \"x,y\"" <sip:a@b;p=1,2>;q=1 , <sip:c@d> ,, sip:e@f"#;
        let items: Vec<&str> = split_list(v).collect();
        assert_eq!(
            items,
            vec![
                r#""Bell, A. \"x,y\"" <sip:a@b;p=1,2>;q=1"#,
                "<sip:c@d>",
                "sip:e@f"
            ]
        );
        assert_eq!(count_raw_elements(v), (4, 1));
        assert_eq!(split_list("").count(), 0);
        assert_eq!(split_list(" , ").count(), 0);
        assert_eq!(count_raw_elements("a"), (1, 0));
    }

    #[test]
    fn unterminated_quote_is_not_split() {
        let items: Vec<&str> = split_list(r#""a, b <sip:x>"#).collect();
        assert_eq!(items, vec![r#""a, b <sip:x>"#]);
    }

    #[test]
    fn tokens() {
        assert!(is_token("!interesting-Method0123456789_*+`.%indeed'~"));
        assert!(!is_token("Bell,"));
        assert!(!is_token(""));
    }
}
