//! Registration (RFC 3261 §10): REGISTER with digest auth, refreshed at half the granted
//! time, and removed at the end of a run.

use std::time::Duration;

use super::refusal::retry_after;
use super::{CTX_OPTIONS, CTX_REGISTER, CTX_UNREGISTER, UaEvent, UserAgent};
use crate::core::Time;
use crate::core::sip::Message;

/// Why a REGISTER failed, as the registrar said it (or did not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterFailure {
    /// No final response before the transaction timed out.
    NoResponse,
    /// A final response other than 2xx.
    Refused {
        status: u16,
        reason: String,
        /// `Retry-After` seconds of a 503 (RFC 3261 §20.33).
        retry_after: Option<u32>,
        /// The first Contact of a 3xx: where the registrar sends us.
        redirect: Option<String>,
        /// The seconds we waited, as an earlier 503's Retry-After asked, before the
        /// REGISTER that got this answer: it was retried once already.
        retried_after: Option<u32>,
    },
    /// The registrar challenged again after we answered its challenge: the credentials
    /// are wrong (or the registrar loops).
    ChallengedAgain { status: u16 },
    /// A challenge we could not answer (no algorithm we know, no realm we may answer).
    Unanswerable { status: u16, challenge: String },
    /// The request's connection (TCP, TLS) failed before any answer: refused, reset,
    /// closed, a failed handshake — nothing the registrar said.
    Transport { reason: String },
}

impl RegisterFailure {
    /// The status the registrar sent, if it sent one.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegisterFailure::NoResponse | RegisterFailure::Transport { .. } => None,
            RegisterFailure::Refused { status, .. }
            | RegisterFailure::ChallengedAgain { status }
            | RegisterFailure::Unanswerable { status, .. } => Some(*status),
        }
    }

    /// Whether the account's credentials are the likely cause.
    pub fn is_authentication(&self) -> bool {
        match self {
            RegisterFailure::ChallengedAgain { .. } => true,
            RegisterFailure::Refused { status, .. } => matches!(status, 401 | 403 | 407),
            _ => false,
        }
    }

    fn of(msg: &Message) -> RegisterFailure {
        RegisterFailure::Refused {
            status: msg.status().unwrap_or(0),
            reason: msg.reason().unwrap_or("").to_string(),
            retry_after: retry_after(msg),
            redirect: msg.contact().map(|c| c.uri),
            retried_after: None,
        }
    }
}

/// How long a REGISTER may take before its caller gives up, and whether the one retry a
/// 503 may earn has been spent.
#[derive(Debug, Clone, Copy)]
pub(super) struct RegisterRetry {
    /// The caller's patience ends here: a retry must be sent before it.
    until: Time,
    /// The Retry-After waited before the retry, once it was sent.
    waited: Option<u32>,
}

impl Default for RegisterRetry {
    /// No patience: a 503 is reported at once (a refresh, a plain [`UserAgent::register`]).
    fn default() -> Self {
        RegisterRetry {
            until: Time::ZERO,
            waited: None,
        }
    }
}

impl std::fmt::Display for RegisterFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterFailure::NoResponse => f.write_str("no response"),
            RegisterFailure::Refused {
                status,
                reason,
                retry_after,
                redirect,
                retried_after,
            } => {
                write!(f, "{status} {reason}")?;
                if let Some(s) = retry_after {
                    write!(f, " (Retry-After: {s} s)")?;
                }
                if let Some(s) = retried_after {
                    write!(f, ", again when retried once {s} s later")?;
                }
                if let (300..=399, Some(to)) = (status, redirect) {
                    write!(f, " to {to}")?;
                }
                Ok(())
            }
            RegisterFailure::ChallengedAgain { status } => write!(
                f,
                "{status}: challenged again after the credentials were sent"
            ),
            RegisterFailure::Unanswerable { status, challenge } => {
                write!(
                    f,
                    "{status} with a challenge flipcheck cannot answer ({challenge})"
                )
            }
            RegisterFailure::Transport { reason } => f.write_str(reason),
        }
    }
}

impl UserAgent {
    /// REGISTER our contact (RFC 3261 §10.2); the 401 challenge is answered automatically.
    pub fn register(&mut self, now: Time) {
        self.now = now;
        self.register_auth = 0;
        self.register_error = None;
        self.send_register(now, self.cfg.options.register_expires, None);
    }

    /// [`register`](Self::register), for a caller that waits `patience` for the answer: a
    /// 503 whose Retry-After ends sooner is retried once, when it says (RFC 3261 §21.5.4;
    /// a registrar that is one server has no other to fail over to, RFC 3263 §4.3). Any
    /// later 503, or one that asks for longer, is the failure, with its Retry-After.
    pub fn register_within(&mut self, now: Time, patience: Duration) {
        self.register(now);
        self.register_retry = RegisterRetry {
            until: now + patience,
            waited: None,
        };
    }

    /// A 503 to our REGISTER: its one retry, when the Retry-After ends within the caller's
    /// patience; else the failure, saying whether it followed a retry.
    fn unavailable(&mut self, now: Time, msg: &Message) {
        let retry = &mut self.register_retry;
        if let Some(secs) = retry_after(msg)
            && retry.waited.is_none()
        {
            let at = now + Duration::from_secs(u64::from(secs));
            if at < retry.until {
                retry.waited = Some(secs);
                // The refresh timer re-registers from scratch (fresh challenge, same
                // Call-ID): exactly the retry, and `unregister` cancels it like a refresh.
                self.refresh_at = at;
                return;
            }
        }
        let mut failure = RegisterFailure::of(msg);
        if let RegisterFailure::Refused { retried_after, .. } = &mut failure {
            *retried_after = retry.waited;
        }
        self.register_failed(failure);
    }

