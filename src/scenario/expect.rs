//! `expect:` blocks: outcome words, bounds and flags resolved into [`Expectations`], and
//! the rules about which expectation can apply to which expected outcome.

use super::compile::Compiler;
use super::plan::{Bound, Expectations};
use super::raw::{RawBound, RawExpect};
use super::yaml::Spanned;
use crate::report::{Continuity, DialogContinuity, Keyword, Outcome, SessionContinuity};

/// The scenario-level `expect:`, compiled and as written (for its key positions).
pub(super) struct ScenarioExpect<'a> {
    pub plan: &'a Expectations,
    pub raw: Option<&'a RawExpect>,
}

/// Why an expectation cannot hold for a flip's expected outcome.
enum Conflict {
    /// Nothing the expectation looks at exists with this outcome.
    CannotApply {
        key: &'static str,
        why: &'static str,
    },
    /// The expectation's value is ruled out by the outcome (`written` as in the file).
    Contradicts {
        key: &'static str,
        written: String,
        why: &'static str,
    },
}

/// The conflicts between a flip's effective expectations and its expected outcome.
fn conflicts(e: &Expectations, outcome: Outcome) -> Vec<Conflict> {
    let mut out = Vec::new();
    if outcome != Outcome::Moved {
        let switch = [
            ("customer_gap_ms", e.customer_gap_ms.is_some()),
            ("flip_latency_ms", e.flip_latency_ms.is_some()),
            ("device_gap_ms", e.device_gap_ms.is_some()),
            ("one_way_audio", e.one_way_audio.is_some()),
        ];
        for (key, _) in switch.into_iter().filter(|(_, set)| *set) {
            out.push(Conflict::CannotApply {
                key,
                why: "it measures the switch to the new device",
            });
        }
    }
    if e.old_device_released == Some(true)
        && matches!(outcome, Outcome::Blocked | Outcome::TimedOut)
    {
        out.push(Conflict::Contradicts {
            key: "old_device_released",
            written: "old_device_released: true".into(),
            why: "the call stays on the old device",
        });
    }
    if outcome == Outcome::Dropped {
        let after = [
            ("caller_id", e.caller_id.is_some()),
            ("session_id", e.session_id.is_some()),
        ];
        for (key, _) in after.into_iter().filter(|(_, set)| *set) {
            out.push(Conflict::CannotApply {
                key,
                why: "nothing is observed after a drop",
            });
        }
        if let Some(d) = e.customer_dialog.filter(|d| *d != DialogContinuity::Lost) {
            out.push(Conflict::Contradicts {
                key: "customer_dialog",
                written: format!("customer_dialog: {}", d.as_str()),
                why: "a drop loses the customer's dialog",
            });
        }
    }
    out
}

