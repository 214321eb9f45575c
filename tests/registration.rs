//! Registration over long runs, in virtual time: the user agent refreshes its binding at
//! half the granted time, so the registrar never forgets it (RFC 3261 §10.2.4); a wrong
//! password is refused, not retried forever.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flipcheck::core::Time;
use flipcheck::core::rtp::{Classifier, Codec};
use flipcheck::core::sip::Algorithm;
use flipcheck::roles::Transport;
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
        Pair::with_digest(password, vec![Algorithm::Md5])
    }

    fn with_digest(password: &str, digest: Vec<Algorithm>) -> Pair {
        let rtp = vec![addr(6000), addr(6002)];
        let mut cfg = PbxConfig::reference(addr(5060), rtp, "right", PbxQuirks::default(), 1);
        cfg.digest = digest;
        let pbx = Pbx::new(cfg);
        let ua = UserAgent::new(
            UaConfig {
                name: "desk".into(),
                username: "alice".into(),
                password: password.into(),
                domain: "127.0.0.1".into(),
                proxy: addr(5060),
                transport: Transport::Udp,
                sips: false,
                sip_addr: addr(5070),
                rtp_addr: addr(5072),
                codecs: vec![Codec::Pcmu],
                signature: 1,
                replaces: ReplacesMode::Accept,
                auto_answer: false,
                seed: 2,
                options: Default::default(),
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
    let failure = pair.ua.register_error().expect("registration failed");
    assert_eq!(failure.status(), Some(403));
    assert!(failure.is_authentication());
    assert_eq!(failure.to_string(), "403 Forbidden");
    assert!(pair.pbx.contacts("alice", Time::ZERO).is_empty());
}

#[test]
fn sha256_digest_for_register_and_invite() {
    // The PBX prefers SHA-256 and still offers MD5 (RFC 8760); our phone takes SHA-256.
    let mut pair = Pair::with_digest("right", vec![Algorithm::Sha256, Algorithm::Md5]);
    flipcheck::sim::run(&mut pair, Time::ZERO + Duration::from_secs(5));
    assert!(pair.ua.is_registered());
    // An INVITE to bob, who has no phone: authenticated first (407, then SHA-256
    // credentials), so the PBX's verdict is 480, not 407 or 403.
    let now = Time::ZERO + Duration::from_secs(5);
    let call = pair.ua.call(now, "bob");
    flipcheck::sim::run(&mut pair, now + Duration::from_secs(5));
    assert_eq!(
        pair.ua.calls[call].end_cause,
        Some(flipcheck::roles::ua::EndCause::Rejected(
            480,
            "Temporarily Unavailable".into()
        ))
    );

    // A PBX that accepts SHA-256 only still registers our phone.
    let mut only = Pair::with_digest("right", vec![Algorithm::Sha256]);
    flipcheck::sim::run(&mut only, Time::ZERO + Duration::from_secs(5));
    assert!(only.ua.is_registered());
}
