use super::*;

#[test]
fn name_addr_forms() {
    let n =
        NameAddr::parse(r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#)
            .unwrap();
    assert_eq!(n.display.as_deref(), Some(r#"J Rosenberg \""#));
    assert_eq!(n.uri, "sip:jdrosen@example.com");
    assert_eq!(n.tag(), Some("98asjd8"));
    assert_eq!(
        n.to_string(),
        r#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#
    );

    let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
    assert_eq!(n.display.as_deref(), Some("caller"));
    assert_eq!(n.tag(), Some("323"));

    // bare addr-spec: parameters belong to the header (RFC 3261 §20)
    let n = NameAddr::parse("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
    assert_eq!(n.uri, "sip:+19725552222@gw1.example.net");
    assert_eq!(n.param("unknownparam"), Some(""));
    assert_eq!(n.display, None);

    let n = NameAddr::parse("<sip:+19725552222@gw1.example.net;unknownparam>").unwrap();
    assert_eq!(n.uri, "sip:+19725552222@gw1.example.net;unknownparam");
    assert!(n.params.is_empty());

    let n = NameAddr::parse("isbn:2983792873").unwrap();
    assert_eq!(n.uri, "isbn:2983792873");
    let n = NameAddr::parse("<tel:+1-555-1234>;x=\"a;b\"").unwrap();
    assert_eq!(n.uri, "tel:+1-555-1234");
    assert_eq!(n.param("X"), Some("\"a;b\""));
}

#[test]
fn name_addr_lenient_and_rejects() {
    let n = NameAddr::parse(r#""Watson, Thomas" < sip:t.watson@example.org >"#).unwrap();
    assert_eq!(n.uri, "sip:t.watson@example.org");
    let n = NameAddr::parse("Bell, Alexander <sip:a.g.bell@example.com>;tag=43").unwrap();
    assert_eq!(n.display.as_deref(), Some("Bell, Alexander"));
    for bad in [
        r#""Mr. J. User <sip:j.user@example.com>"#,
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
        r#""Joe" <sip:joe@example.org>;;;;"#,
        "<sip:a@b",
        "",
        "<>",
        "nocolon",
        "<sip:a@b> junk",
        "<sip:a@b>;tag=a b",
    ] {
        assert!(NameAddr::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn name_addr_params_edit() {
    let mut n = NameAddr::new("sip:a@b");
    n.set_param("tag", Some("x"));
    n.set_param("lr", None);
    n.set_param("TAG", Some("y"));
    assert_eq!(n.to_string(), "<sip:a@b>;tag=y;lr");
    n.remove_param("lr");
    assert_eq!(n.to_string(), "<sip:a@b>;tag=y");
    n.display = Some("A \"B\"".into());
    assert_eq!(n.to_string(), r#""A \"B\"" <sip:a@b>;tag=y"#);
    assert_eq!(NameAddr::parse(&n.to_string()).unwrap(), n);
}

#[test]
fn via_forms() {
    let v = Via::parse("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw").unwrap();
    assert_eq!(
        (v.transport.as_str(), v.host.as_str(), v.port),
        ("UDP", "192.0.2.2", None)
    );
    assert_eq!(v.branch(), Some("390skdjuw"));
    let v = Via::parse("SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8")
        .unwrap();
    assert_eq!(v.host, "spindle.example.com");
    assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
    let mut v =
        Via::parse("SIP/2.0/TLS [2001:db8::9] : 5061;rport;received=[2001:db8::1]").unwrap();
    assert_eq!(v.host, "[2001:db8::9]");
    assert_eq!(v.port, Some(5061));
    assert_eq!(v.param("rport"), Some(""));
    v.set_param("rport", Some("5062"));
    assert_eq!(
        v.to_string(),
        "SIP/2.0/TLS [2001:db8::9]:5061;rport=5062;received=[2001:db8::1]"
    );
    let v = Via::parse("SIP/2.0/UDP iftgw.example.com (gateway)").unwrap();
    assert_eq!(v.branch(), None);
    for bad in [
        "SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw",
        "SIP/2.0/UDP 192.0.2.15;;",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0 UDP host",
        "SIP/2.0/UDPhost",
        "SIP/2.0/UDP ho st",
    ] {
        assert!(Via::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn cseq_and_replaces() {
    assert_eq!(
        CSeq::parse("0009 INVITE").unwrap(),
        CSeq {
            seq: 9,
            method: "INVITE".into()
        }
    );
    assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
    assert!(CSeq::parse("1").is_err());
    assert!(CSeq::parse("1 INVITE x").is_err());
    assert_eq!(CSeq::parse("1 ACK").unwrap().to_string(), "1 ACK");

    let r = Replaces::parse("98732@sip.example.com ;from-tag=r33th4x0r ;to-tag=ff87ff").unwrap();
    assert_eq!(r.call_id, "98732@sip.example.com");
    assert_eq!(r.to_tag, "ff87ff");
    assert_eq!(r.from_tag, "r33th4x0r");
    assert!(!r.early_only);
    assert_eq!(
        r.to_string(),
        "98732@sip.example.com;to-tag=ff87ff;from-tag=r33th4x0r"
    );
    assert!(Replaces::parse("abc;to-tag=x").is_err());
    assert!(Replaces::parse(";to-tag=x;from-tag=y").is_err());
}
