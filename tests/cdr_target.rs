//! Analytics from a real target's CDR file: a standalone `flipcheck pbx --cdr FILE` is the
//! external target, its profile says where the file is, and `analytics` is judged from
//! the records the PBX wrote there — `same` for one record across the flip, `split` when
//! the PBX splits its records at the flip.

mod common;

use std::process::Command;

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

fn analytics(extra_pbx: &[&str], quirk: Option<&str>) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let cdr = dir.path().join("cdr.jsonl");
    let mut pbx_args = vec!["--cdr", cdr.to_str().unwrap()];
    let config = dir.path().join("quirk.yaml");
    if let Some(q) = quirk {
        std::fs::write(&config, format!("kind: embedded\nquirks: [{q}]\n")).unwrap();
        pbx_args.extend(["--config", config.to_str().unwrap()]);
    }
    pbx_args.extend_from_slice(extra_pbx);
    let (_pbx, addr) = common::start_pbx_on("127.0.0.2", "cdr-pw", &pbx_args);
    let target = dir.path().join("target.yaml");
    std::fs::write(
        &target,
        format!(
            "kind: external\nname: pbx with a CDR\nregistrar: sip:{addr}\n\
             users: {{ alice: {{ username: alice, password_env: CDR_PW }} }}\n\
             customer: {{ username: customer, password_env: CDR_PW }}\n\
             cdr: {{ file: cdr.jsonl }}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out.json");
    let mut attempts = 0;
    loop {
        attempts += 1;
        let run = Command::new(common::BIN)
            .args(["run", SCENARIO, "--target"])
            .arg(&target)
            .arg("--json")
            .arg(&out)
            .env("CDR_PW", "cdr-pw")
            .output()
            .unwrap();
        let code = run.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&run.stdout);
        if attempts < common::OVERLOAD_ATTEMPTS && common::harness_overloaded(code, &stdout) {
            continue;
        }
        assert!(code == 0 || quirk.is_some(), "{stdout}");
        break;
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let flip = report["scenarios"][0]["flips"][0].clone();
    (flip["analytics"].as_str().unwrap().to_string(), flip)
}

#[test]
fn one_record_across_the_flip_is_same() {
    let (verdict, flip) = analytics(&[], None);
    assert_eq!(verdict, "same", "{flip}");
    assert!(flip["not_checked"].get("analytics").is_none(), "{flip}");
}

#[test]
fn records_split_at_the_flip_are_split() {
    let (verdict, flip) = analytics(&[], Some("split_cdr_on_flip"));
    assert_eq!(verdict, "split", "{flip}");
    assert_eq!(flip["outcome"], "moved");
}
