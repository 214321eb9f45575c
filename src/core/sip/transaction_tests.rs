//! Virtual-time tests: every instant asserted exactly, in milliseconds.

use super::*;

fn ms(x: u64) -> Time {
    Time::from_millis(x)
}

/// The polling surface shared by the three machines, for one driver.
trait Machine {
    fn transmit(&mut self) -> Option<Vec<u8>>;
    fn timeout(&self) -> Option<Time>;
    fn event(&mut self) -> Option<TxEvent>;
    fn fire(&mut self, now: Time);
}

macro_rules! machine {
    ($t:ty) => {
        impl Machine for $t {
            fn transmit(&mut self) -> Option<Vec<u8>> {
                self.poll_transmit()
            }
            fn timeout(&self) -> Option<Time> {
                self.poll_timeout()
            }
            fn event(&mut self) -> Option<TxEvent> {
                self.poll_event()
            }
            fn fire(&mut self, now: Time) {
                self.handle_timeout(now)
            }
        }
    };
}
machine!(ClientTransaction);
machine!(ServerTransaction);
machine!(TwoXxRetransmitter);

#[derive(Debug, Default, PartialEq)]
struct Trace {
    /// (ms, bytes as text)
    sent: Vec<(u64, String)>,
    events: Vec<(u64, TxEvent)>,
}

/// Drains outputs at `now`, then follows `poll_timeout` while it is `<= until`.
fn run(m: &mut impl Machine, now: Time, until: Time) -> Trace {
    let mut tr = Trace::default();
    let mut now = now;
    loop {
        while let Some(b) = m.transmit() {
            tr.sent
                .push((now.as_micros() / 1000, String::from_utf8(b).unwrap()));
        }
        while let Some(e) = m.event() {
            tr.events.push((now.as_micros() / 1000, e));
        }
        match m.timeout() {
            Some(t) if t <= until => {
                now = t;
                m.fire(now);
            }
            _ => return tr,
        }
    }
}

fn times(tr: &Trace, what: &str) -> Vec<u64> {
    tr.sent
        .iter()
        .filter(|(_, s)| s == what)
        .map(|(t, _)| *t)
        .collect()
}

fn cfg() -> TimerConfig {
    TimerConfig::default()
}

#[test]
fn invite_client_udp_no_answer_times_out_at_64_t1() {
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), false, cfg());
    assert_eq!(c.state(), ClientState::Calling);
    assert_eq!(
        (c.deadline(Timer::A), c.deadline(Timer::B)),
        (Some(ms(500)), Some(ms(32_000)))
    );
    let tr = run(&mut c, ms(0), ms(100_000));
    assert_eq!(
        times(&tr, "INVITE"),
        [0, 500, 1_500, 3_500, 7_500, 15_500, 31_500]
    );
    assert_eq!(
        tr.events,
        [(32_000, TxEvent::Timeout), (32_000, TxEvent::Terminated)]
    );
    assert!(c.is_terminated());
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn invite_client_provisional_stops_a_and_b() {
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), false, cfg());
    let tr = run(&mut c, ms(0), ms(1_000));
    assert_eq!(times(&tr, "INVITE"), [0, 500]);
    assert!(c.handle_response(ms(1_000), 100, None));
    assert_eq!(c.state(), ClientState::Proceeding);
    // RFC 3261 §17.1.1.2: no more retransmissions, and Timer B only acts in Calling.
    assert_eq!((c.deadline(Timer::A), c.deadline(Timer::B)), (None, None));
    assert_eq!(c.poll_timeout(), None);
    assert!(c.handle_response(ms(2_000), 180, None));
    assert_eq!(run(&mut c, ms(2_000), ms(100_000)), Trace::default());
}

#[test]
fn invite_client_486_acks_absorbs_retransmissions_and_waits_timer_d() {
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), false, cfg());
    run(&mut c, ms(0), ms(0));
    assert!(c.handle_response(ms(100), 180, None));
    assert!(c.handle_response(ms(2_000), 486, Some(b"ACK".to_vec())));
    assert_eq!(c.state(), ClientState::Completed);
    assert_eq!(c.deadline(Timer::D), Some(ms(34_000)));
    assert_eq!(c.poll_transmit().as_deref(), Some(&b"ACK"[..]));
    // The 486 again: ACK again, not passed up (the ACK argument is ignored now).
    assert!(!c.handle_response(ms(2_500), 486, None));
    assert_eq!(c.poll_transmit().as_deref(), Some(&b"ACK"[..]));
    assert!(!c.handle_response(ms(2_600), 180, None));
    assert!(!c.handle_response(ms(2_700), 200, None));
    assert_eq!(c.poll_transmit(), None);
    let tr = run(&mut c, ms(2_700), ms(100_000));
    assert_eq!(tr.events, [(34_000, TxEvent::Terminated)]);
    assert!(tr.sent.is_empty());
    assert!(!c.handle_response(ms(40_000), 486, None));
}

