//! A real DNS server for tests: Debian's dnsmasq on loopback, one per test with the
//! records that test needs, under the test-only zone `flipcheck.test`.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const DNSMASQ: &str = "/usr/sbin/dnsmasq";
pub const SKIP_ENV: &str = "FLIPCHECK_SKIP_DNS";
pub const ZONE: &str = "flipcheck.test";

/// Whether dnsmasq is installed. Missing, the test fails with the install line, unless
/// `FLIPCHECK_SKIP_DNS=1` says it may be skipped on purpose (as `peer_available` does for
/// the interop peers in `tests/common`).
pub fn dnsmasq_available() -> bool {
    let found = Command::new(DNSMASQ)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found && std::env::var(SKIP_ENV).as_deref() != Ok("1") {
        panic!(
            "{DNSMASQ} is not installed (apt-get install --no-install-recommends dnsmasq-base), \
             and {SKIP_ENV}=1 is not set"
        );
    }
    found
}

/// A dnsmasq serving only the given records, killed (and reaped) when dropped.
pub struct Dnsmasq {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dnsmasq {
    /// Starts dnsmasq on 127.0.0.1 and a free port with `records` (dnsmasq options such
    /// as `--srv-host=…`); `None` when dnsmasq is missing and the skip is allowed.
    pub fn start(records: &[String]) -> Option<Dnsmasq> {
        Dnsmasq::start_with(records, true)
    }

    /// As [`Dnsmasq::start`], but without `--local` for the zone, as labs often run it:
    /// then dnsmasq answers REFUSED for any record type it holds none of (no upstream).
    pub fn start_refusing_the_rest(records: &[String]) -> Option<Dnsmasq> {
        Dnsmasq::start_with(records, false)
    }

    fn start_with(records: &[String], local: bool) -> Option<Dnsmasq> {
        if !dnsmasq_available() {
            eprintln!("skipped: {DNSMASQ} is not installed and {SKIP_ENV}=1");
            return None;
        }
        // A free port can be taken between our check and dnsmasq's bind: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let addr = free_port();
            match Dnsmasq::spawn(addr, records, local) {
                Ok(d) => return Some(d),
                Err(e) => last_error = e,
            }
        }
        panic!("dnsmasq did not start: {last_error}");
    }

    fn spawn(addr: SocketAddr, records: &[String], local: bool) -> Result<Dnsmasq, String> {
        let mut command = Command::new(DNSMASQ);
        command
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--pid-file",
                "--bind-interfaces",
                "--log-facility=-",
                "--log-queries",
            ])
            .arg(format!("--listen-address={}", addr.ip()))
            .arg(format!("--port={}", addr.port()));
        if local {
            // Answer from the records below only: NXDOMAIN or no data for anything else in
            // the zone, instead of REFUSED for want of an upstream server.
            command.arg(format!("--local=/{ZONE}/"));
        }
        let mut child = command
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn {DNSMASQ}: {e}"))?;
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(mut stderr) = child.stderr.take() {
            let log = log.clone();
            // Keep draining so dnsmasq never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut log) = log.lock() {
                        log.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        let mut d = Dnsmasq { child, addr, log };
        // Ready once it accepts TCP on its port (it opens UDP and TCP together).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = d.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50));
                return Err(format!("dnsmasq exited ({status}): {}", d.log()));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(d);
            }
            if Instant::now() > deadline {
                return Err(format!("dnsmasq not listening on {addr}: {}", d.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 a moment ago.
pub fn free_port() -> SocketAddr {
    loop {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an ephemeral port");
        let addr = udp.local_addr().expect("local address");
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
}

pub fn srv(service: &str, target: &str, port: u16, priority: u16, weight: u16) -> String {
    format!("--srv-host={service}.{ZONE},{target}.{ZONE},{port},{priority},{weight}")
}

pub fn naptr(order: u16, pref: u16, service: &str, replacement: &str) -> String {
    format!("--naptr-record={ZONE},{order},{pref},S,{service},,{replacement}.{ZONE}")
}

pub fn host(name: &str, addrs: &str) -> String {
    format!("--host-record={name}.{ZONE},{addrs}")
}
