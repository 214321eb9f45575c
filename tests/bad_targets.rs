//! Bad targets end in a verdict or a one-line error within a bound, never a hang, and the
//! JSON report is written: a fake SIP server on 127.0.0.2 misbehaves in one way per test
//! (garbage, a TCP connection closed under the REGISTER, 503 with Retry-After, a 401 or 407
//! loop, a 302, an INVITE refused in those ways after a good registration), and the real
//! binary runs the checklist flip against it.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flipcheck::core::sip::{Message, StartLine, response_to};

const SCENARIO: &str = "scenarios/checklist/flip-feature-code.yaml";

/// Not SIP: what a web server on the SIP port would say.
const GARBAGE: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

/// Where the fake sends a redirect: an address nobody in these tests listens on.
const ELSEWHERE: &str = "sip:alice@192.0.2.7:5060";

/// How the fake answers one request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Bytes that are not SIP.
    Garbage,
    /// 503 Service Unavailable with `Retry-After: N`, to the first `times` requests
    /// (then 200 OK).
    Unavailable { retry_after: u32, times: u32 },
    /// 401 (or 407) with a fresh challenge, however it is answered.
    Challenge(u16),
    /// 302 Moved Temporarily to [`ELSEWHERE`].
    Redirect,
    /// 200 OK (a REGISTER's with its Contact and expires).
    Accept,
    /// Nothing at all.
    Silence,
}

/// What the fake does with REGISTER and with INVITE; every other request gets 200 OK.
#[derive(Clone, Copy, Debug)]
struct Behaviour {
    register: Answer,
    invite: Answer,
}

/// A fake SIP server on UDP, answering from a thread until dropped.
struct Fake {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// The method and Call-ID of every request it received, in order.
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Fake {
    fn udp(behaviour: Behaviour) -> Fake {
        let socket = UdpSocket::bind("127.0.0.2:0").expect("bind the fake on 127.0.0.2");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            // How many 503s each method has had, for `Answer::Unavailable { times }`.
            let (registers, invites) = (AtomicU32::new(0), AtomicU32::new(0));
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(req) = Message::parse(&buf[..n]) else {
                    continue;
                };
                let Some(method) = req.method().map(str::to_string) else {
                    continue;
                };
                let call_id = req.call_id().unwrap_or("").to_string();
                let label = match req.expires() {
                    Some(0) => format!("{method} expires=0"),
                    _ => method.clone(),
                };
                seen2.lock().unwrap().push((label, call_id));
                let (answer, unavailable) = match method.as_str() {
                    "REGISTER" => (behaviour.register, &registers),
                    "INVITE" => (behaviour.invite, &invites),
                    "ACK" => continue,
                    _ => (Answer::Accept, &invites),
                };
                let out = reply(&req, answer, unavailable);
                if !out.is_empty() {
                    let _ = socket.send_to(&out, from);
                }
            }
        });
        Fake { addr, stop, seen }
    }

    /// How many `method` requests it received in each Call-ID (a device's registration,
    /// a call), in the order the Call-IDs first came. An unregistration counts as
    /// `REGISTER expires=0`, not as `REGISTER`.
    fn count(&self, method: &str) -> Vec<usize> {
        let seen = self.seen.lock().unwrap();
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for (_, call_id) in seen.iter().filter(|(m, _)| m == method) {
            match counts.iter_mut().find(|(c, _)| c == call_id) {
                Some((_, n)) => *n += 1,
                None => counts.push((call_id, 1)),
            }
        }
        counts.into_iter().map(|(_, n)| n).collect()
    }
}

