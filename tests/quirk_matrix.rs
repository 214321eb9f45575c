//! Each quirk of the embedded PBX against the clean run, in virtual time: the whole flip
//! report is compared field by field, and exactly the fields that quirk is about change,
//! to exactly these values. This is how each detector is proven: one fault in, that fault
//! reported, nothing else. (A quirk that ends the flip early also changes what follows
//! from that: no switch, so no gap; `settle_ms` and `reason` say when and why.)

use std::collections::BTreeMap;
use std::path::Path;

use flipcheck::roles::pbx::PbxQuirks;
use flipcheck::runner::{self, TargetSetup};
use flipcheck::scenario::load_scenario;
use serde_json::{Value, json};

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

fn flip_json(quirks: PbxQuirks) -> Value {
    let plan = load_scenario(Path::new(SCENARIO)).unwrap();
    let setup = TargetSetup::Embedded {
        quirks,
        password: "pw".into(),
    };
    let scene = runner::simulate(&plan, &setup, 7, false).unwrap();
    let r = runner::scenario_report(&plan, &scene, 0.0);
    assert_eq!(r.flips.len(), 1);
    assert_eq!(r.error, None, "{r:#?}");
    serde_json::to_value(&r.flips[0]).unwrap()
}

/// Fields (`codec.customer_offers` for nested ones) whose values differ from `clean`, with
/// the new value. The harness's own timing and the reasons of unobserved fields are not
/// measurements of the target.
fn changed(clean: &Value, other: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let (Value::Object(a), Value::Object(b)) = (clean, other) else {
        panic!("flip reports are objects");
    };
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same fields"
    );
    for (k, v) in a {
        if k == "harness" || k == "not_checked" {
            continue;
        }
        match (v, &b[k]) {
            (Value::Object(x), Value::Object(y)) => {
                for (kk, vv) in x {
                    if y[kk] != *vv {
                        out.insert(format!("{k}.{kk}"), y[kk].clone());
                    }
                }
            }
            (x, y) if x != y => {
                out.insert(k.clone(), y.clone());
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_clean_run_is_the_baseline() {
    let f = flip_json(PbxQuirks::default());
    assert_eq!(f["outcome"], "moved");
    assert_eq!(f["reason"], "moved to mobile; desk released");
    assert_eq!(f["customer_gap_ms"], 0.0);
    assert_eq!(f["max_hole_ms"], 0.0);
    assert_eq!(f["flip_latency_ms"], 3.0);
    assert_eq!(f["other_audio_ms"], 0.0);
    assert_eq!(f["packets_lost"], 0);
    assert_eq!(f["customer_dialog"], "same_dialog");
    assert_eq!(
        (f["caller_id"].clone(), f["session_id"].clone()),
        (json!("same"), json!("same"))
    );
    assert_eq!(f["analytics"], "same");
    assert_eq!(f["old_device_released"], true);
    assert_eq!(f["one_way_audio"], false);
    assert_eq!(f["settle_ms"], 521.0);
    assert_eq!(
        f["not_checked"],
        json!({"recording": "recordings are not read in this version"})
    );
}

#[test]
fn each_quirk_changes_exactly_its_own_fields() {
    let clean = flip_json(PbxQuirks::default());
    let matrix: Vec<(PbxQuirks, Vec<(&str, Value)>)> = vec![
        (
            PbxQuirks {
                drop_customer_on_flip: true,
                ..Default::default()
            },
            vec![
                ("caller_id", json!("not_checked")),
                ("codec.customer_after", json!(null)),
                ("codec.ssrc_changed", json!(false)),
                ("customer_dialog", json!("lost")),
                ("customer_gap_ms", json!(null)),
                ("customer_live_calls", json!(0)),
                ("device_gap_ms", json!(null)),
                ("flip_latency_ms", json!(null)),
                ("m2e_after_ms", json!(null)),
                ("old_device_released", json!(null)),
                ("one_way_audio", json!(null)),
                ("outcome", json!("dropped")),
                (
                    "reason",
                    json!("the customer lost the call (the target sent BYE)"),
                ),
                ("session_id", json!("not_checked")),
                ("settle_ms", json!(2.0)),
            ],
        ),
        (
            PbxQuirks {
                new_dialog_on_flip: true,
                ..Default::default()
            },
            vec![
                ("codec.customer_offers", json!(1)),
                ("customer_dialog", json!("new_dialog")),
                ("device_gap_ms", json!(1.0)),
                ("settle_ms", json!(503.0)),
            ],
        ),
        (
            PbxQuirks {
                reinvite_customer_on_flip: true,
                ..Default::default()
            },
            vec![("codec.customer_offers", json!(1))],
        ),
        (
            PbxQuirks {
                hold_music_during_flip: true,
                ..Default::default()
            },
            vec![
                ("customer_gap_ms", json!(1001.0)),
                ("flip_latency_ms", json!(1003.0)),
                ("m2e_after_ms", json!(null)),
                ("max_hole_ms", json!(1001.0)),
                ("other_audio_ms", json!(1000.0)),
                ("settle_ms", json!(1503.0)),
            ],
        ),
        (
            PbxQuirks {
                change_caller_id_on_flip: true,
                ..Default::default()
            },
            vec![("caller_id", json!("changed"))],
        ),
        (
            PbxQuirks {
                one_way_audio_on_flip: true,
                ..Default::default()
            },
            vec![
                ("codec.ssrc_changed", json!(false)),
                ("customer_gap_ms", json!(null)),
                ("flip_latency_ms", json!(null)),
                ("m2e_after_ms", json!(null)),
                ("max_hole_ms", json!(2482.0)),
                ("old_device_released", json!(null)),
                ("one_way_audio", json!(true)),
                ("outcome", json!("failed")),
                (
                    "reason",
                    json!(
                        "one-way audio: mobile hears the customer, the customer does not hear mobile"
                    ),
                ),
                ("settle_ms", json!(2502.0)),
            ],
        ),
        (
            PbxQuirks {
                new_session_id_on_flip: true,
                ..Default::default()
            },
            vec![
                ("analytics", json!("split")),
                ("session_id", json!("changed")),
            ],
        ),
        (
            PbxQuirks {
                split_cdr_on_flip: true,
                ..Default::default()
            },
            vec![("analytics", json!("split"))],
        ),
        (
            PbxQuirks {
                refuse_flip: true,
                ..Default::default()
            },
            vec![
                ("codec.device_after", json!(null)),
                ("codec.ssrc_changed", json!(false)),
                ("customer_gap_ms", json!(null)),
                ("device_gap_ms", json!(null)),
                ("flip_latency_ms", json!(null)),
                ("m2e_after_ms", json!(null)),
                ("old_device_released", json!(null)),
                ("one_way_audio", json!(null)),
                ("outcome", json!("blocked")),
                (
                    "reason",
                    json!(
                        "the target refused the flip from mobile: 403 Forbidden (the target does not allow this flip); Reason: SIP;cause=403;text=\"call flip not permitted\""
                    ),
                ),
                ("refusal", json!({"reason":"Forbidden","status":403})),
                ("settle_ms", json!(502.0)),
            ],
        ),
        (
            PbxQuirks {
                flip_never_answered: true,
                ..Default::default()
            },
            vec![
                ("codec.device_after", json!(null)),
                ("codec.ssrc_changed", json!(false)),
                ("customer_gap_ms", json!(null)),
                ("device_gap_ms", json!(null)),
                ("flip_latency_ms", json!(null)),
                ("m2e_after_ms", json!(null)),
                ("old_device_released", json!(null)),
                ("one_way_audio", json!(null)),
                ("outcome", json!("timed_out")),
                (
                    "reason",
                    json!("the flip was not completed within 20 s (1 ringing response)"),
                ),
                ("rings", json!(1)),
                ("settle_ms", json!(20000.0)),
            ],
        ),
        (
            PbxQuirks {
                ignore_flip_request: true,
                ..Default::default()
            },
            vec![
                ("codec.device_after", json!(null)),
                ("codec.ssrc_changed", json!(false)),
                ("customer_gap_ms", json!(null)),
                ("device_gap_ms", json!(null)),
                ("flip_latency_ms", json!(null)),
                ("m2e_after_ms", json!(null)),
                ("old_device_released", json!(null)),
                ("one_way_audio", json!(null)),
                ("outcome", json!("failed")),
                (
                    "reason",
                    json!("the target sent no response to the flip request within 20 s"),
                ),
                ("settle_ms", json!(20000.0)),
            ],
        ),
        (
            PbxQuirks {
                challenge_flip_twice: true,
                ..Default::default()
            },
            vec![
                ("codec.device_after", json!(null)),
                ("codec.ssrc_changed", json!(false)),
                ("customer_gap_ms", json!(null)),
                ("device_gap_ms", json!(null)),
                ("flip_latency_ms", json!(null)),
                ("m2e_after_ms", json!(null)),
                ("old_device_released", json!(null)),
                ("one_way_audio", json!(null)),
                ("outcome", json!("failed")),
                (
                    "reason",
                    json!(
                        "authentication loop: the target challenged the flip request again (407) after mobile sent its credentials"
                    ),
                ),
                ("settle_ms", json!(2.0)),
            ],
        ),
        (
            PbxQuirks {
                keep_old_device_on_flip: true,
                ..Default::default()
            },
            vec![
                ("old_device_released", json!(false)),
                (
                    "reason",
                    json!("moved to mobile; desk was not released within 2 s"),
                ),
                ("settle_ms", json!(2521.0)),
            ],
        ),
        (
            PbxQuirks {
                omit_session_id: true,
                ..Default::default()
            },
            vec![("session_id", json!("absent"))],
        ),
        (
            PbxQuirks {
                media_gap_ms: 250,
                ..Default::default()
            },
            vec![
                ("customer_gap_ms", json!(250.0)),
                ("flip_latency_ms", json!(270.0)),
                ("max_hole_ms", json!(250.0)),
                ("settle_ms", json!(783.0)),
            ],
        ),
        (
            PbxQuirks {
                lose_packets_after_flip: 2,
                ..Default::default()
            },
            vec![("max_hole_ms", json!(20.0)), ("packets_lost", json!(2))],
        ),
    ];
    for (quirks, expected) in matrix {
        let got = changed(&clean, &flip_json(quirks.clone()));
        let expected: BTreeMap<String, Value> = expected
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(got, expected, "{quirks:?}");
    }
}

/// `media_gap_ms: N` leaves the customer exactly N ms without audio at the switch; the
/// clean switch has none, so the measured gap is N on the dot, and nothing else moves.
#[test]
fn injected_gaps_are_measured_exactly() {
    let clean = flip_json(PbxQuirks::default());
    assert_eq!(clean["customer_gap_ms"], 0.0);
    for n in [20u32, 60, 250, 1000] {
        let f = flip_json(PbxQuirks {
            media_gap_ms: n,
            ..Default::default()
        });
        assert_eq!(f["customer_gap_ms"], f64::from(n), "gap {n}");
        assert_eq!(f["max_hole_ms"], f64::from(n), "gap {n}");
        assert_eq!(f["outcome"], "moved");
        assert_eq!(f["other_audio_ms"], 0.0);
        assert_eq!(
            f["packets_lost"], 0,
            "the held packets are never sent, not lost"
        );
    }
}

/// Quirks combine: a caller ID changed on the replacing INVITE is still seen as changed
/// (the ACK that follows it, which only copies the INVITE's From, does not undo it), and
/// the checked-in quirky target fails every continuity field it is about.
#[test]
fn a_changed_caller_id_on_a_new_dialog_is_seen() {
    let f = flip_json(PbxQuirks {
        new_dialog_on_flip: true,
        change_caller_id_on_flip: true,
        ..Default::default()
    });
    assert_eq!(
        (f["customer_dialog"].clone(), f["caller_id"].clone()),
        (json!("new_dialog"), json!("changed"))
    );
    let f = flip_json(PbxQuirks {
        new_dialog_on_flip: true,
        hold_music_during_flip: true,
        change_caller_id_on_flip: true,
        new_session_id_on_flip: true,
        ..Default::default()
    });
    assert_eq!(f["caller_id"], "changed");
    assert_eq!(f["session_id"], "changed");
    assert_eq!(f["customer_dialog"], "new_dialog");
}
