//! SIP over TCP and TLS end to end, on real sockets: a standalone `flipcheck pbx` on
//! 127.0.0.2 (not the harness's own address) serving UDP, TCP and TLS at once, with a
//! certificate from a CA made here; the checklist's flip against it over each; TLS clients
//! that check the certificate (by IP address and by host name, through SNI), one that is
//! told not to, and ones that must refuse it; a TCP target nobody listens on; the embedded
//! PBX in process over TCP, on the listener it asks the driver for; and the stream itself:
//! several messages in one write, pings, a framing error that closes only its connection.
//!
//! The TLS target is built at library level (`TargetSetup::External` with a CA file), to
//! reach the scene's TLS client directly; target files with `tls:` are run through the
//! binary in `tests/kamailio_interop.rs`. Live runs assert outcomes, never timing; a run
//! whose own harness was overloaded is repeated (bounded).

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use common::BIN;
use common::pki::{HOST, Pki, pki, self_signed};
use flipcheck::driver::{self, LiveAddrs};
use flipcheck::report::{DialogContinuity, Outcome, ScenarioReport};
use flipcheck::roles::{Actor, TlsClientOptions, Transport};
use flipcheck::runner::{self, AccountSetup, Scene, TargetSetup};
use flipcheck::scenario::{load_scenario, parse_registrar};

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";
const PASSWORD: &str = "transport-secret";

/// A PBX on 127.0.0.2 with UDP and TCP on one port and TLS on another; its addresses.
fn start_pbx(pki: &Pki) -> (common::Server, SocketAddr, SocketAddr) {
    let (server, banner) = common::start_pbx_with(
        PASSWORD,
        &[
            "--listen",
            "127.0.0.2:0",
            "--tls",
            "127.0.0.2:0",
            "--cert",
            pki.cert.to_str().unwrap(),
            "--key",
            pki.key.to_str().unwrap(),
        ],
    );
    let addr = |t| {
        common::banner_addr(&banner, t)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no {t} address in {banner}"))
    };
    let (udp, tcp, tls): (SocketAddr, SocketAddr, SocketAddr) =
        (addr("udp"), addr("tcp"), addr("tls"));
    assert_eq!(
        udp, tcp,
        "UDP and TCP share the SIP address (RFC 3261 §18.2.1)"
    );
    assert_eq!(tls.ip(), udp.ip());
    (server, udp, tls)
}

fn run_cli(args: &[&str]) -> (i32, String, String) {
    let ran = common::run_flipcheck(args, &[("TRANSPORT_PW", PASSWORD)]);
    (ran.code, ran.stdout, ran.stderr)
}

