//! The one report model every renderer reads: verdicts are decided once, here and in
//! `check`, and every output format shows the same ones.
//!
//! Field names and meanings are the JSON report contract: scripts and CI parse this JSON,
//! so a field may be added but never renamed. `reports/schema.json` describes the same
//! shape and a test validates real output against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A closed vocabulary whose YAML and JSON spelling is one snake_case word per variant.
///
/// Scenario files and reports share these words (`moved`, `same_dialog`, …), so the scenario
/// compiler resolves names through [`Keyword::ALL`] and [`Keyword::as_str`] instead of keeping
/// a second copy of the spelling.
pub trait Keyword: Copy + Sized + 'static {
    /// Every variant, in the order the documentation lists them.
    const ALL: &'static [Self];
    /// The word used in YAML and JSON.
    fn as_str(self) -> &'static str;
    /// The variant spelled exactly `word`, if any.
    fn from_word(word: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == word)
    }
}

/// Declares a snake_case vocabulary enum with serde, `Display` and [`Keyword`] in one place so
/// the spelling cannot drift between the three.
macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl Keyword for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum! {
    /// How a flip ended (`outcome` in `reports/schema.json`).
    Outcome {
        /// The call is now on the new device.
        Moved => "moved",
        /// The target refused; the call is intact on the old device.
        Blocked => "blocked",
        /// The new device was not answered in time; the call is intact.
        TimedOut => "timed_out",
        /// The customer lost the call.
        Dropped => "dropped",
        /// Anything else; the flip's `reason` says what.
        Failed => "failed",
    }
}

keyword_enum! {
    /// Identity of the customer's leg before and after the flip (Call-ID, From-tag, To-tag).
    DialogContinuity {
        /// The customer's dialog survived: the flip was invisible at the SIP layer.
        SameDialog => "same_dialog",
        /// The target replaced the customer's leg with a new dialog.
        NewDialog => "new_dialog",
        /// The customer has no dialog any more.
        Lost => "lost",
    }
}

keyword_enum! {
    /// Whether an identity the customer sees (caller ID) stayed the same.
    Continuity {
        Same => "same",
        Changed => "changed",
        /// Not observable (e.g. no call after a drop); the flip's `not_checked` says why.
        NotChecked => "not_checked",
    }
}

keyword_enum! {
    /// Continuity of the session identifier (RFC 7989 `Session-ID` or the target's own id).
    SessionContinuity {
        Same => "same",
        Changed => "changed",
        /// The target sends no session identifier, so continuity cannot be judged.
        Absent => "absent",
        /// Not observable (e.g. no call after a drop); the flip's `not_checked` says why.
        NotChecked => "not_checked",
    }
}

keyword_enum! {
    /// Continuity evidence from the target's CDR (analytics) or recording source.
    Evidence {
        /// One record spans the call across the flip.
        Same => "same",
        /// The flip split the call into several records.
        Split => "split",
        /// The source had no record of the call.
        Absent => "absent",
        /// No evidence source was configured for this target.
        NotChecked => "not_checked",
    }
}

keyword_enum! {
    /// Result of a check. A failed expectation is a verdict, not an error.
    Verdict {
        Pass => "pass",
        Fail => "fail",
        /// The check could not run: bad input, unreachable target, internal error, or a
        /// harness too overloaded to measure.
        Error => "error",
        /// The scenario was never started (the run was interrupted before it).
        NotRun => "not_run",
    }
}

/// One run of flipcheck over one or more scenarios.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `CARGO_PKG_VERSION` of the binary that produced the report.
    pub flipcheck_version: String,
    pub target: TargetInfo,
    /// The run's single seed: rerunning with it repeats a simulated run.
    pub seed: u64,
    /// RFC 3339 timestamp; supplied by the driver (the model never reads a clock).
    pub started_at: String,
    /// RFC 3339 timestamp of the end of the run.
    pub finished_at: String,
    /// `"live"` (real sockets, real time) or `"sim"` (virtual time).
    pub mode: String,
    pub summary: Summary,
    pub scenarios: Vec<ScenarioReport>,
}

