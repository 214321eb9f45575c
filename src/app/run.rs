//! `flipcheck run`: scenarios in, a report out, an exit code from its verdicts.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::{Context, bail};

use super::outputs::Outputs;
use super::{EXIT_ERROR, target};
use crate::cli::RunArgs;
use crate::core::Time;
use crate::driver::{self, DriverStats, LiveAddrs};
use crate::report::Keyword;
use crate::report::{Report, ScenarioReport, Summary, TargetInfo, Verdict};
use crate::runner::{self, Scene, TargetLabels, TargetSetup};
use crate::scenario::{
    EmbeddedTarget, Plan, Target, collect_scenarios, load_scenario, load_target,
};

pub fn run(args: RunArgs) -> anyhow::Result<i32> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios/checklist")]
    } else {
        args.paths.clone()
    };
    let files = match collect_scenarios(&paths) {
        Ok(files) => files,
        // The default is relative to the current folder: say so to whoever runs the
        // binary from elsewhere.
        Err(d) if args.paths.is_empty() => {
            eprintln!(
                "{}",
                d.with_hint("the default; run from the flipcheck folder or give scenario paths")
            );
            return Ok(EXIT_ERROR);
        }
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
    if args.html.is_some() {
        bail!("--html is not implemented yet in this build");
    }
    let outputs = Outputs::new(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Where the registrar is (RFC 3263), once for the whole run, before the first call.
    let located = match (&target, args.sim) {
        (Target::External(t), false) => Some(super::reach::locate(
            t,
            &runtime,
            args.bind.or(t.local_address),
        )?),
        _ => None,
    };
    if let Some(l) = &located
        && std::io::stderr().is_terminal()
    {
        eprintln!("registrar: {}", l.how);
    }
    // Every scenario's user must have an account (and its password) before the first call
    // is placed: the fourth scenario's typo must not surface after three have run.
    let setups = plans
        .iter()
        .map(|plan| {
            target::setup(
                &target,
                located.as_ref(),
                &plan.user,
                usize::from(args.pool),
            )
            .with_context(|| plan.file.display().to_string())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Once per run: every scenario shares the target.
    if let Some(warning) = setups.iter().find_map(TargetSetup::insecure_warning) {
        eprintln!("{warning}");
    }
    // Before the first call is placed: a typo in an output path must not cost a whole run.
    outputs.check()?;
    check_pcap(&args)?;
    let seed = args.seed.unwrap_or_else(random_seed);
    let (kind, name) = match &target {
        Target::Embedded(_) => ("embedded", "flipcheck embedded PBX".to_string()),
        Target::External(t) => ("external", t.name.clone()),
    };
    let mut report = Report {
        flipcheck_version: env!("CARGO_PKG_VERSION").to_string(),
        target: TargetInfo {
            kind: kind.into(),
            name,
        },
        seed,
        started_at: rfc3339_now(),
        finished_at: String::new(),
        mode: if args.sim { "sim" } else { "live" }.into(),
        summary: Summary::default(),
        scenarios: Vec::new(),
    };
    let mut interrupted = false;
    let mut logged = 0;
    // Progress only where someone watches; logs and pipes get the report alone.
    let progress = std::io::stderr().is_terminal();
    let pcap_names = pcap_names(&plans.iter().map(|p| p.file.as_path()).collect::<Vec<_>>());
    for (i, plan) in plans.iter().enumerate() {
        if progress {
            eprintln!(
                "[{}/{}] {} ({})",
                i + 1,
                plans.len(),
                plan.name,
                plan.file.display()
            );
        }
        let scenario_seed = seed.wrapping_add(i as u64);
        let setup = &setups[i];
        let started = Instant::now();
        let epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let outcome = if args.sim {
            runner::simulate(plan, setup, scenario_seed, args.pcap.is_some())
                .map(|s| (s, None))
                .map_err(anyhow::Error::from)
        } else {
            let bind = bind_ip(&target, setup, args.bind)?;
            let labels = labels(&target, &plan.user, usize::from(args.pool));
            let timeouts = match &target {
                Target::External(t) => t.timeouts,
                Target::Embedded(_) => crate::scenario::DEFAULT_TIMEOUTS,
            };
            runtime.block_on(run_live(
                plan,
                setup,
                &labels,
                timeouts,
                bind,
                scenario_seed,
                args.pcap.is_some(),
            ))
        };
        let (scene, stats) =
            outcome.with_context(|| format!("{}: cannot start", plan.file.display()))?;
        interrupted |= stats.as_ref().is_some_and(|s| s.interrupted);
        let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        let duration_ms = if args.sim {
            scene.script.finished_at.map_or(0.0, Time::as_millis_f64)
        } else {
            wall_ms
        };
        let cdr_file = match &target {
            Target::External(t) => t.cdr.as_ref(),
            Target::Embedded(_) => None,
        };
        let mut scenario = match cdr_file.map(|f| super::cdr::read(f, &scene)) {
            Some(Ok(evidence)) => {
                runner::scenario_report_with(plan, &scene, &evidence, duration_ms)
            }
            Some(Err(why)) => {
                let mut s = runner::scenario_report(plan, &scene, duration_ms);
                for f in s.flips.iter_mut() {
                    f.not_checked.insert("analytics".into(), why.clone());
                }
                s
            }
            None => runner::scenario_report(plan, &scene, duration_ms),
        };
        if let (Some(h), Some(s)) = (scenario.harness.as_mut(), stats.as_ref()) {
            h.send_errors = s.send_errors;
        }
        if progress {
            let verdict = scenario.verdict.as_str();
            eprintln!("      {verdict} in {:.1} s", scenario.duration_ms / 1000.0);
        } else {
            // A CI log shows the run going, one plain line per scenario as it ends.
            eprintln!(
                "{}",
                crate::report::console::progress_line(i + 1, plans.len(), &scenario)
            );
            logged = i + 1;
        }
        report.scenarios.push(scenario);
        // After every scenario, so a run killed later still leaves what it measured.
        report.recompute_summary();
        outputs.write_files(&report)?;
        if let (Some(dir), Some(cap)) = (&args.pcap, &scene.capture) {
            write_pcap(&dir.join(&pcap_names[i]), cap, epoch)?;
        }
        if let Some(why) = &scene.script.unreachable {
            // The target did not answer at all: the other scenarios would each wait for it
            // in turn. They are reported at once, with the same reason.
            for plan in &plans[i + 1..] {
                let mut skipped = not_run(plan);
                skipped.verdict = Verdict::Error;
                skipped.error = Some(format!(
                    "not run: an earlier scenario could not reach the target: {why}"
                ));
                report.scenarios.push(skipped);
            }
            break;
        }
        if interrupted {
            // The rest never started: listed as such, so nobody reads them as passed.
            for plan in &plans[i + 1..] {
                report.scenarios.push(not_run(plan));
            }
            break;
        }
    }
    if !progress {
        // Those reported without running (unreachable target, Ctrl-C) get their line too.
        for (j, s) in report.scenarios.iter().enumerate().skip(logged) {
            eprintln!(
                "{}",
                crate::report::console::progress_line(j + 1, plans.len(), s)
            );
        }
    }
    report.finished_at = rfc3339_now();
    report.recompute_summary();
    // Also after Ctrl-C: the reports hold what was measured, and the scenarios never
    // started as `not_run`.
    outputs.finish(&report)?;
    if interrupted {
        eprintln!("interrupted: the report holds what was measured so far");
        return Ok(EXIT_ERROR);
    }
    Ok(report.exit_code())
}

/// The entry of a scenario the run never started.
fn not_run(plan: &Plan) -> ScenarioReport {
    ScenarioReport {
        name: plan.name.clone(),
        file: plan.file.display().to_string(),
        verdict: Verdict::NotRun,
        error: Some("not started: the run was interrupted before it".into()),
        duration_ms: 0.0,
        expectations: Vec::new(),
        flips: Vec::new(),
        harness: None,
        sip_findings: Vec::new(),
    }
}

/// One capture file name per scenario, unique within the run: the file's stem, or where two
/// scenarios share a stem (`a/flip.yaml`, `b/flip.yaml`) their paths joined with `-`.
fn pcap_names(files: &[&Path]) -> Vec<String> {
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "scenario".into())
    };
    let long = |p: &Path| {
        let mut parts: Vec<String> = p
            .with_extension("")
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s.to_string_lossy().to_string()),
                _ => None,
            })
            .collect();
        if parts.is_empty() {
            parts.push("scenario".into());
        }
        parts.join("-")
    };
    let stems: Vec<String> = files.iter().map(|p| stem(p)).collect();
    let mut names: Vec<String> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let shared = stems.iter().filter(|s| **s == stems[i]).count() > 1;
        let mut name = if shared { long(file) } else { stems[i].clone() };
        // The same file given twice: number the repeats.
        let base = name.clone();
        let mut n = 2;
        while names.contains(&format!("{name}.pcap")) {
            name = format!("{base}-{n}");
            n += 1;
        }
        names.push(format!("{name}.pcap"));
    }
    names
}

