//! Tests of the transaction layer: two stacks exchanging datagrams in virtual time.

use super::*;
use crate::core::sip::cancel_for;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Moves every queued datagram of `from` into `to`.
fn pump(now: Time, from: &mut SipStack, to: &mut SipStack) -> Vec<Message> {
    let mut sent = Vec::new();
    while let Some(out) = from.poll_transmit() {
        assert_eq!(out.to, to.local());
        sent.push(Message::parse(&out.data).unwrap());
        to.handle_message(now, from.local(), out.transport, &out.data);
    }
    sent
}

fn invite(uac: &mut SipStack) -> Message {
    let mut msg = Message::request("INVITE", "sip:bob@127.0.0.1:5070");
    let branch = uac.new_branch();
    msg.push_header("Via", &via_value(Transport::Udp, uac.local(), &branch));
    msg.push_header("From", "<sip:alice@h>;tag=a1");
    msg.push_header("To", "<sip:bob@h>");
    msg.push_header("Call-ID", "c1");
    msg.push_header("CSeq", "1 INVITE");
    msg.push_header("Max-Forwards", "70");
    msg.push_header("Content-Length", "0");
    msg
}

#[test]
fn responses_carry_received_and_rport() {
    let (mut uac, mut uas) = (SipStack::new(addr(5060), 1), SipStack::new(addr(5070), 2));
    let inv = invite(&mut uac);
    uac.send_request(Time::ZERO, inv, uas.local(), Transport::Udp, 1);
    pump(Time::ZERO, &mut uac, &mut uas);
    let Some(SipEvent::Request { msg, key, .. }) = uas.poll_event() else {
        panic!()
    };
    uas.respond(Time::ZERO, &key, &msg, 180, Some("b"));
    let rsp = pump(Time::ZERO, &mut uas, &mut uac).remove(0);
    let via = rsp.top_via().unwrap();
    assert_eq!(via.param("rport"), Some("5060"));
    assert_eq!(via.param("received"), Some("127.0.0.1"));
    // The client still matches it to its transaction (same branch).
    assert!(matches!(
        uac.poll_event(),
        Some(SipEvent::Response { ctx: 1, .. })
    ));
}

#[test]
fn cancel_is_its_own_transaction_and_the_487_is_acked() {
    let (mut uac, mut uas) = (SipStack::new(addr(5060), 1), SipStack::new(addr(5070), 2));
    let now = Time::ZERO;
    let inv = invite(&mut uac);
    uac.send_request(now, inv.clone(), uas.local(), Transport::Udp, 7);
    pump(now, &mut uac, &mut uas);
    let Some(SipEvent::Request { msg, key, .. }) = uas.poll_event() else {
        panic!()
    };
    uas.respond(now, &key, &msg, 180, Some("b1"));
    pump(now, &mut uas, &mut uac);
    assert!(matches!(
        uac.poll_event(),
        Some(SipEvent::Response { ctx: 7, .. })
    ));

    // CANCEL shares the INVITE's branch (RFC 3261 §9.1).
    uac.send_request(now, cancel_for(&inv), uas.local(), Transport::Udp, 8);
    pump(now, &mut uac, &mut uas);
    let Some(SipEvent::Request {
        msg: cancel,
        key: ckey,
        ..
    }) = uas.poll_event()
    else {
        panic!()
    };
    assert_eq!(ckey.method, "CANCEL");
    uas.respond(now, &ckey, &cancel, 200, None);
    uas.respond(now, &key, &msg, 487, Some("b1"));
    pump(now, &mut uas, &mut uac);
    let mut statuses = Vec::new();
    while let Some(ev) = uac.poll_event() {
        if let SipEvent::Response { msg, ctx, .. } = ev {
            statuses.push((ctx, msg.status().unwrap()));
        }
    }
    assert_eq!(statuses, vec![(8, 200), (7, 487)]);
    let acks = pump(now, &mut uac, &mut uas);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].method(), Some("ACK"));
    assert_eq!(
        acks[0].top_via().unwrap().branch(),
        inv.top_via().unwrap().branch()
    );
    // The ACK reached the INVITE server transaction: no 487 retransmission follows.
    uas.handle_timeout(Time::from_millis(600));
    assert!(uas.poll_transmit().is_none());
    // Both client transactions are Completed or gone: the UAC is idle.
    assert!(uac.is_idle());
}

