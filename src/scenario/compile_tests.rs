//! Scenario compilation: the checklist example, and every kind of error with its exact
//! `file:line:column` and suggestion.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::report::{Continuity, DialogContinuity, Outcome};

const FILE: &str = "s/t.yaml";

pub(super) fn compile(text: &str) -> Result<Plan, Vec<Diagnostic>> {
    compile_scenario(Path::new(FILE), text)
}

/// Errors as the user sees them, one string each.
pub(super) fn errors(text: &str) -> Vec<String> {
    match compile(text) {
        Ok(p) => panic!("expected errors, got a plan: {p:?}"),
        Err(ds) => ds.iter().map(ToString::to_string).collect(),
    }
}

/// A valid scenario with `steps` spliced in (each line already indented by 2 spaces).
/// The header is 5 lines, so the first step is on line 6.
pub(super) fn with_steps(steps: &str) -> String {
    format!(
        "name: t\ndevices:\n  desk: {{}}\n  mobile: {{ codecs: [PCMU, PCMA] }}\nsteps:\n{steps}"
    )
}

pub(super) const UP: &str =
    "  - register: [desk, mobile]\n  - call: { from: customer, answer: desk }\n";

#[test]
fn checklist_file_compiles_to_the_expected_plan() {
    let path = Path::new("scenarios/checklist/flip-feature-code.yaml");
    let text = include_str!("../../scenarios/checklist/flip-feature-code.yaml");
    let plan = compile_scenario(path, text).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    let checklist_expect = Expectations {
        flip: Some(Outcome::Moved),
        customer_gap_ms: Some(Bound::at_most(200.0)),
        other_audio_ms: Some(Bound::at_most(0.0)),
        customer_dialog: Some(DialogContinuity::SameDialog),
        caller_id: Some(Continuity::Same),
        old_device_released: Some(true),
        ..Expectations::default()
    };
    let expected = Plan {
        name: "flip desk to mobile with a feature code".into(),
        file: path.to_path_buf(),
        user: "alice".into(),
        devices: vec![
            DevicePlan {
                name: "desk".into(),
                codecs: vec![CodecName::Pcmu],
                network: NetworkProfile::Lan,
            },
            DevicePlan {
                name: "mobile".into(),
                codecs: vec![CodecName::Pcmu, CodecName::Pcma],
                network: NetworkProfile::Lan,
            },
        ],
        customer: PartyPlan {
            codecs: vec![CodecName::Pcmu],
            network: NetworkProfile::Lan,
            replaces: ReplacesSupport::Accept,
        },
        steps: vec![
            StepPlan::Register {
                devices: vec![0, 1],
                line: 21,
            },
            StepPlan::Call {
                from: Party::Customer,
                answer: 0,
                line: 22,
            },
            StepPlan::Talk {
                duration: Duration::from_secs(2),
                line: 23,
            },
            StepPlan::Flip {
                from: None,
                to: 1,
                method: FlipMethod::FeatureCode,
                settle: DEFAULT_SETTLE,
                timeout: None,
                expect: checklist_expect.clone(),
                line: 24,
            },
            StepPlan::Talk {
                duration: Duration::from_secs(2),
                line: 25,
            },
            StepPlan::Hangup {
                party: Party::Customer,
                line: 26,
            },
        ],
        expect: checklist_expect,
    };
    assert_eq!(
        plan.flip_expectations(),
        std::slice::from_ref(&expected.expect)
    );
    assert_eq!(plan, expected);
    assert_eq!(plan.device_id("mobile"), Some(1));
}

#[test]
fn defaults_fill_in_user_codecs_network_and_customer() {
    let plan = compile(&with_steps(&format!("{UP}  - hangup: desk\n"))).unwrap();
    assert_eq!(plan.user, DEFAULT_USER);
    assert_eq!(plan.devices[0].codecs, [CodecName::Pcmu]);
    assert_eq!(plan.devices[0].network, NetworkProfile::Lan);
    assert_eq!(plan.customer.replaces, ReplacesSupport::Accept);
    assert!(plan.expect.is_empty());
    assert_eq!(
        plan.steps[2],
        StepPlan::Hangup {
            party: Party::Device(0),
            line: 8
        }
    );
}

