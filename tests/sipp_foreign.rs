//! Parties flipcheck does not control, around a flipcheck run: SIPp (Debian's sip-tester)
//! plays bob's phone and another customer while flipcheck's alice is on a call and pulls
//! it, against a real Kamailio (`tests/common/kamailio.rs`, `fixtures/kamailio/`) and
//! against the embedded PBX as a server (`flipcheck pbx`).
//!
//! - A device of another user dialling the flip code while alice's call is up is refused:
//!   bob as himself (he has no call to pull), and bob's credentials under `From: alice`
//!   (Kamailio: 403, the From is not the authenticated user; `flipcheck pbx` keys the flip
//!   on the authenticated user, so bob still has no call: 481). alice's mobile then pulls
//!   the call in the same run (`moved`): bob neither took nor broke it.
//! - A call of bob's beside the flip: SIPp's customer calls SIPp's bob (who echoes RTP)
//!   through the server and keeps the call up across alice's flip; both SIPps end cleanly
//!   (the BYE answered), and bob's call is not touched by the flip.
//!
//! No sleep decides an order: a SIPp acts once the server has logged the call it acts
//! beside as answered (Kamailio's `call: … have … up`, the PBX's `call answered: …`);
//! flipcheck talks for seconds before and after its flip; afterwards the server's log must
//! show every step where it belongs (bob refused after alice's call was answered and before
//! her flip), so a machine too slow for these margins fails saying what order it saw.
//!
//! Needs `sipp` (FLIPCHECK_SKIP_SIPP=1 skips) and, for the Kamailio cases, `kamailio` with
//! its TLS module (FLIPCHECK_SKIP_KAMAILIO=1 skips those).

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::kamailio::{self, Kamailio};
use common::{PbxLog, Ran, Running, Server, sipp};

/// The embedded PBX's password for every account.
const PBX_PASSWORD: &str = "sipp-foreign-pw";
/// Bound on the server logging the call a SIPp acts beside (flipcheck registers and
/// calls first), on a flipcheck run, and on a background SIPp ending by itself.
const CALL_UP_WAIT: Duration = Duration::from_secs(30);
const RUN_WAIT: Duration = Duration::from_secs(90);
const SIPP_WAIT: Duration = Duration::from_secs(60);
/// How late a busy server's log line may come after what it logs was seen on the wire.
const LOG_LAG: Duration = Duration::from_secs(5);
/// How long SIPp's customer keeps its call with bob up, in ms: far beyond the flip of
/// flipcheck's run started once the call is up (about 3 s in), and checked afterwards.
const BOB_CALL_MS: &str = "15000";

/// One live run at a time: two flipcheck runs, SIPps and servers on two cores could make
/// the harness report itself overloaded, which says nothing about the server.
static LIVE: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Kamailio,
    Embedded,
}

/// The server under test, its log read line by line.
enum Target {
    Kamailio(Kamailio),
    Embedded {
        server: Server,
        addr: String,
        log: PbxLog,
        cdr: PathBuf,
    },
}

impl Target {
    /// `None` when the peers this needs are missing and skipping is allowed.
    fn start(kind: Kind, dir: &Path) -> Option<Target> {
        if !sipp::available() {
            return None;
        }
        match kind {
            Kind::Kamailio => Kamailio::start(dir, &[]).map(Target::Kamailio),
            Kind::Embedded => {
                let cdr = dir.join("cdr.jsonl");
                let args = ["--listen", "127.0.0.2:0", "--cdr", cdr.to_str().unwrap()];
                let (server, banner, log) = common::start_pbx_logged(PBX_PASSWORD, &args);
                let addr = common::banner_addr(&banner, "udp").expect("the PBX's address");
                Some(Target::Embedded {
                    server,
                    addr,
                    log,
                    cdr,
                })
            }
        }
    }