/// The fake's answer to `req` as bytes.
fn reply(req: &Message, answer: Answer, unavailable: &AtomicU32) -> Vec<u8> {
    let tag = Some("fake1");
    let mut rsp = match answer {
        Answer::Garbage => return GARBAGE.to_vec(),
        Answer::Silence => return Vec::new(),
        Answer::Unavailable { retry_after, times }
            if unavailable.fetch_add(1, Ordering::Relaxed) < times =>
        {
            let mut rsp = response_to(req, 503, tag);
            rsp.push_header("Retry-After", &retry_after.to_string());
            rsp
        }
        Answer::Unavailable { .. } | Answer::Accept => accept(req),
        Answer::Challenge(status) => {
            let mut rsp = response_to(req, status, tag);
            let header = if status == 407 {
                "Proxy-Authenticate"
            } else {
                "WWW-Authenticate"
            };
            // A fresh nonce every time: whatever was sent, the fake asks again.
            let nonce = format!("fresh{}", NONCES.fetch_add(1, Ordering::Relaxed));
            let value =
                format!("Digest realm=\"fake\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"");
            rsp.push_header(header, &value);
            rsp
        }
        Answer::Redirect => {
            let mut rsp = response_to(req, 302, tag);
            rsp.set_start_line(StartLine::Response {
                version: "SIP/2.0".into(),
                code: 302,
                reason: "Moved Temporarily".into(),
            });
            rsp.push_header("Contact", &format!("<{ELSEWHERE}>"));
            rsp
        }
    };
    rsp.push_header("Content-Length", "0");
    rsp.to_bytes()
}

/// 200 OK; to a REGISTER with the Contact it registered and how long it holds.
fn accept(req: &Message) -> Message {
    let mut rsp = response_to(req, 200, Some("fake1"));
    if req.method() == Some("REGISTER")
        && let Some(contact) = req.contact()
    {
        let expires = req.expires().unwrap_or(60).min(60);
        rsp.push_header("Contact", &format!("<{}>;expires={expires}", contact.uri));
        rsp.push_header("Expires", &expires.to_string());
    }
    rsp
}

/// Numbers every challenge's nonce, so no two are the same.
static NONCES: AtomicU32 = AtomicU32::new(0);

/// What a run against the fake left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The JSON report's first scenario.
    scenario: serde_json::Value,
    /// The JSON report's other scenarios, when the run had several.
    rest: Vec<serde_json::Value>,
    elapsed: Duration,
}

impl Run {
    /// The scenario's error, as the report holds it.
    fn error(&self) -> &str {
        self.scenario["error"].as_str().unwrap_or("")
    }
}

/// The run's timeouts in most tests: short, so the tests stay short.
const SHORT: &str = "{ register: 2s, answer: 3s }";

/// Runs the checklist flip against `registrar` (`sip:127.0.0.2:PORT[;transport=tcp]`)
/// with short timeouts.
fn run_against(registrar: &str) -> Run {
    run_with(registrar, SHORT, SCENARIO)
}

/// [`run_against`] with the target's `timeouts:` (a flow mapping), running `scenarios`
/// (a file or a folder).
fn run_with(registrar: &str, timeouts: &str, scenarios: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("fake.yaml");
    std::fs::write(
        &target,
        format!(
            "kind: external\nname: fake\nregistrar: {registrar}\n\
             timeouts: {timeouts}\n\
             users: {{ alice: {{ username: alice, password_env: FAKE_PW }} }}\n\
             customer: {{ username: customer, password_env: FAKE_PW }}\n"
        ),
    )
    .unwrap();
    let json: PathBuf = dir.path().join("report.json");
    let started = Instant::now();
    let out = Command::new(common::BIN)
        .args(["run", scenarios, "--target"])
        .arg(&target)
        .arg("--json")
        .arg(&json)
        .env("FAKE_PW", "secret")
        .output()
        .expect("run flipcheck");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {stdout}{stderr}"));
    let report: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    let mut all = report["scenarios"].as_array().cloned().unwrap_or_default();
    assert!(!all.is_empty(), "the report lists the scenario: {text}");
    let scenario = all.remove(0);
    Run {
        code: out.status.code(),
        stdout,
        stderr,
        scenario,
        rest: all,
        elapsed,
    }
}

/// Exit 2, the scenario an error in the report, one sentence for people holding each of
/// `wants`, and no later than `bound` (generous: a busy machine is slow, never fast).
fn assert_clear_error(run: &Run, wants: &[&str], bound: Duration) {
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(2), "{all}");
    assert_eq!(run.scenario["verdict"], "error", "{all}");
    let error = run.error();
    // Shown with --nocapture: what each case says, and how long it took.
    eprintln!("{:.2} s: {error}", run.elapsed.as_secs_f64());
    for want in wants {
        assert!(error.contains(want), "wanted {want:?} in: {error}");
    }
    assert!(!error.contains('\n'), "one line: {error}");
    for debug in ["Some(", "Rejected(", "None", "{", "\"", "\\"] {
        assert!(!error.contains(debug), "no Debug formatting: {error}");
    }
    assert!(run.stdout.contains(error), "the console shows it: {all}");
    assert!(run.elapsed < bound, "took {:?}: {all}", run.elapsed);
}

