//! Target profiles: the documented examples, defaults, and every error with its position.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

fn compile(text: &str) -> Result<Target, Vec<Diagnostic>> {
    compile_target(Path::new("t/target.yaml"), text)
}

fn errors(text: &str) -> Vec<String> {
    match compile(text) {
        Ok(t) => panic!("expected errors, got {t:?}"),
        Err(ds) => ds.iter().map(ToString::to_string).collect(),
    }
}

const EXTERNAL: &str = "\
kind: external                  # a real system
name: acme-pbx
registrar: sip:pbx.acme.test:5060;transport=udp
users: { alice: { username: \"1001\", password_env: ALICE_SIP_PASSWORD } }
customer: { username: \"1099\", password_env: CUSTOMER_SIP_PASSWORD }
flip: { feature_code: \"*11\" }
";

#[test]
fn embedded_defaults_and_quirks() {
    assert_eq!(
        compile("kind: embedded\n").unwrap(),
        Target::Embedded(EmbeddedTarget::default())
    );
    let t = compile("kind: embedded\nquirks: [drop_customer_on_flip, new_session_id_on_flip]\n")
        .unwrap();
    assert_eq!(
        t,
        Target::Embedded(EmbeddedTarget {
            quirks: vec![Quirk::DropCustomerOnFlip, Quirk::NewSessionIdOnFlip],
        })
    );
    assert_eq!(t.kind(), "embedded");
}

#[test]
fn every_quirk_name_is_accepted() {
    for q in Quirk::WORDS {
        let t = compile(&format!("kind: embedded\nquirks: [{q}]\n")).unwrap();
        assert_eq!(t, Target::Embedded(EmbeddedTarget { quirks: vec![*q] }));
    }
}

#[test]
fn the_shipped_embedded_targets_compile() {
    for (path, text) in [
        (
            "targets/embedded.yaml",
            include_str!("../../targets/embedded.yaml"),
        ),
        (
            "targets/embedded-quirky.yaml",
            include_str!("../../targets/embedded-quirky.yaml"),
        ),
    ] {
        compile_target(Path::new(path), text).unwrap_or_else(|e| panic!("{}", Diagnostics(e)));
    }
}

#[test]
fn design_md_external_example() {
    let t = compile(EXTERNAL).unwrap();
    let Target::External(ext) = &t else {
        panic!("{t:?}")
    };
    let account = |username: &str, env: &str| Account {
        username: username.into(),
        password_env: env.into(),
        aor: None,
        realm: None,
        dial: None,
    };
    assert_eq!(
        **ext,
        ExternalTarget {
            name: "acme-pbx".into(),
            registrar: "sip:pbx.acme.test:5060;transport=udp".into(),
            outbound_proxy: None,
            domain: None,
            dns: None,
            local_address: None,
            media_address: None,
            tls: TlsSettings::default(),
            register_expires: 3600,
            timeouts: DEFAULT_TIMEOUTS,
            users: BTreeMap::from([(
                "alice".to_string(),
                vec![account("1001", "ALICE_SIP_PASSWORD")]
            )]),
            customer: Customer {
                account: Some(account("1099", "CUSTOMER_SIP_PASSWORD")),
                from: None
            },
            feature_code: "*11".into(),
            cdr: None,
        }
    );
    // Without `flip:`, the feature code defaults to *11.
    let t = compile(&EXTERNAL.replace("flip: { feature_code: \"*11\" }\n", "domain: acme.test\n"))
        .unwrap();
    let Target::External(ext) = t else { panic!() };
    assert_eq!(ext.feature_code, DEFAULT_FEATURE_CODE);
    assert_eq!(ext.domain.as_deref(), Some("acme.test"));
}

#[test]
fn unknown_quirk_suggests_the_nearest() {
    assert_eq!(
        errors(
            "kind: embedded\nquirks: [drop_customer_on_flip, hold_musik_during_flip, frobnicate]\n"
        ),
        [
            "t/target.yaml:2:33: error: unknown quirk `hold_musik_during_flip` (did you mean `hold_music_during_flip`?)",
            "t/target.yaml:2:57: error: unknown quirk `frobnicate` (expected one of `drop_customer_on_flip`, \
             `new_dialog_on_flip`, `reinvite_customer_on_flip`, `hold_music_during_flip`, \
             `change_caller_id_on_flip`, `new_session_id_on_flip`, `one_way_audio_on_flip`, \
             `split_cdr_on_flip`, `refuse_flip`, `flip_never_answered`, `ignore_flip_request`, \
             `challenge_flip_twice`, `keep_old_device_on_flip`, `omit_session_id`, \
             `media_gap_ms`, `lose_packets_after_flip`)",
        ]
    );
    assert_eq!(
        errors("kind: embedded\nquirks: [new_dialog_on_flip, new_dialog_on_flip]\n"),
        ["t/target.yaml:2:30: error: quirk `new_dialog_on_flip` is listed twice"]
    );
}

#[test]
fn valued_quirks_in_flow_and_block_form() {
    let want = Target::Embedded(EmbeddedTarget {
        quirks: vec![
            Quirk::DropCustomerOnFlip,
            Quirk::MediaGapMs(250),
            Quirk::LosePacketsAfterFlip(1000),
        ],
    });
    for text in [
        "quirks: [drop_customer_on_flip, {media_gap_ms: 250}, {lose_packets_after_flip: 1000}]\n",
        // A `key: value` pair inside a flow list is a one-key mapping (YAML 1.2 §7.4.1).
        "quirks: [drop_customer_on_flip, media_gap_ms: 250, lose_packets_after_flip: 1000]\n",
        "quirks:\n  - drop_customer_on_flip\n  - media_gap_ms: 250\n  - { lose_packets_after_flip: 1000 }\n",
    ] {
        let t = compile(&format!("kind: embedded\n{text}"))
            .unwrap_or_else(|e| panic!("{text}: {}", Diagnostics(e)));
        assert_eq!(t, want, "{text}");
    }
    assert_eq!(Quirk::MediaGapMs(250).to_string(), "{media_gap_ms: 250}");
    assert_eq!(Quirk::RefuseFlip.to_string(), "refuse_flip");
    // The ends of each range.
    let t = compile("kind: embedded\nquirks: [media_gap_ms: 1, lose_packets_after_flip: 1]\n");
    assert_eq!(
        t.unwrap(),
        Target::Embedded(EmbeddedTarget {
            quirks: vec![Quirk::MediaGapMs(1), Quirk::LosePacketsAfterFlip(1)]
        })
    );
    let t = compile("kind: embedded\nquirks: [media_gap_ms: 60000]\n").unwrap();
    assert_eq!(
        t,
        Target::Embedded(EmbeddedTarget {
            quirks: vec![Quirk::MediaGapMs(60_000)]
        })
    );
}

#[test]
fn valued_quirk_mistakes_each_have_their_own_error() {
    let text = "kind: embedded\nquirks:\n\
                \x20 - media_gap_ms\n\
                \x20 - refuse_flip: 1\n\
                \x20 - media_gap_ms: 0\n\
                \x20 - lose_packets_after_flip: 1001\n\
                \x20 - media_gap_ms: 2.5\n\
                \x20 - media_gap_ms: fast\n\
                \x20 - media_gap_ms: -5\n\
                \x20 - { media_gap_ms: 250, lose_packets_after_flip: 10 }\n\
                \x20 - media_gap: 250\n\
                \x20 - {}\n\
                \x20 - 42\n";
    assert_eq!(
        errors(text),
        [
            "t/target.yaml:3:5: error: quirk `media_gap_ms` needs a value: a number of \
             milliseconds from 1 to 60000 (write `{media_gap_ms: 250}`)",
            "t/target.yaml:4:5: error: quirk `refuse_flip` takes no value (write it as a bare \
             name: `refuse_flip`)",
            "t/target.yaml:5:19: error: quirk `media_gap_ms` must be from 1 to 60000 \
             milliseconds, not 0",
            "t/target.yaml:6:30: error: quirk `lose_packets_after_flip` must be from 1 to 1000 \
             packets, not 1001",
            "t/target.yaml:7:19: error: quirk `media_gap_ms` must be a whole number of \
             milliseconds from 1 to 60000, not `2.5`",
            "t/target.yaml:8:19: error: quirk `media_gap_ms` must be a whole number of \
             milliseconds from 1 to 60000, not `fast`",
            "t/target.yaml:9:19: error: quirk `media_gap_ms` must be from 1 to 60000 \
             milliseconds, not -5",
            "t/target.yaml:10:26: error: a quirk with a value is a mapping with one key, and \
             this one has 2 (give each quirk its own list item, e.g. `[media_gap_ms: 250, \
             lose_packets_after_flip: 10]`)",
            "t/target.yaml:11:5: error: unknown quirk `media_gap` (did you mean `media_gap_ms`?)",
            "t/target.yaml:12:5: error: an empty mapping is not a quirk (write a quirk name, or \
             `{media_gap_ms: 250}`)",
            "t/target.yaml:13:5: error: a quirk is a name or `{name: value}`, not a number (e.g. \
             `quirks: [refuse_flip, {media_gap_ms: 250}]`)",
        ]
    );
    // A duplicate is one, whatever the values; a misspelt word quirk gets a suggestion too.
    assert_eq!(
        errors("kind: embedded\nquirks: [media_gap_ms: 250, {media_gap_ms: 300}, refuse_flipp]\n"),
        [
            "t/target.yaml:2:30: error: quirk `media_gap_ms` is listed twice",
            "t/target.yaml:2:50: error: unknown quirk `refuse_flipp` (did you mean `refuse_flip`?)",
        ]
    );
}

#[test]
fn quirks_this_version_does_not_carry_out_are_refused() {
    assert_eq!(
        errors(
            "kind: embedded\nquirks:\n  - split_recording_on_flip\n  - allow_cross_user_flip\n  \
             - allow_flip_on_hold\n"
        ),
        [
            "t/target.yaml:3:5: error: quirk `split_recording_on_flip` is not supported in this \
             version: the embedded PBX records no calls (`split_cdr_on_flip` splits the call's \
             CDR instead)",
            "t/target.yaml:4:5: error: quirk `allow_cross_user_flip` is not supported in this \
             version: a flip pulls only a call of the same user (remove it)",
            "t/target.yaml:5:5: error: quirk `allow_flip_on_hold` is not supported in this \
             version: no call is ever on hold, so there is no hold to allow a flip in (remove it)",
        ]
    );
}

#[test]
fn a_policy_block_is_refused_at_its_key_whatever_it_holds() {
    let refusal = "error: `policy` is not supported in this version: no call state such as hold \
                   or a three-way call can reach a policy (remove the `policy:` block)";
    for policy in [
        "policy: { flip_on_hold: block, flip_in_three_way: block, flip_ring_timeout_s: 18 }\n",
        "policy:\n  flip_on_hold: allow\n",
        "policy: { flip_on_hlod: 7 }\n",
        "policy:\n",
        "policy: nonsense\n",
    ] {
        assert_eq!(
            errors(&format!("kind: embedded\n{policy}quirks: []\n")),
            [format!("t/target.yaml:2:1: {refusal}")],
            "{policy}"
        );
    }
}

#[test]
fn kind_is_required_and_checked() {
    assert_eq!(
        errors("name: x\n"),
        ["t/target.yaml:1:1: error: missing field `kind` (`kind: embedded` or `kind: external`)"]
    );
    assert_eq!(
        errors("name: a scenario\nsteps:\n  - talk: 1s\n"),
        [
            "t/target.yaml:3:3: error: this is a scenario (it has `steps:`), not a target profile (a target file has `kind: embedded` or `kind: external`; scenarios go to `flipcheck run PATH`)"
        ]
    );
    assert_eq!(
        errors("# comment\nkind: embeded\n"),
        ["t/target.yaml:2:7: error: unknown target kind `embeded` (did you mean `embedded`?)"]
    );
    // Fields of the other kind are unknown here.
    assert_eq!(
        errors("kind: embedded\nregistrar: sip:x\n"),
        ["t/target.yaml:2:1: error: unknown field `registrar` (expected one of `kind`, `quirks`)"]
    );
}

#[test]
fn bad_registrar_is_reported_at_its_line() {
    let bad = |r: &str| errors(&EXTERNAL.replace("sip:pbx.acme.test:5060;transport=udp", r));
    assert_eq!(
        bad("sip:pbx.acme.test:5060;transport=udpp"),
        [
            "t/target.yaml:3:12: error: bad registrar `sip:pbx.acme.test:5060;transport=udpp`: \
             unknown transport `udpp` (did you mean `udp`?)"
        ]
    );
    assert_eq!(
        bad("pbx.acme.test:5060"),
        [
            "t/target.yaml:3:12: error: bad registrar `pbx.acme.test:5060`: a server URI must start \
             with `sip:` or `sips:` (e.g. `sip:pbx.example.com:5060;transport=udp`)"
        ]
    );
    assert_eq!(
        bad("sip:pbx.acme.test:99999"),
        [
            "t/target.yaml:3:12: error: bad registrar `sip:pbx.acme.test:99999`: registrar port \
             `99999` is not a number from 1 to 65535 (e.g. `sip:pbx.example.com:5060;transport=udp`)"
        ]
    );
    assert_eq!(
        bad("sip:pbx;transprt=tcp"),
        [
            "t/target.yaml:3:12: error: bad registrar `sip:pbx;transprt=tcp`: unknown registrar URI \
             parameter `transprt` (did you mean `transport`?)"
        ]
    );
}

#[test]
fn accounts_never_hold_passwords() {
    assert_eq!(
        errors(&EXTERNAL.replace("password_env: ALICE_SIP_PASSWORD", "password: hunter2")),
        [
            "t/target.yaml:4:37: error: unknown field `password` (passwords are never written in \
             files; name an environment variable with `password_env`)"
        ]
    );
    let errs = errors(&EXTERNAL.replace("ALICE_SIP_PASSWORD", "\"s3cr3t!\""));
    assert_eq!(
        errs,
        [
            "t/target.yaml:4:51: error: `password_env` must name an environment variable (e.g. \
             `ALICE_SIP_PASSWORD`; never put the password itself in a file)"
        ]
    );
    assert!(!errs[0].contains("s3cr3t"), "the value must not be echoed");
}

#[test]
fn bad_feature_code_and_empty_users() {
    assert_eq!(
        errors(&EXTERNAL.replace("\"*11\"", "\"*1 1\"").replace(
            "users: { alice: { username: \"1001\", password_env: ALICE_SIP_PASSWORD } }",
            "users: {}"
        )),
        [
            "t/target.yaml:4:8: error: `users` must map at least one user to an account",
            "t/target.yaml:6:23: error: bad feature code `*1 1` (digits, `*` and `#` only, e.g. \"*11\")",
        ]
    );
}

#[test]
fn a_user_can_have_a_pool_of_accounts() {
    let text = EXTERNAL.replace(
        "users: { alice: { username: \"1001\", password_env: ALICE_SIP_PASSWORD } }",
        "users:\n  alice:\n    pool:\n      - { username: \"1001\", password_env: A1 }\n      - { username: \"1002\", password_env: A2 }\n",
    );
    let Target::External(ext) = compile(&text).unwrap() else {
        panic!()
    };
    let names: Vec<&str> = ext.users["alice"]
        .iter()
        .map(|a| a.username.as_str())
        .collect();
    assert_eq!(names, ["1001", "1002"]);
    let both = text.replace(
        "  alice:\n    pool:",
        "  alice:\n    username: x\n    pool:",
    );
    assert_eq!(
        errors(&both),
        [
            "t/target.yaml:6:5: error: user `alice` has both account keys and a `pool` (give one account (`username`, `password_env`, …) or a `pool:` list of them)"
        ]
    );
    let empty = text.replace(
        "    pool:\n      - { username: \"1001\", password_env: A1 }\n      - { username: \"1002\", password_env: A2 }\n",
        "    pool: []\n",
    );
    assert_eq!(
        errors(&empty),
        ["t/target.yaml:6:11: error: `pool` must list at least one account"]
    );
}

#[test]
fn a_full_account_plan_compiles_into_the_target() {
    let text = "\
kind: external
name: acme-pbx
registrar: sips:pbx.acme.test
outbound_proxy: sip:sbc.acme.test:5070;transport=tcp
media_address: 192.0.2.1
registration: { expires: 300 }
users:
  alice:
    username: \"1001\"
    password_env: ALICE_SIP_PASSWORD
    aor: sips:alice@acme.test
    realm: acme
    dial: \"2001\"
customer: { from: \"+15551230000\" }
";
    let Target::External(t) = compile(text).unwrap() else {
        panic!("not external")
    };
    assert_eq!(
        t.outbound_proxy.as_deref(),
        Some("sip:sbc.acme.test:5070;transport=tcp")
    );
    assert_eq!(t.media_address, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(t.register_expires, 300);
    assert_eq!(
        t.users["alice"],
        [Account {
            username: "1001".into(),
            password_env: "ALICE_SIP_PASSWORD".into(),
            aor: Some("sips:alice@acme.test".into()),
            realm: Some("acme".into()),
            dial: Some("2001".into()),
        }]
    );
    assert_eq!(t.customer.account, None);
    assert_eq!(t.customer.from.as_deref(), Some("+15551230000"));
}

#[test]
fn account_plan_values_are_checked_where_they_stand() {
    let text = format!("{EXTERNAL}outbound_proxy: http://sbc\nregistration: {{ expires: 5 }}\n")
        .replace(
            "password_env: ALICE_SIP_PASSWORD }",
            "password_env: ALICE_SIP_PASSWORD, aor: alice, realm: \"\", dial: \"10 01\" }",
        )
        .replace(
            "password_env: CUSTOMER_SIP_PASSWORD }",
            "password_env: CUSTOMER_SIP_PASSWORD, aor: \"sip:c@acme.test\", from: \"10-99\" }",
        );
    let got = errors(&text);
    let messages: Vec<&str> = got
        .iter()
        .map(|e| {
            e.split(": error: ")
                .nth(1)
                .unwrap()
                .split(" (")
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        messages,
        [
            "bad `aor` `alice`",
            "`realm` must not be empty",
            "bad `dial` `10 01`",
            "bad `from` number `10-99`",
            "bad outbound_proxy `http://sbc`: a server URI must start with `sip:` or `sips:`",
            "registration expiry 5 s is out of range",
        ],
        "{got:#?}"
    );
}

#[test]
fn codes_of_methods_this_version_does_not_carry_out_are_refused_by_name() {
    let text = EXTERNAL.replace(
        "flip: { feature_code: \"*11\" }",
        "flip: { feature_code: \"*11\", park: \"*70\", pickup: \"*71\" }",
    );
    assert_eq!(
        errors(&text),
        [
            "t/target.yaml:6:36: error: flip code `park` is not supported in this version \
             (only the `feature_code` flip is carried out; remove it (`flip: { feature_code: \"*11\" }`))",
            "t/target.yaml:6:51: error: flip code `pickup` is not supported in this version \
             (only the `feature_code` flip is carried out; remove it (`flip: { feature_code: \"*11\" }`))",
        ]
    );
}

#[test]
fn a_ca_file_that_cannot_be_read_is_found_by_validate() {
    let text = format!("{EXTERNAL}tls: {{ ca_file: no-such-ca.pem }}\n");
    assert_eq!(
        errors(&text),
        [
            "t/target.yaml:7:17: error: cannot read the CA file t/no-such-ca.pem: no such file or directory"
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "").unwrap();
    let text = format!("{EXTERNAL}tls: {{ ca_file: {} }}\n", ca.display());
    let Target::External(t) = compile(&text).expect("a readable CA file") else {
        panic!("external")
    };
    assert_eq!(t.tls.ca_file.as_deref(), Some(ca.as_path()));
}
