//! Interop with a real softphone nobody here wrote: three baresip instances (Debian's
//! `baresip-core`) register to a standalone `flipcheck pbx` — `desk` and `mobile` as alice,
//! `customer` as customer. The customer calls alice, only the desk answers (auto answer), the
//! mobile dials `*11` to pull the call, and the customer hangs up. The PBX's CDR proves one
//! session with one flip from the desk's contact to the mobile's and RTP relayed both ways;
//! the desk's own SIP trace and events prove its call was ended by the PBX's BYE.
//!
//! Each phone is driven through baresip's `ctrl_tcp` module: commands and call events as
//! netstring-framed JSON on a loopback TCP port. Configs are in `fixtures/softphone/`.
//!
//! baresip is installed by `.ci/run`. Without it this test fails, unless
//! FLIPCHECK_SKIP_SOFTPHONE=1 says on purpose that it may be skipped.

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "softphone-interop-pw";
/// The bound on every single wait; the whole test takes a few seconds.
const WAIT: Duration = Duration::from_secs(10);
/// How long the parties talk before the pull and after it.
const TALK: Duration = Duration::from_millis(1500);
/// baresip quits by itself after this, even if this test process dies without unwinding.
const PHONE_LIFETIME_SECS: &str = "60";

fn baresip_available() -> bool {
    common::peer_available("baresip", "-h", "baresip-core", "FLIPCHECK_SKIP_SOFTPHONE")
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/softphone")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_tcp_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Everything a child writes to stdout and stderr, collected by two threads.
fn collect_output(child: &mut std::process::Child) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("piped stdout"));
    let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("piped stderr"));
    for mut stream in [out, err] {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                log.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    log
}

/// Reads netstrings (`LEN:PAYLOAD,`) of JSON from ctrl_tcp until the connection closes.
fn read_netstrings(stream: TcpStream, sink: mpsc::Sender<Value>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut len = Vec::new();
        if reader.read_until(b':', &mut len).unwrap_or(0) == 0 {
            return;
        }
        len.pop();
        let Some(len) = std::str::from_utf8(&len)
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
        else {
            return;
        };
        let mut payload = vec![0u8; len + 1]; // the payload and its trailing comma
        if reader.read_exact(&mut payload).is_err() {
            return;
        }
        payload.pop();
        let Ok(value) = serde_json::from_slice::<Value>(&payload) else {
            return;
        };
        if sink.send(value).is_err() {
            return;
        }
    }
}

/// One baresip instance with its own config folder, its output and its control connection.
struct Phone {
    name: &'static str,
    /// Killed when the phone is dropped.
    _process: common::Server,
    log: Arc<Mutex<String>>,
    ctrl: TcpStream,
    messages: Receiver<Value>,
    /// Call events received and not yet waited for, oldest first.
    events: VecDeque<Value>,
    /// Every call event received, for assertions and failure messages.
    history: Vec<Value>,
    token: u32,
}

impl Phone {
    /// Starts baresip registered as `user` and waits until it is registered and controllable.
    /// A control port taken by someone else between choosing and binding it is retried.
    fn start(dir: &Path, name: &'static str, user: &str, pbx: &str, answermode: &str) -> Phone {
        let mut last_log = String::new();
        for _attempt in 0..3 {
            match Phone::try_start(dir, name, user, pbx, answermode) {
                Ok(phone) => return phone,
                Err(log) => last_log = log,
            }
        }
        panic!("{name}: baresip did not start and register:\n{last_log}");
    }

