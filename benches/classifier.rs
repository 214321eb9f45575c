//! Per-packet costs of the media layer: classifying one 20 ms frame, receiving one PCMU
//! packet (parse, decode, classify, statistics), and producing one packet in the sender
//! (the per-stream cost of the pacer).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use flipcheck::core::Time;
use flipcheck::core::rtp::{
    AudioSource, Classifier, Codec, MediaReceiver, MediaSender, RtpHeader, Source, build_rtp,
};

fn frame(source: Source) -> Vec<i16> {
    let mut pcm = [0i16; 160];
    AudioSource::new(source).next_frame(&mut pcm);
    let mut bytes = Vec::new();
    Codec::Pcmu.encode(&pcm, &mut bytes);
    let mut out = Vec::new();
    Codec::Pcmu.decode(&bytes, &mut out);
    out
}

fn classify(c: &mut Criterion) {
    let classifier = Classifier::new();
    for (name, source) in [
        ("party", Source::Signature(3)),
        ("hold_music", Source::HoldMusic),
        ("silence", Source::Silence),
    ] {
        let pcm = frame(source);
        c.bench_function(&format!("classify_20ms/{name}"), |b| {
            b.iter(|| classifier.classify(black_box(&pcm)))
        });
    }
}

fn receive(c: &mut Criterion) {
    let mut pcm = [0i16; 160];
    AudioSource::new(Source::Signature(1)).next_frame(&mut pcm);
    let mut payload = Vec::new();
    Codec::Pcmu.encode(&pcm, &mut payload);
    let classifier = Arc::new(Classifier::new());
    let mut receiver = MediaReceiver::new(classifier);
    let mut seq: u16 = 0;
    let mut now = Time::ZERO;
    c.bench_function("receiver_handle_packet/pcmu", |b| {
        b.iter(|| {
            let header = RtpHeader {
                payload_type: 0,
                sequence: seq,
                timestamp: u32::from(seq).wrapping_mul(160),
                ssrc: 1,
                marker: false,
            };
            let packet = build_rtp(&header, &payload);
            seq = seq.wrapping_add(1);
            now += Duration::from_millis(20);
            receiver.handle_packet(now, black_box(&packet)).ok();
            // Keep the timeline from growing without bound over millions of iterations.
            if receiver.frames().len() > 10_000 {
                receiver.take_frames();
            }
        })
    });
}

fn send(c: &mut Criterion) {
    for (name, source) in [
        ("party", Source::Signature(0)),
        ("hold_music", Source::HoldMusic),
    ] {
        let mut sender = MediaSender::new(1, 0, 0, Codec::Pcmu, source, Time::ZERO);
        let mut now = Time::ZERO;
        let mut buf = Vec::with_capacity(200);
        c.bench_function(&format!("sender_handle_timeout/{name}"), |b| {
            b.iter(|| {
                buf.clear();
                let sent = sender.handle_timeout_into(black_box(now), &mut buf);
                now += Duration::from_millis(20);
                sent
            })
        });
        let mut sender = MediaSender::new(1, 0, 0, Codec::Pcmu, source, Time::ZERO);
        let mut now = Time::ZERO;
        c.bench_function(&format!("sender_handle_timeout_alloc/{name}"), |b| {
            b.iter(|| {
                let p = sender.handle_timeout(black_box(now));
                now += Duration::from_millis(20);
                p
            })
        });
    }
}

criterion_group!(benches, classify, receive, send);
criterion_main!(benches);
