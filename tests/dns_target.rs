//! A target named by a host name, located through SRV records (RFC 3263) served by a real
//! DNS server the test starts on loopback (dnsmasq): the checklist's flip passes against
//! a standalone `flipcheck pbx` on 127.0.0.2, and when the first SRV target does not
//! answer, the next one is used.

mod common;

use std::process::Command;

use common::dns::{Dnsmasq, ZONE, host, srv};

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

fn profile(dns: std::net::SocketAddr) -> String {
    format!(
        "kind: external\nname: pbx by SRV\nregistrar: sip:pbx.{ZONE}\ndns: {dns}\n\
         users: {{ alice: {{ username: alice, password_env: DNS_PW }} }}\n\
         customer: {{ username: customer, password_env: DNS_PW }}\n"
    )
}

fn run(target: &std::path::Path, out: &std::path::Path) -> (i32, String, String) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let got = Command::new(common::BIN)
            .args(["run", SCENARIO, "--target"])
            .arg(target)
            .arg("--json")
            .arg(out)
            .env("DNS_PW", "dns-pw")
            .output()
            .expect("run flipcheck");
        let code = got.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&got.stdout).into_owned();
        if attempts < common::OVERLOAD_ATTEMPTS && common::harness_overloaded(code, &stdout) {
            continue;
        }
        return (
            code,
            stdout,
            String::from_utf8_lossy(&got.stderr).into_owned(),
        );
    }
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn a_host_name_located_by_srv_passes() {
    let (_pbx, addr) = common::start_pbx_on("127.0.0.2", "dns-pw", &[]);
    let records = [
        srv("_sip._udp.pbx", "sip1", port_of(&addr), 10, 0),
        host("sip1", "127.0.0.2"),
    ];
    let Some(dns) = Dnsmasq::start(&records) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("srv.yaml");
    std::fs::write(&target, profile(dns.addr)).unwrap();
    let out = dir.path().join("out.json");
    let (code, stdout, stderr) = run(&target, &out);
    assert_eq!(code, 0, "{stdout}{stderr}\ndnsmasq: {}", dns.log());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["scenarios"][0]["flips"][0]["outcome"], "moved");
}

#[test]
fn the_next_srv_target_is_used_when_the_first_does_not_answer() {
    let (_pbx, addr) = common::start_pbx_on("127.0.0.2", "dns-pw", &[]);
    let dead = common::free_udp_port();
    let records = [
        // Priority 10 first: nothing listens there.
        srv("_sip._udp.pbx", "down", dead, 10, 0),
        srv("_sip._udp.pbx", "up", port_of(&addr), 20, 0),
        host("down", "127.0.0.3"),
        host("up", "127.0.0.2"),
    ];
    let Some(dns) = Dnsmasq::start(&records) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("srv.yaml");
    std::fs::write(&target, profile(dns.addr)).unwrap();
    let out = dir.path().join("out.json");
    let (code, stdout, stderr) = run(&target, &out);
    assert_eq!(code, 0, "{stdout}{stderr}\ndnsmasq: {}", dns.log());
    // `probe` says which server it used and which did not answer.
    let probe = Command::new(common::BIN)
        .args(["probe", "--target"])
        .arg(&target)
        .env("DNS_PW", "dns-pw")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(
        text.contains(&format!(
            "registrar: up.{ZONE} → {addr} (UDP) after no answer from 127.0.0.3:{dead} (UDP)"
        )),
        "{text}"
    );
    assert_eq!(probe.status.code(), Some(0), "{text}");
}
