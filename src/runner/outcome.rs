//! A scenario run's outcome: the time bound every run gets, the simulated run, and the
//! scenario's report entry computed from what its script measured.

use std::time::Duration;

use super::{Scene, TargetSetup};
use crate::core::Time;
use crate::report::{ScenarioReport, SipFinding, Verdict, check_flip};
use crate::scenario::{Plan, StepPlan};
use crate::sim;

/// Generous bound on a scenario's duration, so a stuck target can never hang a run.
pub fn time_limit(plan: &Plan) -> Duration {
    let steps: Duration = plan
        .steps
        .iter()
        .map(|s| match s {
            StepPlan::Talk { duration, .. } => *duration,
            _ => Duration::from_secs(25),
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
    let mut addrs = sim::VirtualAddrs::new();
    let mut scene = Scene::new(plan, setup, seed, &mut addrs)?;
    if capture {
        scene.capture = Some(Default::default());
    }
    let limit = Time::ZERO + time_limit(plan);
    let stats = sim::run(&mut scene, limit);
    if stats.hit_limit && scene.script.error.is_none() {
        scene.script.error = Some(format!(
            "did not finish within {:?} of virtual time",
            time_limit(plan)
        ));
    }
    Ok(scene)
}

/// Verdicts for one scenario, from what its script measured.
pub fn scenario_report(plan: &Plan, scene: &Scene, duration_ms: f64) -> ScenarioReport {
    let mut expectations = Vec::new();
    let mut flips = Vec::new();
    for (flip, expect) in &scene.script.flips {
        expectations.extend(check_flip(expect, flip));
        flips.push(flip.clone());
    }
    let error = scene.script.error.clone();
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
        pacer: None,
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
