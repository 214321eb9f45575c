//! The console report: a header naming what ran (target, mode, seed to rerun it), one table
//! row per scenario, then per failing flip its outcome and reason and each failing
//! expectation with measured against expected, every error, the harness's own timing, and
//! the summary. Plain text without colour, so CI logs and snapshots read the same.

use std::io::{self, Write};

use tabled::builder::Builder;
use tabled::settings::Style;

use super::model::{FlipReport, Keyword, Report, ScenarioReport, Verdict};
use super::text::{measured, ms, opt_ms, verdict_word};

/// Writes the human-readable summary of `report`.
pub fn render(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "flipcheck {} | target {} ({}) | mode {} | seed {}",
        report.flipcheck_version, report.target.name, report.target.kind, report.mode, report.seed
    )?;
    writeln!(out)?;
    writeln!(out, "{}", table(report))?;

    let mut problems: Vec<String> = report.scenarios.iter().flat_map(problem_lines).collect();
    problems.extend(report.scenarios.iter().flat_map(harness_lines));
    problems.extend(report.scenarios.iter().flat_map(finding_lines));
    if !problems.is_empty() {
        writeln!(out)?;
        for p in problems {
            writeln!(out, "{p}")?;
        }
    }
    writeln!(out)?;
    let s = &report.summary;
    let not_run = if s.not_run > 0 {
        format!(", {} not run", s.not_run)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} scenario{}: {} passed, {} failed, {} error{}{not_run}",
        s.scenarios,
        plural(s.scenarios),
        s.passed,
        s.failed,
        s.errors,
        plural(s.errors)
    )
}

/// The line a log gets as scenario `i` of `n` finishes, so a CI job shows progress:
/// `[2/7] PASS name (file) 1.2 s: moved, gap 40 ms`; each flip's outcome and gap, or the
/// error that stopped the scenario. Plain text: no colour, no cursor movement.
pub fn progress_line(i: usize, n: usize, s: &ScenarioReport) -> String {
    let mut line = format!(
        "[{i}/{n}] {} {} ({}) {:.1} s",
        verdict_word(s.verdict),
        s.name,
        s.file,
        s.duration_ms / 1000.0
    );
    let flips: Vec<String> = s
        .flips
        .iter()
        .map(|f| match f.customer_gap_ms {
            Some(gap) => format!("{}, gap {} ms", f.outcome, ms(gap)),
            None => f.outcome.to_string(),
        })
        .collect();
    if let Some(why) = &s.error {
        line.push_str(": ");
        line.push_str(why);
    } else if !flips.is_empty() {
        line.push_str(": ");
        line.push_str(&flips.join("; "));
    }
    line
}

/// RFC deviations in what the target sent: notes, not verdicts.
fn finding_lines(s: &ScenarioReport) -> Vec<String> {
    s.sip_findings
        .iter()
        .map(|f| {
            let times = if f.count == 1 {
                String::new()
            } else {
                format!(" ({}×)", f.count)
            };
            format!(
                "note {} ({}): SIP from {}: {}{}: {}",
                s.name, s.file, f.peer, f.rule, times, f.detail
            )
        })
        .collect()
}

/// The harness's own punctuality, on one line per scenario that ran live: so a reader can
/// see how far to trust the figures, and which runs the harness itself disowned.
fn harness_lines(s: &ScenarioReport) -> Vec<String> {
    let Some(h) = &s.harness else {
        return Vec::new();
    };
    if h.wakeups == 0 || (h.lateness_max_ms == 0.0 && h.receive_delay_max_ms == 0.0) {
        // Virtual time: every deadline is met exactly, nothing to say.
        return Vec::new();
    }
    vec![format!(
        "harness {} ({}): timer lateness p50 {} / p99 {} / max {} ms, {} skipped media slot{}, receive delay p99 {} / max {} ms{}",
        s.name,
        s.file,
        ms(h.lateness_p50_ms),
        ms(h.lateness_p99_ms),
        ms(h.lateness_max_ms),
        h.skipped_slots,
        if h.skipped_slots == 1 { "" } else { "s" },
        ms(h.receive_delay_p99_ms),
        ms(h.receive_delay_max_ms),
        if h.send_errors > 0 {
            format!(", {} send errors", h.send_errors)
        } else {
            String::new()
        }
    )]
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn table(report: &Report) -> String {
    let mut b = Builder::new();
    b.push_record([
        "scenario",
        "verdict",
        "outcome",
        "gap ms",
        "latency ms",
        "other audio ms",
        "dialog",
        "caller id",
        "released",
    ]);
    for s in &report.scenarios {
        // A scenario may flip several times; each column lists its flips in order.
        let col = |f: &dyn Fn(&FlipReport) -> String| -> String {
            if s.flips.is_empty() {
                "-".to_string()
            } else {
                s.flips.iter().map(f).collect::<Vec<_>>().join(", ")
            }
        };
        b.push_record([
            s.name.clone(),
            verdict_word(s.verdict).to_string(),
            col(&|f| f.outcome.as_str().to_string()),
            col(&|f| opt_ms(f.customer_gap_ms)),
            col(&|f| opt_ms(f.flip_latency_ms)),
            col(&|f| ms(f.other_audio_ms)),
            col(&|f| f.customer_dialog.as_str().to_string()),
            col(&|f| f.caller_id.as_str().to_string()),
            col(&|f| match f.old_device_released {
                Some(true) => "yes".to_string(),
                Some(false) => "no".to_string(),
                None => "-".to_string(),
            }),
        ]);
    }
    let mut t = b.build();
    t.with(Style::psql());
    t.to_string()
}

/// Per scenario: its error; then per flip with a failing expectation, the flip (number,
/// line, outcome, reason, refusal) and under it each failing expectation, measured
/// against expected.
fn problem_lines(s: &ScenarioReport) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(e) = &s.error {
        lines.push(format!("ERROR {} ({}): {e}", s.name, s.file));
    }
    for f in &s.flips {
        let failing: Vec<_> = s
            .expectations
            .iter()
            .filter(|e| e.verdict != Verdict::Pass && e.flip == Some(f.index))
            .collect();
        if failing.is_empty() {
            continue;
        }
        let refusal = f
            .refusal
            .as_ref()
            .map(|r| format!(" [{} {}]", r.status, r.reason))
            .unwrap_or_default();
        lines.push(format!(
            "FAIL {} ({}:{}): flip {} {} → {}: {}{refusal}: {}",
            s.name, s.file, f.line, f.index, f.from, f.to, f.outcome, f.reason
        ));
        for e in failing {
            lines.push(format!(
                "     {} expected {}, measured {} ({})",
                e.name,
                e.expected,
                measured(&e.measured),
                e.detail
            ));
        }
    }
    // Expectations not tied to a flip (none today) still show.
    for e in s
        .expectations
        .iter()
        .filter(|e| e.verdict != Verdict::Pass && e.flip.is_none())
    {
        lines.push(format!(
            "{} {} ({}): {} expected {}, measured {} ({})",
            verdict_word(e.verdict),
            s.name,
            s.file,
            e.name,
            e.expected,
            measured(&e.measured),
            e.detail
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_fixtures::sample_report;

    #[test]
    fn a_log_line_per_scenario_gives_verdict_time_and_each_flip() {
        let report = sample_report();
        let lines: Vec<String> = report
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| progress_line(i + 1, report.scenarios.len(), s))
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
        assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "no ANSI codes");
    }

    #[test]
    fn console_snapshot() {
        let mut out = Vec::new();
        render(&sample_report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