    fn password(&self) -> &'static str {
        match self {
            Target::Kamailio(_) => kamailio::PASSWORD,
            Target::Embedded { .. } => PBX_PASSWORD,
        }
    }

    /// Where SIPp sends: `127.0.0.2:PORT` over UDP.
    fn addr(&self) -> String {
        match self {
            Target::Kamailio(k) => format!("127.0.0.2:{}", k.port),
            Target::Embedded { addr, .. } => addr.clone(),
        }
    }

    /// Kamailio's log, or what the PBX wrote on stderr, so far.
    fn lines(&self) -> Vec<String> {
        match self {
            Target::Kamailio(k) => k.log().lines().map(str::to_string).collect(),
            Target::Embedded { log, .. } => log.lines(),
        }
    }

    fn text(&self) -> String {
        match self {
            Target::Kamailio(k) => k.log(),
            Target::Embedded { log, .. } => log.text(),
        }
    }

    /// The first line holding `needle`.
    fn position(&self, needle: &str) -> Option<usize> {
        self.lines().iter().position(|l| l.contains(needle))
    }

    /// Waits for a line holding `needle`, while `party` (what brings it about) runs: not
    /// beyond [`CALL_UP_WAIT`], nor [`LOG_LAG`] after `party` ended.
    fn wait_logged(&self, needle: &str, party: &mut Server, what: &str) -> usize {
        let deadline = Instant::now() + CALL_UP_WAIT;
        let mut ended: Option<(Instant, std::process::ExitStatus)> = None;
        loop {
            if let Some(at) = self.position(needle) {
                return at;
            }
            if ended.is_none() {
                ended = party
                    .0
                    .try_wait()
                    .expect("poll")
                    .map(|s| (Instant::now(), s));
            }
            if let Some((at, status)) = ended
                && at.elapsed() > LOG_LAG
            {
                panic!(
                    "{what} ended ({status}) and `{needle}` was not logged\n{}",
                    self.text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "`{needle}` not logged within {CALL_UP_WAIT:?}\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The first line holding `needle`, waiting up to [`LOG_LAG`] for it.
    fn logged(&self, needle: &str) -> Option<usize> {
        let deadline = Instant::now() + LOG_LAG;
        loop {
            let at = self.position(needle);
            if at.is_some() || Instant::now() > deadline {
                return at;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The log's lines holding each needle come in this order (each its first).
    fn assert_order(&self, steps: &[(&str, &str)]) {
        let found: Vec<(usize, &str)> = steps
            .iter()
            .map(|(what, needle)| {
                let at = self.logged(needle);
                let at =
                    at.unwrap_or_else(|| panic!("{what} (`{needle}`) not logged\n{}", self.text()));
                (at, *what)
            })
            .collect();
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            found,
            "the log has the steps out of order (line, step)\n{}",
            self.text()
        );
    }
}

/// The flipcheck scenario: the customer calls alice, the desk answers, they talk
/// `talk_before`, the mobile pulls the call, they talk 2 s, the customer hangs up. Every
/// expectation is its own, so a run that held them all exits 0.
fn scenario(dir: &Path, talk_before: &str, dialog: &str) -> PathBuf {
    let path = dir.join("alice-pulls.yaml");
    std::fs::write(
        &path,
        format!(
            "name: alice pulls her call among foreign parties\nuser: alice\n\
             devices:\n  desk: {{ codecs: [PCMU] }}\n  mobile: {{ codecs: [PCMU] }}\n\
             customer: {{ codecs: [PCMU] }}\n\
             steps:\n  - register: [desk, mobile]\n  \
             - call: {{ from: customer, answer: desk }}\n  - talk: {talk_before}\n  \
             - flip: {{ to: mobile, method: feature_code }}\n  - talk: 2s\n  \
             - hangup: customer\n\
             expect:\n  flip: moved\n  customer_dialog: {dialog}\n  old_device_released: true\n"
        ),
    )
    .expect("write the scenario");
    path
}

/// The dialog the customer is left in after a clean pull on `kind`: Kamailio moves it with
/// INVITE/Replaces, the PBX's relay keeps it.
fn dialog_after_flip(kind: Kind) -> &'static str {
    match kind {
        Kind::Kamailio => "new_dialog",
        Kind::Embedded => "same_dialog",
    }
}

/// A flipcheck target profile for alice and the customer on `target`.
fn profile(dir: &Path, target: &Target) -> PathBuf {
    let path = dir.join("target.yaml");
    std::fs::write(
        &path,
        format!(
            "kind: external\nname: foreign parties\nregistrar: sip:{};transport=udp\n\
             users: {{ alice: {{ username: alice, password_env: FOREIGN_PW }} }}\n\
             customer: {{ username: customer, password_env: FOREIGN_PW }}\n\
             flip: {{ feature_code: \"*11\" }}\n",
            target.addr()
        ),
    )
    .expect("write the target profile");
    path
}

/// `flipcheck run SCENARIO` against `target` in the background; the report's path.
fn spawn_flipcheck(dir: &Path, scenario: &Path, target: &Target) -> (Running, PathBuf) {
    let (profile, json) = (profile(dir, target), dir.join("run.json"));
    let (scenario, target_file) = (scenario.to_str().unwrap(), profile.to_str().unwrap());
    let args = [
        "run",
        scenario,
        "--target",
        target_file,
        "--json",
        json.to_str().unwrap(),
    ];
    let env = [("FOREIGN_PW", target.password())];
    (common::spawn_flipcheck(dir, "run", &args, &env), json)
}

/// The first flip of the report, after checking the run held every expectation.
fn moved_flip(ran: &Ran, json: &Path, kind: Kind, target: &Target) -> Value {
    let context = format!(
        "exit {}\n{}\n{}\n{}",
        ran.code,
        ran.stdout,
        ran.stderr,
        target.text()
    );
    assert_eq!(ran.code, 0, "{context}");
    let text = std::fs::read_to_string(json).expect("the JSON report");
    let report: Value = serde_json::from_str(&text).expect("the report is JSON");
    let flip = report["scenarios"][0]["flips"][0].clone();
    assert_eq!(flip["outcome"], "moved", "{flip}\n{context}");
    assert_eq!(flip["customer_dialog"], dialog_after_flip(kind), "{flip}");
    assert_eq!(flip["old_device_released"], true, "{flip}");
    assert_eq!(
        (&flip["from"], &flip["to"]),
        (&"desk".into(), &"mobile".into())
    );
    flip
}

/// SIPp as a device authenticated as bob, sending from (and with a Contact on) `port`,
/// dials `*11` with `From: from_user`; returns what it logged of the refusal.
fn foreign_flip(dir: &Path, target: &Target, from_user: &str, port: u16) -> String {
    let port = port.to_string();
    let log = dir.join(format!("foreign-flip-as-{from_user}.log"));
    let args = [
        "-s",
        "*11",
        "-key",
        "from_user",
        from_user,
        "-key",
        "contact_port",
        &port,
        "-p",
        &port,
        "-au",
        "bob",
        "-ap",
        target.password(),
        "-trace_logs",
        "-log_file",
        log.to_str().unwrap(),
        &target.addr(),
    ];
    let out = sipp::command(dir, "foreign_flip.xml", &args)
        .output()
        .expect("run sipp");
    let what = format!("SIPp bob dialling *11 as {from_user}\n{}", target.text());
    sipp::expect_success(&what, &out);
    std::fs::read_to_string(&log).unwrap_or_default()
}

/// While alice's call is up on her desk, SIPp's bob dials `*11`, as himself and then
/// claiming to be alice: both are refused (the refusal each server gives, logged where
/// expected), and alice's own mobile then pulls the call.
fn a_foreign_device_dialling_the_code_is_refused(kind: Kind) {
    let _serial = serial();
    for attempt in 1..=common::OVERLOAD_ATTEMPTS {
        let dir = tempfile::tempdir().unwrap();
        let Some(target) = Target::start(kind, dir.path()) else {
            return;
        };
        let bob_port = common::free_udp_port();
        sipp::register(
            dir.path(),
            &target.addr(),
            "bob",
            target.password(),
            bob_port,
        );
        let scenario = scenario(dir.path(), "6s", dialog_after_flip(kind));
        let (mut run, json) = spawn_flipcheck(dir.path(), &scenario, &target);
        let (call_up, refused, spoofed, flipped) = match kind {
            Kind::Kamailio => (
                "call: customer and alice have",
                "flip: bob has no call to pull",
                "auth: bob is not alice, refused",
                "flip: alice pulls",
            ),
            Kind::Embedded => (
                "call answered: customer → alice",
                "flip refused: bob dialled the flip code",
                "flip refused: bob (From alice) dialled the flip code",
                "call flipped: alice's call",
            ),
        };
        target.wait_logged(call_up, &mut run.child, "flipcheck's run");

        let as_bob = foreign_flip(dir.path(), &target, "bob", bob_port);
        let as_alice = foreign_flip(dir.path(), &target, "alice", bob_port);
        let (want_bob, want_alice) = match kind {
            Kind::Kamailio => (
                "refused: 403 No Call To Pull",
                "refused: 403 Not Your Identity",
            ),
            Kind::Embedded => (
                "refused: 481 Call/Transaction Does Not Exist",
                "refused: 481 Call/Transaction Does Not Exist",
            ),
        };
        assert!(as_bob.contains(want_bob), "{as_bob}\n{}", target.text());
        assert!(
            as_alice.contains(want_alice),
            "{as_alice}\n{}",
            target.text()
        );

        let ran = run.finish(RUN_WAIT);
        if attempt < common::OVERLOAD_ATTEMPTS && common::harness_overloaded(ran.code, &ran.stdout)
        {
            continue;
        }
        moved_flip(&ran, &json, kind, &target);
        target.assert_order(&[
            ("alice's call answered", call_up),
            ("bob refused", refused),
            ("bob as alice refused", spoofed),
            ("alice's flip", flipped),
        ]);
        if let Target::Embedded { log, .. } = &target {
            // The PBX names who was refused, from which Contact, and why.
            for (needle, user) in [(refused, "bob"), (spoofed, "alice")] {
                let line = log.lines().into_iter().find(|l| l.contains(needle));
                let want = format!("sip:{user}@127.0.0.1:{bob_port}: 481 no call to pull");
                assert!(
                    line.as_ref().is_some_and(|l| l.ends_with(&want)),
                    "{line:?}"
                );
            }
        }
        // Whoever asked, one flip was done: alice's.
        let any_flip = match kind {
            Kind::Kamailio => "INFO: <script>: flip: ",
            Kind::Embedded => "call flipped: ",
        };
        let flips: Vec<String> = target
            .lines()
            .into_iter()
            .filter(|l| l.contains(any_flip))
            .collect();
        let done: Vec<&String> = flips
            .iter()
            .filter(|l| !l.contains("no call to pull"))
            .collect();
        assert_eq!(
            done.len(),
            1,
            "only alice's mobile moved a call\n{}",
            target.text()
        );
        assert!(done[0].contains(flipped), "{}", done[0]);
        return;
    }
}

#[test]
fn a_foreign_device_dialling_the_code_is_refused_by_kamailio() {
    a_foreign_device_dialling_the_code_is_refused(Kind::Kamailio);
}

#[test]
fn a_foreign_device_dialling_the_code_is_refused_by_the_embedded_pbx() {
    a_foreign_device_dialling_the_code_is_refused(Kind::Embedded);
}

/// SIPp's customer calls SIPp's bob through the server; once the call is up, flipcheck's
/// alice is called and pulls her call; bob's call goes on until its customer hangs up,
/// well after the flip. Both SIPps end cleanly (exit 0: the customer's BYE was answered,
/// bob answered it), the flip moved, and the log has bob's call up across it.
fn a_foreign_call_goes_on_beside_the_flip(kind: Kind) {
    let _serial = serial();
    for attempt in 1..=common::OVERLOAD_ATTEMPTS {
        let dir = tempfile::tempdir().unwrap();
        let Some(target) = Target::start(kind, dir.path()) else {
            return;
        };
        let addr = target.addr();
        let (bob_port, bob_media) = (common::free_udp_port(), common::free_udp_port());
        let (customer_port, customer_media) = (common::free_udp_port(), common::free_udp_port());
        let background = |name: &str, scenario: &str, args: &[&str]| {
            let out = File::create(dir.path().join(format!("{name}.out"))).unwrap();
            let child = sipp::command(dir.path(), scenario, args)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("start sipp");
            Server(child)
        };
        let mut bob = background(
            "bob",
            "device_uas.xml",
            &[
                "-s",
                "bob",
                "-p",
                &bob_port.to_string(),
                "-mp",
                &bob_media.to_string(),
                "-rtp_echo",
            ],
        );
        sipp::register(dir.path(), &addr, "bob", target.password(), bob_port);
        let mut customer = background(
            "customer",
            "customer_uac.xml",
            &[
                "-s",
                "bob",
                "-au",
                "customer",
                "-ap",
                target.password(),
                "-key",
                "audio_pcap",
                sipp::AUDIO_PCAP,
                "-d",
                BOB_CALL_MS,
                "-p",
                &customer_port.to_string(),
                "-mp",
                &customer_media.to_string(),
                &addr,
            ],
        );
        let (bob_up, flipped, bob_down) = match kind {
            Kind::Kamailio => (
                "call: customer and bob have",
                "flip: alice pulls",
                "bye: from customer to bob answered 200 over udp",
            ),
            Kind::Embedded => (
                "call answered: customer → bob",
                "call flipped: alice's call",
                "\"to\":\"bob\"",
            ),
        };
        target.wait_logged(bob_up, &mut customer, "SIPp's customer");

        let scenario = scenario(dir.path(), "2s", dialog_after_flip(kind));
        let (run, json) = spawn_flipcheck(dir.path(), &scenario, &target);
        let ran = run.finish(RUN_WAIT);
        let sipp_output = |name: &str| {
            std::fs::read_to_string(dir.path().join(format!("{name}.out"))).unwrap_or_default()
        };
        let status = customer.wait_bounded("SIPp's customer", SIPP_WAIT);
        assert!(
            status.success(),
            "customer: {status}\n{}\n{}",
            sipp_output("customer"),
            target.text()
        );
        let status = bob.wait_bounded("SIPp's bob", SIPP_WAIT);
        assert!(
            status.success(),
            "bob: {status}\n{}\n{}",
            sipp_output("bob"),
            target.text()
        );
        if attempt < common::OVERLOAD_ATTEMPTS && common::harness_overloaded(ran.code, &ran.stdout)
        {
            continue;
        }
        moved_flip(&ran, &json, kind, &target);
        target.assert_order(&[
            ("bob's call answered", bob_up),
            ("alice's flip", flipped),
            ("bob's call ended", bob_down),
        ]);
        if let Target::Embedded {
            mut server, cdr, ..
        } = target
        {
            assert!(server.interrupt().success(), "the PBX stops cleanly");
            bob_untouched_in_the_cdr(&cdr, bob_port);
        }
        return;
    }
}

/// The PBX's CDR holds both sessions: alice's with its flip, and bob's with none, one
/// segment on bob's phone from the answer to the end (which came after alice's flip), and
/// RTP relayed both ways (bob's SIPp echoes what the customer plays).
fn bob_untouched_in_the_cdr(cdr: &Path, bob_port: u16) {
    let text = std::fs::read_to_string(cdr).expect("CDR written");
    let sessions: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("CDR line is JSON"))
        .collect();
    assert_eq!(sessions.len(), 2, "two call sessions: {text}");
    let find = |to: &str| {
        sessions
            .iter()
            .find(|s| s["to"] == to)
            .unwrap_or_else(|| panic!("no session to {to}: {text}"))
    };
    let (alice, bob) = (find("alice"), find("bob"));
    assert_eq!(alice["flips"], 1, "{alice}");
    let alice_segments = alice["segments"].as_array().expect("segments");
    assert_eq!(alice_segments.len(), 2, "{alice}");
    let flip_ms = alice_segments[1]["start_ms"]
        .as_f64()
        .expect("flip instant");

    assert_eq!(bob["from"], "customer", "{bob}");
    assert_eq!(bob["flips"], 0, "{bob}");
    assert_eq!(bob["record"], 0, "{bob}");
    assert_ne!(bob["session_id"], alice["session_id"]);
    assert_ne!(bob["call_id"], alice["call_id"]);
    let segments = bob["segments"].as_array().expect("segments");
    assert_eq!(segments.len(), 1, "{bob}");
    let segment = &segments[0];
    assert_eq!(
        segment["device"],
        format!("sip:bob@127.0.0.1:{bob_port}"),
        "{bob}"
    );
    assert_eq!(segment["start_ms"], bob["answer_ms"], "{bob}");
    assert_eq!(segment["end_ms"], bob["end_ms"], "{bob}");
    let answer = bob["answer_ms"].as_f64().expect("answered");
    let end = bob["end_ms"].as_f64().expect("ended");
    assert!(
        answer < flip_ms && flip_ms < end,
        "bob's call spans alice's flip at {flip_ms}: {bob}"
    );
    for direction in ["rtp_to_device", "rtp_to_customer"] {
        assert!(
            bob[direction].as_u64().unwrap_or(0) > 10,
            "{direction}: {bob}"
        );
    }
}

#[test]
fn a_foreign_call_goes_on_beside_the_flip_on_the_embedded_pbx() {
    a_foreign_call_goes_on_beside_the_flip(Kind::Embedded);
}

#[test]
fn a_foreign_call_goes_on_beside_the_flip_on_kamailio() {
    a_foreign_call_goes_on_beside_the_flip(Kind::Kamailio);
}
