//! `flipcheck run`: scenarios in, a report out, an exit code from its verdicts.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};

use super::{EXIT_ERROR, target};
use crate::cli::RunArgs;
use crate::core::Time;
use crate::driver::{self, LiveAddrs};
use crate::report::{self, Report, ScenarioReport, Summary, TargetInfo, Verdict, check_flip};
use crate::runner::{Scene, TargetSetup};
use crate::scenario::{EmbeddedTarget, Plan, StepPlan, Target, collect_scenarios, load_scenario, load_target};
use crate::sim;

pub fn run(args: RunArgs) -> anyhow::Result<i32> {
    let paths = if args.paths.is_empty() { vec![PathBuf::from("scenarios/checklist")] } else { args.paths.clone() };
    let files = match collect_scenarios(&paths) {
        Ok(files) => files,
        Err(d) => {
            eprintln!("{d}");
            return Ok(EXIT_ERROR);
        }
    };
    if files.is_empty() {
        bail!("no scenario files (*.yaml) in {}", display_paths(&paths));
    }
    let mut plans = Vec::new();
    let mut bad = 0;
    for file in &files {
        match load_scenario(file) {
            Ok(plan) => plans.push(plan),
            Err(diags) => {
                bad += diags.len();
                diags.iter().for_each(|d| eprintln!("{d}"));
            }
        }
    }
    if bad > 0 {
        return Ok(EXIT_ERROR);
    }
    let target = match &args.target {
        Some(path) => match load_target(path) {
            Ok(t) => t,
            Err(diags) => {
                diags.iter().for_each(|d| eprintln!("{d}"));
                return Ok(EXIT_ERROR);
            }
        },
        None => Target::Embedded(EmbeddedTarget::default()),
    };
    if args.sim && matches!(target, Target::External(_)) {
        bail!("--sim runs against the embedded PBX only; drop --sim to test an external target");
    }
    for unsupported in [("--junit", &args.junit), ("--html", &args.html), ("--markdown", &args.markdown), ("--pcap", &args.pcap)] {
        if unsupported.1.is_some() {
            bail!("{} is not implemented yet in this build", unsupported.0);
        }
    }
    let seed = args.seed.unwrap_or_else(random_seed);
    let (kind, name) = match &target {
        Target::Embedded(_) => ("embedded", "flipcheck embedded PBX".to_string()),
        Target::External(t) => ("external", t.name.clone()),
    };
    let mut report = Report {
        flipcheck_version: env!("CARGO_PKG_VERSION").to_string(),
        target: TargetInfo { kind: kind.into(), name },
        seed,
        started_at: rfc3339_now(),
        finished_at: String::new(),
        mode: if args.sim { "sim" } else { "live" }.into(),
        summary: Summary::default(),
        scenarios: Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut interrupted = false;
    for (i, plan) in plans.iter().enumerate() {
        let scenario_seed = seed.wrapping_add(i as u64);
        let setup = target::setup(&target, &plan.user)?;
        let started = Instant::now();
        let outcome = if args.sim {
            run_sim(plan, &setup, scenario_seed)
        } else {
            runtime.block_on(run_live(plan, &setup, scenario_seed))
        };
        let (scene, was_interrupted) = outcome.with_context(|| format!("{}: cannot start", plan.file.display()))?;
        interrupted |= was_interrupted;
        let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        let duration_ms = if args.sim { scene.script.finished_at.map_or(0.0, Time::as_millis_f64) } else { wall_ms };
        report.scenarios.push(scenario_report(plan, &scene, duration_ms));
        if interrupted {
            break;
        }
    }
    report.finished_at = rfc3339_now();
    report.recompute_summary();
    if let Some(path) = &args.json {
        let mut file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        report::json::render(&report, &mut file)?;
    }
    report::console::render(&report, &mut std::io::stdout().lock())?;
    if interrupted {
        eprintln!("interrupted: the report holds what was measured so far");
        return Ok(EXIT_ERROR);
    }
    Ok(report.exit_code())
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Generous bound on a scenario's duration, so a stuck target can never hang a run.
fn time_limit(plan: &Plan) -> Duration {
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

fn run_sim(plan: &Plan, setup: &TargetSetup, seed: u64) -> anyhow::Result<(Scene, bool)> {
    let mut addrs = sim::VirtualAddrs::new();
    let mut scene = Scene::new(plan, setup, seed, &mut addrs)?;
    let limit = Time::ZERO + time_limit(plan);
    let stats = sim::run(&mut scene, limit);
    if stats.hit_limit && scene.script.error.is_none() {
        scene.script.error = Some(format!("did not finish within {:?} of virtual time", time_limit(plan)));
    }
    Ok((scene, false))
}

async fn run_live(plan: &Plan, setup: &TargetSetup, seed: u64) -> anyhow::Result<(Scene, bool)> {
    let mut addrs = LiveAddrs::new(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut scene = Scene::new(plan, setup, seed, &mut addrs).context("cannot bind loopback sockets")?;
    let stats = driver::run(&mut scene, addrs.sockets, time_limit(plan)).await?;
    if stats.hit_limit && scene.script.error.is_none() {
        scene.script.error = Some(format!("did not finish within {:?}", time_limit(plan)));
    }
    Ok((scene, stats.interrupted))
}

/// Verdicts for one scenario, from what its script measured.
fn scenario_report(plan: &Plan, scene: &Scene, duration_ms: f64) -> ScenarioReport {
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
    }
}

/// A seed when none is given: from the wall clock and the process id. Only here, at the
/// edge; the run records it so the same run can be repeated with `--seed`.
pub(super) fn random_seed() -> u64 {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