#[test]
fn misspelt_step_points_at_the_step_and_suggests_talk() {
    assert_eq!(
        errors(&with_steps(&format!("{UP}  - tlak: 2s\n"))),
        ["s/t.yaml:8:5: error: unknown step `tlak` (did you mean `talk`?)"]
    );
}

#[test]
fn misspelt_field_inside_flip_suggests_the_field() {
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip: {{ to: mobile, metod: feature_code }}\n"
        ))),
        ["s/t.yaml:8:25: error: unknown field `metod` (did you mean `method`?)"]
    );
    // Block style points at the key's own line.
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip:\n      to: mobile\n      mehtod: feature_code\n"
        ))),
        ["s/t.yaml:10:7: error: unknown field `mehtod` (did you mean `method`?)"]
    );
}

#[test]
fn misspelt_top_level_field() {
    assert_eq!(
        errors("name: t\ndevises:\n  desk: {}\nsteps: []\n"),
        ["s/t.yaml:2:1: error: unknown field `devises` (did you mean `devices`?)"]
    );
}

#[test]
fn unknown_device_names_get_suggestions_wherever_they_appear() {
    let text = with_steps(
        "  - register: [desk, mobil]\n\
         \x20 - call: { from: customer, answer: dsk }\n\
         \x20 - flip: { to: moblie, method: feature_code }\n\
         \x20 - hangup: costumer\n",
    );
    assert_eq!(
        errors(&text),
        [
            "s/t.yaml:6:22: error: unknown device `mobil` (did you mean `mobile`?)",
            "s/t.yaml:7:37: error: unknown device `dsk` (did you mean `desk`?)",
            "s/t.yaml:8:17: error: unknown device `moblie` (did you mean `mobile`?)",
            "s/t.yaml:9:13: error: unknown party `costumer` (did you mean `customer`?)",
        ]
    );
}

#[test]
fn unknown_device_with_no_near_name_lists_the_devices() {
    assert_eq!(
        errors(&with_steps("  - register: [tablet]\n")),
        ["s/t.yaml:6:16: error: unknown device `tablet` (expected one of `desk`, `mobile`)"]
    );
}

#[test]
fn misspelt_method_codec_network_and_replaces() {
    let text = "\
name: t
devices:
  desk: { codecs: [PCMU, g7222], network: lna }
customer: { replaces: rejct }
steps:
  - register: [desk]
  - call: { from: customer, answer: desk }
  - flip: { to: desk, method: feature_cod }
";
    assert_eq!(
        errors(text),
        [
            // Only supported names are suggested: `G722` would then be refused.
            "s/t.yaml:3:26: error: unknown codec `g7222` (expected one of `PCMU`, `PCMA`)",
            "s/t.yaml:3:43: error: unknown network profile `lna` (did you mean `lan`?)",
            "s/t.yaml:4:23: error: unknown `replaces` behaviour `rejct` (did you mean `reject`?)",
            "s/t.yaml:8:17: error: the call is already on `desk` at this point (flip to another device)",
            "s/t.yaml:8:31: error: unknown flip method `feature_cod` (did you mean `feature_code`?)",
        ]
    );
}

#[test]
fn flip_to_the_device_that_has_the_call() {
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip: {{ to: desk, method: feature_code }}\n"
        ))),
        [
            "s/t.yaml:8:17: error: the call is already on `desk` at this point (flip to another device)"
        ]
    );
    // After a flip expected to move the call, the holder is the new device.
    let text = with_steps(&format!(
        "{UP}  - flip: {{ to: mobile, method: feature_code }}\n  - flip: {{ to: mobile, method: feature_code }}\n"
    ));
    assert_eq!(
        errors(&text),
        [
            "s/t.yaml:9:17: error: the call is already on `mobile` at this point (flip to another device)"
        ]
    );
}