    fn try_start(
        dir: &Path,
        name: &'static str,
        user: &str,
        pbx: &str,
        answermode: &str,
    ) -> Result<Phone, String> {
        let folder: PathBuf = dir.join(name);
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).expect("phone folder");
        let ctrl_port = free_tcp_port();
        let config = fixture("config").replace("{ctrl_port}", &ctrl_port.to_string());
        let accounts = fixture("accounts")
            .replace("{user}", user)
            .replace("{pbx}", pbx)
            .replace("{password}", PASSWORD)
            .replace("{answermode}", answermode);
        std::fs::write(folder.join("config"), config).expect("write config");
        std::fs::write(folder.join("accounts"), accounts).expect("write accounts");
        // -s: SIP trace on stdout, to tell who sent which BYE.
        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(&folder)
            .args(["-s", "-t", PHONE_LIFETIME_SECS])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start baresip");
        let log = collect_output(&mut child);
        let mut process = common::Server(child);
        let deadline = Instant::now() + WAIT;
        let ctrl = loop {
            let registered = log.lock().unwrap().contains("} 200 OK (");
            if registered && let Ok(stream) = TcpStream::connect(("127.0.0.1", ctrl_port)) {
                break stream;
            }
            let exited = process.0.try_wait().expect("poll baresip").is_some();
            if exited || Instant::now() > deadline {
                return Err(log.lock().unwrap().clone());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (sink, messages) = mpsc::channel();
        let reader = ctrl.try_clone().expect("clone control connection");
        std::thread::spawn(move || read_netstrings(reader, sink));
        let mut phone = Phone {
            name,
            _process: process,
            log,
            ctrl,
            messages,
            events: VecDeque::new(),
            history: Vec::new(),
            token: 0,
        };
        // A command round trip proves the port is this baresip's ctrl_tcp.
        match phone.try_command("listcalls", "") {
            Ok(_) => Ok(phone),
            Err(e) => Err(format!("{e}\n{}", phone.log())),
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The end of the phone's output, for failure messages.
    fn log_tail(&self) -> String {
        let log = self.log();
        let mut start = log.len().saturating_sub(8000);
        while !log.is_char_boundary(start) {
            start += 1;
        }
        format!("--- {} output (tail) ---\n{}", self.name, &log[start..])
    }

    /// The URI in the Contact of the phone's first REGISTER, as the PBX records it.
    fn contact(&self) -> String {
        let log = self.log();
        log.lines()
            .find_map(|l| l.strip_prefix("Contact: <")?.split('>').next())
            .unwrap_or_else(|| panic!("{}: no Contact in its SIP trace:\n{log}", self.name))
            .to_string()
    }

    /// Takes the next control message; call events are queued, responses returned.
    fn next_message(&mut self, deadline: Instant) -> Result<Option<Value>, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(left) {
            Ok(msg) if msg["event"] == true => {
                self.history.push(msg.clone());
                self.events.push_back(msg);
                Ok(None)
            }
            Ok(msg) => Ok(Some(msg)),
            Err(RecvTimeoutError::Timeout) => Err(format!("{}: timed out", self.name)),
            Err(RecvTimeoutError::Disconnected) => {
                Err(format!("{}: control connection closed", self.name))
            }
        }
    }

    fn try_command(&mut self, command: &str, params: &str) -> Result<Value, String> {
        self.token += 1;
        let token = format!("t{}", self.token);
        let body = json!({"command": command, "params": params, "token": token}).to_string();
        let frame = format!("{}:{body},", body.len());
        self.ctrl
            .write_all(frame.as_bytes())
            .map_err(|e| format!("{}: send `{command}`: {e}", self.name))?;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(rsp) = self.next_message(deadline)?
                && rsp["token"] == token.as_str()
            {
                return if rsp["ok"] == true {
                    Ok(rsp)
                } else {
                    Err(format!(
                        "{}: `{command} {params}` refused: {rsp}",
                        self.name
                    ))
                };
            }
        }
    }

    fn command(&mut self, command: &str, params: &str) {
        if let Err(e) = self.try_command(command, params) {
            panic!("{e}\n{}", self.log_tail());
        }
    }

    /// Waits for the oldest call event of this type not waited for yet, and takes it.
    fn wait_event(&mut self, kind: &str) -> Value {
        self.wait_event_where(kind, |_| true)
    }

    /// Waits for a call event of this type about the call with this baresip call id.
    fn wait_call_event(&mut self, kind: &str, call: &Value) -> Value {
        self.wait_event_where(kind, |e| e["id"] == call["id"])
    }

    fn wait_event_where(&mut self, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(pos) = self
                .events
                .iter()
                .position(|e| e["type"] == kind && matches(e))
            {
                return self.events.remove(pos).expect("the event just found");
            }
            if let Err(e) = self.next_message(deadline) {
                panic!(
                    "{e} waiting for {kind}; events so far: {:#?}\n{}",
                    self.history,
                    self.log_tail()
                );
            }
        }
    }

    /// Call events of this type received so far, without waiting.
    fn seen(&mut self, kind: &str) -> usize {
        while self.next_message(Instant::now()).is_ok() {}
        self.history.iter().filter(|e| e["type"] == kind).count()
    }
}

/// The SIP requests in a baresip `-s` trace as (from, to, method): the trace prints each
/// message after a line `UDP <from> -> <to>`.
fn traced_requests(log: &str) -> Vec<(String, String, String)> {
    let lines: Vec<&str> = log.lines().collect();
    lines
        .windows(2)
        .filter_map(|w| {
            let (from, to) = w[0].strip_prefix("UDP ")?.split_once(" -> ")?;
            let method = w[1].split(' ').next()?;
            (!method.starts_with("SIP/")).then(|| (from.into(), to.trim().into(), method.into()))
        })
        .collect()
}

