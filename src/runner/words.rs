//! What went wrong, in words a QA engineer acts on: which account, at which system, what
//! it answered, and what to check. Never a debug dump of an enum.

use std::time::Duration;

use crate::core::sip::SipUri;
use crate::report::Keyword;
use crate::roles::ua::{Call, EndCause, RefusalDetail, RegisterFailure, UserAgent};

/// How the scenario's target is named in messages, and where its passwords come from.
#[derive(Debug, Clone)]
pub struct TargetLabels {
    /// The system, as its profile names it (`acme-pbx at pbx.acme.test`).
    pub target: String,
    /// Where the user's password comes from (`ALICE_SIP_PASSWORD`).
    pub user_secret: String,
    /// Where the customer's password comes from.
    pub customer_secret: String,
}

impl Default for TargetLabels {
    /// The embedded PBX: one password for every account.
    fn default() -> Self {
        let secret = "FLIPCHECK_PBX_PASSWORD (or the default password on loopback)".to_string();
        TargetLabels {
            target: "the embedded PBX".into(),
            user_secret: secret.clone(),
            customer_secret: secret,
        }
    }
}

/// `alice (username 1001) on desk`: the account as its owner knows it (without the device
/// when the party is named after the user, as a probe is).
pub fn account(user: &str, ua: &UserAgent) -> String {
    let username = &ua.config().username;
    let account = if username == user {
        user.to_string()
    } else {
        format!("{user} (username {username})")
    };
    if ua.name().starts_with(user) {
        account
    } else {
        format!("{account} on {}", ua.name())
    }
}

/// A REGISTER the target refused, or could not be made to accept.
pub fn register_failed(
    user: &str,
    ua: &UserAgent,
    failure: &RegisterFailure,
    labels: &TargetLabels,
) -> String {
    let who = account(user, ua);
    let at = &labels.target;
    match failure {
        f if f.is_authentication() => format!(
            "authentication failed for {who} at {at}: {f} — check {}",
            labels.user_secret
        ),
        RegisterFailure::Refused {
            status: 300..=399,
            redirect,
            ..
        } => format!(
            "{at} redirected the REGISTER of {who} ({failure}); flipcheck does not follow \
             redirects: point `registrar:` at {}",
            redirect
                .as_deref()
                .map_or("the address it names".into(), as_registrar)
        ),
        RegisterFailure::NoResponse => no_response(ua, "REGISTER", &who, None, false),
        f => format!("{who} could not register at {at}: {f}"),
    }
}

/// Where a 3xx points, as `registrar:` is written: without the Contact's user part
/// (`sip:alice@10.0.0.5:5070` → `sip:10.0.0.5:5070`), keeping its transport.
fn as_registrar(uri: &str) -> String {
    let Ok(u) = SipUri::parse(uri) else {
        return uri.to_string();
    };
    let port = u.port.map_or(String::new(), |p| format!(":{p}"));
    let transport = u
        .param("transport")
        .map_or(String::new(), |t| format!(";transport={t}"));
    format!("{}:{}{port}{transport}", u.scheme, u.host)
}

/// Nothing (or nothing that is SIP: `garbage`) came back within `within`.
pub fn no_response(
    ua: &UserAgent,
    what: &str,
    who: &str,
    within: Option<Duration>,
    garbage: bool,
) -> String {
    let cfg = ua.config();
    let over = cfg.transport.as_str().to_uppercase();
    let within = within.map_or(String::new(), |d| format!(" within {}", secs(d)));
    if garbage {
        // It did answer: a web server or another protocol on the SIP port, a broken
        // proxy. Saying "no response" would send people looking for a firewall.
        return format!(
            "{} answered the {what} of {who} over {over} with something that is not SIP, \
             and nothing that is SIP{within}",
            cfg.proxy
        );
    }
    format!(
        "no response from {} over {over}{within} ({what} of {who})",
        cfg.proxy
    )
}

/// Why the customer's call to `user` ended before it was answered, with what a refusal
/// said beyond its status (a 503's Retry-After, a 3xx's Contact).
pub fn call_failure(user: &str, call: &Call, labels: &TargetLabels) -> String {
    let cause = call.end_cause.as_ref();
    match (cause, &call.refusal) {
        (
            Some(EndCause::Rejected(status @ 300..=399, reason)),
            RefusalDetail {
                redirect: Some(to), ..
            },
        ) => format!(
            "{} redirected it to {to} ({status} {reason}); flipcheck does not follow \
             redirects, as the call under test must ring {user}'s own devices",
            labels.target
        ),
        (
            Some(EndCause::Rejected(..)),
            RefusalDetail {
                retry_after: Some(s),
                ..
            },
        ) => format!("{} (Retry-After: {s} s)", call_ended(cause)),
        _ => call_ended(cause),
    }
}

/// Why a call ended before it was answered, as the customer saw it.
pub fn call_ended(cause: Option<&EndCause>) -> String {
    match cause {
        Some(EndCause::Rejected(status, reason)) => format!("{status} {reason}"),
        Some(EndCause::TimedOut) => "no final response before the INVITE timed out".into(),
        Some(EndCause::AuthLoop(status)) => {
            format!("{status}: challenged again after the credentials were sent")
        }
        Some(EndCause::RemoteBye) => "the target ended it with BYE".into(),
        Some(EndCause::Cancelled) => "the target cancelled it".into(),
        Some(EndCause::Replaced) => "replaced by another dialog".into(),
        Some(EndCause::Local) => "hung up".into(),
        Some(EndCause::TransportFailed(reason)) => format!("its connection failed: {reason}"),
        None => "it ended".into(),
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::as_registrar;

    #[test]
    fn a_redirect_is_suggested_as_a_registrar_is_written() {
        assert_eq!(
            as_registrar("sip:alice@192.0.2.7:5060"),
            "sip:192.0.2.7:5060"
        );
        assert_eq!(
            as_registrar("sips:1001@[2001:db8::1];transport=tls;lr"),
            "sips:[2001:db8::1];transport=tls"
        );
        assert_eq!(as_registrar("sip:pbx.acme.test"), "sip:pbx.acme.test");
        assert_eq!(as_registrar("tel:+15551234"), "tel:+15551234");
    }
}
