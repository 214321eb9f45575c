//! The binary as a user runs it: live on loopback with ephemeral ports, against a
//! separately started `flipcheck pbx`, with broken input. Live tests assert only what load
//! cannot change (outcomes, continuity verdicts, exit codes), never timing.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::BIN;
const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

/// A live run, repeated (bounded) when our own harness was too loaded to measure: that
/// verdict is about us, not about what a test checks.
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let ran = common::run_flipcheck(args, env);
    (ran.code, ran.stdout, ran.stderr)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("valid JSON")
}

fn first_flip(report: &Value) -> &Value {
    &report["scenarios"][0]["flips"][0]
}

/// A `kind: external` target: alice and the customer, both with the password in `env`.
fn external_target(name: &str, addr: &str, env: &str) -> String {
    format!(
        "kind: external\nname: {name}\nregistrar: sip:{addr};transport=udp\n\
         users: {{ alice: {{ username: alice, password_env: {env} }} }}\n\
         customer: {{ username: customer, password_env: {env} }}\nflip: {{ feature_code: \"*11\" }}\n"
    )
}

fn quirk_target(dir: &Path, quirk: &str) -> String {
    let path = dir.join(format!("{quirk}.yaml"));
    std::fs::write(&path, format!("kind: embedded\nquirks: [{quirk}]\n")).unwrap();
    path.display().to_string()
}

