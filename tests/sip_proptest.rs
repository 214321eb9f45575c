//! Property tests of the SIP codec: generated messages round-trip through
//! `to_bytes` → `parse` → `to_bytes`, and no input (random or a mutated RFC 4475 message)
//! makes the parser, the accessors, `validate` or `frame` panic. For every input that
//! parses, `to_bytes() + trailing()` is the input itself.

use flipcheck::core::sip::{Message, NameAddr, SipUri, Via, frame, validate};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!%*_+`'~.-]{1,12}"
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("INVITE".to_string()),
        Just("ACK".to_string()),
        Just("BYE".to_string()),
        Just("REFER".to_string()),
        Just("REGISTER".to_string()),
        token(),
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,5}){0,2}",
        "192\\.0\\.2\\.[0-9]{1,3}",
        Just("[2001:db8::1]".to_string()),
        Just("[::1]".to_string()),
    ]
}

fn uri() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("sip"), Just("sips"), Just("SIP")],
        proptest::option::of("[a-z0-9._%+-]{1,10}"),
        host(),
        proptest::option::of(1u16..),
        proptest::collection::vec(("[a-z]{1,6}", proptest::option::of("[a-z0-9]{0,6}")), 0..3),
    )
        .prop_map(|(scheme, user, host, port, params)| {
            let mut s = format!("{scheme}:");
            if let Some(u) = user {
                s.push_str(&u);
                s.push('@');
            }
            s.push_str(&host);
            if let Some(p) = port {
                s.push_str(&format!(":{p}"));
            }
            for (n, v) in params {
                s.push(';');
                s.push_str(&n);
                if let Some(v) = v {
                    s.push('=');
                    s.push_str(&v);
                }
            }
            s
        })
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Via".to_string()),
        Just("v".to_string()),
        Just("i".to_string()),
        Just("Call-ID".to_string()),
        Just("m".to_string()),
        Just("Contact".to_string()),
        Just("f".to_string()),
        Just("To".to_string()),
        Just("CSeq".to_string()),
        Just("Record-Route".to_string()),
        Just("Subject".to_string()),
        Just("WWW-Authenticate".to_string()),
        token(),
    ]
}

/// A header value: visible text with quotes, commas, <>, semicolons and UTF-8, no CR/LF.
fn value_text() -> impl Strategy<Value = String> {
    "[ -~é€\t]{0,30}"
}

/// Whitespace that is odd but legal: around the colon and between folded lines.
fn wsp() -> impl Strategy<Value = String> {
    "[ \t]{0,3}"
}

#[derive(Debug, Clone)]
struct Line {
    name: String,
    before_colon: String,
    after_colon: String,
    /// Value pieces; pieces after the first go on folded continuation lines.
    pieces: Vec<String>,
    fold_ws: Vec<String>,
}

fn header_line() -> impl Strategy<Value = Line> {
    (
        header_name(),
        wsp(),
        wsp(),
        proptest::collection::vec(value_text(), 1..3),
        proptest::collection::vec("[ \t]{1,3}", 3),
    )
        .prop_map(|(name, before_colon, after_colon, pieces, fold_ws)| Line {
            name,
            before_colon,
            after_colon,
            pieces,
            fold_ws,
        })
}

fn message_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            (method(), uri()).prop_map(|(m, u)| format!("{m} {u} SIP/2.0")),
            (100u16..700, "[ -~é]{0,20}").prop_map(|(c, r)| format!("SIP/2.0 {c} {r}")),
        ],
        proptest::collection::vec(header_line(), 0..12),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
        0usize..3,
    )
        .prop_map(|(start, lines, body, with_cl, leading)| {
            let mut s = "\r\n".repeat(leading);
            s.push_str(&start);
            s.push_str("\r\n");
            for l in lines {
                s.push_str(&l.name);
                s.push_str(&l.before_colon);
                s.push(':');
                s.push_str(&l.after_colon);
                for (i, p) in l.pieces.iter().enumerate() {
                    if i > 0 {
                        s.push_str("\r\n");
                        s.push_str(&l.fold_ws[i]);
                    }
                    s.push_str(p);
                }
                s.push_str("\r\n");
            }
            if with_cl {
                s.push_str(&format!("l: {}\r\n", body.len()));
            }
            s.push_str("\r\n");
            let mut b = s.into_bytes();
            b.extend_from_slice(&body);
            b
        })
}

/// Everything a caller might do with a parsed message; must never panic.
fn exercise(m: &Message) {
    let _ = (
        m.method(),
        m.request_uri(),
        m.status(),
        m.reason(),
        m.body(),
    );
    let _ = (
        m.call_id(),
        m.cseq(),
        m.from_addr(),
        m.to_addr(),
        m.contact(),
    );
    let _ = (
        m.contacts(),
        m.vias(),
        m.top_via(),
        m.record_routes(),
        m.routes(),
    );
    let _ = (
        m.max_forwards(),
        m.expires(),
        m.content_length(),
        m.content_type(),
    );
    let _ = (m.replaces(), m.session_id(), m.p_asserted_identity());
    let _ = m.header_values("Via");
    for (n, v) in m.headers() {
        let _ = (
            m.header(n),
            NameAddr::parse(v),
            Via::parse(v),
            SipUri::parse(v),
        );
    }
    for f in validate(m) {
        let _ = f.severity();
    }
    let mut e = m.clone();
    e.remove_first_value("Via");
    e.set_header("Content-Length", "0");
    e.insert_header_first("Via", "SIP/2.0/UDP x;branch=z9hG4bK1");
    let again = Message::parse(&e.to_bytes()).expect("an edited message still parses");
    assert_eq!(again.top_via().unwrap().host, "x");
}

fn check_lossless(input: &[u8]) {
    if let Ok(m) = Message::parse(input) {
        let mut out = m.to_bytes();
        out.extend_from_slice(m.trailing());
        assert_eq!(out, input);
        exercise(&m);
    }
    let _ = frame(input);
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=100000 for a long soak.
    #[test]
    fn generated_messages_round_trip(bytes in message_bytes()) {
        let m = Message::parse(&bytes).expect("generated message parses");
        let once = m.to_bytes();
        prop_assert_eq!(&once, &bytes);
        let m2 = Message::parse(&once).expect("re-parse");
        prop_assert_eq!(m2.to_bytes(), once);
        prop_assert_eq!(m.headers().count(), m2.headers().count());
        for ((n1, v1), (n2, v2)) in m.headers().zip(m2.headers()) {
            prop_assert_eq!(n1, n2);
            prop_assert_eq!(v1, v2);
            prop_assert!(!v1.contains(['\r', '\n']));
            prop_assert_eq!(v1.trim_matches([' ', '\t']), v1);
        }
        exercise(&m);
    }

    #[test]
    fn built_messages_round_trip(
        m in method(),
        u in uri(),
        headers in proptest::collection::vec((header_name(), "[!-~é€]([ -~é€]{0,20}[!-~é€])?"), 0..10),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut msg = Message::request(&m, &u);
        for (n, v) in &headers {
            msg.push_header(n, v);
        }
        msg.set_body("application/octet-stream", &body);
        let bytes = msg.to_bytes();
        let parsed = Message::parse(&bytes).expect("built message parses");
        prop_assert_eq!(parsed.to_bytes(), bytes.clone());
        prop_assert_eq!(parsed.body(), &body[..]);
        prop_assert_eq!(parsed.method(), Some(m.as_str()));
        prop_assert_eq!(parsed.request_uri(), Some(u.as_str()));
        let got: Vec<(String, String)> =
            parsed.headers().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        let want: Vec<(String, String)> =
            msg.headers().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(frame(&bytes), Ok(Some(bytes.len())));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_lossless(&bytes);
    }

    #[test]
    fn sip_shaped_noise_never_panics(s in "[A-Za-z0-9 :;,<>\"\\\\@=/.\\[\\]\r\n\t%?&-]{0,300}") {
        check_lossless(s.as_bytes());
        check_lossless(format!("INVITE sip:a@b SIP/2.0\r\n{s}").as_bytes());
    }

    #[test]
    fn mutated_corpus_never_panics(
        file in 0usize..49,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rfc4475");
        let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        names.sort();
        let mut b = std::fs::read(&names[file % names.len()]).unwrap();
        for (at, byte, op) in edits {
            if b.is_empty() { break; }
            let i = at.index(b.len());
            match op {
                0 => b[i] = byte,
                1 => b.insert(i, byte),
                _ => { b.remove(i); }
            }
        }
        check_lossless(&b);
    }
}
