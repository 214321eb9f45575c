//! `expect:` blocks: values, bounds and flags, and every rule about which expectations
//! can apply to which flip.

use super::compile_tests::{UP, compile, errors, with_steps};
use super::*;
use crate::report::{Continuity, Outcome};

/// A scenario with one flip (line 8) and `expect:` from line 9.
fn with_flip_and_expect(expect: &str) -> String {
    format!(
        "{}expect:\n{expect}",
        with_steps(&format!(
            "{UP}  - flip: {{ to: mobile, method: feature_code }}\n"
        ))
    )
}

#[test]
fn expectation_values_and_bounds() {
    let text = with_flip_and_expect(
        "  flip: moevd\n  customer_dialog: same\n  caller_id: sam\n  session_id: absnt\n  \
         customer_gap_ms: { min: 10, max: 5 }\n  device_gap_ms: -3\n  flip_latency_ms: { mx: 3 }\n  \
         max_hole_ms: { min: 1 }\n",
    );
    // The YAML error (unknown key in a bound) stops parsing before compile runs.
    assert_eq!(
        errors(&text),
        ["s/t.yaml:16:22: error: unknown field `mx` (did you mean `max`?)"]
    );
    let text = text
        .replace("{ mx: 3 }", "250")
        .replace("{ min: 1 }", "{ max: -1 }");
    assert_eq!(
        errors(&text),
        [
            "s/t.yaml:10:9: error: unknown flip outcome `moevd` (did you mean `moved`?)",
            "s/t.yaml:11:20: error: unknown `customer_dialog` value `same` (did you mean `same_dialog`?)",
            "s/t.yaml:12:14: error: unknown `caller_id` value `sam` (did you mean `same`?)",
            "s/t.yaml:13:15: error: unknown `session_id` value `absnt` (did you mean `absent`?)",
            "s/t.yaml:14:20: error: `min: 10` is greater than `max: 5`",
            "s/t.yaml:15:18: error: bound -3 must be a number of milliseconds >= 0",
            "s/t.yaml:17:16: error: bound -1 must be a number of milliseconds >= 0",
        ]
    );
    let ok = compile(
        &text
            .replace("moevd", "moved")
            .replace("customer_dialog: same", "customer_dialog: new_dialog")
            .replace("caller_id: sam", "caller_id: changed")
            .replace("absnt", "absent")
            .replace("{ min: 10, max: 5 }", "{ min: 0, max: 300 }")
            .replace("-3", "{ min: 20 }")
            .replace("{ max: -1 }", "{ max: 400 }"),
    )
    .unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    assert_eq!(ok.expect.flip_latency_ms, Some(Bound::exact(250.0)));
    assert_eq!(
        ok.expect.customer_gap_ms,
        Some(Bound {
            min: Some(0.0),
            max: Some(300.0)
        })
    );
    assert_eq!(
        ok.expect.device_gap_ms,
        Some(Bound {
            min: Some(20.0),
            max: None
        })
    );
    assert_eq!(ok.expect.max_hole_ms, Some(Bound::at_most(400.0)));
    assert_eq!(ok.flip_expectations()[0].max_hole_ms, ok.expect.max_hole_ms);
}

#[test]
fn booleans_are_strict() {
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip: {{ to: mobile, method: feature_code, expect: {{ old_device_released: yes }} }}\n"
        ))),
        ["s/t.yaml:8:78: error: invalid boolean (strict mode expects true/false)"]
    );
}

