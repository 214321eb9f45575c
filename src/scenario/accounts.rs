//! The accounts of an external target: each scenario user's account or pool of them
//! (digest username, password variable, AOR, realm, the number the customer dials) and the
//! customer's side (an account, or a trunk calling as a number). Raw structs mirror the
//! YAML; [`user_accounts`] and [`customer`] check every value.

use schemars::JsonSchema;
use serde::Deserialize;

use super::compile::Compiler;
use super::yaml::Spanned;

/// An account on an external target. The password is read from the environment variable
/// `password_env` by the runner: it is never stored in a file or a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The digest username (RFC 3261 §22.4), often an extension number.
    pub username: String,
    pub password_env: String,
    /// The address of record; `sip:USERNAME@DOMAIN` when unset.
    pub aor: Option<String>,
    /// Answer only challenges from this realm (RFC 3261 §22.1).
    pub realm: Option<String>,
    /// What the customer dials to reach this user; the AOR's user part when unset.
    pub dial: Option<String>,
}

/// The customer: an account of its own, or a trunk that places calls without registering
/// (authenticated by its source address, or by digest when it has credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// Credentials for the target's challenges, if it has any.
    pub account: Option<Account>,
    /// The caller ID the customer's calls present (`From` user part): a trunk's number,
    /// or a number shown instead of the account's own.
    pub from: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    /// Digest username (RFC 3261 §22.4), often an extension number.
    username: Option<Spanned<String>>,
    /// Name of the environment variable holding the password; the password itself is never written in a file, a log, a report or a pcap.
    password_env: Option<Spanned<String>>,
    /// Address of record `sip:USER@DOMAIN` (default `sip:USERNAME@DOMAIN`): To and From of the REGISTER, From of the account's calls.
    aor: Option<Spanned<String>>,
    /// Answer only challenges for this realm (default: any).
    realm: Option<Spanned<String>>,
    /// What the customer dials to reach this user: a number or a SIP user name (default the AOR's user part, else the username).
    dial: Option<Spanned<String>>,
    /// Several accounts for this user; `flipcheck run --pool N` takes the Nth (1 = the first).
    pool: Option<Spanned<Vec<Spanned<RawAccount>>>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    /// Digest username (RFC 3261 §22.4), often an extension number.
    username: Spanned<String>,
    /// Name of the environment variable holding the password; the password itself is never written in a file, a log, a report or a pcap.
    password_env: Spanned<String>,
    /// Address of record `sip:USER@DOMAIN` (default `sip:USERNAME@DOMAIN`): To and From of the REGISTER, From of the account's calls.
    aor: Option<Spanned<String>>,
    /// Answer only challenges for this realm (default: any).
    realm: Option<Spanned<String>>,
    /// What the customer dials to reach this user: a number or a SIP user name (default the AOR's user part, else the username).
    dial: Option<Spanned<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TargetCustomer")]
pub(super) struct RawCustomer {
    /// Digest username (RFC 3261 §22.4), often an extension number.
    username: Option<Spanned<String>>,
    /// Name of the environment variable holding the password; the password itself is never written in a file, a log, a report or a pcap.
    password_env: Option<Spanned<String>>,
    /// Address of record `sip:USER@DOMAIN` (default `sip:USERNAME@DOMAIN`): To and From of the REGISTER, From of the account's calls.
    aor: Option<Spanned<String>>,
    /// Answer only challenges for this realm (default: any).
    realm: Option<Spanned<String>>,
    /// A trunk caller without an account: the caller ID (number or `sip:` URI) the customer's calls present.
    from: Option<Spanned<String>>,
}

pub(super) fn is_dial_string(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|ch| ch.is_ascii_digit() || ch == '*' || ch == '#' || ch == '+')
}