#[test]
fn retransmitted_2xx_is_acked_again() {
    let (mut uac, mut uas) = (SipStack::new(addr(5060), 1), SipStack::new(addr(5070), 2));
    let now = Time::ZERO;
    let inv = invite(&mut uac);
    uac.send_request(now, inv, uas.local(), Transport::Udp, 1);
    pump(now, &mut uac, &mut uas);
    let Some(SipEvent::Request { msg, key, .. }) = uas.poll_event() else {
        panic!()
    };
    uas.respond(now, &key, &msg, 200, Some("b1"));
    pump(now, &mut uas, &mut uac);
    let Some(SipEvent::Response { msg: ok, .. }) = uac.poll_event() else {
        panic!()
    };
    let mut ack = Message::request("ACK", "sip:bob@127.0.0.1:5070");
    for h in ["From", "To", "Call-ID"] {
        ack.push_header(h, ok.header(h).unwrap());
    }
    ack.push_header("CSeq", "1 ACK");
    ack.push_header("Content-Length", "0");
    // Lose the ACK: the UAS retransmits the 2xx at T1 and the UAC ACKs it again.
    uac.send_request(now, ack, uas.local(), Transport::Udp, 1);
    assert!(uac.poll_transmit().is_some());
    let t1 = Time::from_millis(500);
    assert_eq!(uas.poll_timeout(), t1, "2xx retransmission due at T1");
    uas.handle_timeout(t1);
    let again = pump(t1, &mut uas, &mut uac);
    assert_eq!(again[0].status(), Some(200));
    let acks = pump(t1, &mut uac, &mut uas);
    assert_eq!(acks[0].method(), Some("ACK"));
    // Now ACKed: no more retransmissions.
    uas.handle_timeout(Time::from_millis(1500));
    assert!(uas.poll_transmit().is_none());
    assert!(uas.is_idle());
}

#[test]
fn findings_name_the_peer_and_rule_once() {
    let peer = SocketAddr::from(([127, 0, 0, 1], 5060));
    let mut stack = SipStack::new(SocketAddr::from(([127, 0, 0, 1], 5070)), 1);
    stack.handle_datagram(Time::ZERO, peer, b"\x01\x02 not sip at all");
    // Without checks only the unparseable datagram is kept.
    let bad_length = b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 40\r\n\r\nshort";
    stack.handle_datagram(Time::ZERO, peer, bad_length);
    assert_eq!(stack.findings().len(), 1);
    assert_eq!(stack.findings()[0].rule, "unparseable");
    stack.check_findings(true);
    stack.handle_datagram(Time::ZERO, peer, bad_length);
    stack.handle_datagram(Time::ZERO, peer, bad_length);
    let f = stack
        .findings()
        .iter()
        .find(|f| f.rule == "content-length-mismatch")
        .unwrap();
    assert_eq!((f.peer, f.count), (peer, 2));
}

