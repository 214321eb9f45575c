//! `flipcheck probe --target FILE` against a standalone `flipcheck pbx` on another loopback
//! address: a row per account, the wrong password named with its variable, exit 2; all
//! accounts right, exit 0.

mod common;

use std::process::Command;

fn profile(addr: &str) -> String {
    format!(
        "kind: external\nname: lab pbx\nregistrar: sip:{addr}\n\
         users:\n  alice: {{ username: alice, password_env: ALICE_PW }}\n  \
         bob:\n    pool:\n      - {{ username: bob, password_env: BOB_PW }}\n      \
         - {{ username: carol, password_env: CAROL_PW }}\n\
         customer: {{ username: customer, password_env: CUSTOMER_PW }}\n"
    )
}

fn probe(target: &std::path::Path, env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(common::BIN)
        .args(["probe", "--target", target.to_str().unwrap()])
        .env_remove("FLIPCHECK_PBX_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("run flipcheck probe");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn probe_lists_every_account_and_names_a_wrong_password() {
    let (_server, addr) = common::start_pbx_on("127.0.0.2", "probe-pw", &[]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("lab.yaml");
    std::fs::write(&target, profile(&addr)).unwrap();
    let right = [
        ("ALICE_PW", "probe-pw"),
        ("BOB_PW", "probe-pw"),
        ("CAROL_PW", "probe-pw"),
        ("CUSTOMER_PW", "probe-pw"),
    ];
    let (code, stdout) = probe(&target, &right);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains(&format!("OPTIONS to {addr}: 200 OK")),
        "{stdout}"
    );
    assert!(stdout.contains("4 of 4 accounts registered"), "{stdout}");
    for who in ["alice", "bob (pool 1)", "bob (pool 2)", "customer"] {
        assert!(stdout.contains(who), "{who}: {stdout}");
    }

    let mut wrong = right;
    wrong[2] = ("CAROL_PW", "not-the-password");
    let (code, stdout) = probe(&target, &wrong);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("3 of 4 accounts registered"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.contains("bob (pool 2)"))
        .expect("a row for the pool's second account");
    assert!(
        row.contains("403 Forbidden") && row.contains("check CAROL_PW"),
        "{row}"
    );
}

#[test]
fn probe_of_a_silent_target_is_bounded() {
    let port = common::free_udp_port();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("silent.yaml");
    std::fs::write(&target, profile(&format!("127.0.0.2:{port}"))).unwrap();
    let env = [
        ("ALICE_PW", "x"),
        ("BOB_PW", "x"),
        ("CAROL_PW", "x"),
        ("CUSTOMER_PW", "x"),
    ];
    let (code, stdout) = probe(&target, &env);
    assert_eq!(code, 2);
    assert!(
        stdout.contains("no response over UDP within 4 s"),
        "{stdout}"
    );
    assert!(stdout.contains("0 of 4 accounts registered"), "{stdout}");
}
