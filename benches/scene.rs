//! What `flipcheck run` itself costs, on the code it runs.
//!
//! `scene/checklist`: the checklist's feature-code scenario (register, call, 2 s of talk,
//! a flip that settles, 2 s more, hang-up: about 5 s of calls, three parties, the embedded
//! PBX and its relay) in virtual time, from the scene's construction to its report.
//! Throughput is in datagrams delivered, so the figure is the cost of one datagram through
//! everything the product does with it: SIP transactions and dialogs, the relay, RTP
//! decoding and classification, the timeline, and the flip's measurement.
//!
//! `scene/measure`: only the measurement, a pure function over the recorded timeline.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flipcheck::core::Time;
use flipcheck::roles::pbx::PbxQuirks;
use flipcheck::runner::{self, Scene, TargetSetup};
use flipcheck::scenario::load_scenario;
use flipcheck::sim;

fn scene(c: &mut Criterion) {
    let plan = load_scenario(Path::new("scenarios/checklist/flip-feature-code.yaml"))
        .expect("checklist compiles");
    let setup = TargetSetup::Embedded {
        quirks: PbxQuirks::default(),
        password: "bench".into(),
    };
    let run = || {
        let mut addrs = sim::VirtualAddrs::new();
        let mut scene = Scene::new(&plan, &setup, 1, &mut addrs).expect("virtual addresses");
        let stats = sim::run(&mut scene, Time::ZERO + runner::time_limit(&plan));
        (scene, stats)
    };
    let (scene, stats) = run();
    let report = runner::scenario_report(&plan, &scene, 0.0);
    assert_eq!(report.flips.len(), 1);
    assert!(report.error.is_none());
    let mut group = c.benchmark_group("scene");
    group.throughput(Throughput::Elements(stats.datagrams));
    group.bench_function("checklist", |b| {
        b.iter(|| {
            let (scene, _) = run();
            runner::scenario_report(&plan, &scene, 0.0).flips.len()
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("measure", |b| {
        b.iter(|| runner::scenario_report(&plan, &scene, 0.0).flips.len())
    });
    group.finish();
}

criterion_group!(benches, scene);
criterion_main!(benches);