/// Which system was under test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// `"embedded"` or `"external"`.
    pub kind: String,
    pub name: String,
}

/// Scenario counts; always equal to what [`Report::recompute_summary`] derives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub scenarios: u32,
    pub passed: u32,
    pub failed: u32,
    pub errors: u32,
    /// Scenarios never started because the run was interrupted.
    #[serde(default)]
    pub not_run: u32,
}

/// One scenario file's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub name: String,
    /// Path of the scenario file as given on the command line.
    pub file: String,
    pub verdict: Verdict,
    /// Why the scenario could not run (verdict `error`); `null` otherwise.
    pub error: Option<String>,
    /// Wall time (live) or virtual time (sim) the scenario took.
    pub duration_ms: f64,
    pub expectations: Vec<ExpectationResult>,
    pub flips: Vec<FlipReport>,
    /// How punctual the harness itself was over the whole scenario. Around a flip, any
    /// skipped media slot or a timer lateness p99 over the limit makes the verdict `error`:
    /// a stalled harness is never blamed on the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness: Option<HarnessReport>,
    /// RFC violations in the SIP the target sent the simulated parties, one entry per
    /// peer and rule: deviations are reported, not fatal.
    #[serde(default)]
    pub sip_findings: Vec<SipFinding>,
}

/// One kind of RFC violation from one peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SipFinding {
    /// `ip:port` the messages came from.
    pub peer: String,
    /// Stable rule name, e.g. `content-length-mismatch`, or `unparseable`.
    pub rule: String,
    /// The first occurrence, in words.
    pub detail: String,
    pub count: u32,
}

/// The harness's own timing over a stretch of a run: how late its timers fired, how many
/// 20 ms media slots its senders had to skip, how long received datagrams waited for
/// processing after their receive timestamp.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HarnessReport {
    /// Timer wake-ups (media pacing, SIP timers, the script).
    pub wakeups: u64,
    pub lateness_p50_ms: f64,
    pub lateness_p99_ms: f64,
    pub lateness_max_ms: f64,
    /// 20 ms slots the media senders skipped because they were called too late.
    pub skipped_slots: u64,
    /// Receive timestamp to processing, over every datagram.
    pub receive_delay_p99_ms: f64,
    pub receive_delay_max_ms: f64,
    /// Datagrams the kernel refused to send (live runs).
    #[serde(default)]
    pub send_errors: u64,
    /// Whether the stretch passed the overload limits: any skipped slot, or lateness p99
    /// over 10 ms.
    #[serde(default)]
    pub overloaded: bool,
}
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// The expectation's key in the scenario file, e.g. `customer_gap_ms`.
    pub name: String,
    /// The flip it was checked on (1-based), and that flip step's line in the file.
    #[serde(default)]
    pub flip: Option<u32>,
    #[serde(default)]
    pub line: Option<usize>,
    pub verdict: Verdict,
    /// Human-readable condition, e.g. `<= 300` or `== moved`.
    pub expected: String,
    /// The measured value as JSON: a number, a word, a boolean, or `null` if not measured.
    pub measured: serde_json::Value,
    /// Why it passed or failed, in words.
    pub detail: String,
}

