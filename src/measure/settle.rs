//! When a flip has settled, and how: the rule the script waits on, as a person would, and
//! the rule the report is computed with — the same pure function of the timeline, so the
//! two can never disagree.
//!
//! A flip settles as
//! - `dropped` the moment the customer has no call left (unless the customer hung up);
//! - `blocked` once the target refused the flip request and the customer went on hearing
//!   the old device for the settle time;
//! - `timed_out` when the flip request got a provisional response but no answer within the
//!   flip's timeout;
//! - `moved` once, after the new device answered, the customer has heard the new device
//!   and the new device the customer steadily for the settle time, and the old device was
//!   released (its call ended and no audio reached it 200 ms later) or the release timeout
//!   passed;
//! - `failed` otherwise, with the reason: no response at all, a local timeout, an
//!   authentication loop, one-way or no audio after the answer, a refusal that also cut the
//!   customer off, the customer hanging up.

use std::time::Duration;

use super::audio::{share, steady_at};
use super::calls::{CallView, CustomerSide, received};
use crate::core::Time;
use crate::core::rtp::FrameClass;
use crate::report::Outcome;
use crate::timeline::{CUSTOMER, EndReason, FlipSpec, Timeline};

/// After the new device answered, how long beyond the settle time audio may take to become
/// steady both ways before the flip is judged one-way or silent.
pub const AUDIO_GRACE: Duration = Duration::from_secs(2);
/// Audio reaching the old device this long after its call ended means the target is still
/// sending to it.
pub const RELEASE_MEDIA_GRACE: Duration = Duration::from_millis(200);
/// How long after [`RELEASE_MEDIA_GRACE`] the old device is watched for stray audio.
pub const RELEASE_WATCH: Duration = Duration::from_millis(200);

/// How a flip settled.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub at: Time,
    pub outcome: Outcome,
    pub reason: String,
    /// When the new device's call was answered.
    pub answered_at: Option<Time>,
    /// When audio was steady both ways (moved flips).
    pub audio_at: Option<Time>,
    /// Whether the old device was released; `None` when the flip did not get that far.
    pub released: Option<bool>,
    /// One direction steady and the other not, after the answer; `None` before an answer.
    pub one_way: Option<bool>,
}

/// Where a flip stands at an instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Not settled; look again at `next` at the latest.
    Pending {
        next: Time,
    },
    Settled(Settlement),
}

