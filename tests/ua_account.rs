//! The simulated phone carrying out a target's account plan: its AOR in To and From (not
//! the auth username), only its realm's challenge answered, the expiry it was told to ask
//! for and a registrar's `423 Interval Too Brief`, the outbound proxy's Route on every
//! request outside a dialog, the advertised address in Contact and SDP, and a trunk
//! without credentials. Handcrafted answers in, exact requests out, in virtual time.

use std::net::SocketAddr;
use std::sync::Arc;

use flipcheck::core::Time;
use flipcheck::core::rtp::{Classifier, Codec};
use flipcheck::core::sip::{Algorithm, Challenge, DigestResponse, Message, response_to};
use flipcheck::roles::Transport;
use flipcheck::roles::ua::{
    CallState, EndCause, RegisterFailure, ReplacesMode, UaConfig, UaOptions, UserAgent,
};

const PBX: &str = "127.0.0.2:5060";
const ROUTE: &str = "<sip:sbc.acme.test:5070;transport=udp;lr>";

fn phone(password: &str, options: UaOptions) -> UserAgent {
    UserAgent::new(
        UaConfig {
            name: "desk".into(),
            username: "1001".into(),
            password: password.into(),
            domain: "acme.test".into(),
            proxy: PBX.parse().unwrap(),
            transport: Transport::Udp,
            sips: false,
            sip_addr: "127.0.0.1:7000".parse().unwrap(),
            rtp_addr: "127.0.0.1:7002".parse().unwrap(),
            codecs: vec![Codec::Pcmu],
            signature: 1,
            replaces: ReplacesMode::Accept,
            auto_answer: false,
            seed: 5,
            options,
        },
        Arc::new(Classifier::new()),
    )
}

fn plan() -> UaOptions {
    UaOptions {
        aor: Some("sip:alice@acme.test".into()),
        from: None,
        realm: Some("acme".into()),
        register_expires: 300,
        outbound_route: Some(ROUTE.into()),
        advertised_ip: Some("192.0.2.7".parse().unwrap()),
    }
}

/// The next request the phone sends, and where to.
fn sent(ua: &mut UserAgent) -> (Message, SocketAddr) {
    let t = ua.poll_transmit().expect("a request");
    (Message::parse(&t.data).unwrap(), t.to)
}

fn answer(ua: &mut UserAgent, now: Time, rsp: &Message) {
    let from: SocketAddr = PBX.parse().unwrap();
    ua.handle_datagram(
        now,
        "127.0.0.1:7000".parse().unwrap(),
        from,
        &rsp.to_bytes(),
    );
}

fn challenge(req: &Message, code: u16, realms: &[&str]) -> Message {
    let mut rsp = response_to(req, code, Some("t"));
    let header = if code == 407 {
        "Proxy-Authenticate"
    } else {
        "WWW-Authenticate"
    };
    for realm in realms {
        let c = Challenge {
            realm: realm.to_string(),
            nonce: format!("nonce-{realm}"),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: true,
            stale: false,
        };
        rsp.push_header(header, &c.to_header_value());
    }
    rsp.push_header("Content-Length", "0");
    rsp
}

#[test]
fn register_carries_the_aor_expiry_route_and_advertised_contact() {
    let mut ua = phone("pw", plan());
    ua.register(Time::ZERO);
    let (reg, to) = sent(&mut ua);
    assert_eq!(to, PBX.parse().unwrap(), "the outbound proxy's address");
    assert_eq!(reg.request_uri(), Some("sip:acme.test"));
    assert_eq!(reg.header("To"), Some("<sip:alice@acme.test>"));
    assert!(
        reg.header("From")
            .unwrap()
            .starts_with("<sip:alice@acme.test>;tag=")
    );
    assert_eq!(reg.header("Route"), Some(ROUTE));
    assert_eq!(reg.header("Expires"), Some("300"));
    assert_eq!(
        reg.header("Contact"),
        Some("<sip:1001@192.0.2.7:7000>;expires=300")
    );

    // Two challenges: a proxy's realm first, then ours; only ours is answered, as 1001.
    answer(
        &mut ua,
        Time::ZERO,
        &challenge(&reg, 401, &["edge", "acme"]),
    );
    let (again, _) = sent(&mut ua);
    let auth = DigestResponse::parse(again.header("Authorization").unwrap()).unwrap();
    assert_eq!(
        (auth.username.as_str(), auth.realm.as_str()),
        ("1001", "acme")
    );
    assert_eq!(again.header("Expires"), Some("300"));
    assert_eq!(again.header("Route"), Some(ROUTE));
}

