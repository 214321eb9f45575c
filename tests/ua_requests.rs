//! The simulated phone facing requests a real PBX sends: an INVITE without an offer, an
//! offerless re-INVITE, a re-INVITE that moves the peer (target refresh), requests out of
//! order, for a call already ended, and a CANCEL that names nothing; a registrar's 503
//! with Retry-After, retried once in virtual time; an INVITE refused with 503 or 302; a
//! request requiring an extension the phone lacks.
//! Handcrafted messages in, exact requests and responses out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flipcheck::core::Time;
use flipcheck::core::rtp::{Classifier, Codec};
use flipcheck::core::sip::{Message, SessionDescription, StartLine, response_to};
use flipcheck::roles::Transport;
use flipcheck::roles::ua::{
    CallState, EndCause, RefusalDetail, ReplacesMode, UaConfig, UaEvent, UserAgent,
};

const PBX: &str = "127.0.0.1:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn phone() -> UserAgent {
    UserAgent::new(
        UaConfig {
            name: "desk".into(),
            username: "alice".into(),
            password: "pw".into(),
            domain: "127.0.0.1".into(),
            proxy: addr(PBX),
            transport: Transport::Udp,
            sips: false,
            sip_addr: addr("127.0.0.1:7000"),
            rtp_addr: addr("127.0.0.1:7002"),
            codecs: vec![Codec::Pcmu],
            signature: 1,
            replaces: ReplacesMode::Accept,
            auto_answer: false,
            seed: 3,
            options: Default::default(),
        },
        Arc::new(Classifier::new()),
    )
}