#[test]
fn invite_retransmitted_after_its_2xx_is_not_a_new_request() {
    // The UAC's 1xx and 2xx were lost, so Timer A re-sends the INVITE after the UAS
    // answered. RFC 6026 §7.1: the retransmission is absorbed (and the 2xx re-sent), not
    // handed to the TU as a second call.
    let (mut uac, mut uas) = (SipStack::new(addr(5060), 1), SipStack::new(addr(5070), 2));
    let inv = invite(&mut uac);
    uac.send_request(Time::ZERO, inv, uas.local(), Transport::Udp, 1);
    pump(Time::ZERO, &mut uac, &mut uas);
    let Some(SipEvent::Request { msg, key, .. }) = uas.poll_event() else {
        panic!()
    };
    uas.respond(Time::ZERO, &key, &msg, 200, Some("b1"));
    while uas.poll_transmit().is_some() {} // lost
    // The UAS's timers run (the terminated INVITE server transaction is dropped).
    let t = Time::from_millis(100);
    uas.handle_timeout(t);
    let t1 = Time::from_millis(500);
    uac.handle_timeout(t1);
    let resent = pump(t1, &mut uac, &mut uas);
    assert_eq!(resent[0].method(), Some("INVITE"));
    assert!(
        uas.poll_event().is_none(),
        "a retransmission is not a new call"
    );
    assert!(uas.poll_transmit().is_none());
    // The 2xx keeps its own retransmission schedule (RFC 3261 §13.3.1.4).
    uas.handle_timeout(t1);
    let answers = pump(t1, &mut uas, &mut uac);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].status(), Some(200));
}

fn options(to: &str) -> Message {
    let mut msg = Message::request("OPTIONS", to);
    msg.push_header("From", "<sip:alice@h>;tag=a1");
    msg.push_header("To", "<sip:bob@h>");
    msg.push_header("Call-ID", "o1");
    msg.push_header("CSeq", "1 OPTIONS");
    msg.push_header("Max-Forwards", "70");
    msg.push_header("Content-Length", "0");
    msg
}

/// Messages sent, and events the UAC's TU heard, with their instants in milliseconds.
type Walk = (Vec<(u64, Message)>, Vec<(u64, SipEvent)>);

/// Runs both stacks' timers every 100 ms up to `until_ms`, moving what they send, and
/// returns every message sent and every event the UAC's TU heard, with their instants.
fn walk(uac: &mut SipStack, uas: &mut SipStack, until_ms: u64) -> Walk {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    for ms in (0..=until_ms).step_by(100) {
        let now = Time::from_millis(ms);
        uac.handle_timeout(now);
        uas.handle_timeout(now);
        for m in pump(now, uac, uas).into_iter().chain(pump(now, uas, uac)) {
            sent.push((ms, m));
        }
        while let Some(ev) = uac.poll_event() {
            events.push((ms, ev));
        }
    }
    (sent, events)
}

#[test]
fn over_tcp_requests_go_once_and_timer_b_and_f_still_end_them() {
    for transport in [Transport::Tcp, Transport::Tls] {
        let (mut uac, mut uas) = (SipStack::new(addr(5060), 1), SipStack::new(addr(5070), 2));
        uac.send_request(Time::ZERO, options("sip:bob@h"), uas.local(), transport, 1);
        let first = uac.poll_transmit().unwrap();
        assert_eq!(first.transport, transport);
        let via = Message::parse(&first.data).unwrap().top_via().unwrap();
        assert_eq!(via.transport, transport.via_token(), "the stack's own Via");
        let mut inv = invite(&mut uac);
        inv.set_header("Via", &via_value(transport, uac.local(), "z9hG4bKtcp"));
        uac.send_request(Time::ZERO, inv, uas.local(), transport, 2);
        // Nothing answers: over UDP Timers A and E would re-send both many times.
        let (sent, events) = walk(&mut uac, &mut uas, 40_000);
        let requests: Vec<_> = sent.iter().filter(|(_, m)| m.is_request()).collect();
        assert_eq!(requests.len(), 1, "only the INVITE, once: {requests:?}");
        let mut timeouts: Vec<(u64, u64)> = events
            .iter()
            .filter_map(|(ms, e)| match e {
                SipEvent::Timeout { ctx, .. } => Some((*ms, *ctx)),
                _ => None,
            })
            .collect();
        timeouts.sort();
        assert_eq!(timeouts, [(32_000, 1), (32_000, 2)], "64·T1 bounds both");
    }
}

