//! SIPp (Debian's sip-tester) for the interop tests: one scenario of `fixtures/sipp/` run
//! from 127.0.0.1 against a server, one call each (`-m 1`), every wait bounded (SIPp's own
//! `-timeout`, and `Server::wait_bounded` for one running in the background).
//!
//! SIPp is installed by `.ci/run`. Without it the tests fail, unless FLIPCHECK_SKIP_SIPP=1
//! says on purpose that they may be skipped.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::process::{Command, Output};

pub const SKIP_ENV: &str = "FLIPCHECK_SKIP_SIPP";
/// PCMA audio SIPp ships, played by the customer.
pub const AUDIO_PCAP: &str = "/usr/share/sip-tester/g711a.pcap";
/// SIPp gives up a scenario after this many seconds (exit 1), whatever it waits for.
const SIPP_TIMEOUT_SECS: &str = "60";

pub fn available() -> bool {
    super::peer_available("sipp", "-v", "sip-tester", SKIP_ENV)
}

/// `sipp -sf fixtures/sipp/SCENARIO` for one call from 127.0.0.1, run in `dir` (where its
/// trace files go), with `args` (the server's address among them).
pub fn command(dir: &Path, scenario: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sipp");
    cmd.current_dir(dir)
        .arg("-sf")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/sipp")
                .join(scenario),
        )
        .args(["-m", "1", "-i", "127.0.0.1", "-nostdin"])
        .args(["-timeout", SIPP_TIMEOUT_SECS, "-timeout_error"])
        .args(args);
    cmd
}

pub fn expect_success(what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Registers `user` (digest auth with `password`) at `server`, with a Contact on
/// `contact_port` (where another SIPp of that user takes calls or sends from).
pub fn register(dir: &Path, server: &str, user: &str, password: &str, contact_port: u16) {
    let port = contact_port.to_string();
    let args = [
        "-s",
        user,
        "-au",
        user,
        "-ap",
        password,
        "-key",
        "contact_port",
        &port,
        server,
    ];
    let out = command(dir, "register.xml", &args)
        .output()
        .expect("run sipp");
    expect_success(&format!("register {user}"), &out);
}