/// Writes a capture whole, or not at all: no half file left for Wireshark to choke on.
fn write_pcap(
    path: &Path,
    cap: &crate::capture::Capture,
    epoch: std::time::Duration,
) -> anyhow::Result<()> {
    let written = std::fs::File::create(path)
        .map_err(anyhow::Error::from)
        .and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            let left_out = cap.write_pcap(&mut out, epoch)?;
            if left_out > 0 {
                eprintln!(
                    "warning: {}: {left_out} packet(s) between an IPv4 and an IPv6 address left out",
                    path.display()
                );
            }
            // Flushed here, not on drop, where a failed write would go unnoticed.
            std::io::Write::flush(&mut out)?;
            Ok(())
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(path);
        return Err(e.context(format!("cannot write {}", path.display())));
    }
    Ok(())
}

/// Creates the `--pcap` folder before anything runs, so a wrong path fails first.
fn check_pcap(args: &RunArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.pcap {
        if dir.exists() && !dir.is_dir() {
            bail!("--pcap {}: is a file; give a folder", dir.display());
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--pcap {}: cannot create the folder", dir.display()))?;
    }
    Ok(())
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How messages name an external target and the variables its passwords come from.
fn labels(target: &Target, user: &str, pool: usize) -> TargetLabels {
    let Target::External(t) = target else {
        return TargetLabels::default();
    };
    let env = |a: Option<&crate::scenario::Account>| {
        a.map_or_else(
            || "the account's password_env".into(),
            |a| a.password_env.clone(),
        )
    };
    TargetLabels {
        target: format!("{} ({})", t.name, t.registrar),
        user_secret: env(t.users.get(user).and_then(|p| p.get(pool - 1))),
        customer_secret: env(t.customer.account.as_ref()),
    }
}

/// The local address the parties send from: `--bind`, else the target's `local_address:`,
/// else the one the OS routes toward the target (what a phone does). The embedded PBX is
/// on loopback.
fn bind_ip(target: &Target, setup: &TargetSetup, bind: Option<IpAddr>) -> anyhow::Result<IpAddr> {
    if let Some(ip) = bind {
        return Ok(ip);
    }
    match (target, setup) {
        (Target::External(t), TargetSetup::External { proxy, .. }) => match t.local_address {
            Some(ip) => Ok(ip),
            None => route_toward(*proxy)
                .with_context(|| format!("target `{}`: no route to {proxy}", t.name)),
        },
        _ => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

/// The source address the OS would use toward `peer`: a UDP socket "connected" to it (no
/// packet is sent) learns it from the routing table.
pub(super) fn route_toward(peer: std::net::SocketAddr) -> std::io::Result<IpAddr> {
    let any: std::net::SocketAddr = if peer.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(any)?;
    socket.connect(peer)?;
    Ok(socket.local_addr()?.ip())
}

async fn run_live(
    plan: &Plan,
    setup: &TargetSetup,
    labels: &TargetLabels,
    timeouts: crate::scenario::Timeouts,
    bind: IpAddr,
    seed: u64,
    capture: bool,
) -> anyhow::Result<(Scene, Option<DriverStats>)> {
    let mut addrs = LiveAddrs::new(bind);
    // On the wire every branch, tag and Call-ID must be new (RFC 3261 §8.1.1.7, §19.3): a
    // rerun with the same --seed must not look like a retransmission of the last run to a
    // target that still remembers it. Only simulated runs repeat them.
    let seed = seed ^ random_seed();
    let mut scene = Scene::new(plan, setup, seed, &mut addrs)
        .with_context(|| format!("cannot bind sockets on {bind}"))?;
    scene.labels = labels.clone();
    scene.script.set_timeouts(timeouts);
    if capture {
        scene.capture = Some(Default::default());
    }
    let limit = runner::time_limit_with(plan, &timeouts);
    let stats = driver::run(&mut scene, addrs.sockets, limit).await?;
    if stats.hit_limit && scene.script.error.is_none() {
        let limit = humantime::format_duration(limit);
        scene.script.error = Some(format!("did not finish within {limit}"));
    }
    Ok((scene, Some(stats)))
}

/// A seed when none is given: from the wall clock and the process id. Only here, at the
/// edge; the run records it so the same run can be repeated with `--seed`.
pub(super) fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_names_are_unique_per_scenario_path() {
        let files = [
            Path::new("scenarios/checklist/flip.yaml"),
            Path::new("../other/flip.yaml"),
            Path::new("scenarios/checklist/back.yaml"),
            Path::new("scenarios/checklist/back.yaml"),
            Path::new("/tmp/x/alone.yml"),
        ];
        assert_eq!(
            pcap_names(&files),
            [
                "scenarios-checklist-flip.pcap",
                "other-flip.pcap",
                "scenarios-checklist-back.pcap",
                "scenarios-checklist-back-2.pcap",
                "alone.pcap",
            ]
        );
    }
}
