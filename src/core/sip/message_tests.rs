use super::*;
use crate::core::sip::{CSeq, NameAddr, ParseError};

const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070;branch=z9hG4bK2\r\n\
Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n\
Max-Forwards: 70\r\n\
f: \"Alice, A.\" <sip:alice@example.com>;tag=a1\r\n\
t: <sip:bob@example.com>\r\n\
i: abc@host\r\n\
CSeq: 1\r\n  INVITE\r\n\
m: <sip:alice@[2001:db8::1]:5060;transport=tcp>;expires=60, \"x,y\" <sip:x@y>\r\n\
Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\n\
Route: <sip:r1;lr>\r\n\
WWW-Authenticate: Digest realm=\"a\", nonce=\"b\"\r\n\
Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n\
Expires: 120\r\n\
Replaces: 12345@host;to-tag=t1;from-tag=f1;early-only\r\n\
Session-ID: ab30317f1a784dc48ff824d0d3715d86;remote=00000000000000000000000000000000\r\n\
P-Asserted-Identity: <sip:alice@example.com>, <tel:+15551234>\r\n\
k: replaces, timer\r\n\
c: application/sdp\r\n\
l: 4\r\n\
\r\n\
v=0\n";

fn invite() -> Message {
    Message::parse(INVITE).unwrap()
}

#[test]
fn parse_round_trips_and_start_line() {
    let m = invite();
    assert_eq!(m.to_bytes(), INVITE);
    assert!(m.is_request());
    assert_eq!(m.method(), Some("INVITE"));
    assert_eq!(m.request_uri(), Some("sip:bob@example.com"));
    assert_eq!(m.status(), None);
    assert_eq!(m.reason(), None);
    assert_eq!(m.body(), b"v=0\n");
    assert!(m.trailing().is_empty());
}

#[test]
fn compact_forms_both_ways() {
    let m = invite();
    assert_eq!(m.header("Call-ID"), Some("abc@host"));
    assert_eq!(m.header("call-id"), Some("abc@host"));
    assert_eq!(m.header("i"), Some("abc@host"));
    assert_eq!(
        m.header("v"),
        Some("SIP/2.0/UDP a.example.com;branch=z9hG4bK1")
    );
    assert_eq!(m.header("Content-Length"), Some("4"));
    assert_eq!(m.header("X-Missing"), None);
}

#[test]
fn values_split_only_list_headers() {
    let m = invite();
    assert_eq!(
        m.header_values("Via"),
        vec![
            "SIP/2.0/UDP a.example.com;branch=z9hG4bK1",
            "SIP/2.0/TCP b.example.com:5070;branch=z9hG4bK2",
            "SIP/2.0/UDP c.example.com;branch=z9hG4bK3",
        ]
    );
    assert_eq!(
        m.header_values("Contact"),
        vec![
            "<sip:alice@[2001:db8::1]:5060;transport=tcp>;expires=60",
            "\"x,y\" <sip:x@y>"
        ]
    );
    assert_eq!(
        m.header_values("WWW-Authenticate"),
        vec!["Digest realm=\"a\", nonce=\"b\""]
    );
    assert_eq!(
        m.header_values("Date"),
        vec!["Sat, 13 Nov 2010 23:29:00 GMT"]
    );
    assert_eq!(
        m.header_values("From"),
        vec!["\"Alice, A.\" <sip:alice@example.com>;tag=a1"]
    );
    assert_eq!(m.header_count("Via"), 2);
}

#[test]
fn headers_iterates_in_order_with_names_as_written() {
    let m = invite();
    let h: Vec<(&str, &str)> = m.headers().take(8).collect();
    assert_eq!(h[0].0, "v");
    assert_eq!(h[1], ("Via", "SIP/2.0/UDP c.example.com;branch=z9hG4bK3"));
    assert_eq!(h[6], ("CSeq", "1 INVITE"));
}

