//! Interop with a peer nobody here wrote: SIPp (Debian's sip-tester) registers with digest
//! auth as `alice` and as `customer` to a standalone `flipcheck pbx`; the SIPp customer
//! calls alice through it, the SIPp alice answers and echoes RTP, and both end with a clean
//! BYE. The PBX's CDR proves RTP crossed its relay in both directions.
//!
//! How SIPp is run: `tests/common/sipp.rs` (needs `sipp`; FLIPCHECK_SKIP_SIPP=1 skips).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::sipp;

const PASSWORD: &str = "sipp-interop-pw";

#[test]
fn sipp_customer_calls_sipp_alice_through_the_pbx() {
    if !sipp::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cdr = dir.path().join("cdr.jsonl");
    let (mut server, pbx) = common::start_pbx(PASSWORD, &["--cdr", cdr.to_str().unwrap()]);
    let (alice_port, customer_port) = (common::free_udp_port(), common::free_udp_port());
    let (alice_media, customer_media) = (common::free_udp_port(), common::free_udp_port());

    let alice = sipp::command(
        dir.path(),
        "device_uas.xml",
        &[
            "-s",
            "alice",
            "-p",
            &alice_port.to_string(),
            "-mp",
            &alice_media.to_string(),
            "-rtp_echo",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start SIPp alice");
    let mut alice = common::Server(alice);
    sipp::register(dir.path(), &pbx, "alice", PASSWORD, alice_port);
    sipp::register(dir.path(), &pbx, "customer", PASSWORD, customer_port);

    let customer = sipp::command(
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
            sipp::AUDIO_PCAP,
            "-d",
            "3000",
            "-p",
            &customer_port.to_string(),
            "-mp",
            &customer_media.to_string(),
            &pbx,
        ],
    )
    .output()
    .expect("run SIPp customer");
    sipp::expect_success("SIPp customer", &customer);

    // alice's SIPp ends by itself after answering the BYE; bounded wait, never a hang.
    let status = alice.wait_bounded("SIPp alice", Duration::from_secs(20));
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
