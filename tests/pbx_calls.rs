//! The embedded PBX with several phones in virtual time, driven by a timed list of commands:
//! concurrent calls, crossing CANCEL and 2xx, and what the relay does with its ports.

use std::net::SocketAddr;
use std::sync::Arc;

use flipcheck::core::Time;
use flipcheck::core::rtp::{Classifier, Codec, FrameClass};
use flipcheck::roles::Transport;
use flipcheck::roles::pbx::{LegState, Pbx, PbxConfig, PbxQuirks};
use flipcheck::roles::ua::{CallState, EndCause, ReplacesMode, UaConfig, UserAgent};
use flipcheck::roles::{Actor, Transmit};

const PASSWORD: &str = "pw";

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

type Action = Box<dyn FnMut(&mut World, Time)>;

/// One PBX, a few phones, and commands to run at given instants.
struct World {
    pbx: Pbx,
    uas: Vec<UserAgent>,
    actions: Vec<(Time, Action)>,
}

impl World {
    fn new() -> World {
        let rtp = (0..16).map(|i| addr(6000 + 2 * i)).collect();
        let cfg = PbxConfig::reference(addr(5060), rtp, PASSWORD, PbxQuirks::default(), 1);
        World {
            pbx: Pbx::new(cfg),
            uas: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Adds a phone for `user`; its signature is its index.
    fn phone(&mut self, user: &str, auto_answer: bool) -> usize {
        let n = self.uas.len() as u16;
        let ua = UserAgent::new(
            UaConfig {
                name: format!("{user}{n}"),
                username: user.into(),
                password: PASSWORD.into(),
                domain: "127.0.0.1".into(),
                proxy: addr(5060),
                transport: Transport::Udp,
                sips: false,
                sip_addr: addr(7000 + 4 * n),
                rtp_addr: addr(7002 + 4 * n),
                codecs: vec![Codec::Pcmu],
                signature: n as u8,
                replaces: ReplacesMode::Accept,
                auto_answer,
                seed: u64::from(n) + 10,
                options: Default::default(),
            },
            Arc::new(Classifier::new()),
        );
        self.uas.push(ua);
        self.uas.len() - 1
    }

    fn at(&mut self, ms: u64, f: impl FnMut(&mut World, Time) + 'static) {
        self.actions.push((Time::from_millis(ms), Box::new(f)));
    }

    fn at_us(&mut self, us: u64, f: impl FnMut(&mut World, Time) + 'static) {
        self.actions.push((Time::from_micros(us), Box::new(f)));
    }

    fn run(&mut self, ms: u64) {
        flipcheck::sim::run(self, Time::from_millis(ms));
    }

    /// Whether `ua` heard `party` in `[from, to]` ms.
    fn heard(&self, ua: usize, party: u8, from: u64, to: u64) -> bool {
        let (from, to) = (Time::from_millis(from), Time::from_millis(to));
        self.uas[ua]
            .receiver()
            .frames()
            .iter()
            .any(|f| f.at >= from && f.at <= to && f.class == FrameClass::Party(party))
    }
}

impl Actor for World {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        if self.pbx.addresses().contains(&local) {
            self.pbx.handle_datagram(now, local, from, data);
        } else if let Some(ua) = self.uas.iter_mut().find(|u| u.addresses().contains(&local)) {
            ua.handle_datagram(now, local, from, data);
        }
    }
    fn handle_timeout(&mut self, now: Time) {
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.actions.len() {
            if self.actions[i].0 <= now {
                due.push(self.actions.remove(i));
            } else {
                i += 1;
            }
        }
        for (_, mut f) in due {
            f(self, now);
        }
        if self.pbx.poll_timeout() <= now {
            self.pbx.handle_timeout(now);
        }
        for ua in self.uas.iter_mut() {
            if ua.poll_timeout() <= now {
                ua.handle_timeout(now);
            }
        }
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.pbx.poll_transmit() {
            return Some(t);
        }
        self.uas.iter_mut().find_map(UserAgent::poll_transmit)
    }
    fn poll_timeout(&self) -> Time {
        let actions = self.actions.iter().map(|a| a.0).min();
        let uas = self.uas.iter().map(UserAgent::poll_timeout).min();
        [Some(self.pbx.poll_timeout()), actions, uas]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Time::NEVER)
    }
    fn addresses(&self) -> Vec<SocketAddr> {
        let mut all = self.pbx.addresses();
        for ua in &self.uas {
            all.extend(ua.addresses());
        }
        all
    }
}

