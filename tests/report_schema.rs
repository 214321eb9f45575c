//! The JSON report is a contract (`reports/schema.json`): real output of the
//! JSON renderer must validate against the checked-in `reports/schema.json`, and the schema
//! must reject output that breaks the contract.

use flipcheck::report::{
    CodecReport, Continuity, DialogContinuity, Evidence, FlipReport, HarnessReport, Outcome,
    Refusal, Report, ScenarioReport, SessionContinuity, Summary, TargetInfo, Verdict, check_flip,
    json,
};
use flipcheck::scenario::load_scenario;
use serde_json::Value;

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/schema.json"))
        .expect("reports/schema.json is checked in");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn validator() -> jsonschema::Validator {
    let schema = schema();
    jsonschema::draft202012::meta::validate(&schema)
        .unwrap_or_else(|e| panic!("schema is not valid draft 2020-12: {e}"));
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn flip(outcome: Outcome) -> FlipReport {
    FlipReport {
        index: 1,
        line: 24,
        from: "desk".into(),
        to: "mobile".into(),
        method: "feature_code".into(),
        state: "active".into(),
        outcome,
        reason: format!("{outcome}"),
        settle_ms: Some(700.0),
        rings: 1,
        flip_latency_ms: Some(176.25),
        customer_gap_ms: Some(40.0),
        max_hole_ms: Some(40.0),
        device_gap_ms: Some(35.5),
        other_audio_ms: 0.0,
        packets_lost: Some(1),
        packets_late: Some(3),
        customer_dialog: DialogContinuity::SameDialog,
        caller_id: Continuity::Same,
        session_id: SessionContinuity::Same,
        analytics: Evidence::Same,
        recording: Evidence::NotChecked,
        old_device_released: Some(true),
        refusal: None,
        one_way_audio: Some(false),
        customer_live_calls: 1,
        codec: CodecReport {
            customer_before: Some("PCMU/8000".into()),
            customer_after: Some("PCMU/8000".into()),
            device_after: Some("G722/8000".into()),
            customer_offers: 0,
            ssrc_changed: false,
            payload_type_changed: false,
        },
        m2e_before_ms: Some(61.0),
        m2e_after_ms: Some(122.0),
        harness: HarnessReport::default(),
        not_checked: Default::default(),
    }
}

/// A report as a run over the checklist would produce it: the checklist's own expectations
/// checked against a clean flip, a refused flip, and a scenario that could not run.
fn realistic_report() -> Report {
    let plan = load_scenario(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/checklist/flip-feature-code.yaml"
    )))
    .expect("checklist scenario compiles");

    let moved = flip(Outcome::Moved);
    let mut blocked = flip(Outcome::Blocked);
    blocked.flip_latency_ms = None;
    blocked.customer_gap_ms = None;
    blocked.device_gap_ms = None;
    blocked.old_device_released = None;
    blocked.one_way_audio = None;
    blocked.m2e_after_ms = None;
    blocked
        .not_checked
        .insert("customer_gap_ms".into(), "the call did not move".into());
    blocked.refusal = Some(Refusal {
        status: 403,
        reason: "Forbidden (flip on hold)".into(),
    });
    blocked.state = "hold".into();

    let scenario = |name: &str, flips: Vec<FlipReport>, error: Option<&str>| {
        let mut s = ScenarioReport {
            name: name.into(),
            file: "scenarios/checklist/flip-feature-code.yaml".into(),
            verdict: Verdict::Pass,
            error: error.map(str::to_string),
            duration_ms: 4_020.0,
            expectations: flips
                .iter()
                .flat_map(|f| check_flip(&plan.expect, f))
                .collect(),
            flips,
            harness: Some(HarnessReport::default()),
            sip_findings: Vec::new(),
        };
        s.recompute_verdict();
        s
    };
    let mut r = Report {
        flipcheck_version: env!("CARGO_PKG_VERSION").into(),
        target: TargetInfo {
            kind: "embedded".into(),
            name: "embedded".into(),
        },
        seed: 42,
        started_at: "2026-03-01T09:00:00Z".into(),
        finished_at: "2026-03-01T09:00:09Z".into(),
        mode: "sim".into(),
        summary: Summary::default(),
        scenarios: vec![
            scenario(&plan.name, vec![moved], None),
            scenario("flip on hold is refused", vec![blocked], None),
            scenario("unreachable", vec![], Some("no answer to REGISTER")),
        ],
    };
    r.recompute_summary();
    r
}

