//! `expect:` blocks: values, bounds and flags, and every rule about which expectations
//! can apply to which flip.

use super::compile_tests::{UP, compile, errors, with_steps};
use super::*;
use crate::report::{Continuity, Outcome};

#[test]
fn expectation_values_and_bounds() {
    let text = format!(
        "{}expect:\n  flip: moevd\n  customer_dialog: same\n  caller_id: sam\n  session_id: absnt\n  \
         customer_gap_ms: {{ min: 10, max: 5 }}\n  device_gap_ms: -3\n  flip_latency_ms: {{ mx: 3 }}\n",
        with_steps(UP)
    );
    // The YAML error (unknown key in a bound) stops parsing before compile runs.
    assert_eq!(
        errors(&text),
        ["s/t.yaml:15:22: error: unknown field `mx` (did you mean `max`?)"]
    );
    let text = text.replace("{ mx: 3 }", "250");
    assert_eq!(
        errors(&text),
        [
            "s/t.yaml:9:9: error: unknown flip outcome `moevd` (did you mean `moved`?)",
            "s/t.yaml:10:20: error: unknown `customer_dialog` value `same` (did you mean `same_dialog`?)",
            "s/t.yaml:11:14: error: unknown `caller_id` value `sam` (did you mean `same`?)",
            "s/t.yaml:12:15: error: unknown `session_id` value `absnt` (did you mean `absent`?)",
            "s/t.yaml:13:20: error: `min: 10` is greater than `max: 5`",
            "s/t.yaml:14:18: error: bound -3 must be a number of milliseconds >= 0",
        ]
    );
    let ok = compile(
        &text
            .replace("moevd", "timed_out")
            .replace("customer_dialog: same", "customer_dialog: new_dialog")
            .replace("caller_id: sam", "caller_id: changed")
            .replace("absnt", "absent")
            .replace("{ min: 10, max: 5 }", "{ min: 0, max: 300 }")
            .replace("-3", "{ min: 20 }"),
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
