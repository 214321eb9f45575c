//! Interop with a real SIP server nobody here wrote: Debian's Kamailio 5.6, started and
//! stopped by each test with the configuration in `fixtures/kamailio/` (a registrar with
//! digest auth against db_text, a record-routing proxy, and the feature-code flip done as
//! proxy-based platforms do it: the pulling device's INVITE to `*11` becomes an INVITE with
//! `Replaces` toward the customer, who moves to a new dialog). flipcheck drives it as an
//! external target, as it would a production system, over UDP, TCP and TLS (Kamailio
//! serves all three; a run's parties all take the one its profile's registrar names). How
//! Kamailio is started and stopped: `tests/common/kamailio.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

use common::kamailio::{Kamailio, Over, PASSWORD};

const CHECKLIST: &str = "scenarios/checklist/flip-feature-code.yaml";

/// One live run at a time: two flipcheck runs and two Kamailios on two cores could make
/// the harness report itself overloaded, which says nothing about Kamailio.
static LIVE: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What `flipcheck run` said: exit code, stdout and stderr.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Everything to show when an assertion fails: the run's output and Kamailio's log.
    fn context(&self, kamailio: &Kamailio) -> String {
        format!(
            "exit {}\n{}\n{}\n{}",
            self.code,
            self.stdout,
            self.stderr,
            kamailio.log()
        )
    }
}

/// `flipcheck run SCENARIO --target TARGET --json OUT`, retried (a few times) when the
/// harness reports itself overloaded: that verdict is about this machine, not Kamailio.
fn run(scenario: &Path, target: &Path, out: &Path) -> Run {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let output = Command::new(common::BIN)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("run")
            .arg(scenario)
            .arg("--target")
            .arg(target)
            .arg("--json")
            .arg(out)
            .env("KAM_PW", PASSWORD)
            .output()
            .expect("run flipcheck");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        if attempts < common::OVERLOAD_ATTEMPTS && common::harness_overloaded(run.code, &run.stdout)
        {
            continue;
        }
        return run;
    }
}

fn report(out: &Path) -> Value {
    let text = std::fs::read_to_string(out).expect("the JSON report");
    serde_json::from_str(&text).expect("the report is JSON")
}

/// The checklist's pull against Kamailio, every party over `over`: the call moves to the
/// mobile, but as a new dialog for the customer (INVITE with Replaces), which the
/// checklist does not accept.
fn the_checklist_flip_moves_the_customer_to_a_new_dialog(over: Over) {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let Some(kamailio) = Kamailio::start(dir.path(), &[]) else {
        return;
    };
    let target = kamailio.profile(dir.path(), "kamailio.yaml", over, "KAM_PW");
    let out = dir.path().join("out.json");
    let run = run(Path::new(CHECKLIST), &target, &out);
    let context = run.context(&kamailio);
    // The checklist expects `same_dialog`: that one expectation fails, so the verdict does.
    assert_eq!(run.code, 1, "{context}");
    let report = report(&out);
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["verdict"], "fail", "{context}");
    let flip = &scenario["flips"][0];
    assert_eq!(flip["outcome"], "moved", "{flip}\n{context}");
    assert_eq!(flip["customer_dialog"], "new_dialog", "{flip}\n{context}");
    assert_eq!(flip["old_device_released"], true, "{flip}\n{context}");
    assert_eq!(flip["from"], "desk");
    assert_eq!(flip["to"], "mobile");

    let failed: Vec<&Value> = scenario["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .filter(|e| e["verdict"] != "pass")
        .collect();
    assert_eq!(failed.len(), 1, "only customer_dialog fails: {failed:?}");
    assert_eq!(failed[0]["name"], "customer_dialog");
    assert_eq!(failed[0]["expected"], "== same_dialog");
    assert_eq!(failed[0]["measured"], "new_dialog");
    assert!(
        run.stdout
            .contains("customer_dialog expected == same_dialog, measured new_dialog"),
        "the console says why: {context}"
    );
    // Kamailio did the Replaces itself (route[FLIP]), nothing else moved the call, and the
    // mobile asked for it over `over`.
    let proto = over.proto();
    assert!(kamailio.logged("flip: alice pulls"), "{context}");
    assert!(kamailio.logged(&format!("asked over {proto}")), "{context}");
    // The customer's BYE to the desk on the replaced dialog, then to the mobile on the
    // flip's (where the customer is the URI the mobile dialled): Kamailio reached each
    // device over the connection it had opened, and each answered.
    for from in ["customer", "*11"] {
        let bye = format!("bye: from {from} to alice answered 200 over {proto}");
        assert!(kamailio.logged(&bye), "{bye}: {context}");
    }
}

#[test]
fn the_checklist_flip_moves_the_customer_to_a_new_dialog_over_udp() {
    the_checklist_flip_moves_the_customer_to_a_new_dialog(Over::Udp);
}

#[test]
fn the_checklist_flip_moves_the_customer_to_a_new_dialog_over_tcp() {
    the_checklist_flip_moves_the_customer_to_a_new_dialog(Over::Tcp);
}

