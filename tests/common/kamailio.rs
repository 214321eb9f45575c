//! Debian's Kamailio 5.6 for the interop tests (tests/kamailio_interop.rs), with the
//! configuration in `fixtures/kamailio/`: started on 127.0.0.2, serving UDP and TCP on a
//! port free a moment before and TLS on another (with a certificate from a CA made for
//! it), in the foreground with everything it writes (runtime dir, db_text tables, TLS
//! files, log) in the test's temp dir, and stopped (its whole process group) when dropped,
//! however the test ends; and flipcheck target profiles for it, over each transport.
//!
//! Kamailio and its TLS module are installed by `.ci/run`. Without them the tests fail,
//! unless FLIPCHECK_SKIP_KAMAILIO=1 says on purpose that they may be skipped.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs::File;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::pki::{Pki, pki};

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

/// Kamailio, and its TLS module (`tls.so`, in Debian's kamailio-tls-modules, under
/// /usr/lib/MULTIARCH/kamailio/modules): every Kamailio here listens on TLS too.
fn kamailio_available() -> bool {
    if !super::peer_available(&kamailio_binary(), "-v", "kamailio", SKIP_ENV) {
        return false;
    }
    let tls = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .any(|arch| arch.path().join("kamailio/modules/tls.so").is_file());
    if !tls && std::env::var(SKIP_ENV).as_deref() != Ok("1") {
        panic!(
            "Kamailio's tls.so is not installed (apt-get install --no-install-recommends \
             kamailio-tls-modules), and {SKIP_ENV}=1 is not set"
        );
    }
    tls
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/kamailio")
        .join(name)
}

/// Ports on 127.0.0.2 that were free a moment ago: one for both UDP and TCP (SIP's port,
/// RFC 3261 §18.2.1), and another for TLS.
fn free_ports() -> (u16, u16) {
    for _attempt in 0..20 {
        let udp = UdpSocket::bind("127.0.0.2:0").expect("bind an ephemeral port on 127.0.0.2");
        let port = udp.local_addr().expect("local address").port();
        // Someone may hold that port for TCP only: draw another.
        let Ok(_tcp) = TcpListener::bind(("127.0.0.2", port)) else {
            continue;
        };
        let tls = TcpListener::bind("127.0.0.2:0").expect("bind an ephemeral TCP port");
        return (port, tls.local_addr().expect("local address").port());
    }
    panic!("no port on 127.0.0.2 free for both UDP and TCP in 20 draws");
}

/// How flipcheck's parties reach Kamailio: the target profile's `registrar:`.
#[derive(Clone, Copy, Debug)]
pub enum Over {
    Udp,
    Tcp,
    /// `sip:…;transport=tls`.
    Tls,
    /// `sips:…`: TLS, and SIPS URIs in every request and Contact.
    Sips,
}

impl Over {
    /// The transport as Kamailio's `$pr` names it in its log.
    pub fn proto(self) -> &'static str {
        match self {
            Over::Udp => "udp",
            Over::Tcp => "tcp",
            Over::Tls | Over::Sips => "tls",
        }
    }
}

