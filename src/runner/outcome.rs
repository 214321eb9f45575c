//! A scenario run's outcome: the time bound every run gets, the simulated run, and the
//! scenario's report entry computed from its timeline.

use std::time::Duration;

use super::{Scene, TargetSetup};
use crate::core::Time;
use crate::measure::{harness_between, measure_flips, overload_words};
use crate::report::{ScenarioReport, SipFinding, Verdict, check_flip};
use crate::roles::Transport;
use crate::scenario::{DEFAULT_TIMEOUTS, Expectations, Plan, StepPlan, Timeouts};
use crate::sim;

/// Generous bound on a scenario's duration, so a stuck target can never hang a run: every
/// step's own limit (a flip's timeout plus the time it may take to settle after an
/// answer) and some slack.
pub fn time_limit(plan: &Plan) -> Duration {
    time_limit_with(plan, &DEFAULT_TIMEOUTS)
}

/// [`time_limit`] with a target profile's timeouts.
pub fn time_limit_with(plan: &Plan, timeouts: &Timeouts) -> Duration {
    let steps: Duration = plan
        .steps
        .iter()
        .map(|s| match s {
            StepPlan::Talk { duration, .. } => *duration,
            StepPlan::Flip {
                timeout, settle, ..
            } => {
                timeout.unwrap_or(timeouts.flip)
                    + *settle
                    + crate::measure::AUDIO_GRACE
                    + super::script::RELEASE_TIMEOUT
                    + Duration::from_secs(1)
            }
            StepPlan::Register { .. } => timeouts.register + Duration::from_secs(1),
            StepPlan::Call { .. } => timeouts.answer + Duration::from_secs(1),
            StepPlan::Hangup { .. } => Duration::from_secs(2),
        })
        .sum();
    steps + Duration::from_secs(10)
}

/// Runs a scenario in virtual time against the embedded PBX.
pub fn simulate(
    plan: &Plan,
    setup: &TargetSetup,
    seed: u64,
    capture: bool,
) -> std::io::Result<Scene> {
    simulate_with(plan, setup, seed, capture, &sim::SimOptions::default())
}

/// [`simulate`] with simulator options (e.g. an injected harness stall).
pub fn simulate_with(
    plan: &Plan,
    setup: &TargetSetup,
    seed: u64,
    capture: bool,
    options: &sim::SimOptions,
) -> std::io::Result<Scene> {
    let transport = setup.transport();
    simulate_in(plan, setup, transport, seed, capture, options)
}

/// [`simulate`] with every party's SIP over `transport` (see [`Scene::over`]).
pub fn simulate_over(
    plan: &Plan,
    setup: &TargetSetup,
    transport: Transport,
    seed: u64,
    capture: bool,
) -> std::io::Result<Scene> {
    let options = sim::SimOptions::default();
    simulate_in(plan, setup, transport, seed, capture, &options)
}

fn simulate_in(
    plan: &Plan,
    setup: &TargetSetup,
    transport: Transport,
    seed: u64,
    capture: bool,
    options: &sim::SimOptions,
) -> std::io::Result<Scene> {
    let mut addrs = sim::VirtualAddrs::new();
    let mut scene = Scene::over(plan, setup, transport, seed, &mut addrs)?;
    if capture {
        scene.capture = Some(Default::default());
    }
    let limit = Time::ZERO + time_limit(plan);
    let stats = sim::run_with(&mut scene, limit, options);
    if stats.hit_limit && scene.script.error.is_none() {
        let limit = humantime::format_duration(time_limit(plan));
        scene.script.error = Some(format!("did not finish within {limit} of virtual time"));
    }
    Ok(scene)
}

/// The effective expectations of the flip step at `line` (the plan merged them, with
/// `flip: moved` unless the file says otherwise).
fn expectations_at(plan: &Plan, line: usize) -> Expectations {
    plan.steps
        .iter()
        .find_map(|s| match s {
            StepPlan::Flip {
                expect, line: l, ..
            } if *l == line => Some(expect.clone()),
            _ => None,
        })
        .unwrap_or_else(|| Expectations {
            flip: Some(crate::report::Outcome::Moved),
            ..Expectations::default()
        })
}

/// Verdicts for one scenario, computed from its timeline and the embedded PBX's CDR (none
/// for an external target: see [`scenario_report_with`]).
pub fn scenario_report(plan: &Plan, scene: &Scene, duration_ms: f64) -> ScenarioReport {
    scenario_report_with(plan, scene, &scene.evidence(), duration_ms)
}

/// Verdicts for one scenario, computed from its timeline and `evidence` (the records an
/// external target wrote, read back from its files).
pub fn scenario_report_with(
    plan: &Plan,
    scene: &Scene,
    evidence: &crate::measure::Evidence,
    duration_ms: f64,
) -> ScenarioReport {
    let flips = measure_flips(&scene.timeline, evidence);
    let mut expectations = Vec::new();
    for flip in &flips {
        let mut results = check_flip(&expectations_at(plan, flip.line), flip);
        for r in results.iter_mut() {
            r.flip = Some(flip.index);
            r.line = Some(flip.line);
        }
        expectations.extend(results);
    }
    let mut error = scene.script.error.clone();
    // A harness that fell behind around a flip measured itself, not the target.
    let overloaded: Vec<String> = flips
        .iter()
        .filter_map(|f| {
            overload_words(&f.harness)
                .map(|why| format!("flip {} (line {}): {why}", f.index, f.line))
        })
        .collect();
    if error.is_none() && !overloaded.is_empty() {
        error = Some(format!(
            "the harness was overloaded around {}; its figures say nothing about the target",
            overloaded.join("; ")
        ));
    }
    let verdict = if error.is_some() {
        Verdict::Error
    } else if expectations.iter().any(|e| e.verdict == Verdict::Fail) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    ScenarioReport {
        name: plan.name.clone(),
        file: plan.file.display().to_string(),
        verdict,
        error,
        duration_ms: (duration_ms * 1000.0).round() / 1000.0,
        expectations,
        flips,
        harness: Some(harness_between(&scene.timeline, Time::ZERO, Time::NEVER)),
        sip_findings: sip_findings(scene),
    }
}

/// Findings of every simulated party, merged per peer and rule.
fn sip_findings(scene: &Scene) -> Vec<SipFinding> {
    let mut merged: Vec<SipFinding> = Vec::new();
    let parties = std::iter::once(&scene.customer).chain(scene.devices.iter());
    for f in parties.flat_map(|ua| ua.findings()) {
        let peer = f.peer.to_string();
        match merged
            .iter_mut()
            .find(|m| m.peer == peer && m.rule == f.rule)
        {
            Some(m) => m.count = m.count.saturating_add(f.count),
            None => merged.push(SipFinding {
                peer,
                rule: f.rule.clone(),
                detail: f.detail.clone(),
                count: f.count,
            }),
        }
    }
    merged
}