/// The relay port of a cancelled fork is freed once; ending its session later must not free
/// it again while another call has taken it, or a third call is bridged onto that port.
#[test]
fn an_ended_call_does_not_free_a_relay_port_another_call_uses() {
    let mut w = World::new();
    let desk = w.phone("alice", true);
    let mobile = w.phone("alice", false);
    let bob = w.phone("bob", true);
    let carol = w.phone("carol", false);
    let customer = w.phone("customer", false);
    w.at(0, move |w, now| {
        for ua in [desk, mobile, bob] {
            w.uas[ua].register(now);
        }
    });
    // Call 1 forks to desk and mobile; the desk answers, the mobile fork is cancelled.
    w.at(1000, move |w, now| {
        w.uas[customer].call(now, "alice");
    });
    // Call 2 takes the port the cancelled fork had.
    w.at(2000, move |w, now| {
        w.uas[carol].call(now, "bob");
    });
    w.at(3000, move |w, now| w.uas[customer].hangup(now, 0));
    // Call 3 forks again: it must get ports nobody else uses.
    w.at(4000, move |w, now| {
        w.uas[customer].call(now, "alice");
    });
    w.run(6000);

    assert_eq!(w.uas[carol].calls[0].state, CallState::Confirmed);
    assert_eq!(w.uas[bob].calls[0].state, CallState::Confirmed);
    let live: Vec<SocketAddr> = w
        .pbx
        .legs
        .iter()
        .filter(|l| l.state != LegState::Ended)
        .map(|l| l.relay)
        .collect();
    let mut distinct = live.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        live.len(),
        distinct.len(),
        "live legs share a port: {live:?}"
    );
    // Call 2's media still flows both ways after call 3 set up.
    assert!(w.heard(bob, carol as u8, 5000, 6000), "bob hears carol");
    assert!(w.heard(carol, bob as u8, 5000, 6000), "carol hears bob");
}

/// RFC 3261 §9.1/§15: a 2xx that crosses our CANCEL is ACKed and the call ended with a BYE,
/// so the far end neither retransmits it for 32 s nor keeps a call nobody is on.
#[test]
fn a_2xx_crossing_the_callers_cancel_is_acked_and_hung_up() {
    let mut w = World::new();
    let desk = w.phone("alice", false);
    let customer = w.phone("customer", false);
    w.at(0, move |w, now| w.uas[desk].register(now));
    w.at(1000, move |w, now| {
        w.uas[customer].call(now, "alice");
    });
    // The desk answers; the customer gives up before that 200 reaches it (0.5 ms a hop).
    w.at(2000, move |w, now| {
        let call = w.uas[desk].ringing_call().expect("the desk rings");
        assert!(w.uas[desk].answer(now, call));
    });
    w.at_us(2_000_600, move |w, now| w.uas[customer].hangup(now, 0));
    w.run(5000);

    let session = &w.pbx.sessions[0];
    let ended = session.ended_at.expect("the PBX ended the session");
    assert!(ended < Time::from_millis(2010), "ended at {ended:?}");
    assert_eq!(w.uas[desk].calls[0].state, CallState::Terminated);
    assert_eq!(w.uas[customer].calls[0].state, CallState::Terminated);
    assert!(w.uas[customer].is_idle());
}

/// A PBX shutting down ends a call that is still ringing with a final response to the
/// caller, not only the calls that were answered.
#[test]
fn shutdown_answers_a_ringing_caller() {
    let mut w = World::new();
    let desk = w.phone("alice", false);
    let customer = w.phone("customer", false);
    w.at(0, move |w, now| w.uas[desk].register(now));
    w.at(1000, move |w, now| {
        w.uas[customer].call(now, "alice");
    });
    w.at(2000, move |w, now| w.pbx.shutdown(now));
    w.run(3000);

    let call = &w.uas[customer].calls[0];
    assert_eq!(call.state, CallState::Terminated);
    assert_eq!(
        call.end_cause,
        Some(EndCause::Rejected(503, "Service Unavailable".into()))
    );
    assert_eq!(w.uas[desk].calls[0].state, CallState::Terminated);
    assert!(w.pbx.is_stopped());
}