/// How the fake's TCP listener treats a connection.
#[derive(Clone, Copy, Debug)]
enum Closing {
    /// Accepts it and closes it at once.
    AtOnce,
    /// Reads the first REGISTER whole, then closes without answering.
    AfterRegister,
}

/// A fake SIP server on TCP that closes every connection, from a thread until the test
/// ends: its address, and how many REGISTERs it read before closing.
fn tcp_closing(closing: Closing) -> (SocketAddr, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.2:0").expect("bind the fake on 127.0.0.2");
    let addr = listener.local_addr().unwrap();
    let registers = Arc::new(AtomicU32::new(0));
    let read = registers.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if let Closing::AfterRegister = closing {
                // A REGISTER of ours has no body: its end is the empty line.
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                if got.starts_with(b"REGISTER ") {
                    read.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(stream);
        }
    });
    (addr, registers)
}

/// Generous bounds on a whole run (the binary's start included), about three times what
/// each takes here, so a busy machine does not fail them: one that ends at once, and one
/// that waits out a 2 s register or 3 s answer timeout (plus 3 s to shut down).
const AT_ONCE: Duration = Duration::from_secs(10);
const AFTER_TIMEOUT: Duration = Duration::from_secs(20);

fn udp_registrar(fake: &Fake) -> String {
    format!("sip:{}", fake.addr)
}

#[test]
fn a_401_or_407_loop_is_an_authentication_failure() {
    for status in [401, 407] {
        let fake = Fake::udp(Behaviour {
            register: Answer::Challenge(status),
            invite: Answer::Accept,
        });
        let run = run_against(&udp_registrar(&fake));
        let want = format!(
            "authentication failed for alice on desk at fake (sip:{}): {status}: challenged \
             again after the credentials were sent — check FAKE_PW",
            fake.addr
        );
        assert_clear_error(&run, &[&want], AT_ONCE);
        // The first challenge, and one fresh nonce (RFC 7616 `stale`), are answered; the
        // third is not: no loop.
        assert_eq!(fake.count("REGISTER"), [3, 3], "per device");
    }
}

#[test]
fn a_503_with_a_long_retry_after_is_reported_with_it() {
    let fake = Fake::udp(Behaviour {
        register: Answer::Unavailable {
            retry_after: 30,
            times: u32::MAX,
        },
        invite: Answer::Accept,
    });
    let run = run_against(&udp_registrar(&fake));
    let want = format!(
        "alice on desk could not register at fake (sip:{}): 503 Service Unavailable \
         (Retry-After: 30 s)",
        fake.addr
    );
    assert_clear_error(&run, &[&want], AT_ONCE);
    // Longer than the 2 s the REGISTER may take: not retried, by either device.
    assert_eq!(fake.count("REGISTER"), [1, 1], "per device");
}

#[test]
fn a_503_with_a_short_retry_after_is_retried_once() {
    let fake = Fake::udp(Behaviour {
        register: Answer::Unavailable {
            retry_after: 1,
            times: u32::MAX,
        },
        invite: Answer::Accept,
    });
    let run = run_against(&udp_registrar(&fake));
    let want = format!(
        "alice on desk could not register at fake (sip:{}): 503 Service Unavailable \
         (Retry-After: 1 s), again when retried once 1 s later",
        fake.addr
    );
    assert_clear_error(&run, &[&want], AT_ONCE);
    assert_eq!(
        fake.count("REGISTER"),
        [2, 2],
        "per device: once, and once again"
    );
}

#[test]
fn a_503_then_a_200_registers_after_the_retry() {
    // Each device's first REGISTER gets the 503; their retries get 200 OK.
    let fake = Fake::udp(Behaviour {
        register: Answer::Unavailable {
            retry_after: 1,
            times: 2,
        },
        invite: Answer::Unavailable {
            retry_after: 30,
            times: u32::MAX,
        },
    });
    let run = run_against(&udp_registrar(&fake));
    // Registered: the run got as far as the customer's call.
    assert_clear_error(&run, &["the customer's call to alice failed: 503"], AT_ONCE);
    assert_eq!(
        fake.count("REGISTER"),
        [2, 2],
        "per device: refused, then accepted"
    );
    assert_eq!(
        fake.count("REGISTER expires=0"),
        [1, 1],
        "unregistered at the end"
    );
}

