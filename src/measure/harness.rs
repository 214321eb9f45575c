//! The harness's own punctuality, from the timeline: timer lateness, skipped media slots
//! and receive-to-processing delays. A harness that falls behind says so — its figures
//! around a flip would otherwise be blamed on the target.

use std::time::Duration;

use crate::core::Time;
use crate::report::HarnessReport;
use crate::timeline::{Lag, Observation, Timeline};

/// How far before a flip request the harness is watched: the media that reaches the
/// customer at the switch was paced in this stretch.
pub const WATCH_BEFORE: Duration = Duration::from_millis(500);
/// Timer lateness p99 above this around a flip makes the scenario an error.
pub const LATENESS_P99_LIMIT_MS: f64 = 10.0;

fn quantile_ms(lags: &mut [u32], q: f64) -> f64 {
    if lags.is_empty() {
        return 0.0;
    }
    lags.sort_unstable();
    let i = ((lags.len() as f64 * q).ceil() as usize).clamp(1, lags.len()) - 1;
    f64::from(lags[i]) / 1000.0
}

fn within(lags: &[Lag], from: Time, to: Time) -> Vec<u32> {
    lags.iter()
        .filter(|l| l.at >= from && l.at <= to)
        .map(|l| l.micros)
        .collect()
}

/// The harness over `[from, to]`.
pub fn harness_between(tl: &Timeline, from: Time, to: Time) -> HarnessReport {
    let mut timer = within(&tl.timer_lag, from, to);
    let mut receive = within(&tl.receive_lag, from, to);
    let skipped_slots = tl
        .events
        .iter()
        .filter(|e| e.at >= from && e.at <= to)
        .map(|e| match e.what {
            Observation::SkippedSlots(n) => n,
            _ => 0,
        })
        .sum();
    let mut r = HarnessReport {
        wakeups: timer.len() as u64,
        lateness_p50_ms: quantile_ms(&mut timer, 0.5),
        lateness_p99_ms: quantile_ms(&mut timer, 0.99),
        lateness_max_ms: quantile_ms(&mut timer, 1.0),
        skipped_slots,
        receive_delay_p99_ms: quantile_ms(&mut receive, 0.99),
        receive_delay_max_ms: quantile_ms(&mut receive, 1.0),
        send_errors: 0,
        overloaded: false,
    };
    r.overloaded = overload_words(&r).is_some();
    r
}

/// The harness around a flip whose window is `[from, to]`.
pub fn harness_around(tl: &Timeline, from: Time, to: Time) -> HarnessReport {
    let watch = Time::from_micros(
        from.as_micros()
            .saturating_sub(WATCH_BEFORE.as_micros() as u64),
    );
    harness_between(tl, watch, to)
}

/// Why `r` counts as overloaded, in words, or `None`: any skipped media slot, or timer
/// lateness p99 over [`LATENESS_P99_LIMIT_MS`].
pub fn overload_words(r: &HarnessReport) -> Option<String> {
    let mut why = Vec::new();
    if r.skipped_slots > 0 {
        why.push(format!(
            "{} media slot{} of 20 ms skipped",
            r.skipped_slots,
            if r.skipped_slots == 1 { "" } else { "s" }
        ));
    }
    if r.lateness_p99_ms > LATENESS_P99_LIMIT_MS {
        why.push(format!(
            "timer lateness p99 {:.1} ms (limit {LATENESS_P99_LIMIT_MS} ms, max {:.1} ms)",
            r.lateness_p99_ms, r.lateness_max_ms
        ));
    }
    (!why.is_empty()).then(|| why.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lag(ms: u64, micros: u32) -> Lag {
        Lag {
            at: Time::from_millis(ms),
            micros,
        }
    }

    #[test]
    fn quantiles_and_limits() {
        let mut tl = Timeline::new(Vec::new());
        tl.timer_lag = (0..100)
            .map(|i| lag(i, if i < 98 { 500 } else { 40_000 }))
            .collect();
        tl.receive_lag = vec![lag(1, 100), lag(2, 3000)];
        let r = harness_between(&tl, Time::ZERO, Time::from_millis(1000));
        assert_eq!(r.wakeups, 100);
        assert_eq!(
            (r.lateness_p50_ms, r.lateness_p99_ms, r.lateness_max_ms),
            (0.5, 40.0, 40.0)
        );
        assert_eq!((r.receive_delay_p99_ms, r.receive_delay_max_ms), (3.0, 3.0));
        assert!(r.overloaded);
        assert!(overload_words(&r).unwrap().contains("p99 40.0 ms"));
        // Two late wake-ups in a thousand are under the p99 limit.
        tl.timer_lag = (0..1000)
            .map(|i| lag(i, if i < 998 { 500 } else { 40_000 }))
            .collect();
        let r = harness_between(&tl, Time::ZERO, Time::from_millis(1000));
        assert_eq!(r.lateness_p99_ms, 0.5);
        assert!(!r.overloaded);
        tl.record(Time::from_millis(5), 0, Observation::SkippedSlots(2));
        let r = harness_between(&tl, Time::ZERO, Time::from_millis(1000));
        assert_eq!(r.skipped_slots, 2);
        assert_eq!(
            overload_words(&r).as_deref(),
            Some("2 media slots of 20 ms skipped")
        );
        let quiet = harness_between(&Timeline::new(Vec::new()), Time::ZERO, Time::NEVER);
        assert_eq!(quiet, HarnessReport::default());
    }
}
