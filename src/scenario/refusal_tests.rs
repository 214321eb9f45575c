//! What this version does not carry out is refused where it is written, with the reason
//! and what is supported: network profiles, codecs, flip methods, ringing fields, parties
//! beyond the audio signatures, and flip timings out of range.

use std::time::Duration;

use super::compile_tests::{UP, compile, errors, with_steps};
use super::*;
use crate::report::Keyword;

/// The full scenario format asks for more than this version runs; each such part is refused
/// where it is written, and the example without them compiles.
const DESIGN_MD_EXAMPLE: &str = "\
name: flip desk to mobile with a feature code
user: alice
devices:
  desk:   { codecs: [PCMU], network: lan }
  mobile: { codecs: [PCMU, G722], network: lte }
customer: { codecs: [PCMU], network: lan }
steps:
  - register: [desk, mobile]
  - call: { from: customer, answer: desk }
  - talk: 2s
  - flip: { to: mobile, method: feature_code, answer_after_rings: 1 }
  - talk: 2s
  - hangup: customer
expect:
  flip: moved
  customer_gap_ms: { max: 300 }
  other_audio_ms: { max: 0 }
  customer_dialog: same_dialog
  caller_id: same
  old_device_released: true
";

#[test]
fn design_md_example_is_refused_where_it_needs_more_than_this_version() {
    assert_eq!(
        errors(DESIGN_MD_EXAMPLE),
        [
            "s/t.yaml:5:28: error: codec `G722` is not supported in this version: only PCMU and \
             PCMA are carried out (use `PCMU` or `PCMA`)",
            "s/t.yaml:5:44: error: network profile `lte` is not supported in this version: every \
             link is a LAN (use `lan` or leave `network` out)",
            "s/t.yaml:11:67: error: `answer_after_rings` is not supported in this version: the \
             feature-code pull does not ring the new device (remove it; push methods, which \
             ring, come in a later version)",
        ]
    );
    let supported = DESIGN_MD_EXAMPLE
        .replace("G722", "PCMA")
        .replace("network: lte", "network: lan")
        .replace(", answer_after_rings: 1", "");
    let plan = compile(&supported).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    assert!(matches!(
        plan.steps[3],
        StepPlan::Flip {
            to: 1,
            line: 11,
            ..
        }
    ));
    assert_eq!(plan.expect.customer_gap_ms, Some(Bound::at_most(300.0)));
}

#[test]
fn network_profiles_other_than_lan_are_refused_for_devices_and_customer() {
    for profile in NetworkProfile::ALL
        .iter()
        .filter(|p| **p != NetworkProfile::Lan)
    {
        let text = format!(
            "name: t\ndevices:\n  desk: {{ network: {profile} }}\n  mobile: {{ network: lan }}\n\
             customer: {{ network: {profile} }}\nsteps:\n  - talk: 1s\n"
        );
        let refusal = format!(
            "error: network profile `{profile}` is not supported in this version: every link \
             is a LAN (use `lan` or leave `network` out)"
        );
        assert_eq!(
            errors(&text),
            [
                format!("s/t.yaml:3:20: {refusal}"),
                format!("s/t.yaml:5:22: {refusal}"),
            ]
        );
    }
}

#[test]
fn codecs_other_than_g711_are_refused() {
    let text = "name: t\ndevices:\n  desk: { codecs: [PCMU, G722] }\n\
                customer: { codecs: [opus, pcma] }\nsteps:\n  - talk: 1s\n";
    let refusal = |c: &str| {
        format!(
            "codec `{c}` is not supported in this version: only PCMU and PCMA are carried out \
             (use `PCMU` or `PCMA`)"
        )
    };
    assert_eq!(
        errors(text),
        [
            format!("s/t.yaml:3:26: error: {}", refusal("G722")),
            format!("s/t.yaml:4:22: error: {}", refusal("opus")),
        ]
    );
    let plan = compile(&text.replace("G722", "PCMA").replace("opus, ", "")).unwrap();
    assert_eq!(plan.devices[0].codecs, [CodecName::Pcmu, CodecName::Pcma]);
    assert_eq!(plan.customer.codecs, [CodecName::Pcma]);
}

