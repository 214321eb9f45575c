//! Turns a target file into what a scene needs: addresses resolved, passwords read from the
//! environment (never from files, never written anywhere).

use anyhow::{anyhow, bail};

use super::reach::Located;
use crate::roles::TlsClientOptions;
use crate::roles::pbx::{PbxQuirks, default_users};
use crate::roles::ua::UaOptions;
use crate::runner::{AccountSetup, TargetSetup};
use crate::scenario::{Account, EmbeddedTarget, ExternalTarget, Quirk, SipScheme, Target, nearest};

/// The embedded PBX's password: `FLIPCHECK_PBX_PASSWORD`, else the loopback-only default.
pub fn embedded_password() -> String {
    std::env::var("FLIPCHECK_PBX_PASSWORD").unwrap_or_else(|_| "flipcheck".to_string())
}

/// The PBX switches a target file asks for. Every quirk a file can name maps to one (the
/// match has no catch-all, so a new quirk cannot be accepted without being carried out).
pub fn quirks_of(t: &EmbeddedTarget) -> PbxQuirks {
    let mut q = PbxQuirks::default();
    for quirk in &t.quirks {
        match quirk {
            Quirk::DropCustomerOnFlip => q.drop_customer_on_flip = true,
            Quirk::NewDialogOnFlip => q.new_dialog_on_flip = true,
            Quirk::ReinviteCustomerOnFlip => q.reinvite_customer_on_flip = true,
            Quirk::OneWayAudioOnFlip => q.one_way_audio_on_flip = true,
            Quirk::HoldMusicDuringFlip => q.hold_music_during_flip = true,
            Quirk::ChangeCallerIdOnFlip => q.change_caller_id_on_flip = true,
            Quirk::NewSessionIdOnFlip => q.new_session_id_on_flip = true,
            Quirk::SplitCdrOnFlip => q.split_cdr_on_flip = true,
            Quirk::RefuseFlip => q.refuse_flip = true,
            Quirk::FlipNeverAnswered => q.flip_never_answered = true,
            Quirk::IgnoreFlipRequest => q.ignore_flip_request = true,
            Quirk::ChallengeFlipTwice => q.challenge_flip_twice = true,
            Quirk::KeepOldDeviceOnFlip => q.keep_old_device_on_flip = true,
            Quirk::OmitSessionId => q.omit_session_id = true,
            Quirk::MediaGapMs(ms) => q.media_gap_ms = *ms,
            Quirk::LosePacketsAfterFlip(n) => q.lose_packets_after_flip = *n,
        }
    }
    q
}

/// Resolves a target for one scenario's user: `located` is where an external target's
/// registrar was found; `pool` (1-based) picks the account of a user with several.
pub fn setup(
    target: &Target,
    located: Option<&Located>,
    user: &str,
    pool: usize,
) -> anyhow::Result<TargetSetup> {
    match target {
        Target::Embedded(t) => {
            embedded_account(user)?;
            Ok(TargetSetup::Embedded {
                quirks: quirks_of(t),
                password: embedded_password(),
            })
        }
        Target::External(t) => {
            let located = located.ok_or_else(|| anyhow!("target `{}` was not located", t.name))?;
            external(t, located, user, pool)
        }
    }
}

/// The embedded PBX knows only its default directory; a scenario user outside it would
/// fail registration with a bare 401 mid-run, so it is refused up front by name.
fn embedded_account(user: &str) -> anyhow::Result<()> {
    let users = default_users("");
    // `customer` is the far end's own account, not a user under test.
    let names: Vec<&str> = users
        .iter()
        .map(|(u, _)| u.as_str())
        .filter(|u| *u != "customer")
        .collect();
    if names.contains(&user) {
        return Ok(());
    }
    let hint = match nearest(user, names.iter().copied()) {
        Some(near) => format!("; did you mean `{near}`?"),
        None => String::new(),
    };
    bail!(
        "user `{user}` has no account on the embedded PBX (its users: {}{hint})",
        names.join(", ")
    )
}

