//! What a run leaves behind when it is interrupted or writes to a pipe: after Ctrl-C the
//! measured scenarios and those never started (`not_run`), exit 2; with `--json -` the
//! report alone on standard output.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::BIN;
const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("valid JSON")
}

#[test]
fn ctrl_c_mid_run_stops_cleanly_and_keeps_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("partial.json");
    let mut child = Command::new(BIN)
        .args([
            "run",
            SCENARIO,
            "scenarios/checklist/flip-back-and-forth.yaml",
            "--json",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Well inside the first scenario (about 5 s): after its flip settled (about 2.6 s in),
    // before its hang-up (4.6 s).
    std::thread::sleep(std::time::Duration::from_millis(3600));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "flipcheck did not stop after Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report = json(&out);
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["verdict"], "error");
    assert_eq!(scenario["error"], "interrupted");
    assert_eq!(report["summary"]["errors"], 1);
    // The flip before the interruption settled and is measured.
    assert_eq!(scenario["flips"][0]["outcome"], "moved", "{scenario}");
    // The scenario that never started is listed as such, not left out.
    let second = &report["scenarios"][1];
    assert_eq!(second["verdict"], "not_run");
    assert_eq!(
        second["file"],
        "scenarios/checklist/flip-back-and-forth.yaml"
    );
    assert_eq!(report["summary"]["not_run"], 1);
    assert_eq!(report["summary"]["scenarios"], 2);
}

#[test]
fn json_to_standard_output_leaves_the_table_on_standard_error() {
    let out = Command::new(BIN)
        .args(["run", SCENARIO, "--sim", "--seed", "3", "--json", "-"])
        .env_remove("FLIPCHECK_PBX_PASSWORD")
        .output()
        .expect("run flipcheck");
    let code = out.status.code().unwrap_or(-1);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("standard output is the JSON alone");
    assert_eq!(report["scenarios"][0]["flips"][0]["outcome"], "moved");
    assert!(stderr.contains("1 scenario: 1 passed"), "{stderr}");
    assert!(!std::path::Path::new("-").exists(), "no file called `-`");
}
