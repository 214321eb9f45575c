//! The checklist's flip over TCP and TLS against the embedded PBX, in virtual time: the
//! same outcome as over UDP, every SIP message on the scene's transport and saying so
//! (Via, Contact), media still on UDP, and the same report twice for a seed. A target
//! nobody listens on fails registration at once, naming the refused connection.

use std::net::SocketAddr;
use std::path::Path;

use flipcheck::core::Time;
use flipcheck::core::sip::Message;
use flipcheck::report::{DialogContinuity, Outcome, ScenarioReport, Verdict};
use flipcheck::roles::pbx::PbxQuirks;
use flipcheck::roles::{Actor, TlsClient, TlsClientOptions, Transmit, Transport};
use flipcheck::runner::{self, AccountSetup, Scene, TargetSetup};
use flipcheck::scenario::{load_scenario, parse_registrar};

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

fn embedded() -> TargetSetup {
    TargetSetup::Embedded {
        quirks: PbxQuirks::default(),
        password: "pw".into(),
    }
}

/// The scene, and every SIP message and RTP packet it sent, with its transport.
struct Watched<'a> {
    scene: &'a mut Scene,
    sip: Vec<(Transport, Message)>,
    media: Vec<Transport>,
}

impl Actor for Watched<'_> {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        self.scene.handle_datagram(now, local, from, data)
    }
    fn handle_received(
        &mut self,
        now: Time,
        at: Time,
        transport: Transport,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        self.scene
            .handle_received(now, at, transport, local, from, data)
    }
    fn handle_flow_closed(
        &mut self,
        now: Time,
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        reason: &str,
    ) {
        self.scene
            .handle_flow_closed(now, transport, local, remote, reason)
    }
    fn handle_timeout(&mut self, now: Time) {
        self.scene.handle_timeout(now)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.scene.poll_transmit()?;
        if t.data.first().is_some_and(|b| b & 0xc0 == 0x80) {
            self.media.push(t.transport);
        } else if let Ok(m) = Message::parse(&t.data) {
            self.sip.push((t.transport, m));
        }
        Some(t)
    }
    fn poll_timeout(&self) -> Time {
        self.scene.poll_timeout()
    }
    fn addresses(&self) -> Vec<SocketAddr> {
        self.scene.addresses()
    }
    fn is_done(&self) -> bool {
        self.scene.is_done()
    }
}

fn run_over(
    transport: Transport,
    seed: u64,
) -> (ScenarioReport, Vec<(Transport, Message)>, Vec<Transport>) {
    let plan = load_scenario(Path::new(SCENARIO)).unwrap();
    let mut addrs = flipcheck::sim::VirtualAddrs::new();
    let mut scene = Scene::over(&plan, &embedded(), transport, seed, &mut addrs).unwrap();
    let mut watched = Watched {
        scene: &mut scene,
        sip: Vec::new(),
        media: Vec::new(),
    };
    let limit = Time::ZERO + runner::time_limit(&plan);
    let stats = flipcheck::sim::run(&mut watched, limit);
    assert!(!stats.hit_limit);
    let (sip, media) = (watched.sip, watched.media);
    (runner::scenario_report(&plan, &scene, 0.0), sip, media)
}

#[test]
fn the_checklist_flip_moves_over_tcp_and_tls() {
    for transport in [Transport::Tcp, Transport::Tls] {
        let (r, sip, media) = run_over(transport, 7);
        assert_eq!(r.verdict, Verdict::Pass, "{transport}: {r:#?}");
        let f = &r.flips[0];
        assert_eq!(f.outcome, Outcome::Moved, "{transport}");
        assert_eq!(
            f.customer_dialog,
            DialogContinuity::SameDialog,
            "{transport}"
        );
        assert_eq!(f.old_device_released, Some(true), "{transport}");
        // Every SIP message went on the scene's transport and its Via and Contact say so.
        assert!(sip.len() > 30, "{transport}: {} SIP messages", sip.len());
        for (t, m) in &sip {
            assert_eq!(*t, transport, "{}", String::from_utf8_lossy(&m.to_bytes()));
            assert_eq!(m.top_via().unwrap().transport, transport.via_token());
            // RFC 3261 §18.3: what goes on a stream says where it ends.
            assert!(m.header("Content-Length").is_some(), "{m:?}");
            if let Some(contact) = m.contact() {
                let param = format!(";transport={transport}");
                assert!(contact.uri.ends_with(&param), "{}", contact.uri);
            }
        }
        // The PBX reached the devices over the flows they registered on.
        let invites_to_devices = sip
            .iter()
            .filter(|(_, m)| m.method() == Some("INVITE"))
            .filter(|(_, m)| m.from_addr().is_some_and(|f| f.uri.contains("customer")))
            .count();
        assert!(invites_to_devices >= 2, "customer's INVITE and its fork");
        assert!(!media.is_empty() && media.iter().all(|&t| t == Transport::Udp));
    }
}

#[test]
fn a_run_over_tcp_is_repeatable_for_a_seed() {
    let (a, ..) = run_over(Transport::Tcp, 11);
    let (b, ..) = run_over(Transport::Tcp, 11);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn a_target_nobody_listens_on_fails_registration_at_once() {
    let plan = load_scenario(Path::new(SCENARIO)).unwrap();
    let registrar = parse_registrar("sips:pbx.flipcheck.test:5061").unwrap();
    let setup = TargetSetup::External {
        proxy: "127.0.0.9:5061".parse().unwrap(),
        domain: "pbx.flipcheck.test".into(),
        user: AccountSetup::new("alice", "pw"),
        dial: "alice".into(),
        customer: AccountSetup::new("customer", "pw"),
        feature_code: "*11".into(),
        registrar,
        tls: TlsClientOptions::default(),
    };
    assert_eq!(setup.insecure_warning(), None);
    let scene = runner::simulate(&plan, &setup, 7, false).unwrap();
    assert_eq!(
        scene.tls_client(),
        TlsClient {
            options: TlsClientOptions::default(),
            names: vec![(
                "127.0.0.9:5061".parse().unwrap(),
                "pbx.flipcheck.test".into()
            )],
        },
        "the certificate must name the registrar's host, not its address"
    );
    let error = scene.script.error.clone().unwrap_or_default();
    assert!(
        error.contains("alice on desk could not register at the embedded PBX: connection refused"),
        "{error}"
    );
    // Refused at once, not after Timer F's 32 s.
    let done = scene.script.finished_at.unwrap();
    assert!(done < Time::from_millis(100), "{done:?}");
}

#[test]
fn an_unchecked_certificate_is_warned_about() {
    let setup = TargetSetup::External {
        proxy: "127.0.0.2:5061".parse().unwrap(),
        domain: "127.0.0.2".into(),
        user: AccountSetup::new("alice", "pw"),
        dial: "alice".into(),
        customer: AccountSetup::new("customer", "pw"),
        feature_code: "*11".into(),
        registrar: parse_registrar("sips:127.0.0.2").unwrap(),
        tls: TlsClientOptions {
            ca_file: None,
            insecure: true,
        },
    };
    assert_eq!(
        setup.insecure_warning().as_deref(),
        Some(
            "warning: the TLS certificate of sips:127.0.0.2;transport=tls is not checked (insecure): the connection is encrypted, but nothing proves who answers it"
        )
    );
    assert_eq!(embedded().insecure_warning(), None);
}
