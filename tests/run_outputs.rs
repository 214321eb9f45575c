//! What a run leaves behind when it is interrupted or writes to a pipe: after Ctrl-C the
//! measured scenarios and those never started (`not_run`), exit 2, in the JSON, JUnit and
//! Markdown reports alike; with `--json -` the report alone on standard output.

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
    let (junit, markdown) = (
        dir.path().join("partial.xml"),
        dir.path().join("partial.md"),
    );
    let mut child = Command::new(BIN)
        .args([
            "run",
            SCENARIO,
            "scenarios/checklist/flip-back-and-forth.yaml",
            "--json",
            out.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--markdown",
            markdown.to_str().unwrap(),
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
    // The JUnit and Markdown reports say the same: the interrupted scenario's checks are
    // errors (not failures), the one never started is skipped.
    let xml = std::fs::read_to_string(&junit).expect("JUnit written after Ctrl-C");
    let doc = roxmltree::Document::parse(&xml).expect("whole XML");
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    let outcomes = |suite: &roxmltree::Node| -> Vec<(String, Option<String>)> {
        suite
            .descendants()
            .filter(|n| ["failure", "error", "skipped"].contains(&n.tag_name().name()))
            .map(|n| {
                let message = n.attribute("message").map(str::to_string);
                (n.tag_name().name().to_string(), message)
            })
            .collect()
    };
    let first = outcomes(&suites[0]);
    assert!(!first.is_empty());
    assert!(
        first
            .iter()
            .all(|o| o == &("error".to_string(), Some("interrupted".to_string()))),
        "{first:?}"
    );
    let second = outcomes(&suites[1]);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].0, "skipped");
    let md = std::fs::read_to_string(&markdown).expect("Markdown written after Ctrl-C");
    assert!(md.contains("| ERROR | 1/1 |"), "{md}");
    assert!(md.contains("| NOT RUN | - | - | not started"), "{md}");
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