#[test]
fn an_expected_refusal_leaves_the_call_on_the_old_device() {
    let text = with_steps(&format!(
        "{UP}  - flip: {{ to: mobile, method: feature_code, expect: {{ flip: blocked }} }}\n\
         \x20 - flip: {{ to: mobile, method: feature_code, expect: {{ flip: timed_out }} }}\n\
         \x20 - flip: {{ from: desk, to: mobile, method: feature_code }}\n\
         \x20 - hangup: mobile\n"
    ));
    let plan = compile(&text).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    assert!(matches!(
        &plan.steps[2],
        StepPlan::Flip { expect, .. } if expect.flip == Some(Outcome::Blocked)
    ));
    let per_flip: Vec<_> = plan.flip_expectations().iter().map(|e| e.flip).collect();
    assert_eq!(
        per_flip,
        [
            Some(Outcome::Blocked),
            Some(Outcome::TimedOut),
            Some(Outcome::Moved)
        ]
    );
    assert!(matches!(
        plan.steps[4],
        StepPlan::Flip {
            from: Some(0),
            to: 1,
            ..
        }
    ));
}

#[test]
fn flip_from_the_wrong_device() {
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip: {{ from: mobile, to: desk, method: feature_code }}\n"
        ))),
        ["s/t.yaml:8:19: error: `from: mobile` but the call is on `desk` at this point"]
    );
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip: {{ from: mobile, to: mobile, method: feature_code }}\n"
        ))),
        ["s/t.yaml:8:19: error: `from` and `to` are the same device `mobile`"]
    );
}

#[test]
fn answering_device_must_be_registered() {
    assert_eq!(
        errors(&with_steps(
            "  - register: [mobile]\n  - call: { from: customer, answer: desk }\n"
        )),
        [
            "s/t.yaml:7:37: error: device `desk` answers before it is registered \
             (add `- register: [desk]` before this step)"
        ]
    );
    assert_eq!(
        errors(&with_steps(
            "  - register: [desk]\n  - call: { from: customer, answer: desk }\n  - flip: { to: mobile, method: feature_code }\n"
        )),
        [
            "s/t.yaml:8:17: error: device `mobile` is flipped to before it is registered \
             (add `- register: [mobile]` before this step)"
        ]
    );
}

#[test]
fn steps_out_of_order() {
    assert_eq!(
        errors(&with_steps(
            "  - register: [desk, mobile]\n  - flip: { to: mobile, method: feature_code }\n  - hangup: customer\n"
        )),
        [
            "s/t.yaml:7:5: error: flip with no call up (add a `call:` step before it)",
            "s/t.yaml:8:5: error: hangup with no call up",
        ]
    );
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - call: {{ from: customer, answer: mobile }}\n"
        ))),
        [
            "s/t.yaml:8:5: error: a call is already up (hang up first; one call per scenario at a time)"
        ]
    );
    assert_eq!(
        errors(&with_steps(&format!("{UP}  - hangup: mobile\n"))),
        ["s/t.yaml:8:13: error: `mobile` does not hold the call (it is on `desk` at this point)"]
    );
    assert_eq!(
        errors(&with_steps(
            "  - register: [desk]\n  - call: { from: desk, answer: desk }\n"
        )),
        [
            "s/t.yaml:7:19: error: calls from a device are not supported yet \
             (use `from: customer`; the customer calls the user)"
        ]
    );
}