/// A Kamailio in the foreground under `timeout`, in its own process group. Dropped, the
/// group gets SIGTERM (Kamailio stops its children and exits), then SIGKILL if it is not
/// gone within [`WAIT`]; the group leader is reaped either way. (SIGKILL to Kamailio's main
/// process alone would leave its children running.)
pub struct Kamailio {
    child: Child,
    /// UDP and TCP.
    pub port: u16,
    pub tls_port: u16,
    /// The CA that signed Kamailio's certificate (for 127.0.0.2), and the certificate.
    pub pki: Pki,
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
    /// Starts Kamailio on 127.0.0.2 (UDP, TCP, TLS) with `defines` (`-A NAME=VALUE`) and
    /// the accounts alice, bob and customer, all with [`PASSWORD`]; waits until it answers
    /// OPTIONS. `None` when Kamailio is missing and the skip is allowed.
    pub fn start(dir: &Path, defines: &[&str]) -> Option<Kamailio> {
        if !kamailio_available() {
            eprintln!("skipped: kamailio or its tls.so is not installed and {SKIP_ENV}=1");
            return None;
        }
        let db = dir.join("db");
        std::fs::create_dir_all(&db).expect("db_text folder");
        std::fs::copy(fixture("db/version"), db.join("version")).expect("version table");
        let subscribers = std::fs::read_to_string(fixture("db/subscriber"))
            .expect("subscriber table")
            .replace("{password}", PASSWORD);
        std::fs::write(db.join("subscriber"), subscribers).expect("write subscriber table");
        let pki = pki(dir, "kamailio");
        // The tls module's own file: the server's certificate and key. Phones present no
        // certificate, so none is asked of them.
        std::fs::write(
            dir.join("tls.cfg"),
            format!(
                "[server:default]\nmethod = TLSv1.2+\ncertificate = {}\nprivate_key = {}\n\
                 verify_certificate = no\nrequire_certificate = no\n",
                pki.cert.display(),
                pki.key.display()
            ),
        )
        .expect("write tls.cfg");
        // A port free a moment ago can be taken before Kamailio binds it: try a few.
        let mut last_log = String::new();
        for _attempt in 0..3 {
            match Kamailio::spawn(dir, &db, free_ports(), defines, &pki) {
                Ok(k) => return Some(k),
                Err(log) => last_log = log,
            }
        }
        panic!("kamailio did not start:\n{last_log}");
    }

    fn spawn(
        dir: &Path,
        db: &Path,
        (port, tls_port): (u16, u16),
        defines: &[&str],
        pki: &Pki,
    ) -> Result<Kamailio, String> {
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
            .arg("-l")
            .arg(format!("tcp:127.0.0.2:{port}"))
            .arg("-l")
            .arg(format!("tls:127.0.0.2:{tls_port}"))
            .arg("-A")
            .arg(format!("DBURL=\"text://{}\"", db.display()))
            .args(["-A", "WITH_TLS", "-A"])
            .arg(format!("TLS_CONFIG=\"{}\"", dir.join("tls.cfg").display()));
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
        let mut kamailio = Kamailio {
            child,
            port,
            tls_port,
            pki: pki.clone(),
            log,
        };
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

    /// Kamailio as a target profile's `registrar:` names it, over `over`.
    pub fn registrar(&self, over: Over) -> String {
        match over {
            Over::Udp => format!("sip:127.0.0.2:{}", self.port),
            Over::Tcp => format!("sip:127.0.0.2:{};transport=tcp", self.port),
            Over::Tls => format!("sip:127.0.0.2:{};transport=tls", self.tls_port),
            Over::Sips => format!("sips:127.0.0.2:{}", self.tls_port),
        }
    }

    /// Everything Kamailio logged so far.
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!("--- kamailio log ---\n{log}")
    }

    /// Whether Kamailio's log holds `line`, waiting up to [`WAIT`] for it: a worker
    /// busy on this 2-core machine may write it a moment after flipcheck is done.
    pub fn logged(&self, line: &str) -> bool {
        let deadline = Instant::now() + WAIT;
        loop {
            if std::fs::read_to_string(&self.log).is_ok_and(|log| log.contains(line)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// An external target profile for this Kamailio over `over`; the customer's password
    /// comes from `customer_pw_env`. Over TLS it trusts Kamailio's CA.
    pub fn profile(&self, dir: &Path, name: &str, over: Over, customer_pw_env: &str) -> PathBuf {
        self.profile_trusting(dir, name, over, customer_pw_env, &self.pki.ca)
    }

    /// [`profile`](Self::profile) trusting `ca_file` over TLS (UDP and TCP check nothing).
    pub fn profile_trusting(
        &self,
        dir: &Path,
        name: &str,
        over: Over,
        customer_pw_env: &str,
        ca_file: &Path,
    ) -> PathBuf {
        let tls = match over {
            Over::Tls | Over::Sips => format!("tls: {{ ca_file: {} }}\n", ca_file.display()),
            Over::Udp | Over::Tcp => String::new(),
        };
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "kind: external\nname: kamailio\nregistrar: {}\n\
                 users: {{ alice: {{ username: alice, password_env: KAM_PW }} }}\n\
                 customer: {{ username: customer, password_env: {customer_pw_env} }}\n\
                 flip: {{ feature_code: \"*11\" }}\n{tls}",
                self.registrar(over)
            ),
        )
        .expect("write the target profile");
        path
    }
}