/// Everything measured about one flip (README "How a flip is measured"), from
/// its request until it settled. Every value was observed; one that could not be is `null`
/// or `not_checked`, with the reason under `not_checked`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlipReport {
    /// 1-based number of the flip in its scenario.
    #[serde(default)]
    pub index: u32,
    /// The flip step's line in the scenario file.
    #[serde(default)]
    pub line: usize,
    /// Device that held the call before the flip.
    pub from: String,
    /// Device the flip was aimed at.
    pub to: String,
    /// Flip method word, e.g. `feature_code`.
    pub method: String,
    /// Call state at the flip request, from the customer's SDP direction: `active`,
    /// `hold`, or `not_checked`.
    pub state: String,
    pub outcome: Outcome,
    /// What happened, in words: why the flip settled as it did.
    #[serde(default)]
    pub reason: String,
    /// Request → the instant the flip settled.
    #[serde(default)]
    pub settle_ms: Option<f64>,
    /// Ringing responses (180/183) the flip request got.
    pub rings: u32,
    /// Flip request sent → first frame of the new device heard by the customer.
    pub flip_latency_ms: Option<f64>,
    /// The stretch around the switch in which the customer heard neither device: from the
    /// end of the old device's last frame (a newer frame of anything cuts it short) to the
    /// new device's first frame.
    pub customer_gap_ms: Option<f64>,
    /// Longest stretch in the flip's window (request → settled) in which the customer heard
    /// neither device, wherever it lies.
    #[serde(default)]
    pub max_hole_ms: Option<f64>,
    /// New device's answer → first frame of the customer heard on the new device.
    pub device_gap_ms: Option<f64>,
    /// Hold music, announcements or noise heard by the customer in the flip's window.
    pub other_audio_ms: f64,
    /// RTP packets lost in the customer's streams within the flip's window (sequence
    /// numbers never received); `null` if no packet arrived.
    pub packets_lost: Option<i64>,
    /// Packets that arrived after a later one, in the same window.
    pub packets_late: Option<u64>,
    pub customer_dialog: DialogContinuity,
    pub caller_id: Continuity,
    pub session_id: SessionContinuity,
    pub analytics: Evidence,
    pub recording: Evidence,
    /// The old device's call ended (BYE either way) and no audio reached it 200 ms later.
    pub old_device_released: Option<bool>,
    /// How the target refused the flip, if it did.
    pub refusal: Option<Refusal>,
    /// One direction steady while the other is not, after the new device answered.
    pub one_way_audio: Option<bool>,
    /// Calls the customer has up when the flip settled: 1 is right; 2 means the old leg
    /// was left up beside a new one (a far end that ignored `Replaces`).
    #[serde(default)]
    pub customer_live_calls: u32,
    pub codec: CodecReport,
    /// Mouth-to-ear delay before and after the flip, when measurable.
    pub m2e_before_ms: Option<f64>,
    pub m2e_after_ms: Option<f64>,
    /// The harness's own timing around this flip (from half a second before the request to
    /// the settle).
    #[serde(default)]
    pub harness: HarnessReport,
    /// Fields that could not be observed, with the reason.
    #[serde(default)]
    pub not_checked: BTreeMap<String, String>,
}

/// A SIP refusal of a flip request (403, 404, 481, 486, 488, 603, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

/// Codec renegotiation around the flip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodecReport {
    /// Customer-leg codec at the flip request, as `NAME/RATE` (e.g. `PCMU/8000`).
    pub customer_before: Option<String>,
    /// Customer-leg codec when the flip settled.
    pub customer_after: Option<String>,
    /// The new device's codec when the flip settled.
    pub device_after: Option<String>,
    /// SDP offers (re-INVITE, UPDATE, INVITE with Replaces) the customer received during
    /// the flip.
    pub customer_offers: u32,
    pub ssrc_changed: bool,
    pub payload_type_changed: bool,
}

impl Report {
    /// Process exit code (README "Exit codes"): 2 if any scenario errored, else 1 if any
    /// failed, else 0. An error outranks a failure because a scenario that could not run
    /// proves nothing either way.
    pub fn exit_code(&self) -> i32 {
        let verdicts = || self.scenarios.iter().map(|s| s.verdict);
        if verdicts().any(|v| matches!(v, Verdict::Error | Verdict::NotRun)) {
            2
        } else if verdicts().any(|v| v == Verdict::Fail) {
            1
        } else {
            0
        }
    }

    /// Recounts [`Summary`] from the scenarios, so the two can never disagree.
    pub fn recompute_summary(&mut self) {
        let mut s = Summary {
            scenarios: u32::try_from(self.scenarios.len()).unwrap_or(u32::MAX),
            ..Summary::default()
        };
        for sc in &self.scenarios {
            match sc.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Fail => s.failed += 1,
                Verdict::Error => s.errors += 1,
                Verdict::NotRun => s.not_run += 1,
            }
        }
        self.summary = s;
    }
}