/// A dial string or a SIP URI user part of unreserved characters (RFC 3261 §25.1): what
/// goes before the `@` of the customer's Request-URI.
fn is_dialable(s: &str) -> bool {
    is_dial_string(s)
        || (!s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.!~".contains(ch)))
}

pub(super) fn user_accounts(
    c: &mut Compiler<'_>,
    name: &Spanned<String>,
    user: &Spanned<RawUser>,
) -> Vec<Account> {
    let f = &user.value;
    let has_account =
        f.username.is_some() || f.password_env.is_some() || f.aor.is_some() || f.dial.is_some();
    match &user.value.pool {
        Some(pool) => {
            if has_account {
                c.push(
                    c.at(user, format!("user `{}` has both account keys and a `pool`", name.value))
                        .with_hint("give one account (`username`, `password_env`, …) or a `pool:` list of them"),
                );
            }
            if pool.value.is_empty() {
                c.push(c.at(pool, "`pool` must list at least one account"));
            }
            pool.value
                .iter()
                .map(|a| {
                    account(
                        c,
                        &a.value.username,
                        &a.value.password_env,
                        a.value.aor.as_ref(),
                        a.value.realm.as_ref(),
                        a.value.dial.as_ref(),
                    )
                })
                .collect()
        }
        None => match (&f.username, &f.password_env) {
            (Some(u), Some(p)) => vec![account(
                c,
                u,
                p,
                f.aor.as_ref(),
                f.realm.as_ref(),
                f.dial.as_ref(),
            )],
            _ => {
                let missing = if f.username.is_none() {
                    "username"
                } else {
                    "password_env"
                };
                c.push(
                    c.at(user, format!("user `{}` has no `{missing}`", name.value))
                        .with_hint("an account needs `username` and `password_env`"),
                );
                Vec::new()
            }
        },
    }
}

fn account(
    c: &mut Compiler<'_>,
    username: &Spanned<String>,
    password_env: &Spanned<String>,
    aor: Option<&Spanned<String>>,
    realm: Option<&Spanned<String>>,
    dial: Option<&Spanned<String>>,
) -> Account {
    if username.value.trim().is_empty() {
        c.push(c.at(username, "`username` must not be empty"));
    }
    env_name(c, password_env);
    if let Some(a) = aor {
        let ok = crate::core::sip::SipUri::parse(&a.value)
            .is_ok_and(|u| u.user.as_deref().is_some_and(|u| !u.is_empty()));
        if !ok {
            c.push(
                c.at(a, format!("bad `aor` `{}`", a.value))
                    .with_hint("a SIP URI with a user part, e.g. `sip:alice@acme.test`"),
            );
        }
    }
    if let Some(d) = dial
        && !is_dialable(&d.value)
    {
        c.push(c.at(d, format!("bad `dial` `{}`", d.value)).with_hint(
            "what the customer dials: a number (`1001`, `+15551231001`) or a SIP user name",
        ));
    }
    if let Some(r) = realm
        && r.value.trim().is_empty()
    {
        c.push(c.at(r, "`realm` must not be empty"));
    }
    Account {
        username: username.value.clone(),
        password_env: password_env.value.clone(),
        aor: aor.map(|a| a.value.clone()),
        realm: realm.map(|r| r.value.clone()),
        dial: dial.map(|d| d.value.clone()),
    }
}

/// POSIX environment variable names (IEEE 1003.1 §8.1); anything else is likely the
/// password itself pasted into the file.
fn env_name(c: &mut Compiler<'_>, node: &Spanned<String>) {
    let env = &node.value;
    let valid = env
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
        && env
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !valid {
        c.push(
            c.at(node, "`password_env` must name an environment variable")
                .with_hint("e.g. `ALICE_SIP_PASSWORD`; never put the password itself in a file"),
        );
    }
}

pub(super) fn customer(c: &mut Compiler<'_>, raw: &Spanned<RawCustomer>) -> Customer {
    let r = &raw.value;
    let account = match (&r.username, &r.password_env) {
        (Some(u), Some(p)) => Some(account(c, u, p, r.aor.as_ref(), r.realm.as_ref(), None)),
        (None, None) => None,
        _ => {
            c.push(
                c.at(
                    raw,
                    "the customer's account needs both `username` and `password_env`",
                )
                .with_hint("or neither, with `from: NUMBER`, for a trunk that is not challenged"),
            );
            None
        }
    };
    if account.is_none() && r.from.is_none() && r.username.is_none() && r.password_env.is_none() {
        c.push(
            c.at(
                raw,
                "the customer needs an account (`username`, `password_env`) or `from:`",
            )
            .with_hint("`from: \"+15551230000\"` calls as that number without registering"),
        );
    }
    if let Some(f) = &r.from
        && !is_dial_string(&f.value)
    {
        c.push(
            c.at(f, format!("bad `from` number `{}`", f.value))
                .with_hint("digits, with an optional leading `+`"),
        );
    }
    Customer {
        account,
        from: r.from.as_ref().map(|f| f.value.clone()),
    }
}
