//! The `flip` step: its devices checked against where the file puts the call, its method
//! and timings, and where the call is after it.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::compile::{CallState, Compiler};
use super::expect::ScenarioExpect;
use super::plan::{
    DEFAULT_SETTLE, DEFAULT_TIMEOUT, DevicePlan, FlipMethod, SETTLE_RANGE, StepPlan, TIMEOUT_RANGE,
};
use super::raw::{RawFlip, RawStep};
use super::yaml::Spanned;
use crate::report::Outcome;

/// The flip methods this build carries out.
pub(super) const SUPPORTED_METHODS: &[FlipMethod] = &[FlipMethod::FeatureCode];

impl Compiler<'_> {
    /// `registered` says which devices have registered by this step; `state` is where the
    /// call is before it and is updated to where the file says it is after it.
    pub(super) fn flip(
        &mut self,
        step: &Spanned<RawStep>,
        flip: &RawFlip,
        devices: &[DevicePlan],
        registered: &[bool],
        scenario_expect: &ScenarioExpect<'_>,
        state: &mut CallState,
    ) -> Option<StepPlan> {
        let to = self.device(&flip.to, devices);
        let from = flip.from.as_ref().map(|f| (f, self.device(f, devices)));
        let method = self.supported_keyword(&flip.method, "flip method", SUPPORTED_METHODS, |d| {
            d.amend(": only `feature_code` is carried out")
                .with_hint("the new device dials the flip code: `method: feature_code`")
        });
        // Expectations always apply: a flip with none of its own is checked against the
        // scenario's, and against `flip: moved` when neither names an outcome.
        let own = flip
            .expect
            .as_ref()
            .map(|e| self.expectations(e))
            .unwrap_or_default();
        let mut expect = scenario_expect.plan.merged_with(&own);
        let outcome = *expect.flip.get_or_insert(Outcome::Moved);
        self.check_applicable(
            &expect,
            flip.expect.as_ref(),
            scenario_expect.raw,
            step.line,
        );
        let settle =
            self.bounded_duration(flip.settle.as_ref(), "settle", DEFAULT_SETTLE, SETTLE_RANGE);
        // Unset, the target's `timeouts.flip` decides (the scenario format's default for
        // the embedded PBX): the step's own value, where it gives one, wins.
        let timeout = flip
            .timeout
            .as_ref()
            .map(|t| self.bounded_duration(Some(t), "timeout", DEFAULT_TIMEOUT, TIMEOUT_RANGE));
        self.refuse_ringing("answer_after_rings", flip.answer_after_rings.as_ref());
        self.refuse_ringing("no_answer", flip.no_answer.as_ref());
        if let Some(id) = to
            && !registered[id]
        {
            self.push(
                self.at(
                    &flip.to,
                    format!(
                        "device `{}` is flipped to before it is registered",
                        flip.to.value
                    ),
                )
                .with_hint(format!(
                    "add `- register: [{}]` before this step",
                    flip.to.value
                )),
            );
        }
        match (*state, to, &from) {
            (CallState::Idle, _, _) => self.push(
                self.at(step, "flip with no call up")
                    .with_hint("add a `call:` step before it"),
            ),
            (_, Some(t), Some((node, Some(f)))) if *f == t => self.push(self.at(
                node,
                format!("`from` and `to` are the same device `{}`", node.value),
            )),
            (CallState::On(holder), _, Some((node, Some(f)))) if *f != holder => {
                self.push(self.at(
                    node,
                    format!(
                        "`from: {}` but the call is on `{}` at this point",
                        node.value, devices[holder].name
                    ),
                ))
            }
            (CallState::On(holder), Some(t), None) if t == holder => self.push(
                self.at(
                    &flip.to,
                    format!("the call is already on `{}` at this point", flip.to.value),
                )
                .with_hint("flip to another device"),
            ),
            _ => {}
        }
        let (to, method) = (to?, method?);
        let from = match from {
            Some((_, id)) => Some(id?),
            None => None,
        };
        // Where the call is after this flip: an expected refusal or a timeout leaves it on
        // the old device.
        *state = match (*state, outcome) {
            (CallState::Idle, _) => CallState::Idle,
            (s, Outcome::Blocked | Outcome::TimedOut) => s,
            (_, Outcome::Moved) => CallState::On(to),
            (_, Outcome::Dropped | Outcome::Failed) => CallState::Unknown,
        };
        Some(StepPlan::Flip {
            from,
            to,
            method,
            settle,
            timeout,
            expect,
            line: step.line,
        })
    }

    /// `answer_after_rings` and `no_answer` describe how the new device answers a flip that
    /// rings it; the feature-code pull never does (the new device is the caller).
    fn refuse_ringing<T>(&mut self, field: &str, node: Option<&Spanned<T>>) {
        if let Some(node) = node {
            self.push(
                self.at(
                    node,
                    format!(
                        "`{field}` is not supported in this version: the feature-code pull \
                         does not ring the new device"
                    ),
                )
                .with_hint("remove it; push methods, which ring, come in a later version"),
            );
        }
    }

    /// A duration field with a default and an allowed range; a bad value is reported and
    /// the default used, so that compiling goes on.
    fn bounded_duration(
        &mut self,
        node: Option<&Spanned<String>>,
        field: &str,
        default: Duration,
        range: RangeInclusive<Duration>,
    ) -> Duration {
        let Some(node) = node else { return default };
        match self.duration(node) {
            Some(d) if range.contains(&d) => d,
            Some(_) => {
                // Whole seconds where they are (`300s`, not humantime's `5m`), so the range
                // reads like the documentation.
                let show = |d: &Duration| match d.as_millis() {
                    ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
                    ms => format!("{ms}ms"),
                };
                self.push(self.at(
                    node,
                    format!(
                        "`{field}` must be from {} to {}, not `{}`",
                        show(range.start()),
                        show(range.end()),
                        node.value.trim()
                    ),
                ));
                default
            }
            None => default,
        }
    }
}