#[test]
fn flip_methods_other_than_feature_code_are_refused() {
    for m in FlipMethod::ALL {
        let text = with_steps(&format!("{UP}  - flip: {{ to: mobile, method: {m} }}\n"));
        if *m == FlipMethod::FeatureCode {
            let plan = compile(&text).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
            assert!(matches!(plan.steps[2], StepPlan::Flip { method, .. } if method == *m));
        } else {
            assert_eq!(
                errors(&text),
                [format!(
                    "s/t.yaml:8:33: error: flip method `{m}` is not supported in this version: \
                     only `feature_code` is carried out (the new device dials the flip code: \
                     `method: feature_code`)"
                )]
            );
        }
    }
    // A misspelling is matched against what runs, not against refused methods.
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip: {{ to: mobile, method: refr }}\n"
        ))),
        ["s/t.yaml:8:33: error: unknown flip method `refr` (expected one of `feature_code`)"]
    );
}

#[test]
fn refused_fields_are_never_suggested() {
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip: {{ to: mobile, method: feature_code, no_anwser: true }}\n"
        ))),
        [
            "s/t.yaml:8:47: error: unknown field `no_anwser` (expected one of `from`, `to`, \
             `method`, `settle`, `timeout`, `expect`)"
        ]
    );
}

#[test]
fn ringing_fields_are_refused_whatever_their_value() {
    let refusal = |field: &str| {
        format!(
            "error: `{field}` is not supported in this version: the feature-code pull does not \
             ring the new device (remove it; push methods, which ring, come in a later version)"
        )
    };
    assert_eq!(
        errors(&with_steps(&format!(
            "{UP}  - flip: {{ to: mobile, method: feature_code, answer_after_rings: 0 }}\n\
             \x20 - flip:\n      to: desk\n      method: feature_code\n      no_answer: false\n"
        ))),
        [
            format!("s/t.yaml:8:67: {}", refusal("answer_after_rings")),
            format!("s/t.yaml:12:18: {}", refusal("no_answer")),
        ]
    );
}

#[test]
fn settle_and_timeout_default_and_are_bounded() {
    let plan = compile(&with_steps(&format!(
        "{UP}  - flip: {{ to: mobile, method: feature_code }}\n"
    )))
    .unwrap();
    assert!(matches!(
        plan.steps[2],
        StepPlan::Flip { settle, timeout, .. }
            if settle == Duration::from_millis(500) && timeout.is_none()
    ));
    let flip = |settle: &str, timeout: &str| {
        with_steps(&format!(
            "{UP}  - flip: {{ to: mobile, method: feature_code, settle: {settle}, timeout: {timeout} }}\n"
        ))
    };
    // Both ends of each range are allowed.
    for (settle, timeout) in [("100ms", "1s"), ("10s", "300s"), ("2s", "1m")] {
        let plan = compile(&flip(settle, timeout)).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
        let StepPlan::Flip {
            settle: s,
            timeout: t,
            ..
        } = plan.steps[2]
        else {
            panic!("{:?}", plan.steps[2])
        };
        assert_eq!(s, humantime::parse_duration(settle).unwrap());
        assert_eq!(t, Some(humantime::parse_duration(timeout).unwrap()));
    }
    assert_eq!(
        errors(&flip("99ms", "301s")),
        [
            "s/t.yaml:8:55: error: `settle` must be from 100ms to 10s, not `99ms`",
            "s/t.yaml:8:70: error: `timeout` must be from 1s to 300s, not `301s`",
        ]
    );
    assert_eq!(
        errors(&flip("11s", "999ms")),
        [
            "s/t.yaml:8:55: error: `settle` must be from 100ms to 10s, not `11s`",
            "s/t.yaml:8:69: error: `timeout` must be from 1s to 300s, not `999ms`",
        ]
    );
    assert_eq!(
        errors(&flip("0s", "20")),
        [
            "s/t.yaml:8:55: error: duration must be longer than zero",
            "s/t.yaml:8:68: error: bad duration `20` (did you mean `20s`?)",
        ]
    );
}

#[test]
fn at_most_seven_devices_besides_the_customer() {
    let scenario = |n: usize| {
        let devices: String = (0..n).map(|i| format!("  d{i}: {{}}\n")).collect();
        format!("name: t\ndevices:\n{devices}steps:\n  - talk: 1s\n")
    };
    let plan = compile(&scenario(7)).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    assert_eq!(plan.devices.len(), 7);
    assert_eq!(
        errors(&scenario(8)),
        [
            "s/t.yaml:2:1: error: `devices` declares 8 devices, more than the 7 a scenario can \
             have (a scenario has at most 8 parties, the customer and 7 devices, because each \
             needs its own audio signature)"
        ]
    );
}
