//! The feature-code flip and each PBX quirk in virtual time: deterministic, so the figures
//! are exact and the same run twice gives the same report.

use std::path::Path;

use flipcheck::report::{
    Continuity, DialogContinuity, FlipReport, Outcome, ScenarioReport, SessionContinuity, Verdict,
};
use flipcheck::roles::pbx::PbxQuirks;
use flipcheck::runner::{self, TargetSetup};
use flipcheck::scenario::load_scenario;

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

fn run(quirks: PbxQuirks, seed: u64) -> ScenarioReport {
    let plan = load_scenario(Path::new(SCENARIO)).expect("checklist scenario compiles");
    let setup = TargetSetup::Embedded {
        quirks,
        password: "test-secret".into(),
    };
    let scene = runner::simulate(&plan, &setup, seed, false).expect("virtual addresses");
    let duration = scene.script.finished_at.map_or(0.0, |t| t.as_millis_f64());
    runner::scenario_report(&plan, &scene, duration)
}

fn only_flip(r: &ScenarioReport) -> &FlipReport {
    assert_eq!(r.flips.len(), 1, "one flip in {r:#?}");
    &r.flips[0]
}

#[test]
fn clean_flip_moves_with_same_dialog_and_no_gap() {
    let r = run(PbxQuirks::default(), 7);
    assert_eq!(r.error, None);
    assert_eq!(r.verdict, Verdict::Pass, "{r:#?}");
    let f = only_flip(&r);
    assert_eq!(f.outcome, Outcome::Moved);
    assert_eq!(f.customer_dialog, DialogContinuity::SameDialog);
    assert_eq!(f.caller_id, Continuity::Same);
    assert_eq!(f.session_id, SessionContinuity::Same);
    assert_eq!(f.old_device_released, Some(true));
    assert_eq!(f.other_audio_ms, 0.0);
    assert_eq!(f.one_way_audio, Some(false));
    assert_eq!(f.codec.customer_offers, 0, "no re-INVITE when codecs match");
    assert!(
        f.codec.ssrc_changed,
        "the relay passes the new device's SSRC through"
    );
    assert_eq!(f.codec.customer_before.as_deref(), Some("PCMU/8000"));
    assert_eq!(f.codec.customer_after.as_deref(), Some("PCMU/8000"));
    let gap = f.customer_gap_ms.expect("gap measured");
    assert!((0.0..200.0).contains(&gap), "gap {gap}");
    let latency = f.flip_latency_ms.expect("new device heard");
    assert!(latency > 0.0 && latency < 200.0, "latency {latency}");
    assert!(f.device_gap_ms.is_some());
    // Two simulated links of 0.5 ms (device → relay → customer) plus one 20 ms frame,
    // computed from the RTP timestamps and the senders' RTCP clocks.
    let expected = 2.0 * flipcheck::sim::LINK_DELAY.as_secs_f64() * 1000.0 + 20.0;
    for m2e in [f.m2e_before_ms, f.m2e_after_ms] {
        let m2e = m2e.expect("RTCP sender reports give the clock");
        assert!((m2e - expected).abs() < 0.01, "m2e {m2e} vs {expected}");
    }
}