/// An offerless re-INVITE from the customer (RFC 3264 §4): the PBX offers in its 200 and
/// takes the answer from the ACK.
#[test]
fn pbx_offers_in_the_200_to_an_offerless_reinvite() {
    use flipcheck::core::sip::{Message, SessionDescription};
    let mut w = World::new();
    let desk = w.phone("alice", true);
    let customer = w.phone("customer", false);
    w.at(0, move |w, now| w.uas[desk].register(now));
    w.at(1000, move |w, now| {
        w.uas[customer].call(now, "alice");
    });
    w.at(2000, move |w, now| {
        let ua = &w.uas[customer];
        let d = ua.calls[0].dialog.clone().expect("the customer's call is up");
        let me = ua.config().sip_addr;
        let head = |method: &str, branch: &str, cseq: u32| {
            format!(
                "{method} {} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={branch}\r\nFrom: <{}>;tag={}\r\nTo: <{}>;tag={}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContact: <sip:customer@{me}>\r\nMax-Forwards: 70\r\n",
                d.remote_target, d.local_uri, d.local_tag, d.remote_uri, d.remote_tag, d.call_id
            )
        };
        let pbx_addr = addr(5060);
        let reinvite = head("INVITE", "z9hG4bKreinv", 50) + "Content-Length: 0\r\n\r\n";
        w.pbx.handle_datagram(now, pbx_addr, me, reinvite.as_bytes());
        let ok = std::iter::from_fn(|| w.pbx.poll_transmit())
            .filter_map(|t| Message::parse(&t.data).ok())
            .find(|m| m.status() == Some(200))
            .expect("a 200 to the re-INVITE");
        let offer = SessionDescription::parse(&String::from_utf8_lossy(ok.body())).expect("an offer");
        let caller = w.pbx.sessions[0].caller;
        let relay = offer.rtp_address().expect("the relay's address").1;
        assert_eq!(relay, w.pbx.legs[caller].relay.port(), "the customer leg's own relay port");
        let answer = "v=0\r\no=c 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7999 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        let ack = head("ACK", "z9hG4bKack", 50)
            + &format!("Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
        w.pbx.handle_datagram(now, pbx_addr, me, ack.as_bytes());
        assert_eq!(w.pbx.legs[caller].remote_media, Some(addr(7999)), "answer taken from the ACK");
    });
    w.run(2500);
}

/// The flip is keyed on the authenticated user: bob's phone dialling `*11` while alice's
/// call is up gets 481 and leaves the call on alice's desk; alice's mobile then pulls it.
/// The operator's events say so, in order, one per event.
#[test]
fn a_flip_code_dialled_by_another_users_phone_is_refused_and_the_call_stays() {
    let mut w = World::new();
    let desk = w.phone("alice", true);
    let mobile = w.phone("alice", false);
    let bob = w.phone("bob", false);
    let customer = w.phone("customer", false);
    w.at(0, move |w, now| {
        for ua in [desk, mobile, bob] {
            w.uas[ua].register(now);
        }
    });
    w.at(1000, move |w, now| {
        w.uas[customer].call(now, "alice");
    });
    w.at(2000, move |w, now| {
        w.uas[bob].call(now, "*11");
    });
    w.run(3000);
    let refused = EndCause::Rejected(481, "Call/Transaction Does Not Exist".into());
    assert_eq!(w.uas[bob].calls[0].end_cause, Some(refused));
    assert_eq!(w.uas[desk].calls[0].state, CallState::Confirmed);
    assert_eq!(w.pbx.sessions[0].flips, 0);
    assert!(
        w.heard(customer, desk as u8, 2500, 3000),
        "still on the desk"
    );
    let desk_contact = w.pbx.sessions[0].segments[0].device.clone();

    w.at(3000, move |w, now| {
        w.uas[mobile].call(now, "*11");
    });
    w.run(4000);
    assert_eq!(w.pbx.sessions[0].flips, 1);
    assert!(
        w.heard(customer, mobile as u8, 3500, 4000),
        "pulled by alice"
    );
    let mobile_contact = w.pbx.sessions[0].segments[1].device.clone();
    let sid = w.pbx.sessions[0].uuid.clone();
    let bob_contact = w.uas[bob].calls[0]
        .invite
        .as_ref()
        .unwrap()
        .contact()
        .unwrap()
        .uri;
    let events: Vec<String> = w.pbx.drain_events().map(|e| e.to_string()).collect();
    assert_eq!(
        events,
        [
            format!("call answered: customer → alice on {desk_contact} (session {sid})"),
            format!(
                "flip refused: bob dialled the flip code from {bob_contact}: 481 no call to pull"
            ),
            format!(
                "call flipped: alice's call moved from {desk_contact} to {mobile_contact} \
                 (session {sid})"
            ),
        ]
    );
    assert_eq!(w.pbx.drain_events().count(), 0, "drained");
}