#[test]
fn a_redirected_register_is_reported_not_followed() {
    let fake = Fake::udp(Behaviour {
        register: Answer::Redirect,
        invite: Answer::Accept,
    });
    let run = run_against(&udp_registrar(&fake));
    let want = format!(
        "fake (sip:{}) redirected the REGISTER of alice on desk (302 Moved Temporarily to \
         {ELSEWHERE}); flipcheck does not follow redirects: point `registrar:` at \
         sip:192.0.2.7:5060",
        fake.addr
    );
    assert_clear_error(&run, &[&want], AT_ONCE);
    assert_eq!(fake.count("REGISTER"), [1, 1], "per device");
}

#[test]
fn a_target_that_answers_garbage_is_named_as_not_sip() {
    let fake = Fake::udp(Behaviour {
        register: Answer::Garbage,
        invite: Answer::Garbage,
    });
    // Both scenarios of the checklist: the second is not run, for the first's reason.
    let run = run_with(&udp_registrar(&fake), SHORT, "scenarios/checklist");
    let peer = fake.addr.to_string();
    let want = format!(
        "{peer} answered the REGISTER of alice on desk over UDP with something that is not \
         SIP, and nothing that is SIP within 2 s"
    );
    assert_clear_error(&run, &[&want], AFTER_TIMEOUT);
    assert_eq!(run.rest.len(), 1, "{:?}", run.rest);
    // The first names its step (`step at line 18: `); the second has the same reason.
    let (_, why) = run.error().split_once(": ").unwrap();
    let skipped = format!("not run: an earlier scenario could not reach the target: {why}");
    assert_eq!(run.rest[0]["error"].as_str(), Some(skipped.as_str()));
    assert_eq!(run.rest[0]["verdict"], "error");
}

#[test]
fn a_tcp_connection_closed_under_the_register_ends_it_at_once() {
    for closing in [Closing::AtOnce, Closing::AfterRegister] {
        let (addr, registers) = tcp_closing(closing);
        // A register timeout far beyond the bound: only ending at once can meet it.
        let registrar = format!("sip:{addr};transport=tcp");
        let run = run_with(&registrar, "{ register: 60s, answer: 3s }", SCENARIO);
        let want = format!(
            "alice on desk could not register at fake ({registrar}): {addr} closed the TCP connection"
        );
        assert_clear_error(&run, &[&want], AT_ONCE);
        if let Closing::AfterRegister = closing {
            assert!(registers.load(Ordering::Relaxed) >= 1, "it read a REGISTER");
        }
    }
}

/// A fake that registers every device and answers the customer's INVITE with `invite`.
fn registers_then(invite: Answer) -> Fake {
    Fake::udp(Behaviour {
        register: Answer::Accept,
        invite,
    })
}

#[test]
fn an_invite_refused_with_503_is_reported_with_its_retry_after() {
    let fake = registers_then(Answer::Unavailable {
        retry_after: 30,
        times: u32::MAX,
    });
    let run = run_against(&udp_registrar(&fake));
    let want = "the customer's call to alice failed: 503 Service Unavailable (Retry-After: 30 s)";
    assert_clear_error(&run, &[want], AT_ONCE);
    assert_eq!(fake.count("INVITE"), [1], "not retried");
    assert_eq!(
        fake.count("REGISTER expires=0"),
        [1, 1],
        "unregistered at the end"
    );
}

#[test]
fn a_redirected_invite_is_reported_not_followed() {
    let fake = registers_then(Answer::Redirect);
    let run = run_against(&udp_registrar(&fake));
    let want = format!(
        "the customer's call to alice failed: fake (sip:{}) redirected it to {ELSEWHERE} \
         (302 Moved Temporarily); flipcheck does not follow redirects",
        fake.addr
    );
    assert_clear_error(&run, &[&want], AT_ONCE);
    assert_eq!(fake.count("INVITE"), [1], "not followed");
}

#[test]
fn an_invite_answered_with_garbage_or_nothing_names_the_peer() {
    for (invite, want) in [
        (
            Answer::Garbage,
            "answered the INVITE of the customer over UDP with something that is not SIP, \
             and nothing that is SIP within 3 s",
        ),
        (
            Answer::Silence,
            "over UDP within 3 s (INVITE of the customer)",
        ),
    ] {
        let fake = registers_then(invite);
        let run = run_against(&udp_registrar(&fake));
        let peer = fake.addr.to_string();
        assert_clear_error(&run, &[&peer, want], AFTER_TIMEOUT);
        let unparseable = run.scenario["sip_findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "unparseable" && f["peer"] == peer.as_str());
        assert_eq!(unparseable, matches!(invite, Answer::Garbage), "{invite:?}");
    }
}
