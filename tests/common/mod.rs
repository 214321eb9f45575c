//! Helpers shared by the binary-level tests: a standalone `flipcheck pbx` on an ephemeral
//! port that is killed when the test ends, and free loopback ports for peers.

#![allow(dead_code)] // each test binary uses a different subset

pub mod dns;
pub mod kamailio;
pub mod pki;
pub mod sipp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_flipcheck");

/// A child process killed (and reaped) when dropped, so no test leaves a server behind.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Stops the PBX as Ctrl-C would (asserting a clean exit) and returns the one call
    /// session its CDR file holds.
    pub fn stop_and_read_single_cdr(&mut self, cdr: &std::path::Path) -> serde_json::Value {
        assert!(
            self.interrupt().success(),
            "the PBX stops cleanly on Ctrl-C"
        );
        let text = std::fs::read_to_string(cdr).expect("CDR written");
        let mut lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("CDR line is JSON"))
            .collect();
        assert_eq!(lines.len(), 1, "one call session: {text}");
        lines.remove(0)
    }

    /// Waits up to `limit` for the process to end by itself; panics (and the process is
    /// killed when dropped) if it does not.
    pub fn wait_bounded(&mut self, what: &str, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().expect("poll a child process") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not end within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Asks the server to stop as Ctrl-C would, and waits for it.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        self.0.wait().expect("wait for the server")
    }
}

/// Starts `flipcheck pbx --listen 127.0.0.1:0 [extra]` and returns it with its SIP address.
pub fn start_pbx(password: &str, extra: &[&str]) -> (Server, String) {
    start_pbx_on("127.0.0.1", password, extra)
}

/// The same on another loopback address (`127.0.0.2`: a target that is not the harness's
/// own address).
pub fn start_pbx_on(ip: &str, password: &str, extra: &[&str]) -> (Server, String) {
    let listen = format!("{ip}:0");
    let args = [&["--listen", listen.as_str()], extra].concat();
    let (server, banner) = start_pbx_with(password, &args);
    let addr =
        banner_addr(&banner, "udp").unwrap_or_else(|| panic!("no address in banner: {banner}"));
    (server, addr)
}

/// Starts `flipcheck pbx ARGS` and returns it with the first line of its banner, which
/// names every listener (see [`banner_addr`]).
pub fn start_pbx_with(password: &str, args: &[&str]) -> (Server, String) {
    let (server, banner, _log) = start_pbx_logged(password, args);
    (server, banner)
}

/// What a `flipcheck pbx` wrote on stderr after its banner, line by line as it comes (its
/// event lines: `call answered: …`, `flip refused: …`; README, PBX).
#[derive(Clone, Default)]
pub struct PbxLog(Arc<Mutex<Vec<String>>>);

impl PbxLog {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The index of the first line from `from` on that contains `needle`, if any yet.
    pub fn find_from(&self, from: usize, needle: &str) -> Option<usize> {
        let lines = self.lines();
        (from..lines.len()).find(|&i| lines[i].contains(needle))
    }

    /// Everything so far, for an assertion's message.
    pub fn text(&self) -> String {
        format!("--- flipcheck pbx stderr ---\n{}", self.lines().join("\n"))
    }
}

/// [`start_pbx_with`], keeping what the PBX writes on stderr after its banner.
pub fn start_pbx_logged(password: &str, args: &[&str]) -> (Server, String, PbxLog) {
    let mut child = Command::new(BIN)
        .arg("pbx")
        .args(args)
        .env("FLIPCHECK_PBX_PASSWORD", password)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flipcheck pbx");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let banner = lines
        .next()
        .expect("the pbx prints its address")
        .expect("utf-8 banner");
    // Keep draining stderr so the server never blocks on a full pipe.
    let log = PbxLog::default();
    let keep = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            keep.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    });
    (Server(child), banner, log)
}

/// The address after `transport ` in the PBX's banner (`listening on udp A, tcp A, tls B`).
pub fn banner_addr(banner: &str, transport: &str) -> Option<String> {
    let after = banner.split(&format!(" {transport} ")).nth(1)?;
    let addr = after.split_whitespace().next()?.trim_end_matches(',');
    Some(addr.to_string())
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral port");
    socket.local_addr().expect("local address").port()
}

/// Whether an interop peer from Debian's packages is installed. Missing, the test fails
/// with the install line, unless `skip_env=1` says it may be skipped on purpose.
pub fn peer_available(binary: &str, probe_arg: &str, package: &str, skip_env: &str) -> bool {
    let found = Command::new(binary)
        .arg(probe_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found && std::env::var(skip_env).as_deref() != Ok("1") {
        panic!(
            "{binary} is not installed (apt-get install --no-install-recommends {package}), \
             and {skip_env}=1 is not set"
        );
    }
    found
}

/// How often a live run is tried when our own harness says it was too late to measure.
pub const OVERLOAD_ATTEMPTS: u32 = 4;

/// Whether a run ended in error because the harness itself fell behind (exit 2 and the
/// console's "harness was overloaded" line), not because of anything the target did.
pub fn harness_overloaded(code: i32, stdout: &str) -> bool {
    code == 2 && stdout.contains("the harness was overloaded")
}

/// What a finished `flipcheck` run left: exit code, stdout, stderr.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `flipcheck ARGS` with `env` set (and the PBX password variable removed), again
/// when our own harness reports itself overloaded — that says nothing about the target.
pub fn run_flipcheck(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let out = Command::new(BIN)
            .args(args)
            .env_remove("FLIPCHECK_PBX_PASSWORD")
            .envs(env.iter().copied())
            .output()
            .expect("run flipcheck");
        let ran = Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        if attempts < OVERLOAD_ATTEMPTS && harness_overloaded(ran.code, &ran.stdout) {
            continue;
        }
        return ran;
    }
}

/// `flipcheck ARGS` in the background (killed if dropped), its stdout and stderr going to
/// files in a folder, for a test that acts while the run goes on.
pub struct Running {
    pub child: Server,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// Starts `flipcheck ARGS` with `env` set (and the PBX password variable removed), its
/// output into `dir/NAME.out` and `dir/NAME.err`.
pub fn spawn_flipcheck(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
    let (stdout, stderr) = (
        dir.join(format!("{name}.out")),
        dir.join(format!("{name}.err")),
    );
    let child = Command::new(BIN)
        .args(args)
        .env_remove("FLIPCHECK_PBX_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("a stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("a stderr file"))
        .spawn()
        .expect("start flipcheck");
    Running {
        child: Server(child),
        stdout,
        stderr,
    }
}

impl Running {
    /// Waits up to `limit` for the run to end: its exit code and output.
    pub fn finish(mut self, limit: Duration) -> Ran {
        let status = self.child.wait_bounded("flipcheck", limit);
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        Ran {
            code: status.code().unwrap_or(-1),
            stdout: read(&self.stdout),
            stderr: read(&self.stderr),
        }
    }
}