#[test]
fn invite_client_2xx_terminates_at_once() {
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), false, cfg());
    run(&mut c, ms(0), ms(0));
    assert!(c.handle_response(ms(300), 200, None));
    assert!(c.is_terminated());
    assert_eq!(c.poll_event(), Some(TxEvent::Terminated));
    assert_eq!((c.poll_transmit(), c.poll_timeout()), (None, None));
    assert!(
        !c.handle_response(ms(400), 200, None),
        "retransmitted 2xx goes to the dialog"
    );
}

#[test]
fn non_invite_client_e_doubles_to_t2_and_f_fires_at_32s() {
    let mut c = ClientTransaction::new(ms(0), false, b"REGISTER".to_vec(), false, cfg());
    assert_eq!(c.state(), ClientState::Trying);
    let tr = run(&mut c, ms(0), ms(100_000));
    assert_eq!(
        times(&tr, "REGISTER"),
        [
            0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!(
        tr.events,
        [(32_000, TxEvent::Timeout), (32_000, TxEvent::Terminated)]
    );
}

#[test]
fn non_invite_client_after_provisional_e_fires_every_t2() {
    let mut c = ClientTransaction::new(ms(0), false, b"BYE".to_vec(), false, cfg());
    run(&mut c, ms(0), ms(600));
    assert!(c.handle_response(ms(600), 100, None));
    assert_eq!(c.state(), ClientState::Proceeding);
    assert_eq!(
        (c.deadline(Timer::E), c.deadline(Timer::F)),
        (Some(ms(1_500)), Some(ms(32_000)))
    );
    let tr = run(&mut c, ms(600), ms(100_000));
    assert_eq!(
        times(&tr, "BYE"),
        [1_500, 5_500, 9_500, 13_500, 17_500, 21_500, 25_500, 29_500]
    );
    assert_eq!(
        tr.events,
        [(32_000, TxEvent::Timeout), (32_000, TxEvent::Terminated)]
    );
}

#[test]
fn non_invite_client_final_waits_timer_k_t4() {
    let mut c = ClientTransaction::new(ms(0), false, b"OPTIONS".to_vec(), false, cfg());
    run(&mut c, ms(0), ms(1_000));
    assert!(c.handle_response(ms(1_000), 200, None));
    assert_eq!(c.state(), ClientState::Completed);
    assert_eq!(
        (
            c.deadline(Timer::E),
            c.deadline(Timer::F),
            c.deadline(Timer::K)
        ),
        (None, None, Some(ms(6_000)))
    );
    assert!(!c.handle_response(ms(1_200), 200, None));
    let tr = run(&mut c, ms(1_200), ms(100_000));
    assert_eq!(
        tr,
        Trace {
            sent: vec![],
            events: vec![(6_000, TxEvent::Terminated)]
        }
    );
}

#[test]
fn reliable_clients_never_retransmit_and_end_at_once() {
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), true, cfg());
    assert_eq!(c.deadline(Timer::A), None);
    let tr = run(&mut c, ms(0), ms(100_000));
    assert_eq!(times(&tr, "INVITE"), [0]);
    assert_eq!(
        tr.events,
        [(32_000, TxEvent::Timeout), (32_000, TxEvent::Terminated)]
    );

    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), true, cfg());
    run(&mut c, ms(0), ms(0));
    assert!(c.handle_response(ms(50), 486, Some(b"ACK".to_vec())));
    assert!(c.is_terminated(), "Timer D is zero on reliable transports");
    assert_eq!(c.poll_transmit().as_deref(), Some(&b"ACK"[..]));
    assert_eq!(c.poll_event(), Some(TxEvent::Terminated));

    let mut c = ClientTransaction::new(ms(0), false, b"BYE".to_vec(), true, cfg());
    let tr = run(&mut c, ms(0), ms(100_000));
    assert_eq!(times(&tr, "BYE"), [0]);
    assert_eq!(tr.events[0], (32_000, TxEvent::Timeout));
    let mut c = ClientTransaction::new(ms(0), false, b"BYE".to_vec(), true, cfg());
    assert!(c.handle_response(ms(10), 200, None));
    assert!(c.is_terminated(), "Timer K is zero on reliable transports");
}

#[test]
fn a_transport_error_ends_a_waiting_client_at_once() {
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), true, cfg());
    assert!(c.handle_response(ms(5), 180, None));
    assert!(c.handle_transport_error(), "Proceeding: the TU is told");
    assert!(c.is_terminated());
    assert_eq!(c.poll_timeout(), None, "no Timer B left to wait for");
    // After a final response the transaction only absorbed retransmissions: nothing to say.
    let mut c = ClientTransaction::new(ms(0), false, b"BYE".to_vec(), false, cfg());
    assert!(c.handle_response(ms(5), 200, None));
    assert!(!c.handle_transport_error());
    assert!(c.is_terminated());
}