#[test]
fn over_tcp_a_final_response_is_sent_once_on_the_request_transport() {
    let (mut uac, mut uas) = (SipStack::new(addr(5060), 1), SipStack::new(addr(5070), 2));
    let mut inv = invite(&mut uac);
    inv.set_header("Via", &via_value(Transport::Tcp, uac.local(), "z9hG4bKt"));
    uac.send_request(Time::ZERO, inv, uas.local(), Transport::Tcp, 1);
    pump(Time::ZERO, &mut uac, &mut uas);
    let Some(SipEvent::Request {
        msg,
        key,
        transport,
        source,
    }) = uas.poll_event()
    else {
        panic!()
    };
    assert_eq!((transport, source), (Transport::Tcp, uac.local()));
    uas.respond(Time::ZERO, &key, &msg, 486, Some("b1"));
    let busy = uas.poll_transmit().unwrap();
    assert_eq!((busy.to, busy.transport), (uac.local(), Transport::Tcp));
    // RFC 3261 §18.3: a stream needs Content-Length to find the message's end.
    let framed = crate::core::sip::frame(&busy.data).unwrap();
    assert_eq!(framed, Some(busy.data.len()), "Content-Length added");
    // The 486 is lost and no ACK comes: over UDP Timer G would re-send it (RFC 3261
    // §17.2.1); over TCP only Timer H runs, and nothing more is sent.
    for ms in (0..=40_000).step_by(100) {
        uas.handle_timeout(Time::from_millis(ms));
        assert!(uas.poll_transmit().is_none(), "re-sent at {ms} ms");
    }
    assert_eq!(uas.poll_timeout(), Time::NEVER, "Timer H ended it");
}

#[test]
fn a_failed_flow_ends_only_what_waits_on_it() {
    let mut uac = SipStack::new(addr(5060), 1);
    let (a, b) = (addr(5070), addr(5080));
    uac.send_request(Time::ZERO, options("sip:a@h"), a, Transport::Tcp, 1);
    uac.send_request(Time::ZERO, options("sip:b@h"), b, Transport::Tcp, 2);
    uac.send_request(Time::ZERO, options("sip:c@h"), a, Transport::Udp, 3);
    while uac.poll_transmit().is_some() {}
    uac.flow_failed(a, Transport::Tcp, "connection refused");
    let failed: Vec<(u64, String)> = std::iter::from_fn(|| uac.poll_event())
        .filter_map(|e| match e {
            SipEvent::TransportError { ctx, reason, .. } => Some((ctx, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [(1, "connection refused".to_string())]);
    // The other two still wait for Timer F.
    assert!(!uac.is_idle());
    uac.handle_timeout(Time::from_millis(32_000));
    let mut timed_out: Vec<u64> = std::iter::from_fn(|| uac.poll_event())
        .filter_map(|e| match e {
            SipEvent::Timeout { ctx, .. } => Some(ctx),
            _ => None,
        })
        .collect();
    timed_out.sort();
    assert_eq!(timed_out, [2, 3]);
}

#[test]
fn over_tcp_a_request_after_its_transaction_ended_is_new() {
    let (mut uac, mut uas) = (SipStack::new(addr(5060), 1), SipStack::new(addr(5070), 2));
    let mut req = options("sip:bob@h");
    req.insert_header_first(
        "Via",
        &via_value(Transport::Tcp, uac.local(), "z9hG4bKsame"),
    );
    for round in 0..2 {
        let now = Time::from_millis(round * 10);
        uac.send_request(now, req.clone(), uas.local(), Transport::Tcp, round);
        pump(now, &mut uac, &mut uas);
        let Some(SipEvent::Request { msg, key, .. }) = uas.poll_event() else {
            panic!("round {round}: the request is handed to the TU")
        };
        uas.respond(now, &key, &msg, 200, Some("t"));
        assert!(uas.poll_transmit().is_some(), "round {round}: answered");
        pump(now, &mut uac, &mut uas);
    }
}
