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
        to.handle_datagram(now, from.local(), &out.data);
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
    uac.send_request(Time::ZERO, inv, uas.local(), 1);
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
    uac.send_request(now, inv.clone(), uas.local(), 7);
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
    uac.send_request(now, cancel_for(&inv), uas.local(), 8);
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
    uac.send_request(now, inv, uas.local(), 1);
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
    uac.send_request(now, ack, uas.local(), 1);
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
    uac.send_request(Time::ZERO, inv, uas.local(), 1);
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