#[test]
fn client_ignores_impossible_status_codes() {
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), false, cfg());
    assert!(!c.handle_response(ms(1), 99, None));
    assert!(!c.handle_response(ms(1), 700, None));
    assert_eq!(c.state(), ClientState::Calling);
}

#[test]
fn invite_server_486_retransmitted_by_g_until_ack_then_timer_i() {
    let mut s = ServerTransaction::new(ms(0), true, false, cfg());
    assert_eq!(s.state(), ServerState::Proceeding);
    s.handle_request_retransmit(ms(0));
    assert_eq!(s.poll_transmit(), None, "nothing to re-send yet");
    s.send_response(ms(0), 100, b"100".to_vec());
    s.handle_request_retransmit(ms(300));
    assert_eq!(times(&run(&mut s, ms(300), ms(300)), "100"), [300, 300]);
    s.send_response(ms(1_000), 486, b"486".to_vec());
    assert_eq!(s.state(), ServerState::Completed);
    assert_eq!(
        (s.deadline(Timer::G), s.deadline(Timer::H)),
        (Some(ms(1_500)), Some(ms(33_000)))
    );
    let tr = run(&mut s, ms(1_000), ms(10_000));
    // G: 0.5, 1, 2, 4, 4 ... after the first send.
    assert_eq!(times(&tr, "486"), [1_000, 1_500, 2_500, 4_500, 8_500]);
    s.send_response(ms(9_000), 500, b"500".to_vec());
    assert_eq!(
        s.poll_transmit(),
        None,
        "a second final response is discarded"
    );
    s.handle_request_retransmit(ms(9_500));
    assert_eq!(s.poll_transmit().as_deref(), Some(&b"486"[..]));
    s.handle_ack(ms(10_000));
    assert_eq!(s.state(), ServerState::Confirmed);
    assert_eq!(
        (
            s.deadline(Timer::G),
            s.deadline(Timer::H),
            s.deadline(Timer::I)
        ),
        (None, None, Some(ms(15_000)))
    );
    s.handle_ack(ms(10_100));
    s.handle_request_retransmit(ms(10_200));
    assert_eq!(
        s.deadline(Timer::I),
        Some(ms(15_000)),
        "ACK retransmission absorbed"
    );
    let tr = run(&mut s, ms(10_200), ms(100_000));
    assert_eq!(
        tr,
        Trace {
            sent: vec![],
            events: vec![(15_000, TxEvent::Terminated)]
        }
    );
}

#[test]
fn invite_server_without_ack_fails_at_timer_h() {
    let mut s = ServerTransaction::new(ms(0), true, false, cfg());
    s.send_response(ms(1_000), 603, b"603".to_vec());
    let tr = run(&mut s, ms(1_000), ms(100_000));
    assert_eq!(
        times(&tr, "603"),
        [
            1_000, 1_500, 2_500, 4_500, 8_500, 12_500, 16_500, 20_500, 24_500, 28_500, 32_500
        ]
    );
    assert_eq!(
        tr.events,
        [(33_000, TxEvent::Timeout), (33_000, TxEvent::Terminated)]
    );
}

#[test]
fn invite_server_2xx_terminates_and_reliable_skips_g_and_i() {
    let mut s = ServerTransaction::new(ms(0), true, false, cfg());
    s.send_response(ms(10), 180, b"180".to_vec());
    s.send_response(ms(20), 200, b"200".to_vec());
    assert!(s.is_terminated());
    let tr = run(&mut s, ms(20), ms(100_000));
    assert_eq!(tr.sent, [(20, "180".into()), (20, "200".into())]);
    assert_eq!(tr.events, [(20, TxEvent::Terminated)]);

    let mut s = ServerTransaction::new(ms(0), true, true, cfg());
    s.send_response(ms(0), 486, b"486".to_vec());
    assert_eq!(
        (s.deadline(Timer::G), s.deadline(Timer::H)),
        (None, Some(ms(32_000)))
    );
    s.handle_ack(ms(100));
    assert!(s.is_terminated(), "Timer I is zero on reliable transports");
    let tr = run(&mut s, ms(100), ms(100_000));
    assert_eq!(tr.sent, [(100, "486".into())]);
    assert_eq!(tr.events, [(100, TxEvent::Terminated)]);
}

