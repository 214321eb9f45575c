//! Each PBX quirk switch in virtual time, checked on the wire: a customer calls `alice`,
//! her desk answers, her mobile dials the flip code, and the test reads what each party
//! was sent and heard, and the CDR lines. A clean PBX is the baseline every quirk is
//! compared with, so each test shows the one behaviour its switch changes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flipcheck::core::Time;
use flipcheck::core::rtp::{Classifier, Codec, FrameClass};
use flipcheck::core::sip::Message;
use flipcheck::roles::Transport;
use flipcheck::roles::pbx::{Pbx, PbxConfig, PbxQuirks};
use flipcheck::roles::ua::{ReplacesMode, UaConfig, UserAgent};
use flipcheck::roles::{Actor, Transmit};

const PASSWORD: &str = "pw";
/// The phones, by index (which is also each one's audio signature).
const CUSTOMER: usize = 0;
const DESK: usize = 1;
const MOBILE: usize = 2;
/// The script of every test: call at 1 s, flip at 3 s, the customer hangs up at 6 s.
const CALL_AT: u64 = 1000;
const FLIP_AT: u64 = 3000;
const HANGUP_AT: u64 = 6000;
const END: u64 = 8000;
/// Every phone sends a packet each 20 ms.
const PACKET: Duration = Duration::from_millis(20);

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

const PBX_SIP: u16 = 5060;

type Action = Box<dyn FnMut(&mut World, Time)>;

/// One SIP message as it went out.
struct Wire {
    at: Time,
    from: SocketAddr,
    to: SocketAddr,
    msg: Message,
}

/// The PBX and the three phones, commands at given instants, and a log of the signalling.
struct World {
    pbx: Pbx,
    uas: Vec<UserAgent>,
    actions: Vec<(Time, Action)>,
    now: Time,
    wire: Vec<Wire>,
}

impl World {
    fn new(quirks: PbxQuirks, seed: u64) -> World {
        let rtp = (0..16).map(|i| addr(6000 + 2 * i)).collect();
        let cfg = PbxConfig::reference(addr(PBX_SIP), rtp, PASSWORD, quirks, seed);
        let mut w = World {
            pbx: Pbx::new(cfg),
            uas: Vec::new(),
            actions: Vec::new(),
            now: Time::ZERO,
            wire: Vec::new(),
        };
        w.phone("customer", false);
        w.phone("alice", true);
        w.phone("alice", false);
        w
    }