#[test]
fn a_challenge_for_another_realm_is_not_answered_and_says_so() {
    let mut ua = phone("pw", plan());
    ua.register(Time::ZERO);
    let (reg, _) = sent(&mut ua);
    answer(&mut ua, Time::ZERO, &challenge(&reg, 401, &["edge"]));
    assert!(
        ua.poll_transmit().is_none(),
        "no credentials for realm edge"
    );
    let failure = ua.register_error().expect("failed");
    assert_eq!(
        failure.to_string(),
        "401 with a challenge flipcheck cannot answer (realm \"edge\"; the account is for realm \"acme\")"
    );
}

#[test]
fn interval_too_brief_is_asked_again_once_with_the_minimum() {
    let mut ua = phone("pw", plan());
    ua.register(Time::ZERO);
    let (reg, _) = sent(&mut ua);
    let mut brief = response_to(&reg, 423, Some("t"));
    brief.push_header("Min-Expires", "600");
    brief.push_header("Content-Length", "0");
    answer(&mut ua, Time::ZERO, &brief);
    let (again, _) = sent(&mut ua);
    assert_eq!(again.header("Expires"), Some("600"));
    assert_eq!(
        again.header("Contact"),
        Some("<sip:1001@192.0.2.7:7000>;expires=600")
    );
    // The same minimum again cannot be met by asking once more: that is a failure.
    let mut same = response_to(&again, 423, Some("t"));
    same.push_header("Min-Expires", "600");
    same.push_header("Content-Length", "0");
    answer(&mut ua, Time::ZERO, &same);
    assert!(ua.poll_transmit().is_none());
    assert!(
        matches!(
            ua.register_error(),
            Some(RegisterFailure::Refused { status: 423, .. })
        ),
        "{:?}",
        ua.register_error()
    );
}

#[test]
fn a_call_carries_the_aor_route_and_advertised_media() {
    let mut ua = phone("pw", plan());
    let idx = ua.call(Time::ZERO, "2001");
    let (invite, to) = sent(&mut ua);
    assert_eq!(to, PBX.parse().unwrap());
    assert_eq!(invite.request_uri(), Some("sip:2001@acme.test"));
    assert!(
        invite
            .header("From")
            .unwrap()
            .starts_with("<sip:alice@acme.test>;tag=")
    );
    assert_eq!(invite.header("Route"), Some(ROUTE));
    assert_eq!(invite.header("Contact"), Some("<sip:1001@192.0.2.7:7000>"));
    let sdp = String::from_utf8_lossy(invite.body()).into_owned();
    assert!(sdp.contains("c=IN IP4 192.0.2.7\r\n"), "{sdp}");
    assert!(sdp.contains("m=audio 7002 "), "{sdp}");
    assert_eq!(ua.calls[idx].state, CallState::Calling);
}

#[test]
fn a_trunk_without_credentials_ends_a_challenged_call_with_the_reason() {
    let options = UaOptions {
        from: Some("sip:+15551230000@acme.test".into()),
        ..UaOptions::default()
    };
    let mut ua = phone("", options);
    let idx = ua.call(Time::ZERO, "2001");
    let (invite, _) = sent(&mut ua);
    assert!(
        invite
            .header("From")
            .unwrap()
            .starts_with("<sip:+15551230000@acme.test>;tag=")
    );
    assert_eq!(invite.header("Route"), None, "no outbound proxy configured");
    answer(&mut ua, Time::ZERO, &challenge(&invite, 407, &["acme"]));
    assert_eq!(ua.calls[idx].state, CallState::Terminated);
    assert_eq!(
        ua.calls[idx].end_cause,
        Some(EndCause::Rejected(
            407,
            "with a challenge flipcheck cannot answer (realm \"acme\"; desk has no credentials)"
                .into()
        ))
    );
}
