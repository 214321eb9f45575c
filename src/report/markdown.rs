//! The Markdown report: a summary to post as a pull-request comment or a CI job summary.
//! A headline with the verdict counts, one table row per scenario, then every failing
//! expectation measured against expected.
//!
//! Plain CommonMark with GitHub/GitLab tables: no HTML and no links, and every character
//! of the report's free text (names, paths, reasons) that Markdown would read as markup is
//! escaped, so a reason naming `<sip:…>` or `*11` shows as written and a `|` cannot split
//! a cell. Expectations of scenarios whose verdict is `error` are not listed as failing: a
//! run that could not measure says nothing about the target (the table gives its reason).

use std::io::{self, Write};

use super::model::{ExpectationResult, Outcome, Report, ScenarioReport, Verdict};
use super::text::{measured, ms, verdict_word};

/// Writes `report` as Markdown.
pub fn render(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let s = &report.summary;
    let overall = match report.exit_code() {
        0 => "PASS",
        1 => "FAIL",
        _ => "ERROR",
    };
    let mut counts = vec![
        format!("{} passed", s.passed),
        format!("{} failed", s.failed),
        format!("{} error{}", s.errors, if s.errors == 1 { "" } else { "s" }),
    ];
    if s.not_run > 0 {
        counts.push(format!("{} not run", s.not_run));
    }
    writeln!(
        out,
        "### flipcheck {overall}: {} ({} scenario{})",
        counts.join(", "),
        s.scenarios,
        if s.scenarios == 1 { "" } else { "s" }
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Target {} ({}), mode {}, seed {}, flipcheck {}, started {}.",
        escape(&report.target.name),
        escape(&report.target.kind),
        escape(&report.mode),
        report.seed,
        escape(&report.flipcheck_version),
        escape(&report.started_at)
    )?;
    if report.scenarios.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "| scenario | verdict | flips moved | worst customer gap | reason |"
    )?;
    writeln!(out, "|---|---|---|---|---|")?;
    for sc in &report.scenarios {
        writeln!(
            out,
            "| {} ({}) | {} | {} | {} | {} |",
            escape(&sc.name),
            escape(&sc.file),
            verdict_word(sc.verdict),
            moved(sc),
            worst_gap(sc),
            escape(&reason(sc))
        )?;
    }
    let failing: Vec<(&ScenarioReport, &ExpectationResult)> = report
        .scenarios
        .iter()
        .filter(|sc| sc.verdict == Verdict::Fail)
        .flat_map(|sc| {
            sc.expectations
                .iter()
                .filter(|e| e.verdict == Verdict::Fail)
                .map(move |e| (sc, e))
        })
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "#### Failing expectations")?;
    writeln!(out)?;
    writeln!(
        out,
        "| scenario | flip | expectation | measured | expected |"
    )?;
    writeln!(out, "|---|---|---|---|---|")?;
    for (sc, e) in failing {
        writeln!(
            out,
            "| {} | {} | `{}` | {} | {} |",
            escape(&sc.name),
            flip_cell(e),
            e.name.replace('|', "\\|"),
            escape(&measured_cell(e)),
            escape(&e.expected)
        )?;
    }
    Ok(())
}

/// `moved/total` over the scenario's flips, `-` when it has none.
fn moved(sc: &ScenarioReport) -> String {
    if sc.flips.is_empty() {
        return "-".to_string();
    }
    let n = sc
        .flips
        .iter()
        .filter(|f| f.outcome == Outcome::Moved)
        .count();
    format!("{n}/{}", sc.flips.len())
}

fn worst_gap(sc: &ScenarioReport) -> String {
    sc.flips
        .iter()
        .filter_map(|f| f.customer_gap_ms)
        .reduce(f64::max)
        .map_or_else(|| "-".to_string(), |g| format!("{} ms", ms(g)))
}

