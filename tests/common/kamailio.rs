//! Debian's Kamailio 5.6 for the interop tests (tests/kamailio_interop.rs), with the
//! configuration in `fixtures/kamailio/`: started on 127.0.0.2 and a port free a moment
//! before, in the foreground with everything it writes (runtime dir, db_text tables, log) in
//! the test's temp dir, and stopped (its whole process group) when dropped, however the
//! test ends; and flipcheck target profiles for it.
//!
//! Kamailio is installed by `.ci/run`. Without it the tests fail, unless
//! FLIPCHECK_SKIP_KAMAILIO=1 says on purpose that they may be skipped.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs::File;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every account's password (filled into the `subscriber` table).
pub const PASSWORD: &str = "kamailio-interop-pw";
pub const SKIP_ENV: &str = "FLIPCHECK_SKIP_KAMAILIO";
/// The bound on Kamailio answering its first OPTIONS, and on it stopping.
const WAIT: Duration = Duration::from_secs(10);
/// Kamailio is stopped after this (coreutils `timeout`), even if this test process dies
/// without unwinding; every test here takes well under a minute.
const KAMAILIO_LIFETIME_SECS: &str = "300";

/// `kamailio` from PATH, else where Debian puts it (`/usr/sbin` is not on every PATH).
fn kamailio_binary() -> String {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("kamailio"))
            .find(|p| p.is_file())
    });
    on_path
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/kamailio"))
        .to_string_lossy()
        .into_owned()
}

fn kamailio_available() -> bool {
    super::peer_available(&kamailio_binary(), "-v", "kamailio", SKIP_ENV)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/kamailio")
        .join(name)
}

/// A UDP port on 127.0.0.2 that was free a moment ago.
fn free_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.2:0").expect("bind an ephemeral port on 127.0.0.2");
    socket.local_addr().expect("local address").port()
}

/// A Kamailio in the foreground under `timeout`, in its own process group. Dropped, the
/// group gets SIGTERM (Kamailio stops its children and exits), then SIGKILL if it is not
/// gone within [`WAIT`]; the group leader is reaped either way. (SIGKILL to Kamailio's main
/// process alone would leave its children running.)
pub struct Kamailio {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |sig: &str| {
            let _ = Command::new("kill")
                .args([sig, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever is left of the group (nothing, after a clean stop).
        signal("-KILL");
        let _ = self.child.wait();
    }
}

impl Kamailio {
    /// Starts Kamailio on 127.0.0.2 with `defines` (`-A NAME=VALUE`) and the accounts
    /// alice, bob and customer, all with [`PASSWORD`]; waits until it answers OPTIONS.
    /// `None` when Kamailio is missing and the skip is allowed.
    pub fn start(dir: &Path, defines: &[&str]) -> Option<Kamailio> {
        if !kamailio_available() {
            eprintln!("skipped: kamailio is not installed and {SKIP_ENV}=1");
            return None;
        }
        let db = dir.join("db");
        std::fs::create_dir_all(&db).expect("db_text folder");
        std::fs::copy(fixture("db/version"), db.join("version")).expect("version table");
        let subscribers = std::fs::read_to_string(fixture("db/subscriber"))
            .expect("subscriber table")
            .replace("{password}", PASSWORD);
        std::fs::write(db.join("subscriber"), subscribers).expect("write subscriber table");
        // A port free a moment ago can be taken before Kamailio binds it: try a few.
        let mut last_log = String::new();
        for _attempt in 0..3 {
            match Kamailio::spawn(dir, &db, free_port(), defines) {
                Ok(k) => return Some(k),
                Err(log) => last_log = log,
            }
        }
        panic!("kamailio did not start:\n{last_log}");
    }

    fn spawn(dir: &Path, db: &Path, port: u16, defines: &[&str]) -> Result<Kamailio, String> {
        use std::os::unix::process::CommandExt;
        let log = dir.join(format!("kamailio-{port}.log"));
        let out = File::create(&log).expect("kamailio log file");
        let err = out.try_clone().expect("kamailio log file");
        let mut cmd = Command::new("timeout");
        cmd.current_dir(dir)
            .args(["-s", "TERM", KAMAILIO_LIFETIME_SECS])
            .arg(kamailio_binary())
            .arg("-f")
            .arg(fixture("kamailio.cfg"))
            .args(["-DD", "-E", "-m", "16", "-M", "4", "-Y"])
            .arg(dir)
            .arg("-l")
            .arg(format!("udp:127.0.0.2:{port}"))
            .arg("-A")
            .arg(format!("DBURL=\"text://{}\"", db.display()));
        for define in defines {
            cmd.args(["-A", define]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("start kamailio");
        let mut kamailio = Kamailio { child, port, log };
        match kamailio.wait_ready() {
            Ok(()) => Ok(kamailio),
            Err(why) => Err(format!("{why}\n{}", kamailio.log())),
        }
    }

    /// OPTIONS until Kamailio answers, it exits, or [`WAIT`] passes.
    fn wait_ready(&mut self) -> Result<(), String> {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the readiness socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("read timeout");
        let local = socket.local_addr().expect("local address");
        let deadline = Instant::now() + WAIT;
        let mut n = 0u32;
        loop {
            n += 1;
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("kamailio exited ({status}) before answering"));
            }
            if Instant::now() > deadline {
                return Err(format!("kamailio did not answer OPTIONS within {WAIT:?}"));
            }
            let options = format!(
                "OPTIONS sip:127.0.0.2:{port} SIP/2.0\r\n\
                 Via: SIP/2.0/UDP {local};branch=z9hG4bK-ready-{n};rport\r\n\
                 Max-Forwards: 70\r\n\
                 From: <sip:ready@127.0.0.1>;tag=ready\r\n\
                 To: <sip:127.0.0.2:{port}>\r\n\
                 Call-ID: ready-{port}@127.0.0.1\r\n\
                 CSeq: {n} OPTIONS\r\n\
                 Content-Length: 0\r\n\r\n",
                port = self.port,
            );
            let _ = socket.send_to(options.as_bytes(), ("127.0.0.2", self.port));
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = socket.recv_from(&mut buf)
                && buf[..len].starts_with(b"SIP/2.0 200")
            {
                return Ok(());
            }
        }
    }

    pub fn registrar(&self) -> String {
        format!("sip:127.0.0.2:{}", self.port)
    }

    /// Everything Kamailio logged so far.
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!("--- kamailio log ---\n{log}")
    }

    /// An external target profile for this Kamailio; the customer's password comes from
    /// `customer_pw_env`.
    pub fn profile(&self, dir: &Path, name: &str, customer_pw_env: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "kind: external\nname: kamailio\nregistrar: {}\n\
                 users: {{ alice: {{ username: alice, password_env: KAM_PW }} }}\n\
                 customer: {{ username: customer, password_env: {customer_pw_env} }}\n\
                 flip: {{ feature_code: \"*11\" }}\n",
                self.registrar()
            ),
        )
        .expect("write the target profile");
        path
    }
}