#[test]
fn same_seed_same_report() {
    let a = serde_json::to_string(&run(PbxQuirks::default(), 42)).unwrap();
    let b = serde_json::to_string(&run(PbxQuirks::default(), 42)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn drop_quirk_is_reported_as_dropped() {
    let r = run(
        PbxQuirks {
            drop_customer_on_flip: true,
            ..Default::default()
        },
        7,
    );
    assert_eq!(r.verdict, Verdict::Fail);
    let f = only_flip(&r);
    assert_eq!(f.outcome, Outcome::Dropped);
    assert_eq!(f.customer_dialog, DialogContinuity::Lost);
}

#[test]
fn hold_music_quirk_is_other_audio() {
    let r = run(
        PbxQuirks {
            hold_music_during_flip: true,
            ..Default::default()
        },
        7,
    );
    assert_eq!(r.verdict, Verdict::Fail);
    let f = only_flip(&r);
    assert_eq!(f.outcome, Outcome::Moved);
    assert!(
        f.other_audio_ms >= 800.0 && f.other_audio_ms <= 1100.0,
        "{}",
        f.other_audio_ms
    );
    assert!(f.customer_gap_ms.unwrap() >= 800.0);
    assert_eq!(f.customer_dialog, DialogContinuity::SameDialog);
    assert_eq!(f.caller_id, Continuity::Same);
}

#[test]
fn new_dialog_quirk_is_new_dialog_and_gap_still_measured() {
    let r = run(
        PbxQuirks {
            new_dialog_on_flip: true,
            ..Default::default()
        },
        7,
    );
    assert_eq!(r.verdict, Verdict::Fail);
    let f = only_flip(&r);
    assert_eq!(f.customer_dialog, DialogContinuity::NewDialog);
    assert_eq!(f.outcome, Outcome::Moved);
    assert_eq!(f.other_audio_ms, 0.0);
    assert!(f.customer_gap_ms.unwrap() < 200.0);
    assert_eq!(
        f.codec.customer_offers, 1,
        "the replacing INVITE carried an offer"
    );
}

#[test]
fn caller_id_quirk_is_changed_and_nothing_else() {
    let r = run(
        PbxQuirks {
            change_caller_id_on_flip: true,
            ..Default::default()
        },
        7,
    );
    assert_eq!(r.verdict, Verdict::Fail);
    let f = only_flip(&r);
    assert_eq!(f.caller_id, Continuity::Changed);
    assert_eq!(f.outcome, Outcome::Moved);
    assert_eq!(f.customer_dialog, DialogContinuity::SameDialog);
    assert_eq!(f.other_audio_ms, 0.0);
}

#[test]
fn session_id_quirk_is_changed() {
    let r = run(
        PbxQuirks {
            new_session_id_on_flip: true,
            ..Default::default()
        },
        7,
    );
    let f = only_flip(&r);
    assert_eq!(f.session_id, SessionContinuity::Changed);
    assert_eq!(f.caller_id, Continuity::Same);
}

#[test]
fn flip_back_and_forth_keeps_one_session_and_one_cdr() {
    let plan = load_scenario(Path::new("scenarios/checklist/flip-back-and-forth.yaml")).unwrap();
    let setup = TargetSetup::Embedded {
        quirks: PbxQuirks::default(),
        password: "pw".into(),
    };
    let scene = runner::simulate(&plan, &setup, 9, false).unwrap();
    let r = runner::scenario_report(&plan, &scene, 0.0);
    assert_eq!(r.verdict, Verdict::Pass, "{r:#?}");
    assert_eq!(r.flips.len(), 2);
    assert_eq!(
        (r.flips[0].from.as_str(), r.flips[0].to.as_str()),
        ("desk", "mobile")
    );
    assert_eq!(
        (r.flips[1].from.as_str(), r.flips[1].to.as_str()),
        ("mobile", "desk")
    );
    // The mobile prefers PCMA: the PBX transcodes, the customer never renegotiates.
    assert_eq!(r.flips[0].codec.device_after.as_deref(), Some("PCMA/8000"));
    assert_eq!(
        r.flips[0].codec.customer_after.as_deref(),
        Some("PCMU/8000")
    );
    assert_eq!(r.flips[0].codec.customer_offers, 0);
    let pbx = scene.pbx.as_ref().unwrap();
    assert_eq!(pbx.cdrs.len(), 1, "{:?}", pbx.cdrs);
    let cdr: serde_json::Value = serde_json::from_str(&pbx.cdrs[0]).unwrap();
    assert_eq!(cdr["flips"], 2);
    assert_eq!(cdr["segments"].as_array().unwrap().len(), 3);
}

/// Far ends differ (README "Scenarios", `replaces:`): with a proxy-style flip (INVITE with Replaces),
/// a phone that refuses Replaces keeps its old dialog, and one that ignores it is left with
/// two calls: both are reported as what they are.
#[test]
fn far_ends_that_reject_or_ignore_replaces() {
    use flipcheck::scenario::ReplacesSupport;
    let mut plan = load_scenario(Path::new(SCENARIO)).unwrap();
    let quirks = PbxQuirks {
        new_dialog_on_flip: true,
        ..Default::default()
    };
    let setup = TargetSetup::Embedded {
        quirks,
        password: "pw".into(),
    };

    plan.customer.replaces = ReplacesSupport::Reject;
    let scene = runner::simulate(&plan, &setup, 4, false).unwrap();
    let r = runner::scenario_report(&plan, &scene, 0.0);
    let f = only_flip(&r);
    assert_eq!(f.outcome, Outcome::Moved);
    assert_eq!(
        f.customer_dialog,
        DialogContinuity::SameDialog,
        "the B2BUA kept the old leg"
    );
    assert_eq!(f.customer_live_calls, 1);

    plan.customer.replaces = ReplacesSupport::Ignore;
    let scene = runner::simulate(&plan, &setup, 4, false).unwrap();
    let r = runner::scenario_report(&plan, &scene, 0.0);
    let f = only_flip(&r);
    assert_eq!(f.customer_dialog, DialogContinuity::NewDialog);
    assert_eq!(
        f.customer_live_calls, 2,
        "the replaced call was never hung up"
    );
}

#[test]
fn reinvite_quirk_is_one_offer_on_the_same_dialog() {
    let r = run(
        PbxQuirks {
            reinvite_customer_on_flip: true,
            ..Default::default()
        },
        7,
    );
    let f = only_flip(&r);
    assert_eq!(f.codec.customer_offers, 1);
    assert_eq!(f.customer_dialog, DialogContinuity::SameDialog);
    assert_eq!(f.caller_id, Continuity::Same);
    assert_eq!(f.outcome, Outcome::Moved);
    assert_eq!(f.other_audio_ms, 0.0);
}

/// The plan expects the middle flip to be refused but the embedded PBX moves the call: the
/// next flip names the device the plan thinks holds the call, not the one that does. The
/// run reports what happened instead of indexing that device's calls with the holder's
/// call number (a panic once they differ).
#[test]
fn a_flip_from_a_device_that_does_not_hold_the_call_does_not_panic() {
    let text = "name: plan and target disagree\n\
        user: alice\n\
        devices:\n  desk: { codecs: [PCMU] }\n  mobile: { codecs: [PCMU] }\n  soft: { codecs: [PCMU] }\n\
        customer: { codecs: [PCMU] }\n\
        steps:\n\
        \x20 - register: [desk, mobile, soft]\n\
        \x20 - call: { from: customer, answer: desk }\n\
        \x20 - talk: 1s\n\
        \x20 - flip: { to: mobile, method: feature_code }\n\
        \x20 - talk: 1s\n\
        \x20 - flip: { to: desk, method: feature_code }\n\
        \x20 - talk: 1s\n\
        \x20 - flip: { to: soft, method: feature_code }\n\
        \x20 - talk: 1s\n\
        \x20 - flip: { to: desk, method: feature_code, expect: { flip: blocked } }\n\
        \x20 - talk: 1s\n\
        \x20 - flip: { from: soft, to: mobile, method: feature_code }\n\
        \x20 - talk: 1s\n\
        \x20 - hangup: customer\n\
        expect:\n  flip: moved\n";
    let plan = flipcheck::scenario::compile_scenario(Path::new("t.yaml"), text)
        .unwrap_or_else(|d| panic!("{d:?}"));
    let setup = TargetSetup::Embedded {
        quirks: PbxQuirks::default(),
        password: "test-secret".into(),
    };
    let scene = runner::simulate(&plan, &setup, 3, false).expect("virtual addresses");
    let duration = scene.script.finished_at.map_or(0.0, |t| t.as_millis_f64());
    let r = runner::scenario_report(&plan, &scene, duration);
    assert_eq!(r.flips.len(), 4, "{r:#?}");
    assert_eq!(r.flips[3].outcome, Outcome::Moved, "the target did move it");
    assert_eq!(r.verdict, Verdict::Error);
    assert_eq!(
        r.error.as_deref(),
        Some("step at line 20: `from: soft` but the call is on `desk`")
    );
}

#[test]
fn one_way_audio_quirk_is_detected() {
    let r = run(
        PbxQuirks {
            one_way_audio_on_flip: true,
            ..Default::default()
        },
        7,
    );
    let f = only_flip(&r);
    // Answered on the mobile, which hears the customer; the customer hears nobody: the
    // flip failed, one way.
    assert_eq!(f.outcome, Outcome::Failed);
    assert_eq!(
        f.reason,
        "one-way audio: mobile hears the customer, the customer does not hear mobile"
    );
    assert_eq!(f.one_way_audio, Some(true));
    assert_eq!(f.flip_latency_ms, None);
    assert_eq!(f.customer_gap_ms, None, "no switch to measure");
    assert_eq!(r.verdict, Verdict::Fail);
    // And the clean flip is not one-way.
    assert_eq!(
        only_flip(&run(PbxQuirks::default(), 7)).one_way_audio,
        Some(false)
    );
}

/// A run that ends while a flip is under way (Ctrl-C, a time limit) reports the flip as
/// failed, saying so, never as if it had settled.
#[test]
fn a_run_that_ends_before_the_flip_settles_reports_it_failed() {
    use flipcheck::roles::Actor;
    let plan = load_scenario(Path::new(SCENARIO)).unwrap();
    let setup = TargetSetup::Embedded {
        quirks: PbxQuirks::default(),
        password: "pw".into(),
    };
    let mut addrs = flipcheck::sim::VirtualAddrs::new();
    let mut scene = runner::Scene::new(&plan, &setup, 7, &mut addrs).unwrap();
    // The flip is requested a few ms after 2 s and settles half a second later.
    let cut = flipcheck::core::Time::from_millis(2200);
    let stats = flipcheck::sim::run(&mut scene, cut);
    assert!(stats.hit_limit);
    assert_eq!(scene.timeline.flips().count(), 1, "the flip was requested");
    scene.shutdown(stats.end);
    let r = runner::scenario_report(&plan, &scene, 0.0);
    let f = only_flip(&r);
    assert_eq!(f.outcome, Outcome::Failed);
    assert_eq!(
        f.reason,
        "the run ended before the flip settled (interrupted)"
    );
    assert_eq!(r.verdict, Verdict::Error);
    assert_eq!(r.error.as_deref(), Some("interrupted"));
}
