use super::*;

fn rules(raw: &str) -> Vec<&'static str> {
    let m = Message::parse(raw.as_bytes()).unwrap();
    validate(&m).into_iter().map(|f| f.rule).collect()
}

const GOOD: &str = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=1\r\n\
Call-ID: x@y\r\n\
CSeq: 1 OPTIONS\r\n\
Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn clean_message_has_no_findings() {
    assert_eq!(rules(GOOD), Vec::<&str>::new());
}

#[test]
fn each_rule_fires() {
    let cases: &[(&str, &str, &str)] = &[
        ("SIP/2.0", "SIP/3.0", "bad-version"),
        ("CSeq: 1 OPTIONS", "CSeq: 1 INVITE", "cseq-method-mismatch"),
        ("CSeq: 1 OPTIONS", "CSeq: 2147483648 OPTIONS", "bad-cseq"),
        ("Max-Forwards: 70", "Max-Forwards: 256", "bad-max-forwards"),
        ("Max-Forwards: 70\r\n", "", "missing-header"),
        (
            "Content-Length: 0",
            "Content-Length: 5",
            "content-length-mismatch",
        ),
        (
            "Content-Length: 0",
            "Content-Length: -1",
            "bad-content-length",
        ),
        (
            "Content-Length: 0",
            "l: 0\r\nContent-Length: 0",
            "multiple-content-length",
        ),
        ("Call-ID: x@y", "Call-ID: x@y\r\ni: z", "multiple-values"),
        ("GMT", "EST", "bad-date"),
        ("Alice <", "Alice, A. <", "bad-display-name"),
        (
            "<sip:bob@example.com>",
            "< sip:bob@example.com>",
            "bad-addr-spec",
        ),
        ("branch=z9hG4bK1", "branch=z9hG4bK1;;", "bad-via"),
        ("branch=z9hG4bK1", "branch=z9hG4bK1,,", "empty-list-element"),
        ("branch=z9hG4bK1", "branch=abc", "rfc2543-via"),
        (";tag=1", "", "missing-from-tag"),
        (
            "sip:bob@example.com SIP",
            "<sip:bob@example.com> SIP",
            "bad-request-uri",
        ),
        (
            "sip:bob@example.com SIP",
            "sip:bob@example.com?a=b SIP",
            "request-uri-headers",
        ),
        ("OPTIONS sip", "OPTIONS  sip", "start-line-whitespace"),
        ("OPTIONS", "OPT,IONS", "bad-method"),
        ("Call-ID: x@y", "Call ID: x@y", "malformed-header-line"),
        ("Call-ID: x@y", "Call-ID: x@y\r\nX(y): 1", "bad-header-name"),
        ("\r\n\r\n", "\r\n", "missing-empty-line"),
        ("CSeq: 1 OPTIONS\r\n", "CSeq: 1 OPTIONS\n", "bare-lf"),
        ("Date", "Expires: 4294967296\r\nDate", "bad-expires"),
        ("Date", "Retry-After: 4294967296\r\nDate", "bad-retry-after"),
        ("Date", "Warning: 1812 x \"y\"\r\nDate", "bad-warning"),
        ("Date", "Replaces: abc;to-tag=1\r\nDate", "bad-header-value"),
    ];
    for (from, to, rule) in cases {
        let raw = GOOD.replacen(from, to, 1);
        assert!(rules(&raw).contains(rule), "{rule}: {:?}", rules(&raw));
    }
}

#[test]
fn trailing_octets_are_a_warning() {
    let raw = format!("{GOOD}junk");
    let m = Message::parse(raw.as_bytes()).unwrap();
    let f = validate(&m);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, "trailing-octets");
    assert_eq!(f[0].severity(), Severity::Warning);
    assert!(!f[0].is_error());
}

#[test]
fn response_checks() {
    let raw = "SIP/2.0 99 Odd\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\n\
From: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n";
    assert_eq!(rules(raw), vec!["bad-status-code"]);
}

#[test]
fn non_utf8_is_reported() {
    let mut raw = GOOD.as_bytes().to_vec();
    raw.splice(0..0, b"".iter().copied());
    let pos = GOOD.find("Alice").unwrap();
    raw[pos] = 0xff;
    let m = Message::parse(&raw).unwrap();
    let r: Vec<_> = validate(&m).into_iter().map(|f| f.rule).collect();
    assert!(r.contains(&"non-utf8"), "{r:?}");
}

#[test]
fn dates() {
    assert!(is_rfc1123_date("Sat, 13 Nov 2010 23:29:00 GMT"));
    assert!(!is_rfc1123_date("Fri, 01 Jan 2010 16:00:00 EST"));
    assert!(!is_rfc1123_date("Fri, 01 Jan 2010 16:00:00 GMTX"));
    assert!(!is_rfc1123_date("ééé, 01 Jan 2010 16:00:00 GMT"));
}
