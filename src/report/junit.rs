//! The JUnit XML report, for CI systems that show test results (GitHub through
//! dorny/test-reporter's `java-junit`, GitLab's `artifacts:reports:junit`, Jenkins).
//!
//! One `<testsuite>` per scenario file, one `<testcase>` per expectation per flip, each named
//! so a person finds the flip in the scenario file (`flip-feature-code › flip 1 (line 22) ›
//! customer_gap_ms ≤ 200`) with the file as `classname`. The verdicts are the report's own:
//! - a failed expectation is a `<failure>` whose message is measured against expected and
//!   whose text is the flip's key facts;
//! - every testcase of a scenario with verdict `error` is an `<error>` with the scenario's
//!   reason: a run that could not measure (an overloaded harness, an unreachable target)
//!   says nothing about the target, so none of its expectations may read as a failure;
//! - `not_run` is `<skipped>` with its reason;
//! - a scenario without any expectation (it ended before its first flip) is one testcase
//!   for its verdict.
//!
//! Times are the report's durations (the scenario's, the flip's settle time); the renderer
//! reads no clock.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report as JunitReport, TestCase, TestCaseStatus, TestSuite,
};

use super::model::{ExpectationResult, FlipReport, Keyword, Report, ScenarioReport, Verdict};
use super::text::{measured, opt_ms};

/// Writes `report` as JUnit XML.
pub fn render(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let mut junit = JunitReport::new("flipcheck");
    let total_ms: f64 = report.scenarios.iter().map(|s| s.duration_ms).sum();
    junit.set_time(duration(total_ms));
    for s in &report.scenarios {
        junit.add_test_suite(suite(report, s));
    }
    junit.serialize(&mut *out).map_err(io::Error::other)
}

fn suite(report: &Report, s: &ScenarioReport) -> TestSuite {
    let mut suite = TestSuite::new(s.name.as_str());
    suite.set_time(duration(s.duration_ms));
    // What a reader needs to rerun it: which build, which target, which seed.
    suite.add_properties([
        Property::new("file", s.file.as_str()),
        Property::new("verdict", s.verdict.as_str()),
        Property::new(
            "target",
            format!("{} ({})", report.target.name, report.target.kind),
        ),
        Property::new("mode", report.mode.as_str()),
        Property::new("seed", report.seed.to_string()),
        Property::new("flipcheck_version", report.flipcheck_version.as_str()),
        Property::new("started_at", report.started_at.as_str()),
    ]);
    let stem = stem(&s.file);
    if s.expectations.is_empty() {
        suite.add_test_case(scenario_case(s, &stem));
    } else {
        suite.add_test_cases(s.expectations.iter().map(|e| expectation_case(s, &stem, e)));
    }
    suite
}

/// The scenario's file name without its extension: short, and what captures are named
/// after, so `flip-feature-code › flip 1 …` leads to `flip-feature-code.yaml`.
fn stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned())
}