/// Why a scenario did not pass: its error, or per failing flip its outcome (with the
/// flip's reason when it did not move) and the expectations that failed.
fn reason(sc: &ScenarioReport) -> String {
    match sc.verdict {
        Verdict::Pass => String::new(),
        Verdict::Error | Verdict::NotRun => sc
            .error
            .clone()
            .unwrap_or_else(|| format!("verdict {}", sc.verdict)),
        Verdict::Fail => {
            let mut parts = Vec::new();
            for f in &sc.flips {
                let failed: Vec<&str> = sc
                    .expectations
                    .iter()
                    .filter(|e| e.flip == Some(f.index) && e.verdict == Verdict::Fail)
                    .map(|e| e.name.as_str())
                    .collect();
                if failed.is_empty() {
                    continue;
                }
                let how = if f.outcome == Outcome::Moved {
                    "moved".to_string()
                } else {
                    format!("{}: {}", f.outcome, f.reason)
                };
                parts.push(format!(
                    "flip {} (line {}) {how}; failed {}",
                    f.index,
                    f.line,
                    failed.join(", ")
                ));
            }
            parts.join("; ")
        }
    }
}

fn flip_cell(e: &ExpectationResult) -> String {
    match (e.flip, e.line) {
        (Some(n), Some(line)) => format!("{n} (line {line})"),
        (Some(n), None) => n.to_string(),
        (None, _) => "-".to_string(),
    }
}

/// The measured value with its unit; for a value that was not observed, why not.
fn measured_cell(e: &ExpectationResult) -> String {
    if e.measured.is_null() {
        return format!("nothing ({})", e.detail);
    }
    let m = measured(&e.measured);
    if e.name.ends_with("_ms") && e.measured.is_number() {
        format!("{m} ms")
    } else {
        m
    }
}

/// Free text as literal Markdown inside a table cell: the characters CommonMark reads as
/// emphasis, code, links, entities or HTML are backslash-escaped, `|` too (it would end
/// the cell), and line breaks become spaces (a row is one line). A `<` before a space or
/// `=` (`<= 200`) cannot start a tag or an autolink and stays as it is, for whoever reads
/// the file raw; so does `_` between letters (`same_dialog`).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        let intraword =
            previous.is_alphanumeric() && chars.peek().is_some_and(|n| n.is_alphanumeric());
        previous = c;
        match c {
            // Between letters (`same_dialog`) `_` can neither open nor close emphasis.
            '_' if intraword => out.push(c),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '<' if !matches!(chars.peek(), Some(' ' | '=') | None) => out.push_str("\\<"),
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_fixtures::{full_report, sample_report};

    fn markdown(report: &Report) -> String {
        let mut out = Vec::new();
        render(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn markdown_snapshot() {
        insta::assert_snapshot!(markdown(&full_report()));
    }

    #[test]
    fn markup_in_free_text_is_escaped() {
        assert_eq!(escape("back | forth"), "back \\| forth");
        assert_eq!(
            escape("dial `*12` at <sip:a@b>"),
            "dial \\`\\*12\\` at \\<sip:a@b>"
        );
        assert_eq!(escape("<= 200"), "<= 200");
        assert_eq!(escape("a\nb_c"), "a b_c");
        assert_eq!(escape("_x_ and __init"), "\\_x\\_ and \\_\\_init");
    }

    #[test]
    fn every_row_has_as_many_cells_as_its_header() {
        let text = markdown(&full_report());
        let mut columns = None;
        for line in text.lines() {
            if !line.starts_with('|') {
                columns = None;
                continue;
            }
            // Cells split on `|` that are not escaped.
            let cells = line.replace("\\|", "").matches('|').count();
            match columns {
                None => columns = Some(cells),
                Some(n) => assert_eq!(cells, n, "{line}"),
            }
        }
        assert!(!text.contains("http"), "link-free");
    }

    #[test]
    fn a_passing_run_has_no_failing_section() {
        let mut r = sample_report();
        r.scenarios.truncate(1);
        r.recompute_summary();
        let text = markdown(&r);
        assert!(text.starts_with("### flipcheck PASS: 1 passed, 0 failed, 0 errors (1 scenario)"));
        assert!(!text.contains("Failing expectations"), "{text}");
    }
}
