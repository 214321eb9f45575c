//! Interop with a peer nobody here wrote: SIPp (Debian's sip-tester) registers with digest
//! auth as `alice` and as `customer` to a standalone `flipcheck pbx`; the SIPp customer
//! calls alice through it, the SIPp alice answers and echoes RTP, and both end with a clean
//! BYE. The PBX's CDR proves RTP crossed its relay in both directions.
//!
//! SIPp is installed by `.ci/run`. Without it this test fails, unless FLIPCHECK_SKIP_SIPP=1
//! says on purpose that it may be skipped.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "sipp-interop-pw";
const AUDIO_PCAP: &str = "/usr/share/sip-tester/g711a.pcap";

fn sipp_available() -> bool {
    common::peer_available("sipp", "-v", "sip-tester", "FLIPCHECK_SKIP_SIPP")
}

fn sipp(dir: &Path, scenario: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sipp");
    cmd.current_dir(dir)
        .arg("-sf")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/sipp")
                .join(scenario),
        )
        .args([
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-nostdin",
            "-timeout",
            "30",
            "-timeout_error",
        ])
        .args(args);
    cmd
}

fn expect_success(what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn register(dir: &Path, pbx: &str, user: &str, contact_port: u16) {
    let port = contact_port.to_string();
    let out = sipp(
        dir,
        "register.xml",
        &[
            "-s",
            user,
            "-au",
            user,
            "-ap",
            PASSWORD,
            "-key",
            "contact_port",
            &port,
            pbx,
        ],
    )
    .output()
    .expect("run sipp");
    expect_success(&format!("register {user}"), &out);
}

#[test]
fn sipp_customer_calls_sipp_alice_through_the_pbx() {
    if !sipp_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cdr = dir.path().join("cdr.jsonl");
    let (mut server, pbx) = common::start_pbx(PASSWORD, &["--cdr", cdr.to_str().unwrap()]);
    let (alice_port, customer_port) = (common::free_udp_port(), common::free_udp_port());
    let (alice_media, customer_media) = (common::free_udp_port(), common::free_udp_port());

    let alice = sipp(
        dir.path(),
        "alice_uas.xml",
        &[
            "-p",
            &alice_port.to_string(),
            "-mp",
            &alice_media.to_string(),
            "-rtp_echo",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start SIPp alice");
    let alice = common::Server(alice);
    register(dir.path(), &pbx, "alice", alice_port);
    register(dir.path(), &pbx, "customer", customer_port);

    let customer = sipp(
        dir.path(),
        "customer_uac.xml",
        &[
            "-s",
            "alice",
            "-au",
            "customer",
            "-ap",
            PASSWORD,
            "-key",
            "audio_pcap",
            AUDIO_PCAP,
            "-p",
            &customer_port.to_string(),
            "-mp",
            &customer_media.to_string(),
            &pbx,
        ],
    )
    .output()
    .expect("run SIPp customer");
    expect_success("SIPp customer", &customer);

    // alice's SIPp ends by itself after answering the BYE; bounded wait, never a hang.
    let mut alice = alice;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = alice.0.try_wait().expect("poll SIPp alice") {
            break status;
        }
        assert!(Instant::now() < deadline, "SIPp alice did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "SIPp alice exit {status:?}");

    let session = &server.stop_and_read_single_cdr(&cdr);
    assert_eq!(session["from"], "customer");
    assert_eq!(session["to"], "alice");
    assert_eq!(session["segments"].as_array().unwrap().len(), 1);
    assert!(
        session["rtp_to_device"].as_u64().unwrap() > 10,
        "customer → alice RTP: {session}"
    );
    assert!(
        session["rtp_to_customer"].as_u64().unwrap() > 10,
        "alice → customer RTP: {session}"
    );
}