fn external(
    t: &ExternalTarget,
    located: &Located,
    user: &str,
    pool: usize,
) -> anyhow::Result<TargetSetup> {
    let (proxy, domain) = (located.proxy, located.domain.clone());
    let pool_of = t.users.get(user).ok_or_else(|| {
        let known: Vec<&str> = t.users.keys().map(String::as_str).collect();
        anyhow!(
            "target `{}` has no account for user `{user}` under `users:` (it has {})",
            t.name,
            known.join(", ")
        )
    })?;
    // Parallel runs against one system take different accounts of a pool (`--pool N`), so
    // their registrations and calls do not collide.
    let account = pool_of.get(pool - 1).ok_or_else(|| {
        anyhow!(
            "target `{}`: user `{user}` has {} account(s), so --pool {pool} has none",
            t.name,
            pool_of.len()
        )
    })?;
    let customer = match &t.customer.account {
        Some(a) => AccountSetup {
            username: a.username.clone(),
            password: password(&a.password_env, "the customer")?,
            options: ua_options(t, located, Some(a), t.customer.from.as_deref()),
        },
        // A trunk placing calls by its number, answered without a challenge.
        None => AccountSetup {
            username: t.customer.from.clone().unwrap_or_else(|| "customer".into()),
            password: String::new(),
            options: ua_options(t, located, None, None),
        },
    };
    let user_options = ua_options(t, located, Some(account), None);
    Ok(TargetSetup::External {
        proxy,
        domain,
        user: AccountSetup {
            username: account.username.clone(),
            password: password(&account.password_env, user)?,
            options: user_options,
        },
        customer,
        dial: dial_string(account),
        feature_code: t.feature_code.clone(),
        registrar: located.registrar.clone(),
        tls: TlsClientOptions {
            ca_file: t.tls.ca_file.clone(),
            insecure: t.tls.insecure,
        },
    })
}

/// What the customer dials to reach `account`: its `dial:`, else its AOR's user part,
/// else its username.
pub fn dial_string(account: &Account) -> String {
    if let Some(d) = &account.dial {
        return d.clone();
    }
    account
        .aor
        .as_deref()
        .and_then(|aor| crate::core::sip::SipUri::parse(aor).ok())
        .and_then(|u| u.user)
        .unwrap_or_else(|| account.username.clone())
}

/// The account plan of one party as its user agent carries it out: the account's AOR and
/// realm, the caller ID its calls present (`from`: a trunk's number), and the target's
/// expiry, outbound proxy and advertised address.
pub fn ua_options(
    t: &ExternalTarget,
    located: &Located,
    account: Option<&Account>,
    from: Option<&str>,
) -> UaOptions {
    let scheme = match located.registrar.scheme {
        SipScheme::Sips => "sips",
        SipScheme::Sip => "sip",
    };
    UaOptions {
        aor: account.and_then(|a| a.aor.clone()),
        from: from.map(|number| format!("{scheme}:{number}@{}", located.domain)),
        realm: account.and_then(|a| a.realm.clone()),
        register_expires: t.register_expires,
        outbound_route: located.outbound_route.clone(),
        advertised_ip: t.media_address,
    }
}

/// A password from the environment: set and not empty, or an error naming the variable
/// before any traffic is sent.
pub fn password(env: &str, who: &str) -> anyhow::Result<String> {
    match std::env::var(env) {
        Ok(p) if !p.is_empty() => Ok(p),
        Ok(_) => bail!("environment variable {env} (password of {who}) is empty"),
        Err(_) => bail!("environment variable {env} (password of {who}) is not set"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quirk_sets_its_own_switch() {
        let all: Vec<Quirk> = Quirk::WORDS
            .iter()
            .copied()
            .chain([Quirk::MediaGapMs(250), Quirk::LosePacketsAfterFlip(10)])
            .collect();
        let each: Vec<PbxQuirks> = all
            .iter()
            .map(|q| quirks_of(&EmbeddedTarget { quirks: vec![*q] }))
            .collect();
        for (i, (q, pbx)) in all.iter().zip(&each).enumerate() {
            assert_ne!(*pbx, PbxQuirks::default(), "{q} sets nothing");
            for (other, pbx2) in all.iter().zip(&each).skip(i + 1) {
                assert_ne!(pbx, pbx2, "{q} and {other} set the same switch");
            }
        }
        let valued = quirks_of(&EmbeddedTarget {
            quirks: vec![Quirk::MediaGapMs(250), Quirk::LosePacketsAfterFlip(10)],
        });
        assert_eq!(
            (valued.media_gap_ms, valued.lose_packets_after_flip),
            (250, 10)
        );
        assert_eq!(quirks_of(&EmbeddedTarget::default()), PbxQuirks::default());
    }
}
