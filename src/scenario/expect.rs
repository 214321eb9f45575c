//! `expect:` blocks: outcome words, bounds and flags resolved into [`Expectations`].

use super::compile::Compiler;
use super::plan::{Bound, Expectations};
use super::raw::{RawBound, RawExpect};
use super::yaml::Spanned;
use crate::report::{Continuity, DialogContinuity, Outcome, SessionContinuity};

impl Compiler<'_> {
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
                .and_then(|n| self.keyword::<Continuity>(n, "`caller_id` value")),
            session_id: raw
                .session_id
                .as_ref()
                .and_then(|n| self.keyword::<SessionContinuity>(n, "`session_id` value")),
            old_device_released: raw.old_device_released.as_ref().map(|b| b.value),
            one_way_audio: raw.one_way_audio.as_ref().map(|b| b.value),
        }
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