    /// Asks the registrar what it supports (RFC 3261 §11): the cheapest "are you there".
    pub fn options(&mut self, now: Time) {
        self.now = now;
        self.options_answer = None;
        let target = format!("sip:{}", self.cfg.domain);
        let mut msg = Message::request("OPTIONS", &target);
        msg.push_header("Max-Forwards", "70");
        self.push_route(&mut msg);
        let mut from = crate::core::sip::NameAddr::new(&self.aor());
        from.set_param("tag", Some(&self.stack.new_tag()));
        msg.push_header("From", &from.to_string());
        msg.push_header("To", &format!("<{target}>"));
        msg.push_header("Call-ID", &self.stack.new_call_id());
        msg.push_header("CSeq", "1 OPTIONS");
        msg.push_header("Accept", "application/sdp");
        msg.push_header("User-Agent", &format!("flipcheck-{}", self.cfg.name));
        msg.push_header("Content-Length", "0");
        self.send(now, msg, self.cfg.proxy, CTX_OPTIONS);
    }

    /// The final answer to [`options`](Self::options): status and reason, or `Err` when
    /// the request timed out; `None` while waiting.
    pub fn options_answer(&self) -> Option<&Result<(u16, String), ()>> {
        self.options_answer.as_ref()
    }

    /// Remove our binding (Expires: 0), e.g. at the end of a run or on Ctrl-C.
    pub fn unregister(&mut self, now: Time) {
        self.refresh_at = Time::NEVER;
        if self.registered {
            self.register_auth = 0;
            self.send_register(now, 0, None);
        }
    }

    fn send_register(&mut self, now: Time, expires: u32, auth: Option<(&str, String)>) {
        self.register_cseq += 1;
        let registrar = format!("{}:{}", self.scheme(), self.cfg.domain);
        let mut msg = Message::request("REGISTER", &registrar);
        msg.push_header("Max-Forwards", "70");
        self.push_route(&mut msg);
        let mut from = crate::core::sip::NameAddr::new(&self.aor());
        from.set_param("tag", Some(&self.register_tag));
        msg.push_header("From", &from.to_string());
        msg.push_header("To", &format!("<{}>", self.aor()));
        msg.push_header("Call-ID", &self.register_call_id);
        msg.push_header("CSeq", &format!("{} REGISTER", self.register_cseq));
        msg.push_header(
            "Contact",
            &format!("<{}>;expires={expires}", self.contact_uri()),
        );
        msg.push_header("Expires", &expires.to_string());
        msg.push_header("User-Agent", &format!("flipcheck-{}", self.cfg.name));
        if let Some((header, value)) = auth {
            msg.push_header(header, &value);
        }
        msg.push_header("Content-Length", "0");
        let ctx = if expires == 0 {
            CTX_UNREGISTER
        } else {
            CTX_REGISTER
        };
        self.send(now, msg, self.cfg.proxy, ctx);
    }

    pub(super) fn handle_register_response(
        &mut self,
        now: Time,
        msg: Message,
        ctx: u64,
        request: Message,
    ) {
        let status = msg.status().unwrap_or(500);
        match status {
            100..=199 => {}
            200..=299 => {
                self.registered = ctx == CTX_REGISTER;
                self.register_error = None;
                // Refresh at half the granted time (RFC 3261 §10.2.4), so a long run
                // never loses its binding. The registrar's figure wins over ours.
                let contact = self.contact_uri();
                let granted = msg
                    .contacts()
                    .iter()
                    .find(|c| c.uri == contact)
                    .and_then(|c| c.param("expires").and_then(|e| e.parse().ok()))
                    .or(msg.expires())
                    .or(request.expires())
                    .unwrap_or(self.cfg.options.register_expires)
                    .max(2);
                self.refresh_at = if self.registered {
                    now + std::time::Duration::from_secs(u64::from(granted / 2))
                } else {
                    Time::NEVER
                };
                self.events.push_back(if ctx == CTX_REGISTER {
                    UaEvent::Registered
                } else {
                    UaEvent::Unregistered
                });
            }
            503 if ctx == CTX_REGISTER => self.unavailable(now, &msg),
            // A fresh nonce is answered once more (RFC 7616 §3.3 `stale`), but a second
            // challenge after that is the credentials being refused.
            401 | 407 if self.register_auth < 2 => {
                self.register_auth += 1;
                let credentials = match self.credentials(&msg, &request) {
                    Ok(credentials) => credentials,
                    Err(challenge) => {
                        self.register_failed(RegisterFailure::Unanswerable { status, challenge });
                        return;
                    }
                };
                let expires = request
                    .expires()
                    .unwrap_or(self.cfg.options.register_expires);
                self.send_register(now, expires, Some(credentials));
            }
            401 | 407 => self.register_failed(RegisterFailure::ChallengedAgain { status }),
            // Interval Too Brief: ask again for the registrar's minimum (RFC 3261 §10.2.8),
            // once — a second 423 for it would loop.
            423 if ctx == CTX_REGISTER => match min_expires_above(&msg, &request) {
                // Without credentials: the registrar challenges afresh (its nonce count
                // would otherwise repeat, RFC 7616 §3.4.5), and that challenge is answered.
                Some(min) => self.send_register(now, min, None),
                None => self.register_failed(RegisterFailure::of(&msg)),
            },
            _ => self.register_failed(RegisterFailure::of(&msg)),
        }
    }
}

/// The `Min-Expires` of a 423 when it is more than `request` asked for: something a new
/// REGISTER can satisfy.
fn min_expires_above(answer: &Message, request: &Message) -> Option<u32> {
    let min: u32 = answer.header("Min-Expires")?.trim().parse().ok()?;
    (min > request.expires().unwrap_or(0)).then_some(min)
}