#[test]
fn live_clean_flip_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let (code, stdout, stderr) = run(&["run", SCENARIO, "--json", out.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let report = json(&out);
    let f = first_flip(&report);
    assert_eq!(f["outcome"], "moved", "{f}");
    assert_eq!(f["customer_dialog"], "same_dialog");
    assert_eq!(f["caller_id"], "same");
    assert_eq!(f["old_device_released"], true);
    assert_eq!(f["other_audio_ms"], 0.0);
    assert!(f["customer_gap_ms"].as_f64().is_some());
    assert_eq!(report["mode"], "live");
    assert_eq!(report["summary"]["passed"], 1);
}

#[test]
fn live_quirks_are_detected_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    for (quirk, field, expected) in [
        ("drop_customer_on_flip", "outcome", "dropped"),
        ("new_dialog_on_flip", "customer_dialog", "new_dialog"),
        ("change_caller_id_on_flip", "caller_id", "changed"),
    ] {
        let target = quirk_target(dir.path(), quirk);
        let out = dir.path().join(format!("{quirk}.json"));
        let (code, stdout, stderr) = run(
            &[
                "run",
                SCENARIO,
                "--target",
                &target,
                "--json",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(code, 1, "{quirk}: stdout: {stdout}\nstderr: {stderr}");
        assert_eq!(first_flip(&json(&out))[field], expected, "{quirk}");
    }
    let target = quirk_target(dir.path(), "hold_music_during_flip");
    let out = dir.path().join("moh.json");
    let (code, ..) = run(
        &[
            "run",
            SCENARIO,
            "--target",
            &target,
            "--json",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(first_flip(&json(&out))["other_audio_ms"].as_f64().unwrap() >= 800.0);
}

#[test]
fn misspelt_step_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(SCENARIO)
        .unwrap()
        .replacen("  - talk:", "  - tlak:", 1);
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, &text).unwrap();
    let line = text.lines().position(|l| l.contains("tlak:")).unwrap() + 1;
    let (code, _, stderr) = run(&["run", broken.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("broken.yaml:{line}:")), "{stderr}");
    assert!(stderr.contains("talk"), "suggests the right name: {stderr}");
}

#[test]
fn unreachable_external_target_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ext.yaml");
    // A port nobody listens on, on another loopback address: registration gets no answer.
    let port = common::free_udp_port();
    std::fs::write(
        &target,
        external_target("nobody", &format!("127.0.0.2:{port}"), "T_PW"),
    )
    .unwrap();
    let out = dir.path().join("out.json");
    // The whole checklist: the first scenario finds the target silent, the others are
    // reported at once with the same reason instead of each waiting for it again.
    let (code, stdout, stderr) = run(
        &[
            "run",
            "scenarios/checklist",
            "--target",
            target.to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
        ],
        &[("T_PW", "x")],
    );
    assert_eq!(code, 2, "{stderr}");
    let report = json(&out);
    let scenarios = report["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 2);
    let expected = format!("no response from 127.0.0.2:{port} over UDP within 4 s");
    for s in scenarios {
        assert_eq!(s["verdict"], "error");
        assert!(s["error"].as_str().unwrap().contains(&expected), "{s}");
    }
    assert!(stdout.contains(&expected), "{stdout}");
    // One registration timeout for the whole run, not one per scenario.
    let total: f64 = scenarios
        .iter()
        .map(|s| s["duration_ms"].as_f64().unwrap())
        .sum();
    assert!(total < 10_000.0, "{total} ms");
}

#[test]
fn missing_password_env_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ext.yaml");
    std::fs::write(&target, "kind: external\nname: x\nregistrar: sip:127.0.0.1:5999;transport=udp\nusers: { alice: { username: alice, password_env: FLIPCHECK_TEST_UNSET_PW } }\ncustomer: { username: customer, password_env: FLIPCHECK_TEST_UNSET_PW }\n").unwrap();
    let (code, _, stderr) = run(
        &["run", SCENARIO, "--target", target.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("FLIPCHECK_TEST_UNSET_PW"), "{stderr}");
}

#[test]
fn external_target_through_standalone_pbx() {
    let (_server, addr) = common::start_pbx("ext-secret", &[]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ext.yaml");
    std::fs::write(
        &target,
        external_target("standalone flipcheck pbx", &addr, "EXT_PW"),
    )
    .unwrap();
    let out = dir.path().join("ext.json");
    let (code, stdout, stderr) = run(
        &[
            "run",
            SCENARIO,
            "--target",
            target.to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
            // The same seed both times: live runs must still use fresh SIP identifiers,
            // or the PBX would take the second run's requests for retransmissions.
            "--seed",
            "5",
        ],
        &[("EXT_PW", "ext-secret")],
    );
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let report = json(&out);
    assert_eq!(report["target"]["kind"], "external");
    assert_eq!(first_flip(&report)["outcome"], "moved");
    assert_eq!(first_flip(&report)["customer_dialog"], "same_dialog");
    assert!(
        !std::fs::read_to_string(&out)
            .unwrap()
            .contains("ext-secret"),
        "no password in the report"
    );

    // A wrong password is refused: registration fails, exit 2, naming the account and
    // where its password comes from.
    let (code, stdout, _) = run(
        &["run", SCENARIO, "--target", target.to_str().unwrap()],
        &[("EXT_PW", "wrong")],
    );
    assert_eq!(code, 2);
    assert!(
        stdout.contains("authentication failed for alice on desk at standalone flipcheck pbx")
            && stdout.contains("403 Forbidden — check EXT_PW"),
        "{stdout}"
    );

    // The scenario's user maps to the target's account: here alice is extension `bob`, so
    // the devices register as bob and the customer must call bob, not alice.
    let mapped = dir.path().join("mapped.yaml");
    let text = std::fs::read_to_string(&target)
        .unwrap()
        .replace("username: alice", "username: bob");
    std::fs::write(&mapped, text).unwrap();
    let out = dir.path().join("mapped.json");
    let (code, stdout, stderr) = run(
        &[
            "run",
            SCENARIO,
            "--target",
            mapped.to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
            // The same seed both times: live runs must still use fresh SIP identifiers,
            // or the PBX would take the second run's requests for retransmissions.
            "--seed",
            "5",
        ],
        &[("EXT_PW", "ext-secret")],
    );
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(first_flip(&json(&out))["outcome"], "moved");
}

#[test]
fn sim_runs_are_identical_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let strip = |v: &mut Value| {
        let obj = v.as_object_mut().unwrap();
        obj.remove("started_at");
        obj.remove("finished_at");
    };
    let mut reports = Vec::new();
    for i in 0..2 {
        let out = dir.path().join(format!("s{i}.json"));
        let (code, _, stderr) = run(
            &[
                "run",
                SCENARIO,
                "--sim",
                "--seed",
                "7",
                "--json",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(code, 0, "{stderr}");
        let mut r = json(&out);
        strip(&mut r);
        reports.push(r);
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0]["mode"], "sim");
    assert_eq!(first_flip(&reports[0])["outcome"], "moved");
}

#[test]
fn validate_checks_scenarios_and_targets_without_running() {
    let (code, stdout, stderr) = run(&["validate", "scenarios", "targets"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("file(s) ok"), "{stdout}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("quirky.yaml");
    std::fs::write(&bad, "kind: embedded\nquirks: [drop_customer_on_flipp]\n").unwrap();
    let (code, _, stderr) = run(&["validate", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("quirky.yaml:2:"), "{stderr}");
    assert!(
        stderr.contains("drop_customer_on_flip"),
        "suggests the quirk: {stderr}"
    );
}

/// Runs `flipcheck ARGS` and asserts exit 2 with exactly one stderr line containing `want`
/// (`validate` may add its count line), never Rust's `(os error N)` or a debug escape.
fn fails_with(args: &[&str], want: &str) -> String {
    let (code, stdout, stderr) = run(args, &[]);
    assert_eq!(code, 2, "{args:?}\nstdout: {stdout}\nstderr: {stderr}");
    let lines = stderr
        .lines()
        .filter(|l| !l.contains(" error(s) in ") || !l.ends_with(" checked"));
    assert_eq!(lines.count(), 1, "{args:?}: one line: {stderr}");
    assert!(stderr.contains(want), "{args:?}: wants `{want}`: {stderr}");
    assert!(
        !stderr.contains("os error") && !stderr.contains("\\u{") && !stderr.contains(":0:0"),
        "{args:?}: {stderr}"
    );
    stderr
}

#[test]
fn unreadable_scenario_files_are_named_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("nope.yaml");
    let missing = missing.to_str().unwrap();
    fails_with(
        &["run", missing],
        &format!("{missing}: error: no such scenario file or folder"),
    );
    fails_with(&["validate", missing], "no such scenario file or folder");
    let bin = d.join("capture.yaml");
    std::fs::write(&bin, b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00").unwrap();
    let bin = bin.to_str().unwrap();
    for cmd in ["run", "validate"] {
        fails_with(
            &[cmd, bin],
            &format!("{bin}: error: not a text file (binary content)"),
        );
    }
    let empty = d.join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    fails_with(
        &["run", "--sim", empty.to_str().unwrap()],
        "empty.yaml:1:1: error: the file is empty",
    );
}

#[test]
fn a_taken_pbx_port_is_one_plain_line() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    fails_with(
        &["pbx", "--listen", &addr],
        &format!(
            "error: cannot listen on udp {addr}: address already in use (another SIP server has it; pick another --listen port, or port 0 for a free one)"
        ),
    );
}

/// Every file in `dir`, sorted, to prove a failed run left nothing behind.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn bad_output_paths_fail_before_running_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("afile");
    std::fs::write(&file, "x").unwrap();
    let s = |p: std::path::PathBuf| p.to_str().unwrap().to_owned();
    fails_with(
        &["run", SCENARIO, "--json", &s(d.join("nodir/out.json"))],
        "nodir does not exist",
    );
    fails_with(
        &["run", SCENARIO, "--json", &s(d.join("afile/out.json"))],
        "afile is not a folder",
    );
    fails_with(
        &["run", SCENARIO, "--json", &s(d.to_path_buf())],
        "is a folder; give a file name",
    );
    fails_with(
        &["run", SCENARIO, "--pcap", &s(file.clone())],
        "afile: is a file; give a folder",
    );
    fails_with(
        &["run", SCENARIO, "--pcap", &s(d.join("afile/pcaps"))],
        "cannot create the folder",
    );
    assert_eq!(listing(d), ["afile"]);
}

#[test]
fn an_unknown_user_is_refused_before_any_scenario_runs() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(SCENARIO).unwrap();
    let bad = dir.path().join("alcie.yaml");
    std::fs::write(&bad, text.replacen("user: alice", "user: alcie", 1)).unwrap();
    let out = dir.path().join("out.json");
    // The good scenario comes first: it must not run (live, it would take seconds).
    fails_with(
        &[
            "run",
            SCENARIO,
            bad.to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
        ],
        "alcie.yaml: user `alcie` has no account on the embedded PBX (its users: alice, bob, carol, supervisor; did you mean `alice`?)",
    );
    assert_eq!(listing(dir.path()), ["alcie.yaml"]);
}

#[test]
fn scenarios_and_targets_given_in_each_others_place_are_named() {
    let line = std::fs::read_to_string(SCENARIO)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("steps:"))
        .unwrap()
        + 2;
    let not_a_target = format!(
        "{SCENARIO}:{line}:3: error: this is a scenario (it has `steps:`), not a target profile"
    );
    fails_with(&["run", SCENARIO, "--target", SCENARIO], &not_a_target);
    fails_with(
        &["pbx", "--listen", "127.0.0.1:0", "--config", SCENARIO],
        &not_a_target,
    );
    fails_with(
        &["run", "targets/embedded-quirky.yaml"],
        "targets/embedded-quirky.yaml:3:7: error: this is a target profile (`kind: embedded`), not a scenario (give it with --target)",
    );
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.yaml");
    std::fs::write(&typo, "kind: embeded\nquirks: []\n").unwrap();
    fails_with(
        &["run", SCENARIO, "--target", typo.to_str().unwrap()],
        "typo.yaml:1:7: error: unknown target kind `embeded` (did you mean `embedded`?)",
    );
}

#[test]
fn validate_reports_every_bad_path_and_refuses_empty_folders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not a scenario").unwrap();
    let (code, stdout, stderr) = run(&["validate", empty.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: error: no *.yaml files in this folder",
            empty.display()
        )),
        "{stderr}"
    );
    let dup = d.join("dup.yaml");
    std::fs::write(
        &dup,
        "name: x\ndevices:\n  desk: {}\n  desk: {}\nsteps: [hangup: customer]\n",
    )
    .unwrap();
    let missing = d.join("missing.yaml");
    let (code, _, stderr) = run(
        &[
            "validate",
            missing.to_str().unwrap(),
            dup.to_str().unwrap(),
            "scenarios",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("missing.yaml: error: no such scenario file or folder"),
        "{stderr}"
    );
    assert!(
        stderr.contains("dup.yaml:4:3: error: duplicate key `desk`"),
        "the missing path does not hide the next file: {stderr}"
    );
    assert!(
        stderr.ends_with("2 error(s) in 3 file(s) checked\n"),
        "{stderr}"
    );
}

#[test]
fn help_names_values_and_exit_codes_and_future_commands_exit_2() {
    let (code, stdout, _) = run(&["run", "--help"], &[]);
    assert_eq!(code, 0);
    for want in [
        "[PATH]...",
        "--target <FILE>",
        "--json <FILE>",
        "--pcap <DIR>",
        "--seed <N>",
        "Exit codes: 0 every expectation held, 1 at least one expectation failed, 2 bad input",
    ] {
        assert!(stdout.contains(want), "`{want}` in: {stdout}");
    }
    let (_, stdout, _) = run(&["pbx", "--help"], &[]);
    assert!(stdout.contains("--listen <ADDR>"), "{stdout}");
    fails_with(
        &["load", "--users", "10", "--duration", "5m"],
        "error: `flipcheck load` is not implemented yet in this build",
    );
    fails_with(
        &["merge", "a.json", "b.json"],
        "error: `flipcheck merge` is not implemented yet in this build",
    );
    let (code, _, stderr) = run(&["run", "--seed", "-1"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: invalid value '-1' for '--seed <N>'"),
        "{stderr}"
    );
}

#[test]
fn pbx_refuses_bad_options_in_one_line() {
    fails_with(
        &["pbx", "--listen", "0.0.0.0:0"],
        "error: listening on 0.0.0.0 needs a password",
    );
    fails_with(
        &["pbx", "--listen", "127.0.0.1:0", "--password", ""],
        "error: the PBX password is empty",
    );
    fails_with(
        &["pbx", "--listen", "127.0.0.1:0", "--digest", "sha1"],
        "error: --digest: unknown algorithm `sha1` (use md5, sha-256)",
    );
    fails_with(
        &["pbx", "--listen", "127.0.0.1:0", "--config", "missing.yaml"],
        "missing.yaml: error: cannot read file: no such file or directory",
    );
    fails_with(
        &[
            "pbx",
            "--listen",
            "127.0.0.1:0",
            "--config",
            "targets/example-external.yaml",
        ],
        "takes a `kind: embedded` file",
    );
}

#[test]
fn the_default_folder_missing_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("run")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "scenarios/checklist: error: no such scenario file or folder (the default; run from the flipcheck folder or give scenario paths)\n"
    );
}