fn settled(at: Time, outcome: Outcome, reason: String) -> Progress {
    Progress::Settled(Settlement {
        at,
        outcome,
        reason,
        answered_at: None,
        audio_at: None,
        released: None,
        one_way: None,
    })
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// Where flip `spec` stands at `now`, from what the timeline holds up to `now`.
pub fn progress(tl: &Timeline, spec: &FlipSpec, now: Time) -> Progress {
    let name = |p: usize| tl.parties.get(p).map_or("?", |p| p.name.as_str());
    let sig = |p: usize| tl.parties.get(p).map_or(u8::MAX, |p| p.signature);
    let (old, new) = (name(spec.from), name(spec.to));
    let customer = CustomerSide::of(tl, CUSTOMER, spec.customer_call, spec.requested_at, now);
    if let Some((at, why)) = customer.lost() {
        return match why {
            EndReason::Local => settled(
                at,
                Outcome::Failed,
                "the customer hung up before the flip settled".into(),
            ),
            why => settled(
                at,
                Outcome::Dropped,
                format!("the customer lost the call ({})", end_words(&why)),
            ),
        };
    }
    let request = CallView::of(tl, spec.to, spec.request_call, now);
    let Some(answered_at) = request.confirmed_at else {
        return unanswered(tl, spec, now, &request, old, new, sig(spec.from));
    };
    // Answered: audio must be steady both ways.
    let customer_frames = &tl.frames[CUSTOMER];
    let device_frames = &tl.frames[spec.to];
    let heard_new = steady_at(customer_frames, sig(spec.to), answered_at, spec.settle, now);
    let heard_customer = steady_at(device_frames, sig(CUSTOMER), answered_at, spec.settle, now);
    let (Some(a), Some(b)) = (heard_new, heard_customer) else {
        let deadline = answered_at + spec.settle + AUDIO_GRACE;
        if now < deadline {
            return Progress::Pending { next: deadline };
        }
        let (one_way, reason) = match (heard_new.is_some(), heard_customer.is_some()) {
            (true, _) => (
                true,
                format!(
                    "one-way audio: the customer hears {new}, {new} does not hear the customer"
                ),
            ),
            (_, true) => (
                true,
                format!(
                    "one-way audio: {new} hears the customer, the customer does not hear {new}"
                ),
            ),
            _ => (false, format!("no audio either way after {new} answered")),
        };
        return Progress::Settled(Settlement {
            at: deadline,
            outcome: Outcome::Failed,
            reason,
            answered_at: Some(answered_at),
            audio_at: None,
            released: None,
            one_way: Some(one_way),
        });
    };
    let audio_at = a.max(b);
    let moved = |at: Time, released: bool, reason: String| {
        Progress::Settled(Settlement {
            at,
            outcome: Outcome::Moved,
            reason,
            answered_at: Some(answered_at),
            audio_at: Some(audio_at),
            released: Some(released),
            one_way: Some(false),
        })
    };
    let old_call = CallView::of(tl, spec.from, spec.old_call, now);
    match old_call.ended.filter(|(t, _)| *t >= spec.requested_at) {
        Some((ended_at, _)) => {
            let watch_from = ended_at + RELEASE_MEDIA_GRACE;
            let stray = tl.frames[spec.from]
                .iter()
                .find(|f| f.at > watch_from && f.at <= now && f.class != FrameClass::Silence);
            if let Some(f) = stray {
                return moved(
                    f.at.max(audio_at),
                    false,
                    format!(
                        "moved to {new}; {old}'s call ended but the target still sends it audio"
                    ),
                );
            }
            let done = (watch_from + RELEASE_WATCH).max(audio_at);
            if now >= done {
                moved(done, true, format!("moved to {new}; {old} released"))
            } else {
                Progress::Pending { next: done }
            }
        }
        None => {
            let deadline = audio_at + spec.release_timeout;
            if now >= deadline {
                moved(
                    deadline,
                    false,
                    format!(
                        "moved to {new}; {old} was not released within {}",
                        secs(spec.release_timeout)
                    ),
                )
            } else {
                Progress::Pending { next: deadline }
            }
        }
    }
}

/// A flip request without an answer yet: refused, failed, timed out, or still pending.
fn unanswered(
    tl: &Timeline,
    spec: &FlipSpec,
    now: Time,
    request: &CallView,
    old: &str,
    new: &str,
    old_sig: u8,
) -> Progress {
    let responses: Vec<_> = received(tl, spec.to, &request.call_id, now).collect();
    match &request.ended {
        Some((at, EndReason::Rejected { status, reason })) => {
            // Blocked means the call stayed intact on the old device: check it did.
            let until = *at + spec.settle;
            if now < until {
                return Progress::Pending { next: until };
            }
            let refused = refusal_words(*status, reason, &responses, new, &spec.dialled);
            let kept = share(&tl.frames[CUSTOMER], old_sig, *at, until) >= super::audio::STEADY_SHARE;
            if kept {
                settled(until, Outcome::Blocked, refused)
            } else {
                settled(
                    until,
                    Outcome::Failed,
                    format!("{refused}, and the customer no longer hears {old}"),
                )
            }
        }
        Some((at, EndReason::AuthLoop { status })) => settled(
            *at,
            Outcome::Failed,
            format!(
                "authentication loop: the target challenged the flip request again ({status}) after {new} sent its credentials"
            ),
        ),
        Some((at, EndReason::TransportFailed { reason })) => settled(
            *at,
            Outcome::Failed,
            format!("the flip request could not reach the target: {reason}"),
        ),
        Some((at, EndReason::TimedOut)) => settled(
            *at,
            Outcome::Failed,
            "the flip request got no final response before its transaction timed out (RFC 3261 Timer B)"
                .into(),
        ),
        _ => {
            let deadline = spec.requested_at + spec.timeout;
            if now < deadline {
                return Progress::Pending { next: deadline };
            }
            let provisional = responses
                .iter()
                .any(|(_, r)| r.status.is_some_and(|s| s < 200));
            if provisional {
                let rings = responses
                    .iter()
                    .filter(|(_, r)| matches!(r.status, Some(180 | 183)))
                    .count();
                settled(
                    deadline,
                    Outcome::TimedOut,
                    format!(
                        "the flip was not completed within {} ({rings} ringing response{})",
                        secs(spec.timeout),
                        if rings == 1 { "" } else { "s" }
                    ),
                )
            } else {
                settled(
                    deadline,
                    Outcome::Failed,
                    format!(
                        "the target sent no response to the flip request within {}",
                        secs(spec.timeout)
                    ),
                )
            }
        }
    }
}

/// "the target refused the flip: 404 Not Found (…)", with what a status usually means.
fn refusal_words(
    status: u16,
    reason: &str,
    responses: &[(Time, &crate::timeline::SipRecord)],
    new: &str,
    dialled: &str,
) -> String {
    let header = responses
        .iter()
        .rev()
        .find(|(_, r)| r.status == Some(status))
        .and_then(|(_, r)| r.reason_header.clone());
    let unknown = format!("the target does not know `{dialled}`");
    let meaning = match status {
        404 => Some(unknown.as_str()),
        403 => Some("the target does not allow this flip"),
        481 => Some("the target found no call to flip"),
        486 | 600 => Some("busy"),
        488 => Some("no codec in common with the new device"),
        603 => Some("declined"),
        _ => None,
    };
    let mut words = format!("the target refused the flip from {new}: {status} {reason}");
    if let Some(m) = meaning {
        words.push_str(&format!(" ({m})"));
    }
    if let Some(h) = header {
        words.push_str(&format!("; Reason: {h}"));
    }
    words
}

fn end_words(why: &EndReason) -> String {
    match why {
        EndReason::RemoteBye => "the target sent BYE".into(),
        EndReason::Cancelled => "the target cancelled it".into(),
        EndReason::Rejected { status, reason } => format!("{status} {reason}"),
        EndReason::TimedOut => "a request timed out".into(),
        EndReason::TransportFailed { reason } => format!("its connection failed: {reason}"),
        EndReason::AuthLoop { status } => format!("authentication loop ({status})"),
        EndReason::Replaced => "replaced, and the new dialog ended".into(),
        EndReason::Local => "hung up".into(),
    }
}
