//! What each party of a scenario observed, in one timeline: every classified audio frame
//! with its receive instant, every SIP message sent and received, every call state change,
//! the script's own marks (a flip requested, a flip settled) and the harness's punctuality.
//!
//! The parties record; `measure` reads. Measurement is a pure function of this timeline
//! (plus evidence files a target writes, such as CDRs), so nothing in `measure` names a
//! role or the PBX, and the same timeline serves the console, the HTML picture and load
//! mode. Nothing here is a conclusion: a record says what flowed, not what it meant.

mod sip;

pub use sip::{SdpSummary, SipDir, SipRecord};

use std::net::SocketAddr;
use std::time::Duration;

use crate::core::Time;
use crate::core::rtp::{HeardFrame, OneWayDelay};

/// Index of a party in [`Timeline::parties`].
pub type PartyId = usize;

/// The customer is always party 0; the user's devices follow in scenario order.
pub const CUSTOMER: PartyId = 0;

/// Who a party is, as the measurements need to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyInfo {
    /// The name in the scenario (`customer`, `desk`, `mobile`).
    pub name: String,
    /// The audio signature the party sends (the classifier's party number).
    pub signature: u8,
    /// The Contact URI the party puts in its requests (how a target's CDR names it).
    pub contact: String,
}

/// A call of one party, by the party's own numbering (calls are never renumbered).
pub type CallNo = usize;

/// Why a call ended, as its party saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The party hung up (BYE or CANCEL sent, or a 486 to a ringing call).
    Local,
    /// The far end sent BYE.
    RemoteBye,
    /// The far end cancelled before the party answered.
    Cancelled,
    /// The party's INVITE got this final response.
    Rejected { status: u16, reason: String },
    /// No final response came before the transaction timed out (RFC 3261 Timer B): a local
    /// conclusion, not anything the target said.
    TimedOut,
    /// The target challenged again after credentials were sent (an authentication loop).
    AuthLoop { status: u16 },
    /// The TCP or TLS connection the party's INVITE went on failed before a final response:
    /// refused, reset, closed, or a TLS handshake that failed. A local conclusion, like
    /// `TimedOut`, reached sooner.
    TransportFailed { reason: String },
    /// Another dialog replaced this one (RFC 3891).
    Replaced,
}

/// A change in one of a party's calls.
#[derive(Debug, Clone, PartialEq)]
pub enum CallChange {
    /// The call began: our INVITE went out, or one came in.
    Created {
        outgoing: bool,
        /// The call this one replaces (RFC 3891), if it came with `Replaces`.
        replaces: Option<CallNo>,
    },
    /// The dialog is established (2xx sent or received).
    Confirmed {
        local_tag: String,
        remote_tag: String,
    },
    /// Media (re)started after an offer/answer: the codec we send and where to.
    Media {
        codec: String,
        remote: Option<SocketAddr>,
    },
    Ended(EndReason),
}

/// One call change of one party.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub call: CallNo,
    /// The call's Call-ID, which joins it to its SIP records.
    pub call_id: String,
    pub change: CallChange,
}

/// Something a party observed or did, without the party and instant (see [`Event`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Sip(Box<SipRecord>),
    Call(CallRecord),
    /// The party's media sender found itself this many 20 ms slots behind and skipped them.
    SkippedSlots(u64),
}

/// One observation with who made it and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: Time,
    pub party: PartyId,
    pub what: Observation,
}

/// What the script itself did, so measurement knows which flip is which and when the script
/// considered it settled.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    FlipRequested(FlipSpec),
    /// The script saw flip `index` settle at `at` and moved on, when the timeline held
    /// `events` events: what the script did next at the same instant (a hang-up) comes
    /// after, and is not part of the flip.
    FlipSettled {
        index: u32,
        at: Time,
        events: usize,
    },
    /// The run stopped early (Ctrl-C, an error, the time limit).
    Aborted {
        at: Time,
        why: String,
    },
}