#[test]
fn baresip_mobile_pulls_a_call_from_baresip_desk_with_star_11() {
    if !baresip_available() {
        eprintln!("skipped: baresip is not installed and FLIPCHECK_SKIP_SOFTPHONE=1");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cdr = dir.path().join("cdr.jsonl");
    let (mut server, pbx) = common::start_pbx(PASSWORD, &["--cdr", cdr.to_str().unwrap()]);

    let mut desk = Phone::start(dir.path(), "desk", "alice", &pbx, "auto");
    let mut mobile = Phone::start(dir.path(), "mobile", "alice", &pbx, "manual");
    let mut customer = Phone::start(dir.path(), "customer", "customer", &pbx, "manual");
    let (desk_contact, mobile_contact) = (desk.contact(), mobile.contact());
    assert_ne!(desk_contact, mobile_contact, "two devices of alice");

    // The customer calls alice; the PBX forks to both devices, only the desk answers.
    customer.command("dial", &format!("sip:alice@{pbx}"));
    customer.wait_event("CALL_ESTABLISHED");
    let desk_call = desk.wait_event("CALL_ESTABLISHED");
    // RTP from the relay reached both ends before anyone flips.
    customer.wait_event("CALL_RTPESTAB");
    desk.wait_event("CALL_RTPESTAB");
    std::thread::sleep(TALK);

    // The mobile pulls the call; the PBX answers it and releases the desk with a BYE.
    mobile.command("dial", &format!("sip:*11@{pbx}"));
    let pull = mobile.wait_event("CALL_ESTABLISHED");
    assert_eq!(pull["peeruri"], format!("sip:*11@{pbx}").as_str(), "{pull}");
    let closed = desk.wait_call_event("CALL_CLOSED", &desk_call);
    // baresip reports a BYE from the far end as ECONNRESET; its own hangup says "by user".
    assert_eq!(
        closed["param"], "Connection reset by peer",
        "desk: {closed}"
    );
    mobile.wait_event("CALL_RTPESTAB");
    std::thread::sleep(TALK);

    // The customer's one call survived the flip; now the customer hangs up.
    assert_eq!(customer.seen("CALL_CLOSED"), 0, "customer dropped on flip");
    assert_eq!(customer.seen("CALL_ESTABLISHED"), 1);
    customer.command("hangup", "");
    customer.wait_event("CALL_CLOSED");
    // The PBX ends the pulled call with a BYE too.
    let mobile_closed = mobile.wait_call_event("CALL_CLOSED", &pull);
    assert_eq!(mobile_closed["param"], "Connection reset by peer");
    // The mobile rang for the customer's call but only its own *11 call was ever answered.
    assert_eq!(mobile.seen("CALL_ESTABLISHED"), 1, "{:#?}", mobile.history);
    assert_eq!(desk.seen("CALL_ESTABLISHED"), 1, "{:#?}", desk.history);

    // The desk's SIP trace: it received the BYE from the PBX (maybe retransmitted, under
    // load) and never sent one.
    let desk_addr = desk_contact
        .rsplit('@')
        .next()
        .expect("rsplit always yields a first part")
        .to_string();
    let byes: Vec<(String, String)> = traced_requests(&desk.log())
        .into_iter()
        .filter(|(_, _, method)| method == "BYE")
        .map(|(from, to, _)| (from, to))
        .collect();
    assert!(!byes.is_empty(), "desk received no BYE");
    assert!(
        byes.iter()
            .all(|bye| *bye == (pbx.clone(), desk_addr.clone())),
        "desk's BYEs must all come from the PBX ({pbx} -> {desk_addr}): {byes:?}"
    );

    let session = &server.stop_and_read_single_cdr(&cdr);
    assert_eq!(session["from"], "customer");
    assert_eq!(session["to"], "alice");
    assert_eq!(session["flips"], 1, "{session}");
    let devices: Vec<&str> = session["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| s["device"].as_str().expect("device"))
        .collect();
    assert_eq!(devices, [desk_contact.as_str(), mobile_contact.as_str()]);
    assert!(
        session["rtp_to_customer"].as_u64().unwrap() > 0,
        "devices → customer RTP: {session}"
    );
    assert!(
        session["rtp_to_device"].as_u64().unwrap() > 0,
        "customer → devices RTP: {session}"
    );
}
