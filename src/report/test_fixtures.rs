//! Fixed reports for renderer snapshots and checks: realistic values, no clock, no RNG.

use super::check::check_flip;
use super::model::*;
use crate::scenario::{Bound, Expectations};

/// A clean desk → mobile flip by feature code on a well-behaved PBX.
pub fn moved_flip() -> FlipReport {
    FlipReport {
        index: 1,
        line: 22,
        from: "desk".into(),
        to: "mobile".into(),
        method: "feature_code".into(),
        state: "active".into(),
        outcome: Outcome::Moved,
        reason: "moved to mobile; desk released".into(),
        settle_ms: Some(702.5),
        rings: 1,
        flip_latency_ms: Some(182.4),
        customer_gap_ms: Some(41.0),
        max_hole_ms: Some(41.0),
        device_gap_ms: Some(38.5),
        other_audio_ms: 0.0,
        packets_lost: Some(2),
        packets_late: Some(1),
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
            device_after: Some("PCMU/8000".into()),
            customer_offers: 0,
            ssrc_changed: false,
            payload_type_changed: false,
        },
        m2e_before_ms: Some(62.0),
        m2e_after_ms: Some(118.5),
        harness: HarnessReport::default(),
        not_checked: [(
            "recording".to_string(),
            "recordings are not read in this version".to_string(),
        )]
        .into_iter()
        .collect(),
    }
}

/// The checklist expectations of `scenarios/checklist/flip-feature-code.yaml`.
pub fn checklist_expectations() -> Expectations {
    Expectations {
        flip: Some(Outcome::Moved),
        customer_gap_ms: Some(Bound::at_most(200.0)),
        other_audio_ms: Some(Bound::at_most(0.0)),
        customer_dialog: Some(DialogContinuity::SameDialog),
        caller_id: Some(Continuity::Same),
        old_device_released: Some(true),
        ..Expectations::default()
    }
}

fn scenario(name: &str, file: &str, flips: Vec<FlipReport>, error: Option<&str>) -> ScenarioReport {
    let expect = checklist_expectations();
    let mut s = ScenarioReport {
        name: name.into(),
        file: file.into(),
        verdict: Verdict::Pass,
        error: error.map(str::to_string),
        duration_ms: 4210.5,
        expectations: flips
            .iter()
            .flat_map(|f| {
                let mut r = check_flip(&expect, f);
                for e in r.iter_mut() {
                    (e.flip, e.line) = (Some(f.index), Some(f.line));
                }
                r
            })
            .collect(),
        flips,
        harness: Some(HarnessReport::default()),
        sip_findings: Vec::new(),
    };
    s.recompute_verdict();
    s
}

/// Three scenarios: one passes, one fails (quirky PBX: hold music, new dialog, dropped old
/// leg), one could not run.
pub fn sample_report() -> Report {
    let mut quirky = moved_flip();
    quirky.customer_gap_ms = Some(1350.2);
    quirky.other_audio_ms = 1200.0;
    quirky.customer_dialog = DialogContinuity::NewDialog;
    quirky.session_id = SessionContinuity::Changed;
    quirky.analytics = Evidence::Split;
    quirky.codec.customer_offers = 1;
    quirky.codec.ssrc_changed = true;

    let mut dropped = moved_flip();
    dropped.index = 2;
    dropped.line = 26;
    dropped.outcome = Outcome::Dropped;
    dropped.reason = "the customer lost the call (the target sent BYE)".into();
    dropped.flip_latency_ms = None;
    dropped.customer_gap_ms = None;
    dropped.device_gap_ms = None;
    dropped.customer_dialog = DialogContinuity::Lost;
    dropped.caller_id = Continuity::NotChecked;
    dropped.old_device_released = None;
    dropped.one_way_audio = None;
    dropped.m2e_after_ms = None;
    for (field, why) in [
        (
            "customer_gap_ms",
            "the call did not move (dropped): no switch",
        ),
        ("caller_id", "the customer has no call after the flip"),
        (
            "old_device_released",
            "the flip did not get as far as releasing the old device (dropped)",
        ),
    ] {
        dropped.not_checked.insert(field.into(), why.into());
    }

    let mut r = Report {
        flipcheck_version: "0.1.0".into(),
        target: TargetInfo {
            kind: "embedded".into(),
            name: "embedded".into(),
        },
        seed: 42,
        started_at: "2026-03-01T09:00:00Z".into(),
        finished_at: "2026-03-01T09:00:12.5Z".into(),
        mode: "sim".into(),
        summary: Summary::default(),
        scenarios: vec![
            scenario(
                "flip desk to mobile with a feature code",
                "scenarios/checklist/flip-feature-code.yaml",
                vec![moved_flip()],
                None,
            ),
            scenario(
                "flip twice on a quirky PBX",
                "scenarios/checklist/flip-twice.yaml",
                vec![quirky, dropped],
                None,
            ),
            scenario(
                "flip to an unreachable target",
                "scenarios/checklist/unreachable.yaml",
                vec![],
                Some("registrar sip:10.9.9.9:5060;transport=udp did not answer REGISTER"),
            ),
        ],
    };
    r.recompute_summary();
    r
}

/// [`sample_report`] and the two verdicts it lacks: a scenario whose harness was overloaded
/// around its flip (`error`, with a flip measured that it disowns) and one never started
/// (`not_run`).
pub fn full_report() -> Report {
    let mut r = sample_report();
    let mut stalled = moved_flip();
    stalled.customer_gap_ms = Some(260.0);
    stalled.harness = HarnessReport {
        wakeups: 5200,
        lateness_p50_ms: 1.2,
        lateness_p99_ms: 14.8,
        lateness_max_ms: 310.0,
        skipped_slots: 12,
        overloaded: true,
        ..HarnessReport::default()
    };
    let mut overloaded = scenario(
        "flip on a loaded runner",
        "scenarios/load/overloaded.yaml",
        vec![stalled],
        Some(
            "the harness was overloaded around flip 1 (line 22): 12 skipped media slots, \
             timer lateness p99 14.8 ms; its figures say nothing about the target",
        ),
    );
    overloaded.duration_ms = 5120.0;
    r.scenarios.push(overloaded);
    r.scenarios.push(ScenarioReport {
        name: "flip back | forth".into(),
        file: "scenarios/checklist/flip-back-and-forth.yaml".into(),
        verdict: Verdict::NotRun,
        error: Some("not started: the run was interrupted before it".into()),
        duration_ms: 0.0,
        expectations: Vec::new(),
        flips: Vec::new(),
        harness: None,
        sip_findings: Vec::new(),
    });
    r.recompute_summary();
    r
}
