//! Expectation checking. It lives beside the report model, not in any renderer, so the
//! console, JSON, JUnit and HTML outputs all show the same verdicts.

use serde_json::{Value, json};

use super::model::{ExpectationResult, FlipReport, Keyword, Verdict};
use crate::scenario::{Bound, Expectations};

/// Checks one flip against its (already merged) expectations: one result per expectation
/// that is set, in the order of [`Expectations`]' fields.
///
/// An expectation on a value that was not observed (a `null` number, a `not_checked`
/// word) fails, and says why it could not be observed: an expectation nobody could
/// measure has not held.
pub fn check_flip(expect: &Expectations, flip: &FlipReport) -> Vec<ExpectationResult> {
    let why = |field: &str| {
        flip.not_checked
            .get(field)
            .cloned()
            .unwrap_or_else(|| "not measured".to_string())
    };
    let mut out = Vec::new();
    if let Some(want) = expect.flip {
        let mut r = word("flip", want, Some(flip.outcome), String::new());
        if r.verdict == Verdict::Fail && !flip.reason.is_empty() {
            r.detail = format!("{}: {}", r.detail, flip.reason);
        }
        out.push(r);
    }
    let bounds = [
        (
            "customer_gap_ms",
            expect.customer_gap_ms,
            flip.customer_gap_ms,
        ),
        ("max_hole_ms", expect.max_hole_ms, flip.max_hole_ms),
        (
            "other_audio_ms",
            expect.other_audio_ms,
            Some(flip.other_audio_ms),
        ),
        (
            "flip_latency_ms",
            expect.flip_latency_ms,
            flip.flip_latency_ms,
        ),
        ("device_gap_ms", expect.device_gap_ms, flip.device_gap_ms),
    ];
    // `flip` first, then the bounds in field order, then the rest: the order users read
    // them in the scenario file's `expect:` block.
    for (name, bound, measured) in bounds {
        if let Some(b) = bound {
            out.push(check_bound(name, &b, measured, why(name)));
        }
    }
    let unobserved = |w: &str| w == "not_checked";
    if let Some(want) = expect.customer_dialog {
        out.push(word(
            "customer_dialog",
            want,
            Some(flip.customer_dialog),
            why("customer_dialog"),
        ));
    }
    if let Some(want) = expect.caller_id {
        let got = Some(flip.caller_id).filter(|c| !unobserved(c.as_str()));
        out.push(word("caller_id", want, got, why("caller_id")));
    }
    if let Some(want) = expect.session_id {
        let got = Some(flip.session_id).filter(|c| !unobserved(c.as_str()));
        out.push(word("session_id", want, got, why("session_id")));
    }
    if let Some(want) = expect.old_device_released {
        out.push(boolean(
            "old_device_released",
            want,
            flip.old_device_released,
            why("old_device_released"),
        ));
    }
    if let Some(want) = expect.one_way_audio {
        out.push(boolean(
            "one_way_audio",
            want,
            flip.one_way_audio,
            why("one_way_audio"),
        ));
    }
    out
}

/// Renders a bound the way reports show it: `<= 300`, `>= 10`, `== 0`, `>= 10, <= 300`.
pub fn bound_text(b: &Bound) -> String {
    match (b.min, b.max) {
        (Some(lo), Some(hi)) if lo == hi => format!("== {}", number(lo)),
        (Some(lo), Some(hi)) => format!(">= {}, <= {}", number(lo), number(hi)),
        (Some(lo), None) => format!(">= {}", number(lo)),
        (None, Some(hi)) => format!("<= {}", number(hi)),
        (None, None) => "any".to_string(),
    }
}

/// A number without a trailing `.0` when it is whole (`300`, `2.5`).
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn result(
    name: &str,
    verdict: Verdict,
    expected: String,
    measured: Value,
    detail: String,
) -> ExpectationResult {
    ExpectationResult {
        name: name.to_string(),
        flip: None,
        line: None,
        verdict,
        expected,
        measured,
        detail,
    }
}

fn not_observed(name: &str, expected: String, why: String) -> ExpectationResult {
    result(
        name,
        Verdict::Fail,
        expected,
        Value::Null,
        format!("not observed: {why}"),
    )
}

