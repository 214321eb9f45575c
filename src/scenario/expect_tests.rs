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