#[test]
fn bad_durations() {
    assert_eq!(
        errors(&with_steps(
            "  - talk: 2x\n  - talk: 2\n  - talk: 0s\n  - talk: 1m 30s\n"
        )),
        [
            "s/t.yaml:6:11: error: bad duration `2x` (write a number and a unit, e.g. `2s`, `500ms`, `1m`)",
            "s/t.yaml:7:11: error: bad duration `2` (did you mean `2s`?)",
            "s/t.yaml:8:11: error: duration must be longer than zero",
        ]
    );
    let plan = compile(&with_steps("  - talk: 500ms\n  - talk: 1m\n")).unwrap();
    assert_eq!(
        plan.steps,
        [
            StepPlan::Talk {
                duration: Duration::from_millis(500),
                line: 6
            },
            StepPlan::Talk {
                duration: Duration::from_secs(60),
                line: 7
            },
        ]
    );
}

#[test]
fn structural_mistakes() {
    assert_eq!(
        errors("name: t\ndevices: {}\nsteps: []\n"),
        [
            "s/t.yaml:2:10: error: `devices` must name at least one device",
            "s/t.yaml:3:8: error: `steps` must list at least one step",
        ]
    );
    assert_eq!(
        errors("name: t\ndevices:\n  customer: {}\nsteps:\n  - talk: 1s\n"),
        [
            "s/t.yaml:3:3: error: `customer` is the far end, not a device name (rename the device, e.g. `desk` or `mobile`)"
        ]
    );
    assert_eq!(
        errors("name: t\nsteps:\n  - talk: 1s\n"),
        ["s/t.yaml:2:1: error: missing field `devices`"]
    );
    assert_eq!(
        errors("name: t\ndevices:\n  desk: {}\n  desk: {}\nsteps: []\n").len(),
        1,
        "duplicate device keys are one error"
    );
}

#[test]
fn yaml_shape_errors_are_worded_for_yaml_users() {
    let cases = [
        (
            "  - register: desk\n",
            "s/t.yaml:6:15: error: expected a list here, e.g. `[desk, mobile]`",
        ),
        ("  - hangup:\n", "s/t.yaml:6:11: error: missing value"),
        (
            "  - flip: mobile\n",
            "s/t.yaml:6:11: error: expected a mapping (`key: value` entries) here",
        ),
        (
            "  - talk: [1]\n",
            "s/t.yaml:6:11: error: expected a single value here, e.g. `2s` or `desk`",
        ),
        (
            "  - flip: { to: mobile, method: feature_code, answer_after_rings: two }\n",
            "s/t.yaml:6:67: error: expected a whole number, 0 or more",
        ),
        (
            "  - flip: { to: mobile, method: feature_code, to: desk }\n",
            "s/t.yaml:6:47: error: duplicate key `to`",
        ),
        (
            "  -\n",
            "s/t.yaml:6:4: error: empty step (write `- name: value`, e.g. `- talk: 2s`)",
        ),
        (
            "  - {}\n",
            "s/t.yaml:6:6: error: a step is written `- name: value`, e.g. `- talk: 2s`",
        ),
        (
            "  - flip: { to: mobile }\n",
            "s/t.yaml:6:13: error: missing field `method`",
        ),
    ];
    for (steps, want) in cases {
        assert_eq!(errors(&with_steps(steps)), [want], "steps: {steps:?}");
    }
    assert_eq!(
        errors(""),
        ["s/t.yaml:1:1: error: the file is empty or ends too early"]
    );
}

#[test]
fn aliases_report_where_they_are_used() {
    let plan = compile(&with_steps("  - talk: &t 2s\n  - talk: *t\n")).unwrap();
    assert_eq!(
        plan.steps,
        [
            StepPlan::Talk {
                duration: Duration::from_secs(2),
                line: 6
            },
            StepPlan::Talk {
                duration: Duration::from_secs(2),
                line: 7
            },
        ]
    );
    assert_eq!(
        errors(&with_steps("  - talk: &t 2x\n  - talk: *t\n")),
        [
            // The anchored scalar starts after `&t `.
            "s/t.yaml:6:14: error: bad duration `2x` (write a number and a unit, e.g. `2s`, `500ms`, `1m`)",
            "s/t.yaml:7:11: error: bad duration `2x` (write a number and a unit, e.g. `2s`, `500ms`, `1m`)",
        ]
    );
}