impl Compiler<'_> {
    /// Reports every effective expectation of the flip at `line` that cannot apply to its
    /// expected outcome, at the key that set it: the step's own `expect:` when it has the
    /// key, else the scenario's (then naming the flip, which may be one of several).
    pub(super) fn check_applicable(
        &mut self,
        e: &Expectations,
        own: Option<&RawExpect>,
        scenario: Option<&RawExpect>,
        line: usize,
    ) {
        let Some(outcome) = e.flip else { return };
        for conflict in conflicts(e, outcome) {
            let key = match &conflict {
                Conflict::CannotApply { key, .. } | Conflict::Contradicts { key, .. } => *key,
            };
            let (node, this) = match (
                own.and_then(|r| r.key(key)),
                scenario.and_then(|r| r.key(key)),
            ) {
                (Some(k), _) => (k, None),
                (None, Some(k)) => (k, Some(line)),
                // The value came from neither block: cannot happen, as the effective
                // expectations are the two merged.
                (None, None) => continue,
            };
            let message = match (&conflict, this) {
                (Conflict::CannotApply { why, .. }, None) => {
                    format!("`{key}` cannot apply to this flip, expected to be `{outcome}`: {why}")
                }
                (Conflict::CannotApply { why, .. }, Some(l)) => format!(
                    "`{key}` cannot apply to the flip at line {l}, expected to be `{outcome}`: {why}"
                ),
                (Conflict::Contradicts { written, why, .. }, None) => {
                    format!("`{written}` contradicts `flip: {outcome}`: {why}")
                }
                (Conflict::Contradicts { written, why, .. }, Some(l)) => format!(
                    "`{written}` contradicts `flip: {outcome}` of the flip at line {l}: {why}"
                ),
            };
            let d = self.at(node, message);
            self.push(match this {
                Some(_) => d.with_hint("give it in the `expect:` of the flips it applies to"),
                None => d,
            });
        }
    }

    pub(super) fn expectations(&mut self, raw: &RawExpect) -> Expectations {
        Expectations {
            flip: raw
                .flip
                .as_ref()
                .and_then(|n| self.keyword::<Outcome>(n, "flip outcome")),
            customer_gap_ms: raw.customer_gap_ms.as_ref().and_then(|b| self.bound(b)),
            other_audio_ms: raw.other_audio_ms.as_ref().and_then(|b| self.bound(b)),
            flip_latency_ms: raw.flip_latency_ms.as_ref().and_then(|b| self.bound(b)),
            device_gap_ms: raw.device_gap_ms.as_ref().and_then(|b| self.bound(b)),
            max_hole_ms: raw.max_hole_ms.as_ref().and_then(|b| self.bound(b)),
            customer_dialog: raw
                .customer_dialog
                .as_ref()
                .and_then(|n| self.keyword::<DialogContinuity>(n, "`customer_dialog` value")),
            caller_id: raw
                .caller_id
                .as_ref()
                .and_then(|n| self.expected_word::<Continuity>(n, "`caller_id` value")),
            session_id: raw
                .session_id
                .as_ref()
                .and_then(|n| self.expected_word::<SessionContinuity>(n, "`session_id` value")),
            old_device_released: raw.old_device_released.as_ref().map(|b| b.value),
            one_way_audio: raw.one_way_audio.as_ref().map(|b| b.value),
        }
    }

    /// A word an expectation can hold: `not_checked` is what a report says of a value it
    /// could not observe, and an expectation on an unobserved value always fails.
    fn expected_word<K: Keyword>(&mut self, node: &Spanned<String>, what: &str) -> Option<K> {
        if node.value == "not_checked" {
            let words: Vec<String> = K::ALL
                .iter()
                .map(|k| k.as_str())
                .filter(|w| *w != "not_checked")
                .map(|w| format!("`{w}`"))
                .collect();
            self.push(
                self.at(node, format!("{what} `not_checked` can never be expected"))
                    .with_hint(format!(
                        "a report says `not_checked` when it could not observe the value, and an expectation on it fails; expect one of {}",
                        words.join(", ")
                    )),
            );
            return None;
        }
        self.keyword(node, what)
    }

    /// Every bound is a duration in milliseconds: finite, not negative, `min <= max`.
    fn bound(&mut self, node: &Spanned<RawBound>) -> Option<Bound> {
        let b = match node.value {
            RawBound::Exact(v) => Bound::exact(v),
            RawBound::Range { min, max } => Bound { min, max },
        };
        if b.min.is_none() && b.max.is_none() {
            self.push(self.at(node, "a bound needs `min`, `max` or both"));
            return None;
        }
        for v in [b.min, b.max].into_iter().flatten() {
            if !v.is_finite() || v < 0.0 {
                self.push(self.at(
                    node,
                    format!("bound {v} must be a number of milliseconds >= 0"),
                ));
                return None;
            }
        }
        if let (Some(lo), Some(hi)) = (b.min, b.max)
            && lo > hi
        {
            self.push(self.at(node, format!("`min: {lo}` is greater than `max: {hi}`")));
            return None;
        }
        Some(b)
    }
}
