//! Registration over long runs, in virtual time: the user agent refreshes its binding at
//! half the granted time, so the registrar never forgets it (RFC 3261 §10.2.4); a wrong
//! password is refused, not retried forever.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flipcheck::core::Time;
use flipcheck::core::rtp::{Classifier, Codec};
use flipcheck::roles::pbx::{Pbx, PbxConfig, PbxQuirks};
use flipcheck::roles::ua::{ReplacesMode, UaConfig, UserAgent};
use flipcheck::roles::{Actor, Transmit};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// One PBX and one phone, registering once at time zero.
struct Pair {
    pbx: Pbx,
    ua: UserAgent,
    started: bool,
}

impl Pair {
    fn new(password: &str) -> Pair {
        let rtp = vec![addr(6000), addr(6002)];
        let pbx = Pbx::new(PbxConfig::reference(
            addr(5060),
            rtp,
            "right",
            PbxQuirks::default(),
            1,
        ));
        let ua = UserAgent::new(
            UaConfig {
                name: "desk".into(),
                username: "alice".into(),
                password: password.into(),
                domain: "127.0.0.1".into(),
                proxy: addr(5060),
                sip_addr: addr(5070),
                rtp_addr: addr(5072),
                codecs: vec![Codec::Pcmu],
                signature: 1,
                replaces: ReplacesMode::Accept,
                auto_answer: false,
                seed: 2,
            },
            Arc::new(Classifier::new()),
        );
        Pair {
            pbx,
            ua,
            started: false,
        }
    }
}

impl Actor for Pair {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        if self.pbx.addresses().contains(&local) {
            self.pbx.handle_datagram(now, local, from, data);
        } else {
            self.ua.handle_datagram(now, local, from, data);
        }
    }
    fn handle_timeout(&mut self, now: Time) {
        if !self.started {
            self.started = true;
            self.ua.register(now);
        }
        if self.pbx.poll_timeout() <= now {
            self.pbx.handle_timeout(now);
        }
        if self.ua.poll_timeout() <= now {
            self.ua.handle_timeout(now);
        }
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.pbx.poll_transmit().or_else(|| self.ua.poll_transmit())
    }
    fn poll_timeout(&self) -> Time {
        if !self.started {
            return Time::ZERO;
        }
        self.pbx.poll_timeout().min(self.ua.poll_timeout())
    }
    fn addresses(&self) -> Vec<SocketAddr> {
        let mut all = self.pbx.addresses();
        all.extend(self.ua.addresses());
        all
    }
}

#[test]
fn binding_survives_well_past_its_first_expiry() {
    let mut pair = Pair::new("right");
    let end = Time::ZERO + Duration::from_secs(3 * 3600);
    flipcheck::sim::run(&mut pair, end);
    assert!(pair.ua.is_registered());
    // Granted 3600 s at time zero, so without refreshes it would have expired at 1 h;
    // refreshed every 1800 s since, the binding now runs at most one hour past `end`.
    let bindings = pair.pbx.contacts("alice", end);
    assert_eq!(bindings.len(), 1);
    assert!(bindings[0].expires_at > end);
    assert!(bindings[0].expires_at <= end + Duration::from_secs(3600));
}

#[test]
fn wrong_password_is_refused_once_and_reported() {
    let mut pair = Pair::new("wrong");
    flipcheck::sim::run(&mut pair, Time::ZERO + Duration::from_secs(60));
    assert!(!pair.ua.is_registered());
    assert_eq!(pair.ua.register_error(), Some(403));
    assert!(pair.pbx.contacts("alice", Time::ZERO).is_empty());
}