impl ScenarioReport {
    /// Derives the verdict from `error` and the expectations: `error` if the scenario could
    /// not run or any check errored, `fail` if any expectation failed, else `pass`.
    pub fn recompute_verdict(&mut self) {
        let any = |v| self.expectations.iter().any(|e| e.verdict == v);
        self.verdict = if self.error.is_some() || any(Verdict::Error) {
            Verdict::Error
        } else if any(Verdict::Fail) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(verdict: Verdict) -> ScenarioReport {
        ScenarioReport {
            name: "s".into(),
            file: "s.yaml".into(),
            verdict,
            error: None,
            duration_ms: 1.0,
            expectations: vec![],
            flips: vec![],
            harness: None,
            sip_findings: Vec::new(),
        }
    }

    fn report(verdicts: &[Verdict]) -> Report {
        let mut r = Report {
            flipcheck_version: "0.1.0".into(),
            target: TargetInfo {
                kind: "embedded".into(),
                name: "embedded".into(),
            },
            seed: 1,
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:00:01Z".into(),
            mode: "sim".into(),
            summary: Summary::default(),
            scenarios: verdicts.iter().map(|v| scenario(*v)).collect(),
        };
        r.recompute_summary();
        r
    }

    #[test]
    fn exit_code_follows_the_worst_verdict() {
        assert_eq!(report(&[]).exit_code(), 0);
        assert_eq!(report(&[Verdict::Pass, Verdict::Pass]).exit_code(), 0);
        assert_eq!(report(&[Verdict::Pass, Verdict::Fail]).exit_code(), 1);
        assert_eq!(report(&[Verdict::Error, Verdict::Fail]).exit_code(), 2);
        assert_eq!(report(&[Verdict::Pass, Verdict::Error]).exit_code(), 2);
    }

    #[test]
    fn summary_counts_each_verdict() {
        let r = report(&[Verdict::Pass, Verdict::Fail, Verdict::Error, Verdict::Pass]);
        assert_eq!(
            r.summary,
            Summary {
                scenarios: 4,
                passed: 2,
                failed: 1,
                errors: 1,
                not_run: 0
            }
        );
    }

    #[test]
    fn vocabulary_serialises_as_the_contract_words() {
        let words = serde_json::to_string(&(
            Outcome::TimedOut,
            DialogContinuity::SameDialog,
            Continuity::Changed,
            SessionContinuity::Absent,
            Evidence::NotChecked,
            Verdict::Error,
        ))
        .unwrap();
        assert_eq!(
            words,
            r#"["timed_out","same_dialog","changed","absent","not_checked","error"]"#
        );
        // Keyword spelling and serde spelling are the same words.
        for o in Outcome::ALL {
            assert_eq!(
                serde_json::to_string(o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
        for e in Evidence::ALL {
            assert_eq!(
                serde_json::to_string(e).unwrap(),
                format!("\"{}\"", e.as_str())
            );
        }
        assert_eq!(Outcome::from_word("dropped"), Some(Outcome::Dropped));
        assert_eq!(Outcome::from_word("Dropped"), None);
    }

    #[test]
    fn scenario_verdict_derives_from_error_and_expectations() {
        let mut s = scenario(Verdict::Pass);
        let result = |verdict| ExpectationResult {
            name: "flip".into(),
            flip: Some(1),
            line: Some(20),
            verdict,
            expected: "== moved".into(),
            measured: serde_json::json!("moved"),
            detail: String::new(),
        };
        s.expectations = vec![result(Verdict::Pass), result(Verdict::Fail)];
        s.recompute_verdict();
        assert_eq!(s.verdict, Verdict::Fail);
        s.error = Some("target unreachable".into());
        s.recompute_verdict();
        assert_eq!(s.verdict, Verdict::Error);
        s.error = None;
        s.expectations = vec![result(Verdict::Pass)];
        s.recompute_verdict();
        assert_eq!(s.verdict, Verdict::Pass);
    }
}
