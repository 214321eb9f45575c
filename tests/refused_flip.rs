//! A real refusal, end to end: against a standalone `flipcheck pbx`, a target profile with
//! a feature code the PBX does not know gets `404 Not Found` to the flip request; the flip
//! is `blocked` (the call stays on the desk), and the console says so with the status.

mod common;

use std::process::Command;

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

#[test]
fn a_wrong_feature_code_is_blocked_with_its_404_on_the_console() {
    let (_server, addr) = common::start_pbx("refuse-pw", &[]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("wrong.yaml");
    std::fs::write(
        &target,
        format!(
            "kind: external\nname: wrong code\nregistrar: sip:{addr};transport=udp\n\
             users: {{ alice: {{ username: alice, password_env: REF_PW }} }}\n\
             customer: {{ username: customer, password_env: REF_PW }}\n\
             flip: {{ feature_code: \"*12\" }}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out.json");
    let args = [
        "run",
        SCENARIO,
        "--target",
        target.to_str().unwrap(),
        "--json",
        out.to_str().unwrap(),
    ];
    let mut attempts = 0;
    let (code, stdout) = loop {
        attempts += 1;
        let run = Command::new(common::BIN)
            .args(args)
            .env("REF_PW", "refuse-pw")
            .output()
            .unwrap();
        let code = run.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        if attempts < common::OVERLOAD_ATTEMPTS && common::harness_overloaded(code, &stdout) {
            continue;
        }
        break (code, stdout);
    };
    assert_eq!(code, 1, "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let flip = &report["scenarios"][0]["flips"][0];
    assert_eq!(flip["outcome"], "blocked", "{flip}");
    assert_eq!(flip["refusal"]["status"], 404);
    assert_eq!(flip["customer_dialog"], "same_dialog", "the call stayed up");
    assert_eq!(flip["customer_gap_ms"], serde_json::Value::Null);
    assert!(
        stdout.contains("[404 Not Found]") && stdout.contains("the target does not know `*12`"),
        "{stdout}"
    );
}
