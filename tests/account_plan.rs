//! A real account plan end to end: a standalone `flipcheck pbx` on 127.0.0.2 whose users
//! authenticate with extension numbers in a realm of their own and are dialled by another
//! number (`--realm`, `--account USER:AUTH:NUMBER`), driven by a target file that says so
//! (`aor`, `realm`, `dial`, `registration: { expires }`, the customer's `from`), and by an
//! outbound proxy standing in front of a registrar name nobody resolves. What the target
//! saw is read back from the run's pcap: the SIP that flowed, not the file's intent; and
//! `flipcheck probe` registers the same accounts.

mod common;

use std::path::Path;

const PASSWORD: &str = "plan-pw";
const CHECKLIST: &str = "scenarios/checklist/flip-feature-code.yaml";
const ENV: [(&str, &str); 2] = [("ALICE_PW", PASSWORD), ("CUSTOMER_PW", PASSWORD)];

/// A PBX where alice is `1001` in realm `acme`, reached by dialling `2001`, and the
/// customer authenticates as `1099`.
fn start_pbx() -> (common::Server, String) {
    common::start_pbx_on(
        "127.0.0.2",
        PASSWORD,
        &[
            "--realm",
            "acme",
            "--account",
            "alice:1001:2001",
            "--account",
            "customer:1099",
        ],
    )
}

fn target(addr: &str, alice_realm: &str, extra: &str) -> String {
    format!(
        "kind: external\nname: plan pbx\nregistrar: sip:{addr}\n{extra}\
         registration: {{ expires: 120 }}\n\
         timeouts: {{ register: 3s, answer: 5s }}\n\
         users:\n  alice: {{ username: \"1001\", password_env: ALICE_PW, \
         aor: \"sip:alice@127.0.0.2\", realm: {alice_realm}, dial: \"2001\" }}\n\
         customer: {{ username: \"1099\", password_env: CUSTOMER_PW, \
         aor: \"sip:customer@127.0.0.2\", realm: acme, from: \"+15551230000\" }}\n"
    )
}

/// Every pcap the run wrote, as one lossy string: the SIP text is searchable in it.
fn captured(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        all.push_str(&String::from_utf8_lossy(&bytes));
    }
    all
}

fn run(target_text: &str, dir: &Path) -> common::Ran {
    let target = dir.join("plan.yaml");
    std::fs::write(&target, target_text).unwrap();
    let pcap = dir.join("pcap");
    common::run_flipcheck(
        &[
            "run",
            CHECKLIST,
            "--target",
            target.to_str().unwrap(),
            "--pcap",
            pcap.to_str().unwrap(),
        ],
        &ENV,
    )
}

#[test]
fn the_checklist_runs_on_an_account_plan_and_the_sip_shows_it() {
    let (_pbx, addr) = start_pbx();
    let dir = tempfile::tempdir().unwrap();
    let ran = run(&target(&addr, "acme", ""), dir.path());
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("PASS"), "{}", ran.stdout);
    let sip = captured(&dir.path().join("pcap"));
    // The devices register their AOR with the auth username and the expiry asked for.
    assert!(sip.contains("To: <sip:alice@127.0.0.2>"), "AOR in To");
    assert!(sip.contains("Expires: 120"), "the profile's expiry");
    assert!(sip.contains("username=\"1001\""), "auth username");
    assert!(sip.contains("realm=\"acme\""), "the PBX's realm");
    // The customer dials the number and presents its own.
    assert!(
        sip.contains("INVITE sip:2001@127.0.0.2 SIP/2.0"),
        "dialled number"
    );
    assert!(
        sip.contains("From: <sip:+15551230000@127.0.0.2>"),
        "caller ID"
    );
    assert!(
        sip.contains("username=\"1099\""),
        "the customer's auth username"
    );

    // The probe registers both accounts as they are: alice's AOR, the customer's own.
    let ran = common::run_flipcheck(
        &[
            "probe",
            "--target",
            dir.path().join("plan.yaml").to_str().unwrap(),
        ],
        &ENV,
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("2 of 2 accounts registered"),
        "{}",
        ran.stdout
    );
    let row = |who: &str| {
        ran.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(who))
            .unwrap_or_else(|| panic!("no {who} row: {}", ran.stdout))
            .to_string()
    };
    assert!(
        row("alice").contains("| sip:alice@127.0.0.2 "),
        "{}",
        row("alice")
    );
    assert!(
        row("customer").contains("| sip:customer@127.0.0.2 "),
        "{}",
        row("customer")
    );
}

#[test]
fn a_realm_the_pbx_does_not_challenge_with_is_named_in_the_error() {
    let (_pbx, addr) = start_pbx();
    let dir = tempfile::tempdir().unwrap();
    let ran = run(&target(&addr, "other", ""), dir.path());
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("realm \"acme\"; the account is for realm \"other\""),
        "{}",
        ran.stdout
    );
}

#[test]
fn an_outbound_proxy_carries_everything_for_a_registrar_nobody_resolves() {
    let (_pbx, addr) = start_pbx();
    let dir = tempfile::tempdir().unwrap();
    // `.invalid` never resolves (RFC 6761 §6.4): only the outbound proxy is located.
    let text = target(
        "pbx.acme.invalid",
        "acme",
        &format!("outbound_proxy: sip:{addr}\n"),
    )
    .replace("sip:alice@127.0.0.2", "sip:alice@pbx.acme.invalid");
    let ran = run(&text, dir.path());
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let sip = captured(&dir.path().join("pcap"));
    assert!(
        sip.contains(&format!("Route: <sip:{addr};lr>")),
        "the proxy's Route"
    );
    assert!(
        sip.contains("REGISTER sip:pbx.acme.invalid SIP/2.0"),
        "registrar URI"
    );
    assert!(sip.contains("INVITE sip:2001@pbx.acme.invalid SIP/2.0"));
}