#[test]
fn the_flip_moves_over_udp_and_tcp_through_the_standalone_pbx() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, sip, _) = start_pbx(&pki(dir.path(), "ok"));
    for transport in ["udp", "tcp"] {
        let target = dir.path().join(format!("{transport}.yaml"));
        std::fs::write(
            &target,
            format!(
                "kind: external\nname: flipcheck pbx over {transport}\n\
                 registrar: sip:{sip};transport={transport}\n\
                 users: {{ alice: {{ username: alice, password_env: TRANSPORT_PW }} }}\n\
                 customer: {{ username: customer, password_env: TRANSPORT_PW }}\n"
            ),
        )
        .unwrap();
        let out = dir.path().join(format!("{transport}.json"));
        let (code, stdout, stderr) = run_cli(&[
            "run",
            SCENARIO,
            "--target",
            target.to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{transport}\nstdout: {stdout}\nstderr: {stderr}");
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let flip = &report["scenarios"][0]["flips"][0];
        assert_eq!(flip["outcome"], "moved", "{transport}: {flip}");
        assert_eq!(
            flip["customer_dialog"], "same_dialog",
            "{transport}: {flip}"
        );
    }
}

#[test]
fn a_tcp_target_nobody_listens_on_fails_registration_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let target = dir.path().join("refused.yaml");
    std::fs::write(
        &target,
        format!(
            "kind: external\nname: nobody\nregistrar: sip:{addr};transport=tcp\n\
             users: {{ alice: {{ username: alice, password_env: TRANSPORT_PW }} }}\n\
             customer: {{ username: customer, password_env: TRANSPORT_PW }}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("refused.json");
    let (code, _, stderr) = run_cli(&[
        "run",
        SCENARIO,
        "--target",
        target.to_str().unwrap(),
        "--json",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let error = report["scenarios"][0]["error"].as_str().unwrap();
    // The reason, not "no answer" after Timer F.
    assert!(
        error.contains(&format!(
            "alice on desk could not register at nobody (sip:{addr};transport=tcp): tcp connection to {addr}: connection refused"
        )),
        "{error}"
    );
}

#[test]
fn the_embedded_pbx_in_process_serves_tcp_on_the_listener_it_asks_for() {
    let plan = load_scenario(Path::new(SCENARIO)).unwrap();
    let setup = TargetSetup::Embedded {
        quirks: Default::default(),
        password: PASSWORD.into(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut attempts = 0;
    let r = loop {
        attempts += 1;
        let mut addrs = LiveAddrs::new(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let mut scene = Scene::over(&plan, &setup, Transport::Tcp, 7, &mut addrs).unwrap();
        assert_eq!(scene.listeners().len(), 1, "the PBX's TCP listener");
        let limit = runner::time_limit(&plan);
        let stats = runtime
            .block_on(driver::run(&mut scene, addrs.sockets, limit))
            .unwrap();
        // Each party opens one, and the PBX accepts it: both ends in this process.
        assert!(stats.connections >= 6, "{stats:?}");
        let r = runner::scenario_report(&plan, &scene, 0.0);
        let overloaded = r
            .error
            .as_deref()
            .is_some_and(|e| e.contains("the harness was overloaded"));
        if !(overloaded && attempts < common::OVERLOAD_ATTEMPTS) {
            break r;
        }
    };
    assert_moved(&r, "in process over TCP");
}

/// An external TLS target at library level: `registrar` as a target file would write it,
/// reached at `proxy`.
fn tls_target(registrar: &str, proxy: SocketAddr, tls: TlsClientOptions) -> TargetSetup {
    let registrar = parse_registrar(registrar).unwrap();
    TargetSetup::External {
        proxy,
        domain: "127.0.0.2".into(),
        user: AccountSetup::new("alice", PASSWORD),
        dial: "alice".into(),
        customer: AccountSetup::new("customer", PASSWORD),
        feature_code: "*11".into(),
        registrar,
        tls,
    }
}

/// The checklist scenario live against `setup`, as `tests/harness.rs` drives a scene.
fn run_live(setup: &TargetSetup) -> ScenarioReport {
    let plan = load_scenario(Path::new(SCENARIO)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut addrs = LiveAddrs::new(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let mut scene = Scene::new(&plan, setup, 7, &mut addrs).unwrap();
        let limit = runner::time_limit(&plan);
        let stats = runtime
            .block_on(driver::run(&mut scene, addrs.sockets, limit))
            .unwrap();
        assert!(!stats.hit_limit, "{:?}", scene.script.error);
        let r = runner::scenario_report(&plan, &scene, 0.0);
        let overloaded = r
            .error
            .as_deref()
            .is_some_and(|e| e.contains("the harness was overloaded"));
        if overloaded && attempts < common::OVERLOAD_ATTEMPTS {
            continue;
        }
        return r;
    }
}

fn assert_moved(r: &ScenarioReport, what: &str) {
    assert_eq!(r.error, None, "{what}");
    let f = &r.flips[0];
    assert_eq!(f.outcome, Outcome::Moved, "{what}: {r:#?}");
    assert_eq!(f.customer_dialog, DialogContinuity::SameDialog, "{what}");
}

#[test]
fn the_flip_moves_over_tls_with_the_certificate_checked() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), "ok");
    let (_server, _, tls) = start_pbx(&pki);
    let checked = TlsClientOptions {
        ca_file: Some(pki.ca.clone()),
        insecure: false,
    };
    // `sips:` by IP address: the certificate's IP address matches, SIPS URIs throughout.
    let sips = tls_target(&format!("sips:{tls}"), tls, checked.clone());
    assert_moved(&run_live(&sips), "sips: by address");
    // `transport=tls` by host name: SNI carries it and the certificate must match it.
    let by_name = format!("sip:{HOST}:{};transport=tls", tls.port());
    assert_moved(&run_live(&tls_target(&by_name, tls, checked)), "by name");
}

#[test]
fn a_self_signed_lab_certificate_given_as_the_ca_file_is_trusted_for_its_names_only() {
    let dir = tempfile::tempdir().unwrap();
    let lab = self_signed(dir.path());
    let (_server, _, tls) = start_pbx(&lab);
    let pinned = TlsClientOptions {
        ca_file: Some(lab.ca.clone()),
        insecure: false,
    };
    let sips = tls_target(&format!("sips:{tls}"), tls, pinned.clone());
    assert_moved(&run_live(&sips), "self-signed, by address");
    let other = tls_target(
        &format!("sips:other.flipcheck.test:{}", tls.port()),
        tls,
        pinned,
    );
    let error = registration_error(&other);
    assert!(
        error.contains("certificate not valid for name \"other.flipcheck.test\""),
        "{error}"
    );
}

/// The script's error of a live run of `setup` that stops at registration.
fn registration_error(setup: &TargetSetup) -> String {
    let plan = load_scenario(Path::new(SCENARIO)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut addrs = LiveAddrs::new(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut scene = Scene::new(&plan, setup, 7, &mut addrs).unwrap();
    let limit = runner::time_limit(&plan);
    let stats = runtime
        .block_on(driver::run(&mut scene, addrs.sockets, limit))
        .unwrap();
    assert!(!stats.hit_limit && stats.flows_closed >= 1, "{stats:?}");
    scene.script.error.clone().unwrap_or_default()
}

#[test]
fn a_tls_client_refuses_a_certificate_it_cannot_trust_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pki_ok = pki(dir.path(), "ok");
    let other = pki(dir.path(), "other");
    let (_server, _, tls) = start_pbx(&pki_ok);
    let registrar = format!("sips:{tls}");
    let cases = [
        // Signed by a CA the client was not told to trust.
        (
            tls_target(
                &registrar,
                tls,
                TlsClientOptions {
                    ca_file: Some(other.ca.clone()),
                    insecure: false,
                },
            ),
            "invalid peer certificate: UnknownIssuer",
        ),
        // The right CA, but the certificate is not for the name the target was given as.
        (
            tls_target(
                &format!("sips:other.flipcheck.test:{}", tls.port()),
                tls,
                TlsClientOptions {
                    ca_file: Some(pki_ok.ca.clone()),
                    insecure: false,
                },
            ),
            "certificate not valid for name \"other.flipcheck.test\"",
        ),
    ];
    for (setup, want) in cases {
        let error = registration_error(&setup);
        assert!(
            error.contains(
                "alice on desk could not register at the embedded PBX: TLS handshake with"
            ),
            "{error}"
        );
        assert!(error.contains(want), "{error}");
    }
    // Told not to check, the same client gets through (the app warns about it).
    let insecure = TlsClientOptions {
        ca_file: None,
        insecure: true,
    };
    assert_moved(
        &run_live(&tls_target(&registrar, tls, insecure)),
        "insecure",
    );
}

/// A raw TCP client of the PBX: what it sends, and every byte back until `want` is seen
/// (or the PBX closes the connection).
fn exchange(stream: &mut TcpStream, send: &[&[u8]], want: &str) -> String {
    for part in send {
        stream.write_all(part).unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn options(local: SocketAddr, branch: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:127.0.0.2 SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bK{branch};rport\r\n\
         From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:127.0.0.2>\r\nCall-ID: probe-{branch}\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn the_pbx_frames_its_tcp_streams_answers_pings_and_closes_on_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, sip, _) = start_pbx(&pki(dir.path(), "ok"));
    let connect = || {
        let s = TcpStream::connect(sip).unwrap();
        // A bound on a hang, not a timing assertion: every answer comes in milliseconds.
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    };
    let mut s = connect();
    let local = s.local_addr().unwrap();
    // RFC 5626 §4.4.1: a ping gets a pong.
    assert_eq!(exchange(&mut s, &[b"\r\n\r\n"], "\r\n"), "\r\n");
    // Two requests in one write, and one split in two writes: each answered, on this
    // connection (RFC 3261 §18.2.2).
    let (a, b, c) = (
        options(local, "a"),
        options(local, "b"),
        options(local, "c"),
    );
    let got = exchange(
        &mut s,
        &[&[a, b].concat(), &c[..20], &c[20..]],
        "Call-ID: probe-c",
    );
    assert_eq!(got.matches("SIP/2.0 200 OK").count(), 3, "{got}");
    for branch in ["a", "b", "c"] {
        assert!(got.contains(&format!("Call-ID: probe-{branch}")), "{got}");
    }
    // No Content-Length on a stream: the PBX cannot find the message's end and closes
    // this connection (and only this one).
    let garbage = b"OPTIONS sip:127.0.0.2 SIP/2.0\r\nCall-ID: x\r\n\r\n";
    let mut end = [0u8; 64];
    s.write_all(garbage).unwrap();
    let closed = matches!(s.read(&mut end), Ok(0) | Err(_));
    assert!(closed, "the PBX closed the connection");
    let mut fresh = connect();
    let local = fresh.local_addr().unwrap();
    let got = exchange(&mut fresh, &[&options(local, "d")], "Call-ID: probe-d");
    assert!(got.starts_with("SIP/2.0 200 OK"), "{got}");
}

#[test]
fn pbx_tls_options_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), "ok");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let cert = pki.cert.to_str().unwrap();
    let key = pki.key.to_str().unwrap();
    let cases: [(&[&str], String); 3] = [
        (
            &["--tls", "127.0.0.2:0", "--cert", cert],
            "error: --tls needs --cert FILE and --key FILE (PEM)".into(),
        ),
        (
            &["--cert", cert, "--key", key],
            "error: --cert and --key are for a TLS listener: add --tls ADDR".into(),
        ),
        (
            &[
                "--tls",
                "127.0.0.2:0",
                "--cert",
                empty.to_str().unwrap(),
                "--key",
                key,
            ],
            format!(
                "error: --cert/--key: {}: no certificate in the file (PEM `BEGIN CERTIFICATE`)",
                empty.display()
            ),
        ),
    ];
    for (args, want) in cases {
        let out = Command::new(BIN)
            .args(["pbx", "--listen", "127.0.0.2:0"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end(), want, "{args:?}");
    }
}
