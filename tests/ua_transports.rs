//! The simulated phone on TCP and TLS: every request names the transport (Via, Contact,
//! SIPS URIs when the target asks for them), nothing is retransmitted, a failed connection
//! ends what waited on it with the reason, and an idle flow is pinged (RFC 5626 §4.4.1).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flipcheck::core::Time;
use flipcheck::core::rtp::{Classifier, Codec};
use flipcheck::core::sip::{Message, response_to};
use flipcheck::roles::ua::{
    CallState, EndCause, RegisterFailure, ReplacesMode, UaConfig, UaEvent, UserAgent,
};
use flipcheck::roles::{Transmit, Transport};

const PBX: &str = "127.0.0.2:5060";
const ME: &str = "127.0.0.1:7000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn phone(transport: Transport, sips: bool) -> UserAgent {
    UserAgent::new(
        UaConfig {
            name: "desk".into(),
            username: "alice".into(),
            password: "pw".into(),
            domain: "127.0.0.2".into(),
            proxy: addr(PBX),
            transport,
            sips,
            sip_addr: addr(ME),
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

fn sent(ua: &mut UserAgent) -> Vec<Transmit> {
    std::iter::from_fn(|| ua.poll_transmit()).collect()
}

fn parse(t: &Transmit) -> Message {
    Message::parse(&t.data).unwrap()
}

#[test]
fn a_phone_on_tcp_names_its_transport_in_every_request() {
    let mut ua = phone(Transport::Tcp, false);
    ua.register(Time::ZERO);
    ua.call(Time::ZERO, "bob");
    let out = sent(&mut ua);
    assert_eq!(out.len(), 2);
    for t in &out {
        assert_eq!(
            (t.transport, t.from, t.to),
            (Transport::Tcp, addr(ME), addr(PBX))
        );
        let m = parse(t);
        let via = m.top_via().unwrap();
        assert_eq!((via.transport.as_str(), via.port), ("TCP", Some(7000)));
        assert!(via.params.iter().any(|(k, _)| k == "rport"), "RFC 3581");
        assert_eq!(
            m.contact().unwrap().uri,
            "sip:alice@127.0.0.1:7000;transport=tcp"
        );
    }
    assert_eq!(parse(&out[0]).request_uri(), Some("sip:127.0.0.2"));
    assert_eq!(parse(&out[1]).request_uri(), Some("sip:bob@127.0.0.2"));
    assert_eq!(ua.contact(), "sip:alice@127.0.0.1:7000;transport=tcp");
}

#[test]
fn a_phone_on_a_sips_target_uses_sips_uris() {
    let mut ua = phone(Transport::Tls, true);
    ua.register(Time::ZERO);
    let register = parse(&sent(&mut ua)[0]);
    assert_eq!(register.request_uri(), Some("sips:127.0.0.2"));
    assert_eq!(register.to_addr().unwrap().uri, "sips:alice@127.0.0.2");
    assert_eq!(register.contact().unwrap().uri, "sips:alice@127.0.0.1:7000");
    assert_eq!(register.top_via().unwrap().transport, "TLS");
    // `sip:` over TLS (transport=tls) keeps plain SIP URIs.
    let mut ua = phone(Transport::Tls, false);
    ua.register(Time::ZERO);
    let register = parse(&sent(&mut ua)[0]);
    assert_eq!(register.request_uri(), Some("sip:127.0.0.2"));
    assert_eq!(
        register.contact().unwrap().uri,
        "sip:alice@127.0.0.1:7000;transport=tls"
    );
}

#[test]
fn over_tcp_an_unanswered_register_is_sent_once_then_times_out() {
    let mut ua = phone(Transport::Tcp, false);
    ua.register(Time::ZERO);
    let mut registers = sent(&mut ua).len();
    for ms in (100..=40_000).step_by(100) {
        ua.handle_timeout(Time::from_millis(ms));
        registers += sent(&mut ua).len();
    }
    assert_eq!(registers, 1, "over UDP Timer E would have re-sent it");
    assert_eq!(
        ua.register_error(),
        Some(&RegisterFailure::NoResponse),
        "Timer F still bounds it"
    );
}

#[test]
fn a_refused_connection_fails_registration_and_the_call_at_once() {
    let mut ua = phone(Transport::Tls, false);
    ua.register(Time::ZERO);
    let call = ua.call(Time::ZERO, "bob");
    sent(&mut ua);
    let reason =
        "TLS handshake with 127.0.0.2:5060 failed: invalid peer certificate: UnknownIssuer";
    ua.handle_flow_closed(Time::from_millis(3), Transport::Tls, addr(PBX), reason);
    assert_eq!(
        ua.register_error(),
        Some(&RegisterFailure::Transport {
            reason: reason.to_string()
        })
    );
    let events: Vec<UaEvent> = std::iter::from_fn(|| ua.poll_event()).collect();
    assert!(events.contains(&UaEvent::RegisterFailed { status: 503 }));
    assert_eq!(ua.calls[call].state, CallState::Terminated);
    assert_eq!(
        ua.calls[call].end_cause,
        Some(EndCause::TransportFailed(reason.into()))
    );
    // A connection to somewhere else, or on another transport, is not ours.
    let mut other = phone(Transport::Tcp, false);
    other.register(Time::ZERO);
    sent(&mut other);
    other.handle_flow_closed(Time::ZERO, Transport::Tls, addr(PBX), "gone");
    other.handle_flow_closed(Time::ZERO, Transport::Tcp, addr("127.0.0.3:5060"), "gone");
    assert_eq!(other.register_error(), None);
}

#[test]
fn an_idle_flow_is_pinged_while_registered() {
    let mut ua = phone(Transport::Tcp, false);
    ua.register(Time::ZERO);
    let register = parse(&sent(&mut ua)[0]);
    let mut ok = response_to(&register, 200, Some("reg"));
    ok.push_header("Contact", &format!("<{}>;expires=3600", ua.contact()));
    ok.push_header("Content-Length", "0");
    let at = Time::from_millis(10);
    ua.handle_received(at, at, Transport::Tcp, addr(ME), addr(PBX), &ok.to_bytes());
    assert!(ua.is_registered());
    let idle = Time::ZERO + Duration::from_secs(30);
    assert_eq!(ua.poll_timeout(), idle, "30 s after the last message sent");
    ua.handle_timeout(idle);
    let ping = sent(&mut ua);
    assert_eq!(ping.len(), 1);
    assert_eq!(ping[0].data, b"\r\n\r\n", "RFC 5626 §4.4.1");
    assert_eq!((ping[0].transport, ping[0].to), (Transport::Tcp, addr(PBX)));
    assert_eq!(ua.poll_timeout(), idle + Duration::from_secs(30));
    // UDP has no flow to keep: no ping at all.
    let mut udp = phone(Transport::Udp, false);
    udp.register(Time::ZERO);
    sent(&mut udp);
    assert!(udp.poll_timeout() < Time::from_millis(600), "Timer E only");
}

/// An INVITE from the PBX, over whichever transport the test delivers it on.
fn incoming_invite(via_transport: &str) -> Vec<u8> {
    let sdp = "v=0\r\no=pbx 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    format!(
        "INVITE sip:alice@127.0.0.1:7000 SIP/2.0\r\nVia: SIP/2.0/{via_transport} {PBX};branch=z9hG4bKin1\r\nFrom: <sip:customer@127.0.0.2>;tag=pbx\r\nTo: <sip:alice@127.0.0.2>\r\nCall-ID: other-transport\r\nCSeq: 1 INVITE\r\nContact: <sip:pbx@{PBX}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

#[test]
fn a_target_that_answers_on_another_transport_is_still_understood() {
    // Registered over TCP, the 200 OK comes back as a UDP datagram to our SIP port (a
    // server that answers by the Via's address and ignores its transport).
    let mut ua = phone(Transport::Tcp, false);
    ua.register(Time::ZERO);
    let register = parse(&sent(&mut ua)[0]);
    let mut ok = response_to(&register, 200, Some("reg"));
    ok.push_header("Contact", &format!("<{}>;expires=60", ua.contact()));
    ok.push_header("Content-Length", "0");
    let t = Time::from_millis(10);
    ua.handle_received(t, t, Transport::Udp, addr(ME), addr(PBX), &ok.to_bytes());
    assert!(ua.is_registered());

    // An INVITE over UDP to the TCP-registered phone: it rings and is answered on the
    // transport it came on, to where it came from.
    let t = Time::from_millis(20);
    let invite = incoming_invite("UDP");
    ua.handle_received(t, t, Transport::Udp, addr(ME), addr(PBX), &invite);
    let ringing = ua.ringing_call().expect("the call rings");
    assert!(ua.answer(t, ringing));
    let answers: Vec<Transmit> = sent(&mut ua)
        .into_iter()
        .filter(|t| t.data.starts_with(b"SIP/2.0 200"))
        .collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(
        (answers[0].transport, answers[0].to),
        (Transport::Udp, addr(PBX))
    );
    assert_eq!(ua.calls[ringing].state, CallState::Confirmed);
}