const OFFER: &str = "v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A request from the PBX; `to_tag` makes it in-dialog.
fn request(
    method: &str,
    cseq: u32,
    branch: &str,
    to_tag: Option<&str>,
    contact: &str,
    sdp: Option<&str>,
) -> Vec<u8> {
    let to = match to_tag {
        Some(t) => format!("<sip:alice@127.0.0.1>;tag={t}"),
        None => "<sip:alice@127.0.0.1>".into(),
    };
    let (ct, body) = match sdp {
        Some(b) => ("Content-Type: application/sdp\r\n", b),
        None => ("", ""),
    };
    format!(
        "{method} sip:alice@127.0.0.1:7000 SIP/2.0\r\nVia: SIP/2.0/UDP {PBX};branch={branch}\r\nFrom: <sip:customer@127.0.0.1>;tag=pbxtag\r\nTo: {to}\r\nCall-ID: call-1\r\nCSeq: {cseq} {method}\r\nContact: <{contact}>\r\nMax-Forwards: 70\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Every SIP response the phone sent since the last call.
fn responses(ua: &mut UserAgent) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(t) = ua.poll_transmit() {
        if let Ok(m) = Message::parse(&t.data)
            && !m.is_request()
        {
            out.push(m);
        }
    }
    out
}

fn feed(ua: &mut UserAgent, now: Time, data: &[u8]) -> Vec<Message> {
    ua.handle_datagram(now, addr("127.0.0.1:7000"), addr(PBX), data);
    responses(ua)
}

/// An answered call whose INVITE had no SDP: returns the phone and its To-tag.
fn late_offer_call() -> (UserAgent, String) {
    let mut ua = phone();
    let t = Time::ZERO;
    let rs = feed(
        &mut ua,
        t,
        &request(
            "INVITE",
            1,
            "z9hG4bKa",
            None,
            "sip:pbx@127.0.0.1:5060",
            None,
        ),
    );
    assert_eq!(rs.last().unwrap().status(), Some(180));
    let call = ua.ringing_call().unwrap();
    assert!(ua.answer(t, call));
    let ok = responses(&mut ua)
        .into_iter()
        .find(|m| m.status() == Some(200))
        .unwrap();
    // RFC 3264 §4: no offer in the INVITE, so the 200 carries ours.
    let offer = SessionDescription::parse(&String::from_utf8_lossy(ok.body())).unwrap();
    assert_eq!(offer.rtp_address().unwrap().1, 7002);
    assert!(
        ua.calls[call].remote_media.is_none(),
        "no media before the answer"
    );
    let tag = ok.to_addr().unwrap().tag().unwrap().to_string();
    let ack = request(
        "ACK",
        1,
        "z9hG4bKack",
        Some(&tag),
        "sip:pbx@127.0.0.1:5060",
        Some(OFFER),
    );
    feed(&mut ua, t, &ack);
    assert_eq!(
        ua.calls[call].remote_media,
        Some(addr("127.0.0.1:6000")),
        "answer taken from the ACK"
    );
    (ua, tag)
}

#[test]
fn late_offer_invite_gets_the_offer_in_the_200_and_the_answer_from_the_ack() {
    late_offer_call();
}

#[test]
fn offerless_reinvite_and_target_refresh() {
    let (mut ua, tag) = late_offer_call();
    let t = Time::from_millis(10);
    let re = request(
        "INVITE",
        2,
        "z9hG4bKre",
        Some(&tag),
        "sip:pbx@127.0.0.1:5099",
        None,
    );
    let ok = feed(&mut ua, t, &re)
        .into_iter()
        .find(|m| m.status() == Some(200))
        .unwrap();
    assert!(!ok.body().is_empty(), "an offer in the 200");
    let moved = OFFER.replace("6000", "6100");
    feed(
        &mut ua,
        t,
        &request(
            "ACK",
            2,
            "z9hG4bKack2",
            Some(&tag),
            "sip:pbx@127.0.0.1:5099",
            Some(&moved),
        ),
    );
    assert_eq!(ua.calls[0].remote_media, Some(addr("127.0.0.1:6100")));
    // The re-INVITE's Contact is the new remote target: our BYE goes there.
    ua.hangup(t, 0);
    let bye = std::iter::from_fn(|| ua.poll_transmit())
        .find(|t| t.data.starts_with(b"BYE"))
        .expect("a BYE");
    assert_eq!(bye.to, addr("127.0.0.1:5099"));
}

#[test]
fn out_of_order_ended_and_unknown_requests_are_refused() {
    let (mut ua, tag) = late_offer_call();
    let t = Time::from_millis(10);
    let info = request(
        "INFO",
        5,
        "z9hG4bKinfo",
        Some(&tag),
        "sip:pbx@127.0.0.1:5060",
        None,
    );
    assert_eq!(feed(&mut ua, t, &info)[0].status(), Some(200));
    // CSeq 4 after 5: out of order (RFC 3261 §12.2.2).
    let stale = request(
        "INFO",
        4,
        "z9hG4bKold",
        Some(&tag),
        "sip:pbx@127.0.0.1:5060",
        None,
    );
    assert_eq!(feed(&mut ua, t, &stale)[0].status(), Some(500));
    let bye = request(
        "BYE",
        6,
        "z9hG4bKbye",
        Some(&tag),
        "sip:pbx@127.0.0.1:5060",
        None,
    );
    assert_eq!(feed(&mut ua, t, &bye)[0].status(), Some(200));
    assert_eq!(ua.calls[0].state, CallState::Terminated);
    let late = request(
        "INVITE",
        7,
        "z9hG4bKlate",
        Some(&tag),
        "sip:pbx@127.0.0.1:5060",
        Some(OFFER),
    );
    assert_eq!(
        feed(&mut ua, t, &late)[0].status(),
        Some(481),
        "the call is over"
    );
    let cancel = request(
        "CANCEL",
        9,
        "z9hG4bKnothing",
        None,
        "sip:pbx@127.0.0.1:5060",
        None,
    );
    assert_eq!(
        feed(&mut ua, t, &cancel)[0].status(),
        Some(481),
        "names no INVITE we have"
    );
}

/// Every SIP request the phone sent since the last call.
fn requests(ua: &mut UserAgent) -> Vec<Message> {
    std::iter::from_fn(|| ua.poll_transmit())
        .filter_map(|t| Message::parse(&t.data).ok())
        .filter(Message::is_request)
        .collect()
}

/// The registrar's 503 to `register`, with `Retry-After: secs`.
fn unavailable(register: &Message, secs: u32) -> Vec<u8> {
    let mut rsp = response_to(register, 503, Some("reg"));
    rsp.push_header("Retry-After", &secs.to_string());
    rsp.push_header("Content-Length", "0");
    rsp.to_bytes()
}

fn only_register(ua: &mut UserAgent) -> Message {
    let sent = requests(ua);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].method(), Some("REGISTER"));
    sent.into_iter().next().unwrap()
}