#[test]
fn typed_accessors() {
    let m = invite();
    assert_eq!(m.call_id(), Some("abc@host"));
    assert_eq!(
        m.cseq(),
        Some(CSeq {
            seq: 1,
            method: "INVITE".into()
        })
    );
    let from = m.from_addr().unwrap();
    assert_eq!(from.display.as_deref(), Some("Alice, A."));
    assert_eq!(from.uri, "sip:alice@example.com");
    assert_eq!(from.tag(), Some("a1"));
    let to = m.to_addr().unwrap();
    assert_eq!(to.tag(), None);
    let c = m.contact().unwrap();
    assert_eq!(c.uri, "sip:alice@[2001:db8::1]:5060;transport=tcp");
    assert_eq!(c.param("expires"), Some("60"));
    assert_eq!(m.contacts().len(), 2);
    assert_eq!(m.contacts()[1].display.as_deref(), Some("x,y"));
    let vias = m.vias();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[1].port, Some(5070));
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK1"));
    assert_eq!(
        m.record_routes()
            .iter()
            .map(|r| r.uri.as_str())
            .collect::<Vec<_>>(),
        vec!["sip:p1;lr", "sip:p2;lr"]
    );
    assert_eq!(m.routes().len(), 1);
    assert_eq!(m.max_forwards(), Some(70));
    assert_eq!(m.expires(), Some(120));
    assert_eq!(m.content_length(), Some(4));
    assert_eq!(m.content_type(), Some("application/sdp"));
    let r = m.replaces().unwrap();
    assert_eq!(
        (
            r.call_id.as_str(),
            r.to_tag.as_str(),
            r.from_tag.as_str(),
            r.early_only
        ),
        ("12345@host", "t1", "f1", true)
    );
    assert_eq!(m.session_id(), Some("ab30317f1a784dc48ff824d0d3715d86"));
    assert_eq!(
        m.p_asserted_identity().unwrap().uri,
        "sip:alice@example.com"
    );
    assert!(m.supports("TIMER"));
    assert!(!m.requires("timer"));
}

#[test]
fn absent_or_bad_typed_values_are_none() {
    let mut m = Message::request("OPTIONS", "sip:a@b");
    assert_eq!(m.cseq(), None);
    assert_eq!(m.top_via(), None);
    assert!(m.vias().is_empty());
    m.push_header("CSeq", "x OPTIONS");
    m.push_header("Max-Forwards", "-1");
    m.push_header("Expires", "99999999999");
    m.push_header("Content-Length", "1 2");
    m.push_header("Via", "SIP/2.0/UDP");
    assert_eq!(m.cseq(), None);
    assert_eq!(m.max_forwards(), None);
    assert_eq!(m.expires(), None);
    assert_eq!(m.content_length(), None);
    assert_eq!(m.top_via(), None);
}

#[test]
fn builders_emit_canonical_lines() {
    let mut m = Message::request("OPTIONS", "sip:bob@example.com");
    m.push_header("Via", "SIP/2.0/UDP h;branch=z9hG4bKx");
    m.push_header("Max-Forwards", "70");
    m.insert_header_first("Via", "SIP/2.0/UDP p;branch=z9hG4bKy");
    m.set_body("text/plain", b"hi");
    assert_eq!(
        m.to_bytes(),
        b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP p;branch=z9hG4bKy\r\n\
Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\
Max-Forwards: 70\r\n\
Content-Type: text/plain\r\n\
Content-Length: 2\r\n\
\r\nhi"
    );
    let r = Message::response(180, "Ringing");
    assert_eq!(r.to_bytes(), b"SIP/2.0 180 Ringing\r\n\r\n");
    assert_eq!(r.status(), Some(180));
    assert_eq!(r.reason(), Some("Ringing"));
    assert!(!r.is_request());
    assert_eq!(r.method(), None);
    assert_eq!(
        r.start_line(),
        &StartLine::Response {
            version: "SIP/2.0".into(),
            code: 180,
            reason: "Ringing".into()
        }
    );
}

#[test]
fn set_header_replaces_compact_form_in_place() {
    let mut m = invite();
    m.set_header("Content-Type", "text/plain");
    m.set_header("Call-ID", "new@host");
    let out = String::from_utf8(m.to_bytes()).unwrap();
    assert!(
        out.contains(
            "\r\nt: <sip:bob@example.com>\r\nCall-ID: new@host\r\nCSeq: 1\r\n  INVITE\r\n"
        )
    );
    assert!(out.contains("\r\nContent-Type: text/plain\r\nl: 4\r\n"));
    assert!(!out.contains("\r\nc:"));
    assert!(!out.contains("\r\ni:"));
    assert_eq!(m.call_id(), Some("new@host"));
    // several occurrences collapse into one at the first position
    m.set_header("Via", "SIP/2.0/UDP only;branch=z9hG4bK0");
    assert_eq!(
        m.header_values("Via"),
        vec!["SIP/2.0/UDP only;branch=z9hG4bK0"]
    );
    assert!(String::from_utf8(m.to_bytes()).unwrap().starts_with(
        "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP only;branch=z9hG4bK0\r\nMax-Forwards: 70\r\n"
    ));
    m.set_header("X-New", "1");
    assert_eq!(m.headers().last(), Some(("X-New", "1")));
}

