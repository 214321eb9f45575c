//! The media pacer's per-stream cost, and virtual time's speed.
//!
//! `pacer/N`: one second of 20 ms packets for N streams, served the way one pacer per core
//! serves them: one loop sleeping to the earliest deadline ([`Pacer`]) and sending every
//! stream that is due. Throughput is packets per second of CPU; the cost per packet must
//! stay flat as N grows (the reason for one pacer per core instead of a timer task per
//! stream).
//!
//! This is the deadline queue load mode is built on (`core/pacer.rs`); `flipcheck run`
//! does not use it: a scenario's few parties are polled directly. What `run` itself costs
//! is measured in `benches/scene.rs`.

use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flipcheck::core::Time;
use flipcheck::core::pacer::Pacer;
use flipcheck::core::rtp::{Codec, MediaSender, Source};

/// N senders whose first packets are spread over one 20 ms interval, as calls are.
fn senders(n: usize) -> Vec<MediaSender> {
    (0..n)
        .map(|i| {
            let start = Time::from_micros((i as u64 * 20_000) / n as u64);
            let source = Source::Signature((i % 8) as u8);
            MediaSender::new(i as u32, 0, 0, Codec::Pcmu, source, start)
        })
        .collect()
}

/// One second of packets for every sender, served from the pacer's deadline queue.
fn one_second(mut senders: Vec<MediaSender>) -> usize {
    let mut pacer = Pacer::new();
    for (i, s) in senders.iter().enumerate() {
        pacer.schedule(i, s.poll_timeout());
    }
    let end = Time::ZERO + Duration::from_secs(1);
    let mut buf = Vec::with_capacity(256);
    let mut sent = 0usize;
    while pacer.next_deadline() < end {
        let now = pacer.next_deadline();
        while let Some((i, _deadline)) = pacer.pop_due(now) {
            buf.clear();
            if senders[i].handle_timeout_into(now, &mut buf) {
                sent += 1;
            }
            pacer.schedule(i, senders[i].poll_timeout());
        }
    }
    sent
}

fn pacer(c: &mut Criterion) {
    let mut group = c.benchmark_group("pacer");
    for n in [100usize, 1000, 5000] {
        group.throughput(Throughput::Elements((n * 50) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_batched(|| senders(n), one_second, BatchSize::LargeInput)
        });
    }
    group.finish();
    assert_eq!(one_second(senders(100)), 100 * 50);
}

criterion_group!(benches, pacer);
criterion_main!(benches);