fn expectation_case(s: &ScenarioReport, stem: &str, e: &ExpectationResult) -> TestCase {
    let flip = e.flip.and_then(|n| s.flips.iter().find(|f| f.index == n));
    let mut name = stem.to_string();
    if let Some(n) = e.flip {
        name.push_str(&format!(" › flip {n}"));
        if let Some(line) = e.line {
            name.push_str(&format!(" (line {line})"));
        }
    }
    name.push_str(&format!(" › {} {}", e.name, pretty_condition(&e.expected)));
    // A pass's detail only repeats the value.
    let why = if e.verdict == Verdict::Pass {
        "held"
    } else {
        e.detail.as_str()
    };
    let against = format!(
        "{}: measured {}, expected {} ({why})",
        e.name,
        measured_with_unit(e),
        e.expected,
    );
    let facts = flip.map_or_else(|| format!("{} ({})", s.name, s.file), |f| facts(s, f));
    let status = match (s.verdict, e.verdict) {
        (Verdict::Error, _) => {
            // The expectation's own verdict is kept in the text, but not as a failure.
            let own = format!("{against}; not judged: the scenario's verdict is error");
            non_success(
                NonSuccessKind::Error,
                scenario_reason(s),
                format!("{own}\n{facts}"),
            )
        }
        (Verdict::NotRun, _) => skipped(s),
        (_, Verdict::Pass) => TestCaseStatus::success(),
        (_, Verdict::Fail) => non_success(NonSuccessKind::Failure, against, facts),
        (_, Verdict::Error | Verdict::NotRun) => non_success(NonSuccessKind::Error, against, facts),
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(s.file.as_str());
    if let Some(t) = flip.and_then(|f| f.settle_ms) {
        case.set_time(duration(t));
    }
    with_file(case, s)
}

/// The one testcase of a scenario that has no expectation to show: it ended before its
/// first flip (a registration refused, the target unreachable) or never started.
fn scenario_case(s: &ScenarioReport, stem: &str) -> TestCase {
    let facts = format!("{} ({}): verdict {}", s.name, s.file, s.verdict);
    let status = match s.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => non_success(NonSuccessKind::Failure, scenario_reason(s), facts),
        Verdict::Error => non_success(NonSuccessKind::Error, scenario_reason(s), facts),
        Verdict::NotRun => skipped(s),
    };
    let mut case = TestCase::new(format!("{stem} › scenario"), status);
    case.set_classname(s.file.as_str());
    case.set_time(duration(s.duration_ms));
    with_file(case, s)
}

/// GitLab shows a testcase's `file` attribute beside it.
fn with_file(mut case: TestCase, s: &ScenarioReport) -> TestCase {
    case.extra.insert("file".into(), s.file.as_str().into());
    case
}

fn non_success(kind: NonSuccessKind, message: String, text: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_message(message).set_description(text);
    status
}

fn skipped(s: &ScenarioReport) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_message(scenario_reason(s));
    status
}

fn scenario_reason(s: &ScenarioReport) -> String {
    s.error
        .clone()
        .unwrap_or_else(|| format!("the scenario's verdict is {}", s.verdict))
}

/// What a reader needs to judge a flip without opening the JSON.
fn facts(s: &ScenarioReport, f: &FlipReport) -> String {
    let mut lines = vec![
        format!(
            "flip {} of {} ({}:{}): {} → {} by {}",
            f.index, s.name, s.file, f.line, f.from, f.to, f.method
        ),
        format!("outcome: {}", f.outcome),
        format!("reason: {}", f.reason),
    ];
    if let Some(r) = &f.refusal {
        lines.push(format!("refusal: {} {}", r.status, r.reason));
    }
    lines.extend([
        format!("customer gap: {}", with_ms(opt_ms(f.customer_gap_ms))),
        format!("customer dialog: {}", f.customer_dialog),
        format!("flip latency: {}", with_ms(opt_ms(f.flip_latency_ms))),
        format!("other audio: {} ms", opt_ms(Some(f.other_audio_ms))),
    ]);
    lines.join("\n")
}

fn with_ms(v: String) -> String {
    if v == "-" {
        "not measured".to_string()
    } else {
        format!("{v} ms")
    }
}

/// The measured value, with `ms` after the figures of `_ms` expectations.
fn measured_with_unit(e: &ExpectationResult) -> String {
    let m = measured(&e.measured);
    if e.name.ends_with("_ms") && e.measured.is_number() {
        format!("{m} ms")
    } else {
        m
    }
}

/// `<= 200` → `≤ 200`, `== moved` → `= moved`: names that read as a condition.
fn pretty_condition(expected: &str) -> String {
    expected
        .replace("<=", "≤")
        .replace(">=", "≥")
        .replace("==", "=")
}

