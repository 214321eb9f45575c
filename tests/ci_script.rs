//! `ci/run-checklist.sh` as the pipelines in ci/ call it: the checklist runs, every report
//! the pipelines publish is where their YAML looks for it, and the exit code is
//! flipcheck's own.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_flipcheck");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn script(reports: &Path, args: &[&str], target: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("ci/run-checklist.sh"))
        .args(args)
        .env("FLIPCHECK_BIN", BIN)
        .env("FLIPCHECK_REPORTS", reports)
        .env_remove("FLIPCHECK_TARGET");
    if let Some(t) = target {
        cmd.env("FLIPCHECK_TARGET", t);
    }
    cmd.output().unwrap()
}

#[test]
fn the_pipelines_script_writes_every_report_they_publish() {
    let dir = tempfile::tempdir().unwrap();
    let out = script(
        dir.path(),
        &["scenarios/checklist", "--sim", "--seed", "3"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for name in ["flipcheck.json", "flipcheck.xml", "flipcheck.md"] {
        let text = std::fs::read_to_string(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{stderr}"));
        assert!(!text.is_empty(), "{name} is empty");
    }
    let junit = std::fs::read_to_string(dir.path().join("flipcheck.xml")).unwrap();
    assert!(junit.contains("<testsuites") && junit.contains("<testcase"));
    assert_eq!(
        std::fs::read_dir(dir.path().join("pcap")).unwrap().count(),
        2,
        "a capture per scenario"
    );
    // The paths the GitHub and GitLab examples publish are the script's default names.
    for (file, path) in [
        ("ci/github/flipcheck.yml", "reports/out/flipcheck.xml"),
        ("ci/github/flipcheck.yml", "reports/out/flipcheck.md"),
        (
            "ci/gitlab/flipcheck.gitlab-ci.yml",
            "reports/out/flipcheck.xml",
        ),
    ] {
        let yaml = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(yaml.contains(path), "{file} does not publish {path}");
    }
}

#[test]
fn the_pipelines_script_passes_a_failed_verdict_through() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("quirky.yaml");
    std::fs::write(
        &target,
        "kind: embedded\nquirks: [hold_music_during_flip]\n",
    )
    .unwrap();
    let out = script(
        &dir.path().join("reports"),
        &["scenarios/checklist/flip-feature-code.yaml", "--sim"],
        Some(&target),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(dir.path().join("reports/flipcheck.md")).unwrap();
    assert!(md.contains("other_audio_ms"), "{md}");
}
