//! One call as a user agent sees it: its dialog, its media and what was observed on it.
//! The observations are what the measurements are later computed from.

use std::net::SocketAddr;

use crate::core::Time;
use crate::core::rtp::{Codec, MediaSender};
use crate::core::sip::{Dialog, DialogId, Message, ServerKey};

/// Index of a call in its user agent's call list (calls are never removed during a run).
pub type CallIdx = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// We sent an INVITE and have no final response yet.
    Calling,
    /// We received an INVITE and have not answered.
    Ringing,
    /// 2xx sent or received: media flows.
    Confirmed,
    Terminated,
}

/// Why a call ended, from this UA's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndCause {
    /// We hung up (BYE or CANCEL sent).
    Local,
    /// The peer sent BYE.
    RemoteBye,
    /// The peer cancelled before we answered.
    Cancelled,
    /// Our INVITE was refused with this status and reason.
    Rejected(u16, String),
    /// The call was replaced by another dialog (RFC 3891).
    Replaced,
    /// Our INVITE got no final response before its transaction timed out (Timer B): our
    /// conclusion, not the peer's answer.
    TimedOut,
    /// The peer challenged again after we answered its challenge.
    AuthLoop(u16),
    /// The connection our INVITE went on failed before a final response came.
    TransportFailed(String),
}

impl EndCause {
    /// The timeline's word for it.
    pub fn reason(&self) -> crate::timeline::EndReason {
        use crate::timeline::EndReason;
        match self {
            EndCause::Local => EndReason::Local,
            EndCause::RemoteBye => EndReason::RemoteBye,
            EndCause::Cancelled => EndReason::Cancelled,
            EndCause::Rejected(status, reason) => EndReason::Rejected {
                status: *status,
                reason: reason.clone(),
            },
            EndCause::Replaced => EndReason::Replaced,
            EndCause::TimedOut => EndReason::TimedOut,
            EndCause::AuthLoop(status) => EndReason::AuthLoop { status: *status },
            EndCause::TransportFailed(reason) => EndReason::TransportFailed {
                reason: reason.clone(),
            },
        }
    }
}

/// An identity the far end presented (P-Asserted-Identity, else From/To): the caller ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenIdentity {
    pub at: Time,
    pub identity: String,
}

pub struct Call {
    pub state: CallState,
    pub outgoing: bool,
    pub dialog: Option<Dialog>,
    /// For an outgoing call before the dialog exists: the INVITE we sent (for CANCEL/ACK).
    pub invite: Option<Message>,
    pub invite_dest: Option<SocketAddr>,
    /// For an incoming call: the INVITE and its server transaction (to answer or 487 it).
    pub incoming: Option<(Message, ServerKey)>,
    pub local_tag: String,
    pub created_at: Time,
    pub answered_at: Option<Time>,
    pub ended_at: Option<Time>,
    pub end_cause: Option<EndCause>,
    pub codec: Option<Codec>,
    pub remote_media: Option<SocketAddr>,
    pub sender: Option<MediaSender>,
    /// The peer takes RTCP on its RTP port (RFC 5761), and when our next report is due.
    pub rtcp_mux: bool,
    pub next_rtcp: Time,
    /// Our 2xx carried the offer; the peer's answer comes in its ACK (RFC 3264 §4).
    pub awaiting_ack_answer: bool,
    /// Caller ID shown by the far end over the life of the call.
    pub identities: Vec<SeenIdentity>,
    /// RFC 7989 Session-ID values seen on messages of this call.
    pub session_ids: Vec<String>,
    /// Times at which the far end sent us a new SDP offer (re-INVITE or UPDATE).
    pub offers_received: Vec<Time>,
    /// The call this one replaced (RFC 3891), if it came in with `Replaces`.
    pub replaces: Option<CallIdx>,
    /// 180 Ringing responses seen on an outgoing call.
    pub rings: u32,
    pub auth_attempts: u32,
    /// What the final refusal of our INVITE said beyond its status (`EndCause::Rejected`).
    pub refusal: super::RefusalDetail,
}

impl Call {
    pub fn new(now: Time, outgoing: bool, local_tag: String) -> Call {
        Call {
            state: if outgoing {
                CallState::Calling
            } else {
                CallState::Ringing
            },
            outgoing,
            dialog: None,
            invite: None,
            invite_dest: None,
            incoming: None,
            local_tag,
            created_at: now,
            answered_at: None,
            ended_at: None,
            end_cause: None,
            codec: None,
            remote_media: None,
            sender: None,
            rtcp_mux: false,
            next_rtcp: Time::NEVER,
            awaiting_ack_answer: false,
            identities: Vec::new(),
            session_ids: Vec::new(),
            offers_received: Vec::new(),
            replaces: None,
            rings: 0,
            auth_attempts: 0,
            refusal: Default::default(),
        }
    }

    pub fn dialog_id(&self) -> Option<DialogId> {
        self.dialog.as_ref().map(Dialog::id)
    }

    pub fn is_live(&self) -> bool {
        matches!(
            self.state,
            CallState::Calling | CallState::Ringing | CallState::Confirmed
        )
    }

    /// Records the caller ID and Session-ID a message from the far end carries.
    pub fn observe(&mut self, now: Time, msg: &Message, identity_header: &str) {
        let identity = msg
            .p_asserted_identity()
            .map(|pai| pai.to_string())
            .or_else(|| msg.header(identity_header).map(strip_tag));
        if let Some(identity) = identity
            && self.identities.last().map(|s| &s.identity) != Some(&identity)
        {
            self.identities.push(SeenIdentity { at: now, identity });
        }
        if let Some(sid) = msg.session_id()
            && self.session_ids.last().map(String::as_str) != Some(sid)
        {
            self.session_ids.push(sid.to_string());
        }
    }

    /// Ends the call; true if it was live until now.
    pub fn end(&mut self, now: Time, cause: EndCause) -> bool {
        if let Some(sender) = self.sender.as_mut() {
            sender.stop();
        }
        if self.state == CallState::Terminated {
            return false;
        }
        self.state = CallState::Terminated;
        self.ended_at = Some(now);
        self.end_cause = Some(cause);
        true
    }
}

/// A From/To value without its tag, so a caller ID compares equal across dialogs.
fn strip_tag(value: &str) -> String {
    match crate::core::sip::NameAddr::parse(value) {
        Ok(mut na) => {
            na.params.retain(|(k, _)| !k.eq_ignore_ascii_case("tag"));
            na.to_string()
        }
        Err(_) => value.to_string(),
    }
}