/// A flip as the script asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlipSpec {
    /// 1-based number of the flip in its scenario.
    pub index: u32,
    /// The flip step's line in the scenario file.
    pub line: usize,
    pub method: String,
    pub requested_at: Time,
    /// The device holding the call, and its call.
    pub from: PartyId,
    pub old_call: CallNo,
    /// The device the call should move to, and the call that asks for it (the INVITE to
    /// the feature code).
    pub to: PartyId,
    pub request_call: CallNo,
    /// What the request asked for (the feature code dialled), for the words of a refusal.
    pub dialled: String,
    /// The customer's call at the request.
    pub customer_call: CallNo,
    /// How long the customer must hear the new device steadily.
    pub settle: Duration,
    /// How long the flip may take to be answered.
    pub timeout: Duration,
    /// How long after the audio settled the old device may take to be released.
    pub release_timeout: Duration,
}

/// The harness's own punctuality: how late a timer wake-up was, and how long a datagram
/// waited between its receive timestamp and its processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    pub at: Time,
    pub micros: u32,
}

/// Everything one scenario run observed.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub parties: Vec<PartyInfo>,
    /// Per party, the frames it heard, in arrival order.
    pub frames: Vec<Vec<HeardFrame>>,
    /// Per party, the one-way delays of the packets whose sender's clock was known.
    pub delays: Vec<Vec<OneWayDelay>>,
    /// Observations of all parties, in the order they were made.
    pub events: Vec<Event>,
    pub marks: Vec<Mark>,
    /// Timer wake-ups: lateness behind the deadline.
    pub timer_lag: Vec<Lag>,
    /// Datagrams: processing instant minus receive timestamp.
    pub receive_lag: Vec<Lag>,
}

impl Timeline {
    pub fn new(parties: Vec<PartyInfo>) -> Timeline {
        let n = parties.len();
        Timeline {
            parties,
            frames: vec![Vec::new(); n],
            delays: vec![Vec::new(); n],
            ..Timeline::default()
        }
    }

    pub fn record(&mut self, at: Time, party: PartyId, what: Observation) {
        self.events.push(Event { at, party, what });
    }

    /// The party's events, in order.
    pub fn events_of(&self, party: PartyId) -> impl Iterator<Item = &Event> + '_ {
        self.events.iter().filter(move |e| e.party == party)
    }

    /// The changes of one call of one party, with their instants.
    pub fn call_changes(
        &self,
        party: PartyId,
        call: CallNo,
    ) -> impl Iterator<Item = (Time, &CallChange)> + '_ {
        self.events_of(party).filter_map(move |e| match &e.what {
            Observation::Call(c) if c.call == call => Some((e.at, &c.change)),
            _ => None,
        })
    }

    /// The Call-ID of one call of one party, from its first record.
    pub fn call_id(&self, party: PartyId, call: CallNo) -> Option<&str> {
        self.events_of(party).find_map(|e| match &e.what {
            Observation::Call(c) if c.call == call => Some(c.call_id.as_str()),
            _ => None,
        })
    }

    /// SIP messages a party sent or received on a Call-ID, with their instants.
    pub fn sip_of<'a>(
        &'a self,
        party: PartyId,
        call_id: &'a str,
    ) -> impl Iterator<Item = (Time, &'a SipRecord)> + 'a {
        self.events_of(party).filter_map(move |e| match &e.what {
            Observation::Sip(s) if s.call_id == call_id => Some((e.at, s.as_ref())),
            _ => None,
        })
    }

    /// The flips the script requested, in order.
    pub fn flips(&self) -> impl Iterator<Item = &FlipSpec> + '_ {
        self.marks.iter().filter_map(|m| match m {
            Mark::FlipRequested(spec) => Some(spec),
            _ => None,
        })
    }

    /// When the script saw flip `index` settle, and how many events the timeline held
    /// then, if it did.
    pub fn settled_at(&self, index: u32) -> Option<(Time, usize)> {
        self.marks.iter().find_map(|m| match m {
            Mark::FlipSettled {
                index: i,
                at,
                events,
            } if *i == index => Some((*at, *events)),
            _ => None,
        })
    }

    /// Why and when the run stopped early, if it did.
    pub fn aborted(&self) -> Option<(Time, &str)> {
        self.marks.iter().find_map(|m| match m {
            Mark::Aborted { at, why } => Some((*at, why.as_str())),
            _ => None,
        })
    }
}
