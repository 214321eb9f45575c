//! The RFC 4475 torture-test corpus (fixtures/rfc4475, verdicts from its README table):
//! valid messages parse, re-emit byte-exact and carry no error findings; invalid ones are
//! rejected by the parser or carry the error finding named here.

use flipcheck::core::sip::{Message, Severity, SipUri, validate};

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Must parse, round-trip exactly, and have no error findings.
    Valid,
    /// Must parse, and `validate` must report this error rule ("reject above the parser",
    /// or an invalid message the lenient parser accepts).
    Flagged(&'static str),
    /// `Message::parse` must fail.
    Rejected,
}
use Expect::*;

const CORPUS: &[(&str, Expect)] = &[
    ("wsinv.dat", Valid),
    ("intmeth.dat", Valid),
    ("esc01.dat", Valid),
    ("escnull.dat", Valid),
    ("esc02.dat", Valid),
    ("lwsdisp.dat", Valid),
    ("longreq.dat", Valid),
    ("dblreq.dat", Valid),
    ("semiuri.dat", Valid),
    ("transports.dat", Valid),
    ("mpart01.dat", Valid),
    ("unreason.dat", Valid),
    ("noreason.dat", Valid),
    ("badinv01.dat", Flagged("bad-via")),
    ("clerr.dat", Flagged("content-length-mismatch")),
    ("ncl.dat", Flagged("bad-content-length")),
    ("scalar02.dat", Flagged("bad-cseq")),
    ("scalarlg.dat", Flagged("bad-cseq")),
    ("quotbal.dat", Flagged("bad-to")),
    ("ltgtruri.dat", Flagged("bad-request-uri")),
    ("lwsruri.dat", Flagged("bad-request-uri")),
    ("lwsstart.dat", Flagged("start-line-whitespace")),
    ("trws.dat", Flagged("start-line-whitespace")),
    ("escruri.dat", Flagged("request-uri-headers")),
    ("baddate.dat", Flagged("bad-date")),
    ("regbadct.dat", Flagged("bad-contact")),
    ("badaspec.dat", Flagged("bad-addr-spec")),
    ("baddn.dat", Flagged("bad-display-name")),
    ("badvers.dat", Flagged("bad-version")),
    ("mismatch01.dat", Flagged("cseq-method-mismatch")),
    ("mismatch02.dat", Flagged("cseq-method-mismatch")),
    ("bigcode.dat", Rejected),
    ("badbranch.dat", Valid),
    ("insuf.dat", Flagged("missing-header")),
    ("unkscm.dat", Valid),
    ("novelsc.dat", Valid),
    ("unksm2.dat", Valid),
    ("bext01.dat", Valid),
    ("invut.dat", Valid),
    ("regaut01.dat", Valid),
    ("multi01.dat", Flagged("multiple-values")),
    ("mcl01.dat", Flagged("multiple-content-length")),
    ("bcast.dat", Valid),
    ("zeromf.dat", Valid),
    ("cparam01.dat", Valid),
    ("cparam02.dat", Valid),
    ("regescrt.dat", Valid),
    ("sdp01.dat", Valid),
    ("inv2543.dat", Valid),
];

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rfc4475")
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse(name: &str) -> Message {
    Message::parse(&load(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn table_covers_every_fixture() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dat"))
        .collect();
    files.sort();
    let mut table: Vec<String> = CORPUS.iter().map(|(n, _)| n.to_string()).collect();
    table.sort();
    assert_eq!(files, table);
    assert_eq!(files.len(), 49);
}

#[test]
fn corpus_verdicts() {
    for (name, expect) in CORPUS {
        let raw = load(name);
        let parsed = Message::parse(&raw);
        match expect {
            Valid => {
                let m = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
                // Trailing octets (dblreq) are recorded, not re-emitted.
                let mut again = m.to_bytes();
                again.extend_from_slice(m.trailing());
                assert_eq!(again, raw, "{name}: not byte-exact");
                let errors: Vec<_> = validate(&m)
                    .into_iter()
                    .filter(|f| f.severity() == Severity::Error)
                    .collect();
                assert!(errors.is_empty(), "{name}: {errors:?}");
            }
            Flagged(rule) => {
                let m = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(m.to_bytes(), raw, "{name}: not byte-exact");
                let f = validate(&m);
                assert!(
                    f.iter().any(|f| f.rule == *rule && f.is_error()),
                    "{name}: expected {rule}, got {f:?}"
                );
            }
            Rejected => assert!(parsed.is_err(), "{name}: parsed"),
        }
    }
}

#[test]
fn dblreq_keeps_only_the_first_message() {
    let raw = load("dblreq.dat");
    let m = parse("dblreq.dat");
    assert_eq!(m.method(), Some("REGISTER"));
    assert_eq!(
        m.call_id(),
        Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"),
        "via I:"
    );
    assert_eq!(m.body(), b"");
    // RFC 4475 §3.1.1.8: the second request (after a CRLF) is not part of the message.
    assert!(
        m.trailing()
            .starts_with(b"\r\nINVITE sip:joe@example.com SIP/2.0\r\n")
    );
    assert_eq!(m.to_bytes().len() + m.trailing().len(), raw.len());
    let f = validate(&m);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, "trailing-octets");
    assert_eq!(f[0].severity(), Severity::Warning);
}

#[test]
fn wsinv_typed_values() {
    let m = parse("wsinv.dat");
    assert_eq!(m.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
    assert_eq!(m.header("i"), Some("wsinv.ndaksdj@192.0.2.1"));
    assert_eq!(m.max_forwards(), Some(68));
    assert_eq!(m.content_length(), Some(150));
    let c = m.cseq().unwrap();
    assert_eq!((c.seq, c.method.as_str()), (9, "INVITE"));
    let to = m.to_addr().unwrap();
    assert_eq!(to.uri, "sip:vivekg@chair-dnrc.example.com");
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = m.from_addr().unwrap();
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    let vias = m.vias();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host, "192.0.2.2");
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].host, "192.168.255.111");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(m.header("Subject"), Some(""));
    assert_eq!(
        m.header("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(m.header("UnknownHeaderWithUnusualValue"), Some(";;,,;;,;"));
    let route = &m.routes()[0];
    assert_eq!(
        route.uri,
        "sip:services.example.com;lr;unknownwith=value;unknown-no-value"
    );
    let contact = m.contact().unwrap();
    assert_eq!(contact.display.as_deref(), Some("Quoted string \"\""));
    assert_eq!(contact.param("newparam"), Some("newvalue"));
    assert_eq!(contact.param("secondparam"), Some(""));
    assert_eq!(contact.param("q"), Some("0.33"));
}

#[test]
fn esc01_uris_stay_escaped() {
    let m = parse("esc01.dat");
    let ruri = SipUri::parse(m.request_uri().unwrap()).unwrap();
    assert_eq!(ruri.user.as_deref(), Some("sips%3Auser%40example.com"));
    assert_eq!(ruri.host, "example.net");
    assert_eq!(
        flipcheck::core::sip::unescape(ruri.user.as_deref().unwrap()),
        b"sips:user@example.com"
    );
    assert_eq!(
        m.call_id(),
        Some("esc01.239409asdfakjkn23onasd0-3234"),
        "via i:"
    );
    assert_eq!(m.to_addr().unwrap().uri, "sip:%75se%72@example.com");
    assert_eq!(m.content_type(), Some("application/sdp"));
    let c = SipUri::parse(&m.contact().unwrap().uri).unwrap();
    assert_eq!(c.param("%6C%72"), Some(""));
    assert_eq!(c.param("n%61me"), Some("v%61lue%25%34%31"));
}

#[test]
fn transports_via_list() {
    let m = parse("transports.dat");
    let t: Vec<String> = m.vias().into_iter().map(|v| v.transport).collect();
    assert_eq!(t, vec!["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn other_typed_values() {
    let m = parse("intmeth.dat");
    assert_eq!(
        m.method(),
        Some("!interesting-Method0123456789_*+`.%indeed'~")
    );
    assert_eq!(m.cseq().unwrap().method, m.method().unwrap());
    assert_eq!(m.from_addr().unwrap().tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        m.to_addr().unwrap().display.as_deref(),
        Some("BEL:\u{7} NUL:\u{0} DEL:\u{7f}")
    );

    let m = parse("longreq.dat");
    assert_eq!(m.vias().len(), 34);
    assert_eq!(m.top_via().unwrap().host, "sip33.example.com");

    let m = parse("esc02.dat");
    assert_eq!(m.contacts().len(), 2, "C%6Fntact is not Contact");

    let m = parse("unreason.dat");
    assert_eq!(m.status(), Some(200));
    assert!(m.reason().unwrap().starts_with("= 2**3 * 5**2 "));

    let m = parse("noreason.dat");
    assert_eq!((m.status(), m.reason()), (Some(100), Some("")));

    let m = parse("regescrt.dat");
    let c = SipUri::parse(&m.contact().unwrap().uri).unwrap();
    assert_eq!(
        c.headers,
        vec![("Route".into(), "%3Csip:sip.example.com%3E".into())]
    );

    let m = parse("cparam01.dat");
    let c = m.contact().unwrap();
    assert_eq!(c.uri, "sip:+19725552222@gw1.example.net");
    assert_eq!(c.param("unknownparam"), Some(""));

    let m = parse("unksm2.dat");
    assert_eq!(m.to_addr().unwrap().uri, "isbn:2983792873");
    assert_eq!(m.contact().unwrap().uri, "name:John_Smith");

    let m = parse("mpart01.dat");
    assert_eq!(m.body().len(), 553);
    assert_eq!(m.content_length(), Some(553));

    let m = parse("bext01.dat");
    assert!(m.requires("nothingSupportsThisEither"));
    assert_eq!(
        m.header_values("Proxy-Require"),
        vec!["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    );

    let m = parse("semiuri.dat");
    assert_eq!(m.header_values("Accept").len(), 6);
}

#[test]
fn corpus_is_stream_framed_like_datagrams() {
    // Every corpus message whose Content-Length matches its body frames to its own length.
    for (name, _) in CORPUS {
        let raw = load(name);
        let Ok(m) = Message::parse(&raw) else {
            continue;
        };
        let single_valid_cl =
            m.header_count("Content-Length") == 1 && m.content_length() == Some(m.body().len());
        let has_empty_line = !validate(&m).iter().any(|f| f.rule == "missing-empty-line");
        if single_valid_cl && m.trailing().is_empty() && has_empty_line {
            assert_eq!(
                flipcheck::core::sip::frame(&raw),
                Ok(Some(raw.len())),
                "{name}"
            );
        }
    }
    assert_eq!(flipcheck::core::sip::frame(&load("baddn.dat")), Ok(None));
    assert!(flipcheck::core::sip::frame(&load("ncl.dat")).is_err());
    assert!(flipcheck::core::sip::frame(&load("inv2543.dat")).is_err());
    assert_eq!(
        flipcheck::core::sip::frame(&load("dblreq.dat")),
        Ok(Some(
            load("dblreq.dat").len() - parse("dblreq.dat").trailing().len()
        ))
    );
}