#[test]
fn a_503_sooner_than_the_patience_is_retried_once_when_it_says() {
    let mut ua = phone();
    let t0 = Time::from_millis(1000);
    ua.register_within(t0, Duration::from_secs(4));
    let first = only_register(&mut ua);
    feed(&mut ua, t0, &unavailable(&first, 2));
    assert_eq!(ua.poll_event(), None, "not a failure yet");
    assert_eq!(ua.register_error(), None);
    // The retry is the next deadline, exactly the Retry-After later.
    let at = t0 + Duration::from_secs(2);
    assert_eq!(ua.poll_timeout(), at);
    ua.handle_timeout(t0 + Duration::from_millis(1999));
    assert!(requests(&mut ua).is_empty(), "not before it");
    ua.handle_timeout(at);
    let retry = only_register(&mut ua);
    assert_eq!(retry.call_id(), first.call_id(), "the same registration");
    assert_eq!(retry.cseq().unwrap().seq, first.cseq().unwrap().seq + 1);
    // A second 503 is the answer, however short its Retry-After.
    feed(&mut ua, at, &unavailable(&retry, 1));
    assert_eq!(
        ua.poll_event(),
        Some(UaEvent::RegisterFailed { status: 503 })
    );
    let failure = ua.register_error().expect("failed").to_string();
    assert_eq!(
        failure,
        "503 Service Unavailable (Retry-After: 1 s), again when retried once 2 s later"
    );
    ua.handle_timeout(at + Duration::from_secs(1));
    assert!(requests(&mut ua).is_empty(), "only one retry");
}

#[test]
fn a_retry_after_503_that_is_answered_registers() {
    let mut ua = phone();
    ua.register_within(Time::ZERO, Duration::from_secs(4));
    let first = only_register(&mut ua);
    feed(&mut ua, Time::ZERO, &unavailable(&first, 1));
    let at = Time::ZERO + Duration::from_secs(1);
    ua.handle_timeout(at);
    let retry = only_register(&mut ua);
    let mut ok = response_to(&retry, 200, Some("reg"));
    ok.push_header("Contact", &format!("<{}>;expires=60", ua.contact()));
    ok.push_header("Content-Length", "0");
    feed(&mut ua, at, &ok.to_bytes());
    assert_eq!(ua.poll_event(), Some(UaEvent::Registered));
    assert!(ua.is_registered());
}

#[test]
fn a_503_that_asks_for_longer_than_the_patience_is_the_answer_at_once() {
    // The Retry-After ends when the patience does (4 s), or there is no patience at all
    // (a plain `register`): reported at once, with its Retry-After.
    for (patience, secs) in [(Some(4), 4), (Some(4), 30), (None, 1)] {
        let mut ua = phone();
        match patience {
            Some(p) => ua.register_within(Time::ZERO, Duration::from_secs(p)),
            None => ua.register(Time::ZERO),
        }
        let first = only_register(&mut ua);
        feed(&mut ua, Time::ZERO, &unavailable(&first, secs));
        assert_eq!(
            ua.poll_event(),
            Some(UaEvent::RegisterFailed { status: 503 })
        );
        let failure = ua.register_error().expect("failed").to_string();
        assert_eq!(
            failure,
            format!("503 Service Unavailable (Retry-After: {secs} s)")
        );
    }
}

