//! Calls as the timeline shows them up to an instant: when each was created, confirmed and
//! ended, with which dialog, codec and end reason; and the customer's call as a flip goes
//! on (the same dialog, or the one that replaced it).

use crate::core::Time;
use crate::timeline::{CallChange, CallNo, EndReason, PartyId, SipDir, SipRecord, Timeline};

/// One call of one party, as of an instant.
#[derive(Debug, Clone, Default)]
pub struct CallView {
    pub no: CallNo,
    pub call_id: String,
    pub created_at: Option<Time>,
    pub replaces: Option<CallNo>,
    pub confirmed_at: Option<Time>,
    /// Local and remote tag once confirmed.
    pub tags: Option<(String, String)>,
    pub ended: Option<(Time, EndReason)>,
}

impl CallView {
    /// Everything the timeline says about `party`'s call `no` up to `now`.
    pub fn of(tl: &Timeline, party: PartyId, no: CallNo, now: Time) -> CallView {
        let mut v = CallView {
            no,
            call_id: tl.call_id(party, no).unwrap_or_default().to_string(),
            ..CallView::default()
        };
        for (at, change) in tl.call_changes(party, no).filter(|(at, _)| *at <= now) {
            match change {
                CallChange::Created { replaces, .. } => {
                    v.created_at = Some(at);
                    v.replaces = *replaces;
                }
                CallChange::Confirmed {
                    local_tag,
                    remote_tag,
                } => {
                    v.confirmed_at.get_or_insert(at);
                    v.tags = Some((local_tag.clone(), remote_tag.clone()));
                }
                CallChange::Media { .. } => {}
                CallChange::Ended(reason) => {
                    v.ended.get_or_insert((at, reason.clone()));
                }
            }
        }
        v
    }

    /// Confirmed and not ended.
    pub fn is_live(&self) -> bool {
        self.confirmed_at.is_some() && self.ended.is_none()
    }
}

/// Every call number `party` has, in order of creation.
pub fn calls_of(tl: &Timeline, party: PartyId) -> Vec<CallNo> {
    let mut out: Vec<CallNo> = Vec::new();
    for e in tl.events_of(party) {
        if let crate::timeline::Observation::Call(c) = &e.what
            && matches!(c.change, CallChange::Created { .. })
            && !out.contains(&c.call)
        {
            out.push(c.call);
        }
    }
    out
}

/// The codec a call last (re)started its media with, up to `now`.
pub fn codec_of(tl: &Timeline, party: PartyId, no: CallNo, now: Time) -> Option<String> {
    tl.call_changes(party, no)
        .filter(|(at, _)| *at <= now)
        .filter_map(|(_, c)| match c {
            CallChange::Media { codec, .. } => Some(codec.clone()),
            _ => None,
        })
        .last()
}

/// SIP messages `party` received on `call_id` up to `now`.
pub fn received<'a>(
    tl: &'a Timeline,
    party: PartyId,
    call_id: &'a str,
    now: Time,
) -> impl Iterator<Item = (Time, &'a SipRecord)> + 'a {
    tl.sip_of(party, call_id)
        .filter(move |(at, _)| *at <= now)
        .filter(|(_, s)| s.dir == SipDir::Received)
}

/// The customer's side of a flip as of `now`: the call it had at the request, the calls it
/// got since (a replacement, or a second call when its phone ignored `Replaces`), and which
/// of them is live.
#[derive(Debug, Clone)]
pub struct CustomerSide {
    pub before: CallView,
    /// Calls created after the request, oldest first.
    pub since: Vec<CallView>,
}

impl CustomerSide {
    pub fn of(
        tl: &Timeline,
        customer: PartyId,
        call: CallNo,
        requested_at: Time,
        now: Time,
    ) -> Self {
        let since = calls_of(tl, customer)
            .into_iter()
            .filter(|&n| n != call)
            .map(|n| CallView::of(tl, customer, n, now))
            .filter(|c| c.created_at.is_some_and(|t| t >= requested_at))
            .collect();
        CustomerSide {
            before: CallView::of(tl, customer, call, now),
            since,
        }
    }

    /// The call the customer is on now: the latest live one the target set up since the
    /// request (it moved the customer to a new leg, even if the old one was left up), else
    /// the one it had.
    pub fn after(&self) -> Option<&CallView> {
        self.since
            .iter()
            .rev()
            .find(|c| c.is_live())
            .or(Some(&self.before).filter(|c| c.is_live()))
    }

    /// Calls the customer has up now.
    pub fn live_calls(&self) -> u32 {
        std::iter::once(&self.before)
            .chain(&self.since)
            .filter(|c| c.is_live())
            .count() as u32
    }

    /// When and how the customer lost its call, if it has none left: the last call that
    /// ended and why.
    pub fn lost(&self) -> Option<(Time, EndReason)> {
        if self.after().is_some() {
            return None;
        }
        std::iter::once(&self.before)
            .chain(&self.since)
            .filter_map(|c| c.ended.clone())
            .max_by_key(|(at, _)| *at)
    }
}
