//! An IPv6 target end to end: `flipcheck pbx --listen [::1]:0` and a target file naming it
//! as `sip:[::1]:PORT`, over UDP and TCP. The run passes and its pcap holds the IPv6
//! packets that flowed — SIP over UDP, SIP in TCP segments, RTP — read back as raw IP.
//! (On a machine without IPv6 loopback the test says so and checks nothing.)

mod common;

use std::net::{Ipv6Addr, UdpSocket};
use std::path::Path;

const PASSWORD: &str = "v6-pw";
const CHECKLIST: &str = "scenarios/checklist/flip-feature-code.yaml";

fn ipv6_loopback() -> bool {
    let ok = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok();
    if !ok {
        eprintln!("skipped: this machine has no IPv6 loopback (::1)");
    }
    ok
}

/// Every packet of every pcap in `dir`: (IP version, IP protocol, payload after the
/// transport header).
fn packets(dir: &Path) -> Vec<(u8, u8, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.header().datalink, pcap_file::DataLink::RAW);
        while let Some(p) = reader.next_packet() {
            let p = p.unwrap().data;
            let version = p[0] >> 4;
            let (proto, l4) = match version {
                6 => (p[6], &p[40..]),
                _ => (p[9], &p[20..]),
            };
            let payload = match proto {
                17 => &l4[8..],
                _ => &l4[usize::from(l4[12] >> 4) * 4..],
            };
            out.push((version, proto, payload.to_vec()));
        }
    }
    out
}

#[test]
fn the_checklist_passes_against_an_ipv6_target_over_udp_and_tcp() {
    if !ipv6_loopback() {
        return;
    }
    let (_pbx, addr) = common::start_pbx_on("[::1]", PASSWORD, &[]);
    assert!(addr.starts_with("[::1]:"), "{addr}");
    for (param, proto) in [("", 17u8), (";transport=tcp", 6)] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("v6.yaml");
        std::fs::write(
            &target,
            format!(
                "kind: external\nname: v6 pbx\nregistrar: \"sip:{addr}{param}\"\n\
                 users: {{ alice: {{ username: alice, password_env: V6_PW }} }}\n\
                 customer: {{ username: customer, password_env: V6_PW }}\n"
            ),
        )
        .unwrap();
        let pcap = dir.path().join("pcap");
        let ran = common::run_flipcheck(
            &[
                "run",
                CHECKLIST,
                "--target",
                target.to_str().unwrap(),
                "--pcap",
                pcap.to_str().unwrap(),
            ],
            &[("V6_PW", PASSWORD)],
        );
        assert_eq!(ran.code, 0, "{param}: {}\n{}", ran.stdout, ran.stderr);
        let all = packets(&pcap);
        assert!(all.iter().all(|(v, _, _)| *v == 6), "{param}: only IPv6");
        let sip = |p: &(u8, u8, Vec<u8>)| p.1 == proto && p.2.starts_with(b"REGISTER sip:[::1]");
        assert!(
            all.iter().any(sip),
            "{param}: the REGISTER is in the capture"
        );
        let rtp = all
            .iter()
            .filter(|(_, pr, d)| *pr == 17 && d.first() == Some(&0x80));
        assert!(rtp.count() > 100, "{param}: the audio is in the capture");
    }
}