fn duration(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_fixtures::{full_report, sample_report};

    fn xml(report: &Report) -> String {
        let mut out = Vec::new();
        render(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn junit_snapshot() {
        insta::assert_snapshot!(xml(&full_report()));
    }

    #[test]
    fn conditions_read_as_conditions() {
        assert_eq!(pretty_condition(">= 10, <= 300"), "≥ 10, ≤ 300");
        assert_eq!(pretty_condition("== same_dialog"), "= same_dialog");
        assert_eq!(
            stem("scenarios/checklist/flip-feature-code.yaml"),
            "flip-feature-code"
        );
    }

    /// Parsed back with a real XML parser: the structure CI systems read.
    #[test]
    fn one_testcase_per_expectation_per_flip_and_the_verdicts_as_junit_knows_them() {
        let report = full_report();
        let text = xml(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let suites: Vec<_> = root
            .children()
            .filter(|n| n.has_tag_name("testsuite"))
            .collect();
        assert_eq!(suites.len(), report.scenarios.len());
        for (suite, s) in suites.iter().zip(&report.scenarios) {
            assert_eq!(suite.attribute("name"), Some(s.name.as_str()));
            let cases: Vec<_> = suite
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .collect();
            assert_eq!(cases.len(), s.expectations.len().max(1), "{}", s.name);
            assert_eq!(
                suite.attribute("tests"),
                Some(cases.len().to_string().as_str())
            );
            for case in &cases {
                assert_eq!(case.attribute("classname"), Some(s.file.as_str()));
                let child = |tag| case.children().find(|n| n.has_tag_name(tag));
                match s.verdict {
                    Verdict::Error => {
                        let e = child("error").expect("an error, not a failure");
                        assert_eq!(e.attribute("message"), s.error.as_deref());
                        assert!(child("failure").is_none());
                    }
                    Verdict::NotRun => {
                        let skip = child("skipped").expect("skipped");
                        assert_eq!(skip.attribute("message"), s.error.as_deref());
                    }
                    Verdict::Pass | Verdict::Fail => assert!(child("error").is_none()),
                }
            }
        }
        // Every failed expectation is a failure carrying measured and expected values.
        let failures: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .collect();
        let failed = sample_report().scenarios[1]
            .expectations
            .iter()
            .filter(|e| e.verdict == Verdict::Fail)
            .count();
        assert_eq!(failures.len(), failed);
        let gap = failures
            .iter()
            .find(|f| {
                f.parent().and_then(|c| c.attribute("name"))
                    == Some("flip-twice › flip 1 (line 22) › customer_gap_ms ≤ 200")
            })
            .expect("the gap's failure, named after its flip");
        assert_eq!(
            gap.attribute("message"),
            Some(
                "customer_gap_ms: measured 1350.2 ms, expected <= 200 \
                 (1350.2 ms is above the maximum of 200 ms)"
            )
        );
        let facts = gap.text().unwrap();
        for want in [
            "outcome: moved",
            "customer gap: 1350.2 ms",
            "customer dialog: new_dialog",
            "flip latency: 182.4 ms",
        ] {
            assert!(facts.contains(want), "{want} in {facts}");
        }
        for f in &failures {
            let message = f.attribute("message").unwrap();
            assert!(
                message.contains("measured ") && message.contains("expected "),
                "{message}"
            );
            assert!(f.text().is_some_and(|t| t.contains("outcome: ")));
        }
        // Totals agree with the report.
        let count = |tag| doc.descendants().filter(|n| n.has_tag_name(tag)).count();
        assert_eq!(
            root.attribute("failures"),
            Some(count("failure").to_string().as_str())
        );
        let errors: usize = report
            .scenarios
            .iter()
            .filter(|s| s.verdict == Verdict::Error)
            .map(|s| s.expectations.len().max(1))
            .sum();
        assert_eq!(count("error"), errors);
        assert_eq!(root.attribute("errors"), Some(errors.to_string().as_str()));
        assert_eq!(count("skipped"), 1);
    }
}