#[test]
fn remove_first_value_on_shared_line() {
    let mut m = invite();
    m.remove_first_value("Via");
    assert_eq!(m.top_via().unwrap().host, "b.example.com");
    let out = String::from_utf8(m.to_bytes()).unwrap();
    assert!(out.starts_with(
        "INVITE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/TCP b.example.com:5070;branch=z9hG4bK2\r\nVia: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n"
    ));
    m.remove_first_value("Via");
    assert_eq!(m.top_via().unwrap().host, "c.example.com");
    assert_eq!(m.header_count("Via"), 1);
    m.remove_first_value("Via");
    assert_eq!(m.top_via(), None);
    // non-list header: the whole line goes
    m.remove_first_value("Date");
    assert_eq!(m.header("Date"), None);
    // quoted comma is not a separator
    m.remove_first_value("Contact");
    assert_eq!(m.contacts().len(), 1);
    assert_eq!(m.contact().unwrap().uri, "sip:x@y");
}

#[test]
fn remove_header_removes_all_spellings() {
    let mut m = invite();
    m.remove_header("VIA");
    assert!(m.vias().is_empty());
    assert_eq!(m.header_count("v"), 0);
    m.remove_header("l");
    assert_eq!(m.content_length(), None);
}

#[test]
fn folded_headers_unfold() {
    let raw = b"OPTIONS sip:a@b SIP/2.0\r\nSubject: one\r\n\ttwo  \r\n   three\r\nTo:\r\n <sip:a@b>\r\n\r\n";
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.header("s"), Some("one two three"));
    assert_eq!(m.to_addr().unwrap().uri, "sip:a@b");
    assert_eq!(m.to_bytes(), raw);
}

#[test]
fn bodies_and_trailing_octets() {
    let raw = b"SIP/2.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.body(), b"abc");
    assert_eq!(m.trailing(), b"def");
    assert_eq!(m.to_bytes(), &raw[..raw.len() - 3]);
    // no Content-Length on a datagram: the rest is the body
    let m = Message::parse(b"SIP/2.0 200 OK\r\n\r\nabc").unwrap();
    assert_eq!(m.body(), b"abc");
    // Content-Length beyond the datagram: body is what there is
    let m = Message::parse(b"SIP/2.0 200 OK\r\nl: 99\r\n\r\nabc").unwrap();
    assert_eq!(m.body(), b"abc");
}

#[test]
fn odd_inputs_are_kept_exactly() {
    for raw in [
        &b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"[..],
        b"OPTIONS sip:a@b SIP/2.0\nTo: <sip:a@b>\n\nbody",
        b"OPTIONS sip:a@b SIP/2.0\r\nno colon here\r\n continued\r\nTo: x\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nTo: x",
        b"OPTIONS sip:a@b SIP/2.0",
        b"SIP/2.0 200 \xff\xfe\r\nX: \xc3\r\n\r\n\x00\xff",
    ] {
        let m = Message::parse(raw).unwrap();
        assert_eq!(m.to_bytes(), raw, "{:?}", String::from_utf8_lossy(raw));
    }
    let m = Message::parse(b"OPTIONS sip:a@b SIP/2.0\r\nno colon here\r\nTo: x\r\n\r\n").unwrap();
    assert_eq!(m.headers().collect::<Vec<_>>(), vec![("To", "x")]);
}

#[test]
fn edits_after_unterminated_input_stay_well_formed() {
    let mut m = Message::parse(b"OPTIONS sip:a@b SIP/2.0\r\nTo: x").unwrap();
    m.push_header("From", "y");
    assert_eq!(
        m.to_bytes(),
        b"OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\nFrom: y\r\n\r\n"
    );
}

#[test]
fn parse_errors() {
    assert!(matches!(Message::parse(b""), Err(ParseError::Empty)));
    assert!(matches!(
        Message::parse(b"\r\n\r\n"),
        Err(ParseError::Empty)
    ));
    assert!(matches!(
        Message::parse(b"\r\nhello\r\n\r\n"),
        Err(ParseError::BadStartLine { line: 2, .. })
    ));
    assert!(matches!(
        Message::parse(b"SIP/2.0 abc OK\r\n\r\n"),
        Err(ParseError::BadStatusCode { line: 1, .. })
    ));
}

#[test]
fn request_uri_edit() {
    let mut m = invite();
    m.set_request_uri("sip:carol@example.com");
    assert!(
        m.to_bytes()
            .starts_with(b"INVITE sip:carol@example.com SIP/2.0\r\nv: ")
    );
    let n = NameAddr::new("sip:x@y");
    assert_eq!(n.to_string(), "<sip:x@y>");
}