/// Over TLS with `sips:`: SIPS URIs in every request, Contact and Record-Route.
#[test]
fn the_checklist_flip_moves_the_customer_to_a_new_dialog_over_tls() {
    the_checklist_flip_moves_the_customer_to_a_new_dialog(Over::Sips);
}

/// `flipcheck probe` registers and unregisters every account of the profile; a wrong
/// password is named with its account and variable, exit 2.
#[test]
fn probe_lists_the_accounts_and_names_a_wrong_password() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let Some(kamailio) = Kamailio::start(dir.path(), &[]) else {
        return;
    };
    let probe = |target: &Path| {
        let out = Command::new(common::BIN)
            .arg("probe")
            .arg("--target")
            .arg(target)
            .env("KAM_PW", PASSWORD)
            .env("KAM_WRONG_PW", "not-the-password")
            .output()
            .expect("run flipcheck probe");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let context = format!(
            "{stdout}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            kamailio.log()
        );
        (out.status.code().unwrap_or(-1), stdout, context)
    };

    let right = kamailio.profile(dir.path(), "right.yaml", Over::Udp, "KAM_PW");
    let (code, stdout, context) = probe(&right);
    assert_eq!(code, 0, "{context}");
    assert!(
        stdout.contains(&format!("OPTIONS to 127.0.0.2:{}: 200 OK", kamailio.port)),
        "{context}"
    );
    assert!(stdout.contains("2 of 2 accounts registered"), "{context}");
    for who in ["alice", "customer"] {
        let row = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(who))
            .unwrap_or_else(|| panic!("a row for {who}: {context}"));
        assert!(row.contains("registered and unregistered"), "{row}");
    }

    let wrong = kamailio.profile(dir.path(), "wrong.yaml", Over::Udp, "KAM_WRONG_PW");
    let (code, stdout, context) = probe(&wrong);
    assert_eq!(code, 2, "{context}");
    assert!(stdout.contains("1 of 2 accounts registered"), "{context}");
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("customer"))
        .unwrap_or_else(|| panic!("a row for the customer: {context}"));
    assert!(
        row.contains("authentication failed for customer") && row.contains("check KAM_WRONG_PW"),
        "{row}"
    );
}

/// A scenario of our own: the customer calls alice, the desk answers, they talk, the mobile
/// dials `*11`, they talk again; then `ending`, the last step and every expectation, so a
/// run that held them all exits 0.
fn own_scenario(
    dir: &Path,
    file: &str,
    name: &str,
    customer: &str,
    talk: &str,
    ending: &str,
) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(
        &path,
        format!(
            "name: {name}\nuser: alice\n\
             devices:\n  desk: {{ codecs: [PCMU] }}\n  mobile: {{ codecs: [PCMU] }}\n\
             customer: {customer}\n\
             steps:\n  - register: [desk, mobile]\n  \
             - call: {{ from: customer, answer: desk }}\n  - talk: {talk}\n  \
             - flip: {{ to: mobile, method: feature_code }}\n  - talk: 1s\n{ending}"
        ),
    )
    .expect("write the scenario");
    path
}

/// The [`own_scenario`] ending of a flip Kamailio refuses: the call stays on the desk, in
/// its dialog, and the customer hangs up.
const BLOCKED: &str =
    "  - hangup: customer\nexpect:\n  flip: blocked\n  customer_dialog: same_dialog\n";

/// The [`own_scenario`] ending of a flip that moves the call: the mobile hangs up.
const MOVED_THEN_THE_MOBILE_HANGS_UP: &str = "  - hangup: mobile\nexpect:\n  flip: moved\n  \
     customer_dialog: new_dialog\n  old_device_released: true\n";

/// After the flip the mobile hangs up, over TCP and over TLS (`;transport=tls`): its BYE,
/// on the route set Kamailio recorded for the flip's dialog, reaches the customer over the
/// connection the customer opened, and is answered. Every expectation holds (exit 0).
#[test]
fn the_mobile_hangs_up_after_the_flip_over_tcp_and_tls() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let Some(kamailio) = Kamailio::start(dir.path(), &[]) else {
        return;
    };
    let scenario = own_scenario(
        dir.path(),
        "mobile-hangs-up.yaml",
        "the mobile hangs up after the flip",
        "{ codecs: [PCMU] }",
        "1s",
        MOVED_THEN_THE_MOBILE_HANGS_UP,
    );
    for over in [Over::Tcp, Over::Tls] {
        let target = kamailio.profile(dir.path(), &format!("{over:?}.yaml"), over, "KAM_PW");
        let out = dir.path().join(format!("{over:?}.json"));
        let run = run(&scenario, &target, &out);
        let context = format!("{over:?}: {}", run.context(&kamailio));
        assert_eq!(run.code, 0, "{context}");
        let flip = &report(&out)["scenarios"][0]["flips"][0];
        assert_eq!(flip["outcome"], "moved", "{flip}\n{context}");
        assert_eq!(flip["customer_dialog"], "new_dialog", "{flip}\n{context}");
        // In the flip's dialog the customer is the URI the mobile dialled.
        let bye = format!("bye: from alice to *11 answered 200 over {}", over.proto());
        assert!(kamailio.logged(&bye), "{bye}: {context}");
    }
}