fn check_bound(name: &str, b: &Bound, measured: Option<f64>, why: String) -> ExpectationResult {
    let expected = bound_text(b);
    // NaN compares false with everything, so without this guard it would pass any bound;
    // JSON cannot carry it either. A non-finite measurement is a harness bug, not a pass.
    let v = match measured {
        None => return not_observed(name, expected, why),
        Some(v) if !v.is_finite() => {
            return result(
                name,
                Verdict::Fail,
                expected,
                Value::Null,
                format!("invalid measurement {v}"),
            );
        }
        Some(v) => v,
    };
    let (verdict, detail) = match (b.min, b.max) {
        (Some(lo), _) if v < lo => (
            Verdict::Fail,
            format!("{} ms is below the minimum of {} ms", number(v), number(lo)),
        ),
        (_, Some(hi)) if v > hi => (
            Verdict::Fail,
            format!("{} ms is above the maximum of {} ms", number(v), number(hi)),
        ),
        _ => (Verdict::Pass, format!("{} ms", number(v))),
    };
    result(name, verdict, expected, json!(v), detail)
}

fn word<K: Keyword + PartialEq>(
    name: &str,
    want: K,
    got: Option<K>,
    why: String,
) -> ExpectationResult {
    let expected = format!("== {}", want.as_str());
    let Some(got) = got else {
        return not_observed(name, expected, why);
    };
    let pass = want == got;
    let detail = if pass {
        got.as_str().to_string()
    } else {
        format!("got {}, expected {}", got.as_str(), want.as_str())
    };
    let verdict = if pass { Verdict::Pass } else { Verdict::Fail };
    result(
        name,
        verdict,
        expected,
        Value::String(got.as_str().to_string()),
        detail,
    )
}