fn rendered(report: &Report) -> Value {
    let mut out = Vec::new();
    json::render(report, &mut out).expect("writing to a Vec cannot fail");
    serde_json::from_slice(&out).expect("renderer writes JSON")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn real_report_validates_against_the_schema() {
    let v = validator();
    let report = realistic_report();
    assert_eq!(report.exit_code(), 2);
    assert_eq!(
        (
            report.summary.passed,
            report.summary.failed,
            report.summary.errors
        ),
        (1, 1, 1)
    );
    let instance = rendered(&report);
    assert_eq!(errors(&v, &instance), Vec::<String>::new());
}

#[test]
fn schema_rejects_contract_breaks() {
    let v = validator();
    let good = rendered(&realistic_report());

    let mut missing = good.clone();
    missing["scenarios"][0]["flips"][0]
        .as_object_mut()
        .unwrap()
        .remove("customer_gap_ms");
    assert!(!v.is_valid(&missing), "a missing contract field must fail");

    let mut bad_word = good.clone();
    bad_word["scenarios"][0]["flips"][0]["outcome"] = "teleported".into();
    assert!(!v.is_valid(&bad_word), "an unknown outcome must fail");

    let mut bad_verdict = good.clone();
    bad_verdict["scenarios"][1]["verdict"] = "maybe".into();
    assert!(!v.is_valid(&bad_verdict));

    let mut bad_type = good.clone();
    bad_type["seed"] = "42".into();
    assert!(!v.is_valid(&bad_type));

    let mut no_summary = good.clone();
    no_summary.as_object_mut().unwrap().remove("summary");
    assert!(!v.is_valid(&no_summary));

    // Fields may be added, never renamed: extra keys stay valid.
    let mut extended = good;
    extended["scenarios"][0]["flips"][0]["quality"] = serde_json::json!({"mos": 4.3});
    extended["host"] = "ci-runner-3".into();
    assert!(v.is_valid(&extended));
}

/// Output of real runs (the simulator, clean and with every quirk) validates too: the
/// schema describes what the runner writes, not only what a test builds by hand.
#[test]
fn real_sim_reports_validate() {
    use flipcheck::roles::pbx::PbxQuirks;
    use flipcheck::runner::{self, TargetSetup};
    let plan = load_scenario(std::path::Path::new(
        "scenarios/checklist/flip-feature-code.yaml",
    ))
    .expect("checklist compiles");
    let quirks = [
        PbxQuirks::default(),
        PbxQuirks {
            drop_customer_on_flip: true,
            ..Default::default()
        },
        PbxQuirks {
            new_dialog_on_flip: true,
            ..Default::default()
        },
        PbxQuirks {
            hold_music_during_flip: true,
            ..Default::default()
        },
        PbxQuirks {
            change_caller_id_on_flip: true,
            ..Default::default()
        },
    ];
    let mut report = Report {
        flipcheck_version: "test".into(),
        target: TargetInfo {
            kind: "embedded".into(),
            name: "embedded".into(),
        },
        seed: 5,
        started_at: "2026-11-26T00:00:00Z".into(),
        finished_at: "2026-11-26T00:00:01Z".into(),
        mode: "sim".into(),
        summary: Summary::default(),
        scenarios: Vec::new(),
    };
    for q in quirks {
        let setup = TargetSetup::Embedded {
            quirks: q,
            password: "pw".into(),
        };
        let scene = runner::simulate(&plan, &setup, 5, false).expect("sim runs");
        report
            .scenarios
            .push(runner::scenario_report(&plan, &scene, 1.0));
    }
    report.recompute_summary();
    let mut out = Vec::new();
    json::render(&report, &mut out).unwrap();
    let value: Value = serde_json::from_slice(&out).unwrap();
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report.summary.passed, 1);
    assert_eq!(report.summary.failed, 4);
}