/// Kamailio's refusal of a user with no call up (route[FLIP]: 403 with a Reason), seen by
/// flipcheck as `blocked` with that status, the call staying on the desk.
///
/// A flipcheck scenario can only flip a call its user has (a flip step needs a call up, and
/// every device of a scenario is its one user's), so "alice dials it with no call" cannot
/// be written. Instead this Kamailio gives up on answered calls after one second
/// (`CALL_MAX_AGE=1`) and the parties talk for three before the flip: Kamailio drops
/// alice's call from its table, so alice has no call up while the customer still hears the
/// desk. (bob's device dialling `*11` while alice has the call is SIPp's, in
/// `tests/sipp_foreign.rs`.)
#[test]
fn a_flip_kamailio_finds_no_call_for_is_refused_and_blocked() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let Some(kamailio) = Kamailio::start(dir.path(), &["CALL_MAX_AGE=1"]) else {
        return;
    };
    let target = kamailio.profile(dir.path(), "kamailio.yaml", Over::Udp, "KAM_PW");
    let scenario = own_scenario(
        dir.path(),
        "no-call.yaml",
        "a flip with no call to pull",
        "{ codecs: [PCMU] }",
        "3s",
        BLOCKED,
    );
    let out = dir.path().join("out.json");
    let run = run(&scenario, &target, &out);
    let context = run.context(&kamailio);
    assert_eq!(run.code, 0, "blocked, as expected: {context}");
    let report = report(&out);
    let flip = &report["scenarios"][0]["flips"][0];
    assert_eq!(flip["outcome"], "blocked", "{flip}\n{context}");
    assert_eq!(flip["refusal"]["status"], 403, "{flip}");
    assert_eq!(flip["refusal"]["reason"], "No Call To Pull", "{flip}");
    assert!(
        flip["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Reason: SIP;cause=403;text=\"no call to pull\"")),
        "the Reason header is reported: {flip}"
    );
    assert_eq!(flip["customer_dialog"], "same_dialog", "{flip}");
    let log = kamailio.log();
    assert!(
        log.contains("is older than CALL_MAX_AGE, forgotten")
            && log.contains("flip: alice has no call to pull"),
        "{context}"
    );
}

/// The customer's phone refuses `Replaces` (`replaces: reject`: 420 to an INVITE that
/// requires it). Kamailio relays the refusal to the mobile; the flip is `blocked` with
/// 420 and the call stays on the desk, in its dialog.
#[test]
fn a_customer_refusing_replaces_blocks_the_flip_with_420() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let Some(kamailio) = Kamailio::start(dir.path(), &[]) else {
        return;
    };
    let target = kamailio.profile(dir.path(), "kamailio.yaml", Over::Udp, "KAM_PW");
    let scenario = own_scenario(
        dir.path(),
        "reject.yaml",
        "the customer refuses Replaces",
        "{ codecs: [PCMU], replaces: reject }",
        "1s",
        BLOCKED,
    );
    let out = dir.path().join("out.json");
    let run = run(&scenario, &target, &out);
    let context = run.context(&kamailio);
    assert_eq!(run.code, 0, "blocked, as expected: {context}");
    let report = report(&out);
    let flip = &report["scenarios"][0]["flips"][0];
    assert_eq!(flip["outcome"], "blocked", "{flip}\n{context}");
    assert_eq!(flip["refusal"]["status"], 420, "{flip}");
    assert_eq!(flip["customer_dialog"], "same_dialog", "{flip}");
    assert!(kamailio.log().contains("flip: alice pulls"), "{context}");
}

/// flipcheck checks Kamailio's certificate: trusting another CA, the first registration
/// fails at the TLS handshake with rustls's reason. `UnknownIssuer` is only reached once
/// Kamailio's certificate arrived, so the handshake reached Kamailio. (Kamailio's own log
/// of the alert is not awaited: it logged it in most runs but not all, on a busy machine.)
#[test]
fn a_kamailio_certificate_from_a_ca_the_profile_does_not_trust_is_refused() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let Some(kamailio) = Kamailio::start(dir.path(), &[]) else {
        return;
    };
    let other = common::pki::pki(dir.path(), "other");
    let target =
        kamailio.profile_trusting(dir.path(), "other-ca.yaml", Over::Sips, "KAM_PW", &other.ca);
    let out = dir.path().join("out.json");
    let run = run(Path::new(CHECKLIST), &target, &out);
    let context = run.context(&kamailio);
    assert_eq!(run.code, 2, "{context}");
    let report = report(&out);
    let error = report["scenarios"][0]["error"].as_str().unwrap_or_default();
    let tls = format!("127.0.0.2:{}", kamailio.tls_port);
    // Whichever of alice's devices registers first is the one named.
    let want = format!(
        "could not register at kamailio (sips:{tls}): TLS handshake with {tls} failed: \
         invalid peer certificate: UnknownIssuer"
    );
    assert!(
        error.contains("alice on ") && error.contains(&want),
        "{error}\n{context}"
    );
    assert!(
        run.stdout.contains(&want),
        "the console says why: {context}"
    );
}