#[test]
fn non_invite_server_resends_final_and_waits_timer_j() {
    let mut s = ServerTransaction::new(ms(0), false, false, cfg());
    assert_eq!(s.state(), ServerState::Trying);
    s.handle_request_retransmit(ms(50));
    assert_eq!(s.poll_transmit(), None, "Trying: retransmission discarded");
    s.send_response(ms(100), 200, b"200".to_vec());
    assert_eq!(s.state(), ServerState::Completed);
    assert_eq!(s.deadline(Timer::J), Some(ms(32_100)));
    s.handle_request_retransmit(ms(600));
    s.send_response(ms(700), 500, b"500".to_vec());
    s.handle_ack(ms(800));
    let tr = run(&mut s, ms(800), ms(100_000));
    assert_eq!(tr.sent, [(800, "200".into()), (800, "200".into())]);
    assert_eq!(tr.events, [(32_100, TxEvent::Terminated)]);

    let mut s = ServerTransaction::new(ms(0), false, false, cfg());
    s.send_response(ms(0), 100, b"100".to_vec());
    assert_eq!(s.state(), ServerState::Proceeding);
    s.handle_request_retransmit(ms(10));
    assert_eq!(times(&run(&mut s, ms(10), ms(10)), "100"), [10, 10]);

    let mut s = ServerTransaction::new(ms(0), false, true, cfg());
    s.send_response(ms(5), 200, b"200".to_vec());
    assert!(s.is_terminated(), "Timer J is zero on reliable transports");
}

#[test]
fn two_xx_retransmitter_schedule_timeout_and_ack() {
    let mut r = TwoXxRetransmitter::new(ms(1_000), b"200".to_vec(), cfg());
    let tr = run(&mut r, ms(1_000), ms(100_000));
    assert_eq!(
        times(&tr, "200"),
        [
            1_000, 1_500, 2_500, 4_500, 8_500, 12_500, 16_500, 20_500, 24_500, 28_500, 32_500
        ]
    );
    assert_eq!(
        tr.events,
        [(33_000, TxEvent::Timeout), (33_000, TxEvent::Terminated)]
    );
    assert!(r.is_terminated());

    let mut r = TwoXxRetransmitter::new(ms(0), b"200".to_vec(), cfg());
    let tr = run(&mut r, ms(0), ms(2_000));
    assert_eq!(times(&tr, "200"), [0, 500, 1_500]);
    r.handle_ack();
    r.handle_ack();
    assert!(r.is_terminated());
    let tr = run(&mut r, ms(2_000), ms(100_000));
    assert_eq!(
        tr,
        Trace {
            sent: vec![],
            events: vec![(2_000, TxEvent::Terminated)]
        }
    );
}

#[test]
fn handle_timeout_is_idempotent() {
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), false, cfg());
    c.poll_transmit();
    c.handle_timeout(ms(500));
    c.handle_timeout(ms(500));
    assert_eq!(c.poll_transmit().as_deref(), Some(&b"INVITE"[..]));
    assert_eq!(c.poll_transmit(), None);
    assert_eq!(c.deadline(Timer::A), Some(ms(1_500)));

    let mut s = ServerTransaction::new(ms(0), true, false, cfg());
    s.send_response(ms(0), 486, b"486".to_vec());
    s.poll_transmit();
    s.handle_timeout(ms(500));
    s.handle_timeout(ms(500));
    assert_eq!(s.poll_transmit().as_deref(), Some(&b"486"[..]));
    assert_eq!(s.poll_transmit(), None);

    let mut r = TwoXxRetransmitter::new(ms(0), b"200".to_vec(), cfg());
    r.handle_timeout(ms(32_000));
    r.handle_timeout(ms(32_000));
    assert_eq!(
        (r.poll_event(), r.poll_event(), r.poll_event()),
        (Some(TxEvent::Timeout), Some(TxEvent::Terminated), None)
    );
}

#[test]
fn late_wake_up_retransmits_once_then_times_out() {
    // A driver that oversleeps past both A and B: one retransmission, not a burst, and
    // the timeout in the same call.
    let mut c = ClientTransaction::new(ms(0), true, b"INVITE".to_vec(), false, cfg());
    c.poll_transmit();
    c.handle_timeout(ms(40_000));
    assert_eq!(c.poll_transmit().as_deref(), Some(&b"INVITE"[..]));
    assert_eq!(c.poll_transmit(), None);
    assert_eq!(c.poll_event(), Some(TxEvent::Timeout));
    assert!(c.is_terminated());
}

#[test]
fn zero_t1_cannot_spin() {
    let zero = TimerConfig {
        t1: Duration::ZERO,
        t2: Duration::ZERO,
        t4: Duration::ZERO,
    };
    let mut c = ClientTransaction::new(ms(0), false, b"X".to_vec(), false, zero);
    let tr = run(&mut c, ms(0), ms(1_000));
    assert_eq!(
        tr.events,
        [(64, TxEvent::Timeout), (64, TxEvent::Terminated)]
    );
}
