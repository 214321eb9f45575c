//! The product rule at the binary: whatever this build accepts, it carries out. Anything it
//! does not is refused with `file:line:column` and exit 2, by `validate` and by `run` and
//! `pbx` before any call is placed or any socket bound.

mod common;

use std::path::Path;
use std::process::Command;

use common::BIN;

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

fn flipcheck(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("FLIPCHECK_PBX_PASSWORD")
        .output()
        .expect("run flipcheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn an_unsupported_scenario_input_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(SCENARIO)
            .unwrap()
            .replacen("network: lan }", "network: lte }", 2);
    let file = dir.path().join("lte.yaml");
    std::fs::write(&file, &text).unwrap();
    // The second `network:` is the mobile's (the first is the desk's).
    let (line, column) = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.find("network: lte").map(|c| (i + 1, c + 10)))
        .nth(1)
        .unwrap();
    let want = format!(
        "lte.yaml:{line}:{column}: error: network profile `lte` is not supported in this version"
    );
    let (code, stderr) = flipcheck(&["validate", path(&file)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&want), "{stderr}");
    let out = dir.path().join("out.json");
    let (code, stderr) = flipcheck(&["run", path(&file), "--json", path(&out)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&want), "{stderr}");
    assert!(!stderr.contains("warning"), "refused, not warned: {stderr}");
    assert!(!out.exists(), "no scenario ran, so no report");
}

#[test]
fn an_unsupported_target_input_is_refused_by_validate_run_and_pbx() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("policy.yaml");
    std::fs::write(
        &target,
        "kind: embedded\npolicy: { flip_on_hold: allow }\nquirks: [allow_flip_on_hold]\n",
    )
    .unwrap();
    let wants = [
        "policy.yaml:2:1: error: `policy` is not supported in this version",
        "policy.yaml:3:10: error: quirk `allow_flip_on_hold` is not supported in this version",
    ];
    let out = dir.path().join("out.json");
    for args in [
        vec!["validate", path(&target)],
        vec![
            "run",
            SCENARIO,
            "--target",
            path(&target),
            "--json",
            path(&out),
        ],
        vec!["pbx", "--listen", "127.0.0.1:0", "--config", path(&target)],
    ] {
        let (code, stderr) = flipcheck(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        for want in wants {
            assert!(stderr.contains(want), "{args:?}: {stderr}");
        }
    }
    assert!(!out.exists(), "no scenario ran, so no report");
}

#[test]
fn quirks_with_values_validate() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("valued.yaml");
    std::fs::write(
        &target,
        "kind: embedded\nquirks: [refuse_flip, media_gap_ms: 250, {lose_packets_after_flip: 10}]\n",
    )
    .unwrap();
    let (code, stderr) = flipcheck(&["validate", path(&target), "targets"]);
    assert_eq!(code, 0, "{stderr}");
}
