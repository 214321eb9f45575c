//! Turns a target file into what a scene needs: addresses resolved, passwords read from the
//! environment (never from files, never written anywhere).

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{Context, anyhow, bail};

use crate::core::sip::SipUri;
use crate::roles::TlsClientOptions;
use crate::roles::pbx::{PbxQuirks, default_users};
use crate::runner::TargetSetup;
use crate::scenario::{EmbeddedTarget, ExternalTarget, Quirk, Target, nearest};

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

/// Resolves a target for one scenario's user.
pub fn setup(target: &Target, user: &str) -> anyhow::Result<TargetSetup> {
    match target {
        Target::Embedded(t) => {
            embedded_account(user)?;
            Ok(TargetSetup::Embedded {
                quirks: quirks_of(t),
                password: embedded_password(),
            })
        }
        Target::External(t) => external(t, user),
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

fn external(t: &ExternalTarget, user: &str) -> anyhow::Result<TargetSetup> {
    let registrar = t
        .registrar_address()
        .map_err(|e| anyhow!("target `{}`: {e}", t.name))?;
    let uri = SipUri::parse(&t.registrar)
        .map_err(|e| anyhow!("target `{}`: registrar `{}`: {e}", t.name, t.registrar))?;
    let host = uri
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = registrar.port_or_default();
    let proxy: SocketAddr = (host.as_str(), port)
        .to_socket_addrs()
        .with_context(|| {
            format!(
                "target `{}`: cannot resolve registrar host `{host}`",
                t.name
            )
        })?
        .next()
        .ok_or_else(|| {
            anyhow!(
                "target `{}`: registrar host `{host}` has no address",
                t.name
            )
        })?;
    if !proxy.ip().is_loopback() {
        bail!(
            "target `{}`: registrar {proxy} is not on loopback; this build only sends traffic to 127.0.0.0/8 and ::1",
            t.name
        );
    }
    let account = t.users.get(user).ok_or_else(|| {
        anyhow!(
            "target `{}` has no account for user `{user}` under `users:`",
            t.name
        )
    })?;
    let password = |env: &str, who: &str| {
        std::env::var(env)
            .map_err(|_| anyhow!("environment variable {env} (password of {who}) is not set"))
    };
    Ok(TargetSetup::External {
        proxy,
        domain: t.domain.clone().unwrap_or(host),
        user: (
            account.username.clone(),
            password(&account.password_env, user)?,
        ),
        customer: (
            t.customer.username.clone(),
            password(&t.customer.password_env, "the customer")?,
        ),
        feature_code: t.feature_code.clone(),
        registrar,
        tls: TlsClientOptions::default(),
    })
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