#[test]
fn flips_carry_the_merged_expectations_and_default_to_moved() {
    let text = format!(
        "{}  - flip: {{ to: mobile, method: feature_code, expect: {{ flip: blocked, \
         old_device_released: false }} }}\n\
         \x20 - flip: {{ to: mobile, method: feature_code }}\n\
         expect:\n  other_audio_ms: {{ max: 0 }}\n  caller_id: same\n",
        with_steps(UP)
    );
    let plan = compile(&text).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    let scenario = Expectations {
        other_audio_ms: Some(Bound::at_most(0.0)),
        caller_id: Some(Continuity::Same),
        ..Expectations::default()
    };
    assert_eq!(plan.expect, scenario, "the scenario block stays as written");
    assert_eq!(
        plan.flip_expectations(),
        [
            Expectations {
                flip: Some(Outcome::Blocked),
                old_device_released: Some(false),
                ..scenario.clone()
            },
            Expectations {
                flip: Some(Outcome::Moved),
                ..scenario.clone()
            },
        ]
    );
    // With no `expect:` anywhere, a flip is still expected to move the call.
    let bare = compile(&with_steps(&format!(
        "{UP}  - flip: {{ to: mobile, method: feature_code }}\n"
    )))
    .unwrap();
    assert!(bare.expect.is_empty());
    assert_eq!(
        bare.flip_expectations(),
        [Expectations {
            flip: Some(Outcome::Moved),
            ..Expectations::default()
        }]
    );
}

#[test]
fn scenario_expectations_need_a_flip() {
    let refusal = "error: expectations apply to flips, and this scenario has no `flip` step \
                   (add a `flip` step, or remove `expect:`)";
    assert_eq!(
        errors(&format!(
            "{}  - hangup: customer\nexpect:\n  flip: moved\n",
            with_steps(UP)
        )),
        [format!("s/t.yaml:9:1: {refusal}")]
    );
    // Whatever the block holds, even nothing.
    assert_eq!(
        errors(&format!("{}expect:\n", with_steps(UP))),
        [format!("s/t.yaml:8:1: {refusal}")]
    );
    assert_eq!(
        errors(&format!("expect: {{}}\n{}", with_steps(UP))),
        [format!("s/t.yaml:1:1: {refusal}")]
    );
}

/// A flip step (line 8) in block style whose `expect:` holds `expect` (from line 12, keys
/// at column 9).
fn flip_expecting(expect: &str) -> String {
    let expect: String = expect.lines().map(|l| format!("        {l}\n")).collect();
    with_steps(&format!(
        "{UP}  - flip:\n      to: mobile\n      method: feature_code\n      expect:\n{expect}"
    ))
}

#[test]
fn switch_measurements_apply_only_to_a_flip_that_moves() {
    let expect = |outcome: &str| {
        flip_expecting(&format!(
            "flip: {outcome}\ncustomer_gap_ms: 100\nflip_latency_ms: 100\ndevice_gap_ms: 100\n\
             one_way_audio: false\nother_audio_ms: 0\nmax_hole_ms: {{ max: 100 }}\n"
        ))
    };
    compile(&expect("moved")).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    for outcome in ["blocked", "timed_out", "dropped", "failed"] {
        let why = format!("expected to be `{outcome}`: it measures the switch to the new device");
        assert_eq!(
            errors(&expect(outcome)),
            [
                format!("s/t.yaml:13:9: error: `customer_gap_ms` cannot apply to this flip, {why}"),
                format!("s/t.yaml:14:9: error: `flip_latency_ms` cannot apply to this flip, {why}"),
                format!("s/t.yaml:15:9: error: `device_gap_ms` cannot apply to this flip, {why}"),
                format!("s/t.yaml:16:9: error: `one_way_audio` cannot apply to this flip, {why}"),
            ],
            "{outcome}"
        );
    }
}

#[test]
fn a_released_old_device_contradicts_a_call_that_stays() {
    for outcome in ["blocked", "timed_out"] {
        assert_eq!(
            errors(&flip_expecting(&format!(
                "flip: {outcome}\nold_device_released: true\n"
            ))),
            [format!(
                "s/t.yaml:13:9: error: `old_device_released: true` contradicts `flip: {outcome}`: \
                 the call stays on the old device"
            )]
        );
        let text = flip_expecting(&format!("flip: {outcome}\nold_device_released: false\n"));
        compile(&text).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    }
    for outcome in ["moved", "dropped", "failed"] {
        let text = flip_expecting(&format!("flip: {outcome}\nold_device_released: true\n"));
        compile(&text).unwrap_or_else(|e| panic!("{outcome}: {}", Diagnostics(e)));
    }
}