    fn phone(&mut self, user: &str, auto_answer: bool) {
        let n = self.uas.len() as u16;
        let ua = UserAgent::new(
            UaConfig {
                name: format!("{user}{n}"),
                username: user.into(),
                password: PASSWORD.into(),
                domain: "127.0.0.1".into(),
                proxy: addr(PBX_SIP),
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
    }

    fn at(&mut self, ms: u64, f: impl FnMut(&mut World, Time) + 'static) {
        self.actions.push((Time::from_millis(ms), Box::new(f)));
    }

    fn run(&mut self, ms: u64) {
        flipcheck::sim::run(self, Time::from_millis(ms));
    }

    fn sip(&self, ua: usize) -> SocketAddr {
        self.uas[ua].config().sip_addr
    }

    /// The Call-ID of the mobile's flip request (its latest call).
    fn flip_call_id(&self) -> String {
        let call = self.uas[MOBILE].calls.last().expect("the mobile dialled");
        let invite = call.invite.as_ref().expect("an outgoing call");
        invite.call_id().expect("a Call-ID").to_string()
    }

    /// Messages the PBX sent.
    fn pbx_sent(&self) -> impl Iterator<Item = &Wire> {
        self.wire.iter().filter(|w| w.from == addr(PBX_SIP))
    }

    /// The PBX's responses on a Call-ID: status and CSeq method, in order.
    fn responses(&self, call_id: &str) -> Vec<(u16, String)> {
        self.pbx_sent()
            .filter(|w| w.msg.call_id() == Some(call_id))
            .filter_map(|w| Some((w.msg.status()?, w.msg.cseq()?.method)))
            .collect()
    }

    /// When the PBX sent `method` requests to `ua`.
    fn requests_to(&self, ua: usize, method: &str) -> Vec<Time> {
        self.pbx_sent()
            .filter(|w| w.to == self.sip(ua) && w.msg.method() == Some(method))
            .map(|w| w.at)
            .collect()
    }

    /// When `ua` heard `party`: every frame's arrival, in order.
    fn heard(&self, ua: usize, party: usize) -> Vec<Time> {
        let class = FrameClass::Party(party as u8);
        let frames = self.uas[ua].receiver().frames();
        frames
            .iter()
            .filter(|f| f.class == class)
            .map(|f| f.at)
            .collect()
    }

    /// Whether `ua` heard `party` between `from` and `to` ms.
    fn heard_between(&self, ua: usize, party: usize, from: u64, to: u64) -> bool {
        let (from, to) = (Time::from_millis(from), Time::from_millis(to));
        self.heard(ua, party).iter().any(|&t| t >= from && t <= to)
    }

    fn cdrs(&self) -> Vec<serde_json::Value> {
        let parse = |l: &String| serde_json::from_str(l).expect("a CDR line is JSON");
        self.pbx.cdrs.iter().map(parse).collect()
    }
}

impl Actor for World {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        self.now = now;
        if self.pbx.addresses().contains(&local) {
            self.pbx.handle_datagram(now, local, from, data);
        } else if let Some(ua) = self.uas.iter_mut().find(|u| u.addresses().contains(&local)) {
            ua.handle_datagram(now, local, from, data);
        }
    }
    fn handle_timeout(&mut self, now: Time) {
        self.now = now;
        let (due, later) = std::mem::take(&mut self.actions)
            .into_iter()
            .partition::<Vec<_>, _>(|a| a.0 <= now);
        self.actions = later;
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
        let t = self
            .pbx
            .poll_transmit()
            .or_else(|| self.uas.iter_mut().find_map(UserAgent::poll_transmit))?;
        let signalling =
            t.from == addr(PBX_SIP) || self.uas.iter().any(|u| u.config().sip_addr == t.from);
        if signalling && let Ok(msg) = Message::parse(&t.data) {
            let (at, from, to) = (self.now, t.from, t.to);
            self.wire.push(Wire { at, from, to, msg });
        }
        Some(t)
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

/// The script, not yet run: both of alice's phones register, the customer calls alice (the
/// desk answers at once, the mobile's fork is cancelled), the mobile dials `*11`, the
/// customer hangs up.
fn scripted(quirks: PbxQuirks, seed: u64) -> World {
    let mut w = World::new(quirks, seed);
    w.at(0, |w, now| {
        w.uas[DESK].register(now);
        w.uas[MOBILE].register(now);
    });
    w.at(CALL_AT, |w, now| {
        w.uas[CUSTOMER].call(now, "alice");
    });
    w.at(FLIP_AT, |w, now| {
        w.uas[MOBILE].call(now, "*11");
    });
    w.at(HANGUP_AT, |w, now| w.uas[CUSTOMER].hangup(now, 0));
    w
}

/// The script run to its end.
fn flip(quirks: PbxQuirks) -> World {
    let mut w = scripted(quirks, 1);
    w.run(END);
    w
}

/// A PBX with one quirk switched on.
fn quirk(set: impl FnOnce(&mut PbxQuirks)) -> PbxQuirks {
    let mut quirks = PbxQuirks::default();
    set(&mut quirks);
    quirks
}

/// Whether `t` is in `[from, to)` ms.
fn between(t: Time, from: u64, to: u64) -> bool {
    (Time::from_millis(from)..Time::from_millis(to)).contains(&t)
}

fn invite(status: u16) -> (u16, String) {
    (status, "INVITE".into())
}

#[test]
fn clean_pbx_moves_the_call_and_releases_the_desk() {
    let w = flip(PbxQuirks::default());
    // Challenged once, then answered.
    assert_eq!(w.responses(&w.flip_call_id()), [invite(407), invite(200)]);
    let byes = w.requests_to(DESK, "BYE");
    assert_eq!(byes.len(), 1, "one BYE to the desk: {byes:?}");
    assert!(between(byes[0], FLIP_AT, FLIP_AT + 10));
    // The customer hears the desk up to the flip and the mobile after it, with no loss.
    let desk = w.heard(CUSTOMER, DESK);
    let mobile = w.heard(CUSTOMER, MOBILE);
    assert!(
        between(desk[0], CALL_AT, FLIP_AT)
            && between(desk[desk.len() - 1], FLIP_AT - 20, FLIP_AT + 20)
    );
    assert!(between(mobile[0], FLIP_AT, FLIP_AT + 40));
    assert!(w.heard_between(CUSTOMER, MOBILE, HANGUP_AT - 100, HANGUP_AT));
    assert_eq!(w.uas[CUSTOMER].receiver().stats().lost(), 0);
    assert!(w.heard_between(MOBILE, CUSTOMER, FLIP_AT + 100, HANGUP_AT));
    // The desk hears nothing once released.
    assert!(!w.heard_between(DESK, CUSTOMER, FLIP_AT + 20, END));
    // RFC 7989: the session's id on what the PBX sends in it, the same before and after.
    let ids = &w.uas[CUSTOMER].calls[0].session_ids;
    assert_eq!(ids.len(), 1, "{ids:?}");
    let sids: Vec<_> = w.pbx_sent().filter_map(|m| m.msg.session_id()).collect();
    assert!(
        sids.len() > 5 && sids.iter().all(|s| *s == ids[0]),
        "{sids:?}"
    );
    let cdrs = w.cdrs();
    assert_eq!(cdrs.len(), 1, "{cdrs:?}");
    assert_eq!(cdrs[0]["flips"], 1);
    assert_eq!(cdrs[0]["session_id"], ids[0].as_str());
    assert_eq!(cdrs[0]["segments"].as_array().unwrap().len(), 2);
    for field in CDR_FIELDS.split_whitespace() {
        assert!(cdrs[0].get(field).is_some(), "lacks {field}: {}", cdrs[0]);
    }
    assert_eq!(cdrs[0]["record"], 0);
    // From the authenticated INVITE, one challenge round trip after the first.
    let start = cdrs[0]["start_ms"].as_f64().unwrap();
    assert!(
        (CALL_AT as f64..CALL_AT as f64 + 5.0).contains(&start),
        "{start}"
    );
    assert_eq!(cdrs[0]["end_ms"], HANGUP_AT as f64 + 0.5);
    assert!(cdrs[0]["rtp_to_customer"].as_u64().unwrap() > 200);
}

#[test]
fn omit_session_id_sends_no_session_id_header() {
    let w = flip(quirk(|q| q.omit_session_id = true));
    let sent: Vec<_> = w.pbx_sent().map(|m| &m.msg).collect();
    assert!(
        sent.len() > 10,
        "the call went ahead: {} messages",
        sent.len()
    );
    for msg in sent {
        assert_eq!(msg.header("Session-ID"), None, "{msg:?}");
    }
    for ua in [CUSTOMER, DESK, MOBILE] {
        assert!(w.uas[ua].calls.iter().all(|c| c.session_ids.is_empty()));
    }
    // Everything else as on a clean PBX: the flip, the BYE to the desk, one CDR line.
    assert_eq!(w.responses(&w.flip_call_id()), [invite(407), invite(200)]);
    assert_eq!(w.requests_to(DESK, "BYE").len(), 1);
    assert!(w.heard_between(CUSTOMER, MOBILE, FLIP_AT + 100, HANGUP_AT));
    assert_eq!(w.cdrs().len(), 1);
}

/// The desk keeps the call: no BYE before the customer's hangup, the customer hears the
/// desk after the flip attempt, and the CDR shows no flip.
fn assert_call_stayed_on_desk(w: &World) {
    let byes = w.requests_to(DESK, "BYE");
    assert!(byes.iter().all(|&t| between(t, HANGUP_AT, END)), "{byes:?}");
    assert!(w.heard_between(CUSTOMER, DESK, FLIP_AT + 500, HANGUP_AT));
    assert!(!w.heard_between(CUSTOMER, MOBILE, CALL_AT, END));
    assert!(w.heard_between(DESK, CUSTOMER, FLIP_AT + 500, HANGUP_AT));
    let cdrs = w.cdrs();
    assert_eq!(cdrs.len(), 1, "{cdrs:?}");
    assert_eq!(cdrs[0]["flips"], 0);
    assert_eq!(cdrs[0]["segments"].as_array().unwrap().len(), 1);
}

#[test]
fn refuse_flip_answers_403_with_a_reason() {
    let w = flip(quirk(|q| q.refuse_flip = true));
    assert_eq!(w.responses(&w.flip_call_id()), [invite(407), invite(403)]);
    let refusal = w
        .pbx_sent()
        .find(|m| m.msg.status() == Some(403))
        .expect("a 403");
    let reason = refusal.msg.header("Reason").expect("a Reason header");
    assert!(reason.starts_with("SIP;cause=403;text="), "{reason}");
    assert_call_stayed_on_desk(&w);
}

#[test]
fn flip_never_answered_rings_until_cancelled() {
    let mut w = scripted(quirk(|q| q.flip_never_answered = true), 1);
    let give_up = FLIP_AT + 2000;
    w.at(give_up, |w, now| {
        let flip = w.uas[MOBILE].calls.len() - 1;
        w.uas[MOBILE].hangup(now, flip);
    });
    w.run(END);
    let responses = w.responses(&w.flip_call_id());
    // RFC 3261 §9.2: 200 to the CANCEL, 487 to the INVITE it cancels; nothing else.
    let cancel_ok = (200, "CANCEL".to_string());
    let want = [invite(407), invite(180), cancel_ok, invite(487)];
    assert_eq!(responses, want);
    let call_id = w.flip_call_id();
    let sent = |code| {
        let mut on_call = w
            .pbx_sent()
            .filter(|m| m.msg.call_id() == Some(call_id.as_str()));
        on_call.find(|m| m.msg.status() == Some(code)).unwrap().at
    };
    assert!(between(sent(180), FLIP_AT, FLIP_AT + 10), "rings at once");
    assert!(
        between(sent(487), give_up, give_up + 1),
        "487 as the CANCEL arrives"
    );
    assert_eq!(w.uas[MOBILE].calls.last().unwrap().rings, 1);
    assert_call_stayed_on_desk(&w);
}

#[test]
fn ignore_flip_request_answers_nothing_not_even_retransmissions() {
    let mut w = scripted(quirk(|q| q.ignore_flip_request = true), 1);
    let give_up = FLIP_AT + 2500;
    w.at(give_up, |w, now| {
        let flip = w.uas[MOBILE].calls.len() - 1;
        w.uas[MOBILE].hangup(now, flip);
    });
    w.run(END);
    let call_id = w.flip_call_id();
    // The phone retransmitted the authenticated INVITE (RFC 3261 §17.1.1.2, Timer A)...
    let mobile = w.sip(MOBILE);
    let authorized_invites = w
        .wire
        .iter()
        .filter(|m| m.from == mobile && m.msg.call_id() == Some(call_id.as_str()))
        .filter(|m| m.msg.method() == Some("INVITE"))
        .filter(|m| m.msg.header("Proxy-Authorization").is_some())
        .count();
    assert!(authorized_invites >= 4, "{authorized_invites} INVITEs");
    // ...and heard only the challenge to its first try and the 200 to its CANCEL.
    let cancel_ok = (200, "CANCEL".to_string());
    assert_eq!(w.responses(&call_id), [invite(407), cancel_ok]);
    assert_call_stayed_on_desk(&w);
}

#[test]
fn challenge_flip_twice_challenges_right_credentials_again() {
    let w = flip(quirk(|q| q.challenge_flip_twice = true));
    let call_id = w.flip_call_id();
    // The phone answered the first challenge and, challenged again, gave up.
    assert_eq!(w.responses(&call_id), [invite(407), invite(407)]);
    let nonces: Vec<String> = w
        .pbx_sent()
        .filter(|m| m.msg.call_id() == Some(call_id.as_str()))
        .filter_map(|m| m.msg.header("Proxy-Authenticate").map(str::to_string))
        .collect();
    assert_eq!(nonces.len(), 2);
    assert_ne!(nonces[0], nonces[1], "a fresh challenge each time");
    let mobile = w.sip(MOBILE);
    let tries = w
        .wire
        .iter()
        .filter(|m| m.from == mobile && m.msg.call_id() == Some(call_id.as_str()))
        .filter(|m| m.msg.header("Proxy-Authorization").is_some())
        .count();
    assert_eq!(tries, 1, "the credentials were sent");
    // Everything else authenticates as usual: both phones registered, the customer's
    // challenged call went through.
    assert!(w.uas[DESK].is_registered() && w.uas[MOBILE].is_registered());
    assert_eq!(w.uas[CUSTOMER].calls[0].auth_attempts, 1);
    assert_call_stayed_on_desk(&w);
}

#[test]
fn keep_old_device_on_flip_sends_no_bye_and_keeps_it_listening() {
    let mut w = scripted(quirk(|q| q.keep_old_device_on_flip = true), 1);
    let desk_hangs_up = FLIP_AT + 1500;
    w.at(desk_hangs_up, |w, now| w.uas[DESK].hangup(now, 0));
    w.run(END);
    assert_eq!(w.responses(&w.flip_call_id()), [invite(407), invite(200)]);
    assert_eq!(w.requests_to(DESK, "BYE"), [], "no BYE to the old device");
    // Both devices hear the customer; the customer hears only the new one.
    assert!(w.heard_between(DESK, CUSTOMER, FLIP_AT + 100, desk_hangs_up - 10));
    assert!(w.heard_between(MOBILE, CUSTOMER, FLIP_AT + 100, desk_hangs_up - 10));
    assert!(!w.heard_between(CUSTOMER, DESK, FLIP_AT + 20, END));
    assert!(w.heard_between(CUSTOMER, MOBILE, FLIP_AT + 100, HANGUP_AT));
    // The desk's own BYE is answered and its audio stops; the call goes on.
    let desk_call = w.uas[DESK].calls[0]
        .dialog
        .as_ref()
        .unwrap()
        .call_id
        .clone();
    assert_eq!(w.responses(&desk_call).last(), Some(&(200, "BYE".into())));
    assert!(!w.heard_between(DESK, CUSTOMER, desk_hangs_up + 5, END));
    assert!(w.heard_between(CUSTOMER, MOBILE, desk_hangs_up + 100, HANGUP_AT));
    assert!(w.heard_between(MOBILE, CUSTOMER, desk_hangs_up + 100, HANGUP_AT));
    let cdrs = w.cdrs();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0]["end_ms"], HANGUP_AT as f64 + 0.5);
    assert_eq!(cdrs[0]["flips"], 1);
}

/// An old device still on the line when the customer hangs up is released with the rest.
#[test]
fn keep_old_device_on_flip_releases_it_when_the_call_ends() {
    let w = flip(quirk(|q| q.keep_old_device_on_flip = true));
    let byes = w.requests_to(DESK, "BYE");
    assert_eq!(byes.len(), 1, "{byes:?}");
    assert!(between(byes[0], HANGUP_AT, HANGUP_AT + 5));
    assert!(w.heard_between(DESK, CUSTOMER, HANGUP_AT - 100, HANGUP_AT));
}

#[test]
fn media_gap_ms_leaves_the_customer_exactly_that_long_without_audio() {
    let clean = flip(PbxQuirks::default());
    let first = |w: &World| {
        let class = FrameClass::Party(MOBILE as u8);
        let frames = w.uas[CUSTOMER].receiver().frames();
        *frames
            .iter()
            .find(|f| f.class == class)
            .expect("the mobile heard")
    };
    let last_desk = |w: &World| *w.heard(CUSTOMER, DESK).last().unwrap();
    for gap in [20u32, 60, 250, 1000] {
        let w = flip(quirk(|q| q.media_gap_ms = gap));
        let got = first(&w);
        // From the end of the desk's last frame to the mobile's first: exactly `gap`.
        assert_eq!(last_desk(&w), last_desk(&clean), "gap {gap}");
        assert_eq!(
            got.at - (last_desk(&w) + PACKET),
            Duration::from_millis(gap.into()),
            "gap {gap}"
        );
        // After the held packet, the mobile's stream goes on on its own 20 ms grid.
        let heard = w.heard(CUSTOMER, MOBILE);
        assert!(heard[1] - heard[0] <= PACKET, "gap {gap}: {heard:?}");
        let steady = heard.windows(2).skip(1).all(|p| p[1] - p[0] == PACKET);
        assert!(steady, "gap {gap}: {heard:?}");
        // RTCP is not held.
        let rtcp = |w: &World| w.uas[CUSTOMER].receiver().rtcp_packets();
        assert_eq!(rtcp(&w), rtcp(&clean), "gap {gap}");
    }
}

#[test]
fn lose_packets_after_flip_drops_every_other_packet_from_the_tenth() {
    let clean = flip(PbxQuirks::default());
    let mobile_seqs = |w: &World| -> Vec<u16> {
        let class = FrameClass::Party(MOBILE as u8);
        let frames = w.uas[CUSTOMER].receiver().frames();
        frames
            .iter()
            .filter(|f| f.class == class)
            .map(|f| f.seq)
            .collect()
    };
    let sent = mobile_seqs(&clean);
    for lose in [1u32, 5, 40] {
        let w = flip(quirk(|q| q.lose_packets_after_flip = lose));
        assert_eq!(w.uas[CUSTOMER].receiver().stats().lost(), i64::from(lose));
        // Exactly the 10th, 12th, ... of the mobile's packets are missing.
        let gone: Vec<u16> = (0..lose as usize).map(|i| sent[9 + 2 * i]).collect();
        let kept: Vec<u16> = sent.iter().copied().filter(|s| !gone.contains(s)).collect();
        assert_eq!(mobile_seqs(&w), kept, "lose {lose}");
    }
    assert_eq!(clean.uas[CUSTOMER].receiver().stats().lost(), 0);
}

/// The fields every CDR record has, whatever the quirks, so the file's readers keep working.
const CDR_FIELDS: &str = "session_id call_id from to start_ms answer_ms end_ms flips segments \
    rtp_to_customer rtp_to_device record";

/// The CDR records of a run with `quirks`, checked against the clean run's one record:
/// each has every field, the customer's Call-ID and its index, and together they hold the
/// clean record's segments and RTP counts.
fn split_records(quirks: PbxQuirks) -> (World, Vec<serde_json::Value>) {
    let clean = flip(PbxQuirks::default()).cdrs().remove(0);
    let w = flip(quirks);
    let cdrs = w.cdrs();
    let call_id = w.uas[CUSTOMER].calls[0]
        .dialog
        .as_ref()
        .unwrap()
        .call_id
        .clone();
    for (i, r) in cdrs.iter().enumerate() {
        for field in CDR_FIELDS.split_whitespace() {
            assert!(r.get(field).is_some(), "record {i} lacks {field}: {r}");
        }
        assert_eq!(r["call_id"], call_id.as_str());
        assert_eq!(r["record"], i);
        assert_eq!((&r["from"], &r["to"]), (&clean["from"], &clean["to"]));
    }
    let segments: Vec<_> = cdrs
        .iter()
        .flat_map(|r| r["segments"].as_array().unwrap().clone())
        .collect();
    assert_eq!(&segments, clean["segments"].as_array().unwrap());
    for counter in ["rtp_to_customer", "rtp_to_device"] {
        let sum: u64 = cdrs.iter().map(|r| r[counter].as_u64().unwrap()).sum();
        assert_eq!(sum, clean[counter].as_u64().unwrap(), "{counter}");
    }
    // The first record starts with the call, the last ends with it; they meet at the flip.
    let last = cdrs.len() - 1;
    assert_eq!(cdrs[0]["start_ms"], clean["start_ms"]);
    assert_eq!(cdrs[0]["answer_ms"], clean["answer_ms"]);
    assert_eq!(cdrs[last]["end_ms"], clean["end_ms"]);
    for pair in cdrs.windows(2) {
        assert_eq!(pair[0]["end_ms"], pair[1]["start_ms"]);
        assert_eq!(pair[1]["start_ms"], pair[1]["answer_ms"]);
    }
    (w, cdrs)
}

#[test]
fn split_cdr_on_flip_writes_one_record_per_device_segment() {
    let (w, cdrs) = split_records(quirk(|q| q.split_cdr_on_flip = true));
    assert_eq!(cdrs.len(), 2, "{cdrs:?}");
    // One Session-ID on the wire and in both records.
    let ids = &w.uas[CUSTOMER].calls[0].session_ids;
    assert_eq!(ids.len(), 1);
    for r in &cdrs {
        assert_eq!(r["session_id"], ids[0].as_str());
        assert_eq!(r["segments"].as_array().unwrap().len(), 1);
        assert_eq!(r["flips"], 0);
    }
}

#[test]
fn new_session_id_on_flip_writes_one_record_per_session_id() {
    let (w, cdrs) = split_records(quirk(|q| q.new_session_id_on_flip = true));
    // The customer saw the second id in the connected-line UPDATE.
    let ids = &w.uas[CUSTOMER].calls[0].session_ids;
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(cdrs.len(), 2, "{cdrs:?}");
    for (r, id) in cdrs.iter().zip(ids) {
        assert_eq!(r["session_id"], id.as_str());
    }
}
