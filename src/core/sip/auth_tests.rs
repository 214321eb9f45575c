use super::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// RFC 2617 §3.5: the "Mufasa" example (MD5, qop=auth).
#[test]
fn rfc2617_3_5_md5_qop_auth() {
    let ch = Challenge::parse(
        r#"Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
    )
    .unwrap();
    assert_eq!(ch.realm, "testrealm@host.com");
    assert!(ch.qop_auth);
    assert_eq!(ch.algorithm, Algorithm::Md5);
    let r = authorize(
        &ch,
        "Mufasa",
        "Circle Of Life",
        "GET",
        "/dir/index.html",
        "0a4f113b",
        1,
    );
    assert_eq!(r.response, "6629fae49393a05397450978507c4ef1");
    assert_eq!(r.nc.as_deref(), Some("00000001"));
    assert_eq!(r.qop.as_deref(), Some("auth"));
    assert_eq!(
        r.opaque.as_deref(),
        Some("5ccc069c403ebaf9f0171e9517f40e41")
    );
    assert!(verify(&r, "Circle Of Life", "GET"));
    assert!(!verify(&r, "Circle of Life", "GET"));
}

/// RFC 7616 §3.9.1: the same user with SHA-256 and with MD5.
#[test]
fn rfc7616_3_9_1_sha256_and_md5() {
    let header = |alg: &str| {
        format!(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        )
    };
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    for (alg, expected) in [
        (
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ] {
        let ch = Challenge::parse(&header(alg)).unwrap();
        let r = authorize(
            &ch,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            cnonce,
            1,
        );
        assert_eq!(r.response, expected, "{alg}");
        assert!(verify(&r, "Circle of Life", "GET"));
    }
}

#[test]
fn legacy_no_qop_register_and_invite() {
    let ch = Challenge::parse(r#"Digest realm="asterisk",nonce="1a2b3c4d""#).unwrap();
    assert!(!ch.qop_auth);
    let r = authorize(
        &ch,
        "1001",
        "s3cret",
        "REGISTER",
        "sip:pbx.acme.test",
        "x",
        1,
    );
    assert_eq!(
        (r.cnonce.as_ref(), r.nc.as_ref(), r.qop.as_ref()),
        (None, None, None)
    );
    // H(H(A1):nonce:H(A2)) computed independently.
    let ha1 = Algorithm::Md5.hex("1001:asterisk:s3cret");
    let ha2 = Algorithm::Md5.hex("REGISTER:sip:pbx.acme.test");
    assert_eq!(
        r.response,
        Algorithm::Md5.hex(&format!("{ha1}:1a2b3c4d:{ha2}"))
    );
    assert!(verify(&r, "s3cret", "REGISTER"));
    assert!(!verify(&r, "s3cret", "INVITE"), "method is part of A2");

    let inv = authorize(
        &ch,
        "1001",
        "s3cret",
        "INVITE",
        "sip:1099@pbx.acme.test",
        "x",
        1,
    );
    assert!(verify(&inv, "s3cret", "INVITE"));
    let mut tampered = inv.clone();
    tampered.uri = "sip:1098@pbx.acme.test".into();
    assert!(!verify(&tampered, "s3cret", "INVITE"));
}

#[test]
fn verify_rejects_qop_without_nc() {
    let ch = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth""#).unwrap();
    let mut r = authorize(&ch, "u", "p", "INVITE", "sip:x", "c", 7);
    assert!(verify(&r, "p", "INVITE"));
    r.nc = None;
    assert!(!verify(&r, "p", "INVITE"));
}

#[test]
fn response_header_round_trip() {
    let ch = Challenge {
        realm: r#"we"ird\realm"#.into(),
        nonce: "abc".into(),
        opaque: Some("op".into()),
        algorithm: Algorithm::Sha256,
        qop_auth: true,
        stale: false,
    };
    let r = authorize(
        &ch,
        "alice",
        "pw",
        "REGISTER",
        "sip:example.com",
        "cn",
        0x1f,
    );
    let text = r.to_header_value();
    assert!(text.contains(r#"realm="we\"ird\\realm""#), "{text}");
    assert!(text.contains(", nc=0000001f, qop=auth"), "{text}");
    assert_eq!(DigestResponse::parse(&text).unwrap(), r);
    assert!(verify(
        &DigestResponse::parse(&text).unwrap(),
        "pw",
        "REGISTER"
    ));
}

#[test]
fn challenge_header_round_trip() {
    for ch in [
        Challenge {
            realm: "pbx".into(),
            nonce: "n1".into(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: false,
            stale: false,
        },
        Challenge {
            realm: "a \"b\"".into(),
            nonce: "n2".into(),
            opaque: Some("o".into()),
            algorithm: Algorithm::Sha256,
            qop_auth: true,
            stale: true,
        },
    ] {
        let text = ch.to_header_value();
        assert_eq!(Challenge::parse(&text).unwrap(), ch, "{text}");
    }
    assert_eq!(
        Challenge {
            realm: "r".into(),
            nonce: "n".into(),
            opaque: Some("o".into()),
            algorithm: Algorithm::Md5,
            qop_auth: true,
            stale: true,
        }
        .to_header_value(),
        r#"Digest realm="r", nonce="n", opaque="o", algorithm=MD5, qop="auth", stale=TRUE"#
    );
}

#[test]
fn real_world_challenges() {
    // Kamailio/OpenSIPS style.
    let k = Challenge::parse(
        r#"Digest realm="sip.example.com", nonce="ZQ7cXGUO2zD1TfGkHvO8nB3fJ2uJ3XSf", qop="auth""#,
    )
    .unwrap();
    assert!(k.qop_auth && !k.stale && k.opaque.is_none());
    // Asterisk chan_pjsip: algorithm unquoted, opaque, qop.
    let a = Challenge::parse(
        r#"Digest realm="asterisk",nonce="1712345678/0d1e2f",opaque="6a2b1c",algorithm=md5,qop="auth""#,
    )
    .unwrap();
    assert_eq!(
        (a.algorithm, a.opaque.as_deref()),
        (Algorithm::Md5, Some("6a2b1c"))
    );
    // Spaces around '=', stale unquoted, SHA-256 quoted.
    let s = Challenge::parse(
        r#"Digest realm = "x" , nonce = "y", algorithm="SHA-256", stale=true, qop = "auth,auth-int""#,
    )
    .unwrap();
    assert_eq!(
        (s.algorithm, s.stale, s.qop_auth),
        (Algorithm::Sha256, true, true)
    );
    // Several challenges: the first Digest one wins (RFC 8760 §2.4: SHA-256 first).
    let m = Challenge::parse(
        r#"Basic realm="x", Digest realm="r", nonce="n1", algorithm=SHA-256, Digest realm="r", nonce="n2", algorithm=MD5"#,
    )
    .unwrap();
    assert_eq!((m.nonce.as_str(), m.algorithm), ("n1", Algorithm::Sha256));
    // Credentials as a phone sends them: qop/nc unquoted, algorithm quoted (seen in the wild).
    let r = DigestResponse::parse(
        r#"Digest username="1001",realm="asterisk",nonce="abc",uri="sip:pbx",response="ABCDEF",algorithm="MD5",cnonce="xyz",nc=00000002,qop="auth""#,
    )
    .unwrap();
    assert_eq!(
        (r.nc.as_deref(), r.qop.as_deref()),
        (Some("00000002"), Some("auth"))
    );
}

#[test]
fn errors_are_values() {
    assert_eq!(
        Challenge::parse(r#"Basic realm="x""#),
        Err(AuthError::UnsupportedScheme("Basic".into()))
    );
    assert_eq!(
        Challenge::parse(""),
        Err(AuthError::UnsupportedScheme(String::new()))
    );
    assert_eq!(
        Challenge::parse(r#"Digest nonce="n""#),
        Err(AuthError::MissingParam("realm"))
    );
    assert_eq!(
        Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=MD5-sess"#),
        Err(AuthError::UnsupportedAlgorithm("MD5-sess".into()))
    );
    assert_eq!(
        Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#),
        Err(AuthError::UnsupportedQop("auth-int".into()))
    );
    assert!(matches!(
        Challenge::parse(r#"Digest realm="r"#),
        Err(AuthError::Malformed(_))
    ));
    assert_eq!(
        DigestResponse::parse(r#"Digest username="u", realm="r", nonce="n", uri="u""#),
        Err(AuthError::MissingParam("response"))
    );
}

#[test]
fn password_never_in_debug_output() {
    let c = Credentials {
        username: "1001".into(),
        password: "hunter2-secret".into(),
    };
    let dbg = format!("{c:?}");
    assert!(
        dbg.contains("1001") && !dbg.contains("hunter2-secret"),
        "{dbg}"
    );
    let ch = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth""#).unwrap();
    let r = authorize(&ch, "1001", "hunter2-secret", "INVITE", "sip:x", "c", 1);
    assert!(!format!("{r:?}").contains("hunter2-secret"));
    assert!(!r.to_header_value().contains("hunter2-secret"));
}

#[test]
fn nonce_book_stale_unknown_replay() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut book = NonceBook::new(Duration::from_secs(30));
    let t0 = Time::from_millis(1_000);
    let n = book.issue(t0, &mut rng);
    assert_eq!(n.len(), 32);
    assert!(n.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(n, book.issue(t0, &mut rng));

    assert_eq!(
        book.check(t0, "nope", Some("00000001")),
        NonceCheck::Unknown
    );
    assert_eq!(book.check(t0, &n, Some("00000001")), NonceCheck::Valid);
    assert_eq!(book.check(t0, &n, Some("00000001")), NonceCheck::Replay);
    assert_eq!(book.check(t0, &n, Some("00000003")), NonceCheck::Valid);
    assert_eq!(book.check(t0, &n, Some("00000002")), NonceCheck::Replay);
    assert_eq!(
        book.check(t0, &n, Some("4")),
        NonceCheck::Replay,
        "not 8 hex digits"
    );
    assert_eq!(book.check(t0, &n, None), NonceCheck::Valid, "legacy no-qop");
    // Exactly max_age is still fresh; one microsecond later it is stale.
    let edge = t0 + Duration::from_secs(30);
    assert_eq!(book.check(edge, &n, Some("00000004")), NonceCheck::Valid);
    assert_eq!(
        book.check(edge + Duration::from_micros(1), &n, Some("00000005")),
        NonceCheck::Stale
    );
    // Issuing much later forgets it entirely.
    book.issue(t0 + Duration::from_secs(61), &mut rng);
    assert_eq!(book.check(t0, &n, Some("00000009")), NonceCheck::Unknown);
}

mod props {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            let _ = Challenge::parse(&s);
            let _ = DigestResponse::parse(&s);
            let _ = Challenge::parse(&format!("Digest {s}"));
        }

        #[test]
        fn any_realm_and_nonce_round_trip(realm in "\\PC{0,40}", nonce in "[!-~]{1,40}", qop in any::<bool>()) {
            let ch = Challenge { realm, nonce, opaque: None, algorithm: Algorithm::Md5, qop_auth: qop, stale: false };
            prop_assert_eq!(Challenge::parse(&ch.to_header_value()).unwrap(), ch.clone());
            let r = authorize(&ch, "u\"ser", "pw", "INVITE", "sip:a@b", "cn", 1);
            let back = DigestResponse::parse(&r.to_header_value()).unwrap();
            prop_assert!(verify(&back, "pw", "INVITE"));
        }
    }
}
