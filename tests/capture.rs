//! `--pcap` writes what really crossed the wire: real SIP (REGISTER with digest, INVITE,
//! 200, ACK, BYE) and RTP; and the gap the report gives agrees with the packet timing in
//! the capture (checked exactly in virtual time, where load cannot move packets).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use flipcheck::core::sip::{Message, SessionDescription};

use common::BIN;
const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";
const SECRET: &str = "pcap-test-Secret-9x";

struct Packet {
    at: Duration,
    dst_port: u16,
    payload: Vec<u8>,
}

fn read_pcap(path: &Path) -> Vec<Packet> {
    let file = std::fs::File::open(path).expect("pcap written");
    let mut reader = pcap_file::pcap::PcapReader::new(file).expect("pcap header");
    let mut out = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.expect("pcap record");
        assert!(p.data.len() >= 28, "IPv4 + UDP headers");
        assert_eq!(p.data[9], 17, "UDP");
        out.push(Packet {
            at: p.timestamp,
            dst_port: u16::from_be_bytes([p.data[22], p.data[23]]),
            payload: p.data[28..].to_vec(),
        });
    }
    out
}

/// SIP messages are text; RTP starts with version 2 (0x80).
fn sip(p: &Packet) -> Option<Message> {
    if p.payload.first().is_some_and(|b| b & 0xc0 == 0x80) {
        return None;
    }
    Message::parse(&p.payload).ok()
}

fn run_with_pcap(extra: &[&str]) -> (tempfile::TempDir, serde_json::Value, Vec<Packet>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let pcaps = dir.path().join("pcap");
    let mut args = vec![
        "run",
        SCENARIO,
        "--json",
        out.to_str().unwrap(),
        "--pcap",
        pcaps.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    // Our own harness may find itself too late to measure on a busy machine (exit 2,
    // "harness was overloaded"): that says nothing about the capture, so try again.
    let mut attempts = 0;
    let status = loop {
        attempts += 1;
        let status = Command::new(BIN)
            .args(&args)
            .env("FLIPCHECK_PBX_PASSWORD", SECRET)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&status.stdout);
        let code = status.status.code().unwrap_or(-1);
        if attempts < common::OVERLOAD_ATTEMPTS && common::harness_overloaded(code, &stdout) {
            continue;
        }
        break status;
    };
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let packets = read_pcap(&pcaps.join("flip-feature-code.pcap"));
    (dir, report, packets)
}

#[test]
fn live_capture_has_real_sip_and_rtp() {
    let (_dir, _report, packets) = run_with_pcap(&[]);
    let msgs: Vec<Message> = packets.iter().filter_map(sip).collect();
    let has = |pred: &dyn Fn(&Message) -> bool| msgs.iter().any(pred);
    assert!(has(&|m| m.method() == Some("REGISTER")
        && m.header("Authorization")
            .is_some_and(|a| a.starts_with("Digest"))));
    assert!(has(&|m| m.status() == Some(401)));
    assert!(has(
        &|m| m.method() == Some("INVITE") && m.header("Proxy-Authorization").is_some()
    ));
    assert!(has(
        &|m| m.status() == Some(200) && m.cseq().is_some_and(|c| c.method == "INVITE")
    ));
    assert!(has(&|m| m.method() == Some("ACK")));
    assert!(has(&|m| m.method() == Some("BYE")));
    assert!(has(&|m| m.request_uri().is_some_and(|u| u.contains("*11"))));
    let rtp = packets
        .iter()
        .filter(|p| p.payload.len() == 172 && p.payload[0] == 0x80)
        .count();
    assert!(rtp > 200, "RTP packets in the capture: {rtp}");
    let raw: Vec<u8> = packets.iter().flat_map(|p| p.payload.clone()).collect();
    assert!(
        !String::from_utf8_lossy(&raw).contains(SECRET),
        "no password in the capture"
    );
}

#[test]
fn sim_capture_gap_matches_the_report() {
    let (_dir, report, packets) = run_with_pcap(&["--sim", "--seed", "11"]);
    let msgs: Vec<(Duration, Message)> = packets
        .iter()
        .filter_map(|p| Some((p.at, sip(p)?)))
        .collect();
    // The customer's media port: the SDP of the INVITE it sent to alice.
    let invite = msgs
        .iter()
        .find(|(_, m)| {
            m.method() == Some("INVITE")
                && m.request_uri().is_some_and(|u| u.starts_with("sip:alice@"))
                && !m.body().is_empty()
        })
        .expect("customer INVITE");
    let sdp = SessionDescription::parse(&String::from_utf8_lossy(invite.1.body())).unwrap();
    let customer_port = sdp.rtp_address().unwrap().1;
    let flip_at = msgs
        .iter()
        .find(|(_, m)| {
            m.method() == Some("INVITE") && m.request_uri().is_some_and(|u| u.contains("*11"))
        })
        .unwrap()
        .0;
    let hangup_at = msgs
        .iter()
        .filter(|(_, m)| m.method() == Some("BYE"))
        .map(|(t, _)| *t)
        .max()
        .unwrap();
    let to_customer: Vec<Duration> = packets
        .iter()
        .filter(|p| p.dst_port == customer_port && p.payload.first() == Some(&0x80))
        .map(|p| p.at)
        .collect();
    let last_before = to_customer
        .iter()
        .rev()
        .find(|t| **t < flip_at)
        .copied()
        .unwrap();
    let mut longest = Duration::ZERO;
    let mut prev = last_before;
    for &t in to_customer
        .iter()
        .filter(|t| **t >= flip_at && **t < hangup_at)
    {
        longest = longest.max(t.saturating_sub(prev + Duration::from_millis(20)));
        prev = t;
    }
    let reported = report["scenarios"][0]["flips"][0]["customer_gap_ms"]
        .as_f64()
        .unwrap();
    let captured = longest.as_secs_f64() * 1000.0;
    assert!(
        (reported - captured).abs() <= 1.0,
        "report {reported} ms vs capture {captured} ms"
    );
}