fn boolean(name: &str, want: bool, got: Option<bool>, why: String) -> ExpectationResult {
    let expected = format!("== {want}");
    let Some(got) = got else {
        return not_observed(name, expected, why);
    };
    let pass = want == got;
    let detail = if pass {
        got.to_string()
    } else {
        format!("got {got}, expected {want}")
    };
    let verdict = if pass { Verdict::Pass } else { Verdict::Fail };
    result(name, verdict, expected, Value::Bool(got), detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_fixtures::moved_flip;
    use crate::report::{Continuity, DialogContinuity, Outcome, SessionContinuity};

    fn one(expect: Expectations, flip: &FlipReport) -> ExpectationResult {
        let mut r = check_flip(&expect, flip);
        assert_eq!(r.len(), 1, "{r:?}");
        r.remove(0)
    }

    #[test]
    fn nothing_expected_nothing_checked() {
        assert!(check_flip(&Expectations::default(), &moved_flip()).is_empty());
    }

    #[test]
    fn outcome() {
        let flip = moved_flip();
        let e = |o| Expectations {
            flip: Some(o),
            ..Default::default()
        };
        let r = one(e(Outcome::Moved), &flip);
        assert_eq!(
            r,
            ExpectationResult {
                name: "flip".into(),
                flip: None,
                line: None,
                verdict: Verdict::Pass,
                expected: "== moved".into(),
                measured: json!("moved"),
                detail: "moved".into()
            }
        );
        let r = one(e(Outcome::Blocked), &flip);
        assert_eq!(
            (r.verdict, r.detail.as_str()),
            (
                Verdict::Fail,
                "got moved, expected blocked: moved to mobile; desk released"
            )
        );
        assert_eq!(r.expected, "== blocked");
    }

    #[test]
    fn every_bound_field_reads_its_own_measurement() {
        let mut flip = moved_flip();
        flip.customer_gap_ms = Some(41.0);
        flip.other_audio_ms = 0.0;
        flip.flip_latency_ms = Some(180.5);
        flip.device_gap_ms = Some(60.0);
        let max = |v| Some(Bound::at_most(v));
        let results = check_flip(
            &Expectations {
                customer_gap_ms: max(40.0),
                other_audio_ms: max(0.0),
                flip_latency_ms: max(200.0),
                device_gap_ms: Some(Bound {
                    min: Some(61.0),
                    max: None,
                }),
                ..Default::default()
            },
            &flip,
        );
        let got: Vec<_> = results
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.verdict,
                    r.expected.as_str(),
                    r.measured.clone(),
                    r.detail.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "customer_gap_ms",
                    Verdict::Fail,
                    "<= 40",
                    json!(41.0),
                    "41 ms is above the maximum of 40 ms"
                ),
                ("other_audio_ms", Verdict::Pass, "<= 0", json!(0.0), "0 ms"),
                (
                    "flip_latency_ms",
                    Verdict::Pass,
                    "<= 200",
                    json!(180.5),
                    "180.5 ms"
                ),
                (
                    "device_gap_ms",
                    Verdict::Fail,
                    ">= 61",
                    json!(60.0),
                    "60 ms is below the minimum of 61 ms"
                ),
            ]
        );
    }

    #[test]
    fn bound_ends_are_inclusive_and_exact_values_render_as_equality() {
        let mut flip = moved_flip();
        flip.customer_gap_ms = Some(300.0);
        let at = |b| {
            one(
                Expectations {
                    customer_gap_ms: Some(b),
                    ..Default::default()
                },
                &flip,
            )
        };
        assert_eq!(at(Bound::at_most(300.0)).verdict, Verdict::Pass);
        let r = at(Bound::exact(300.0));
        assert_eq!((r.verdict, r.expected.as_str()), (Verdict::Pass, "== 300"));
        let r = at(Bound {
            min: Some(0.0),
            max: Some(299.9),
        });
        assert_eq!(
            (r.verdict, r.expected.as_str()),
            (Verdict::Fail, ">= 0, <= 299.9")
        );
    }

    #[test]
    fn a_missing_measurement_fails_saying_why() {
        let mut flip = moved_flip();
        flip.outcome = Outcome::Dropped;
        flip.customer_gap_ms = None;
        flip.flip_latency_ms = None;
        for f in ["customer_gap_ms", "flip_latency_ms"] {
            flip.not_checked.insert(f.into(), "the call dropped".into());
        }
        let r = check_flip(
            &Expectations {
                customer_gap_ms: Some(Bound::at_most(300.0)),
                flip_latency_ms: Some(Bound::at_most(1e6)),
                ..Default::default()
            },
            &flip,
        );
        for res in &r {
            assert_eq!(res.verdict, Verdict::Fail);
            assert_eq!(res.measured, Value::Null);
            assert_eq!(res.detail, "not observed: the call dropped");
        }
        assert_eq!(r.len(), 2);
        flip.caller_id = Continuity::NotChecked;
        flip.old_device_released = None;
        let r = check_flip(
            &Expectations {
                caller_id: Some(Continuity::Same),
                old_device_released: Some(true),
                ..Default::default()
            },
            &flip,
        );
        assert!(
            r.iter()
                .all(|r| r.verdict == Verdict::Fail && r.measured == Value::Null)
        );
        assert_eq!(r[0].detail, "not observed: not measured");
    }

    #[test]
    fn a_non_finite_measurement_never_passes() {
        let mut flip = moved_flip();
        flip.other_audio_ms = f64::NAN;
        flip.customer_gap_ms = Some(f64::INFINITY);
        let r = check_flip(
            &Expectations {
                customer_gap_ms: Some(Bound::default()),
                other_audio_ms: Some(Bound::at_most(0.0)),
                ..Default::default()
            },
            &flip,
        );
        let got: Vec<_> = r
            .iter()
            .map(|r| (r.verdict, r.measured.clone(), r.detail.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Verdict::Fail, Value::Null, "invalid measurement inf"),
                (Verdict::Fail, Value::Null, "invalid measurement NaN"),
            ]
        );
    }

    #[test]
    fn continuity_words_and_booleans() {
        let mut flip = moved_flip();
        flip.customer_dialog = DialogContinuity::NewDialog;
        flip.caller_id = Continuity::Same;
        flip.session_id = SessionContinuity::Absent;
        flip.old_device_released = Some(false);
        flip.one_way_audio = Some(false);
        let r = check_flip(
            &Expectations {
                customer_dialog: Some(DialogContinuity::SameDialog),
                caller_id: Some(Continuity::Same),
                session_id: Some(SessionContinuity::Same),
                old_device_released: Some(true),
                one_way_audio: Some(false),
                ..Default::default()
            },
            &flip,
        );
        let got: Vec<_> = r
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.verdict,
                    r.expected.as_str(),
                    r.measured.clone(),
                    r.detail.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "customer_dialog",
                    Verdict::Fail,
                    "== same_dialog",
                    json!("new_dialog"),
                    "got new_dialog, expected same_dialog"
                ),
                ("caller_id", Verdict::Pass, "== same", json!("same"), "same"),
                (
                    "session_id",
                    Verdict::Fail,
                    "== same",
                    json!("absent"),
                    "got absent, expected same"
                ),
                (
                    "old_device_released",
                    Verdict::Fail,
                    "== true",
                    json!(false),
                    "got false, expected true"
                ),
                (
                    "one_way_audio",
                    Verdict::Pass,
                    "== false",
                    json!(false),
                    "false"
                ),
            ]
        );
    }

    #[test]
    fn numbers_render_without_spurious_decimals() {
        assert_eq!(number(300.0), "300");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(-0.0), "0");
        assert_eq!(bound_text(&Bound::default()), "any");
    }
}
