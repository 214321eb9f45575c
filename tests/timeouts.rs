//! A target profile's `timeouts:` replace the fixed waits: a silent registrar is reported
//! after `timeouts.register`, by `run` and by `probe` alike.

mod common;

use std::process::Command;
use std::time::Instant;

#[test]
fn the_register_timeout_of_the_profile_bounds_a_silent_target() {
    let port = common::free_udp_port();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("silent.yaml");
    std::fs::write(
        &target,
        format!(
            "kind: external\nname: silent\nregistrar: sip:127.0.0.2:{port}\n\
             timeouts: {{ register: 1s, answer: 5s, flip: 10s }}\n\
             users: {{ alice: {{ username: alice, password_env: T_PW }} }}\n\
             customer: {{ username: customer, password_env: T_PW }}\n"
        ),
    )
    .unwrap();
    let started = Instant::now();
    let run = Command::new(common::BIN)
        .args([
            "run",
            "scenarios/checklist/flip-feature-code.yaml",
            "--target",
        ])
        .arg(&target)
        .env("T_PW", "x")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "no response from 127.0.0.2:{port} over UDP within 1 s"
        )),
        "{stdout}"
    );
    let probe = Command::new(common::BIN)
        .args(["probe", "--target"])
        .arg(&target)
        .env("T_PW", "x")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(text.contains("no response over UDP within 1 s"), "{text}");
    // Both bounded by the 1 s timeout (plus a short shutdown), whatever the machine's load.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}