#[test]
fn nothing_after_a_drop_can_be_expected_but_a_lost_dialog() {
    let text = flip_expecting(
        "flip: dropped\ncaller_id: same\nsession_id: changed\ncustomer_dialog: same_dialog\n\
         other_audio_ms: 0\nmax_hole_ms: 500\n",
    );
    let why = "expected to be `dropped`: nothing is observed after a drop";
    assert_eq!(
        errors(&text),
        [
            format!("s/t.yaml:13:9: error: `caller_id` cannot apply to this flip, {why}"),
            format!("s/t.yaml:14:9: error: `session_id` cannot apply to this flip, {why}"),
            "s/t.yaml:15:9: error: `customer_dialog: same_dialog` contradicts `flip: dropped`: \
             a drop loses the customer's dialog"
                .to_string(),
        ]
    );
    assert_eq!(
        errors(&flip_expecting(
            "flip: dropped\ncustomer_dialog: new_dialog\n"
        )),
        [
            "s/t.yaml:13:9: error: `customer_dialog: new_dialog` contradicts `flip: dropped`: \
             a drop loses the customer's dialog"
        ]
    );
    let lost = flip_expecting("flip: dropped\ncustomer_dialog: lost\nother_audio_ms: 0\n");
    compile(&lost).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    // A moved call may keep or change its identities: no rule applies.
    let moved = flip_expecting("flip: moved\ncaller_id: changed\ncustomer_dialog: new_dialog\n");
    compile(&moved).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
}

#[test]
fn a_scenario_expectation_that_cannot_apply_to_one_flip_names_it() {
    // The first flip moves the call to the mobile (line 8); the second is expected to be
    // refused (line 9), so the scenario's switch and release expectations cannot apply to it.
    let text = |second: &str| {
        format!(
            "{}expect:\n  customer_gap_ms: {{ max: 200 }}\n  old_device_released: true\n  \
             other_audio_ms: {{ max: 0 }}\n",
            with_steps(&format!(
                "{UP}  - flip: {{ to: mobile, method: feature_code }}\n\
                 \x20 - flip: {{ to: desk, method: feature_code, expect: {{ {second} }} }}\n"
            ))
        )
    };
    let hint = "(give it in the `expect:` of the flips it applies to)";
    assert_eq!(
        errors(&text("flip: blocked")),
        [
            format!(
                "s/t.yaml:11:3: error: `customer_gap_ms` cannot apply to the flip at line 9, \
                 expected to be `blocked`: it measures the switch to the new device {hint}"
            ),
            format!(
                "s/t.yaml:12:3: error: `old_device_released: true` contradicts `flip: blocked` \
                 of the flip at line 9: the call stays on the old device {hint}"
            ),
        ]
    );
    // A key the step sets itself is the step's, and reported there only.
    assert_eq!(
        errors(&text(
            "flip: blocked, customer_gap_ms: 5, old_device_released: false"
        )),
        [
            "s/t.yaml:9:70: error: `customer_gap_ms` cannot apply to this flip, expected to be \
             `blocked`: it measures the switch to the new device"
        ]
    );
    let plan = compile(
        &text("flip: blocked, old_device_released: false")
            .replace("  customer_gap_ms: { max: 200 }\n", ""),
    )
    .unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    let released: Vec<_> = plan
        .flip_expectations()
        .iter()
        .map(|e| e.old_device_released)
        .collect();
    assert_eq!(released, [Some(true), Some(false)]);
}

#[test]
fn not_checked_can_never_be_expected() {
    let text = with_flip_and_expect("  caller_id: not_checked\n  session_id: not_checked\n");
    assert_eq!(
        errors(&text),
        [
            "s/t.yaml:10:14: error: `caller_id` value `not_checked` can never be expected (a report says `not_checked` when it could not observe the value, and an expectation on it fails; expect one of `same`, `changed`)",
            "s/t.yaml:11:15: error: `session_id` value `not_checked` can never be expected (a report says `not_checked` when it could not observe the value, and an expectation on it fails; expect one of `same`, `changed`, `absent`)",
        ]
    );
}