#[test]
fn a_retry_pending_at_shutdown_is_not_sent() {
    let mut ua = phone();
    ua.register_within(Time::ZERO, Duration::from_secs(4));
    let first = only_register(&mut ua);
    feed(&mut ua, Time::ZERO, &unavailable(&first, 1));
    ua.shutdown(Time::from_millis(500));
    ua.handle_timeout(Time::ZERO + Duration::from_secs(2));
    assert!(
        requests(&mut ua).is_empty(),
        "nothing after the end of the run"
    );
}

#[test]
fn a_refused_invite_keeps_its_retry_after_and_where_a_3xx_points() {
    for (status, reason, header, want) in [
        (
            302,
            "Moved Temporarily",
            ("Contact", "<sip:alice@192.0.2.7:5060>"),
            RefusalDetail {
                retry_after: None,
                redirect: Some("sip:alice@192.0.2.7:5060".into()),
            },
        ),
        (
            503,
            "Service Unavailable",
            ("Retry-After", "30"),
            RefusalDetail {
                retry_after: Some(30),
                redirect: None,
            },
        ),
    ] {
        let mut ua = phone();
        let call = ua.call(Time::ZERO, "bob");
        let invite = requests(&mut ua).into_iter().next().expect("the INVITE");
        let mut rsp = response_to(&invite, status, Some("pbx"));
        rsp.set_start_line(StartLine::Response {
            version: "SIP/2.0".into(),
            code: status,
            reason: reason.into(),
        });
        rsp.push_header(header.0, header.1);
        rsp.push_header("Content-Length", "0");
        ua.handle_datagram(
            Time::from_millis(5),
            addr("127.0.0.1:7000"),
            addr(PBX),
            &rsp.to_bytes(),
        );
        let ended = &ua.calls[call];
        assert_eq!(
            ended.end_cause,
            Some(EndCause::Rejected(status, reason.into()))
        );
        assert_eq!(ended.refusal, want);
        // Not followed, not retried: the only request after it is the ACK (RFC 3261 §17.1.1.3).
        let after = requests(&mut ua);
        assert_eq!(after.len(), 1, "{after:?}");
        assert_eq!(after[0].method(), Some("ACK"));
    }
}

/// `request` with a `Require:` header.
fn requiring(ext: &str, req: Vec<u8>) -> Vec<u8> {
    String::from_utf8(req)
        .unwrap()
        .replacen(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\nRequire: {ext}\r\n"),
            1,
        )
        .into_bytes()
}

#[test]
fn a_request_requiring_an_extension_the_phone_lacks_gets_420_naming_it() {
    let mut ua = phone();
    let t = Time::ZERO;
    let invite = request(
        "INVITE",
        1,
        "z9hG4bKrel",
        None,
        "sip:pbx@127.0.0.1:5060",
        Some(OFFER),
    );
    let rs = feed(&mut ua, t, &requiring("100rel, replaces", invite));
    assert_eq!(rs.len(), 1, "{rs:?}");
    assert_eq!(rs[0].status(), Some(420));
    assert_eq!(rs[0].header_values("Unsupported"), ["100rel"]);
    assert!(rs[0].to_addr().unwrap().tag().is_some(), "a tag of its own");
    assert!(ua.ringing_call().is_none(), "the phone does not ring");

    // In a dialog the call goes on: only the request is refused.
    let (mut ua, tag) = late_offer_call();
    let update = request(
        "UPDATE",
        2,
        "z9hG4bKtimer",
        Some(&tag),
        "sip:pbx@127.0.0.1:5060",
        None,
    );
    let rs = feed(&mut ua, t, &requiring("timer", update));
    assert_eq!(rs[0].status(), Some(420));
    assert_eq!(rs[0].header_values("Unsupported"), ["timer"]);
    assert_eq!(ua.calls[0].state, CallState::Confirmed);
}
