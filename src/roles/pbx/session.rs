//! The B2BUA's data: call sessions and their legs. A session is one customer conversation;
//! its customer leg stays put while device legs come and go with each flip.

use std::net::SocketAddr;

use crate::core::Time;
use crate::core::rtp::{Codec, MediaSender};
use crate::core::sip::{Dialog, Message, ServerKey, Transport};

/// Where a leg's signalling goes: the endpoint's address and the transport to it. On TCP
/// and TLS the pair names the connection the endpoint opened to us.
pub type Flow = (SocketAddr, Transport);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegState {
    /// INVITE sent or received, no 2xx yet.
    Early,
    Confirmed,
    Ended,
}

/// One SIP dialog of the B2BUA with one endpoint.
pub struct Leg {
    pub session: usize,
    /// We are the UAS on this leg (the endpoint called us).
    pub inbound: bool,
    /// The account on the other end (the customer, or the user whose device this is).
    pub user: String,
    /// The endpoint's contact URI (identifies the device across calls).
    pub contact: String,
    /// Where this leg's signalling goes, and on what transport: the one its INVITE came on
    /// (the customer's, a device pulling a call) or its device registered on.
    pub peer: SocketAddr,
    pub transport: Transport,
    /// The INVITE that created the leg (received or sent).
    pub invite: Message,
    pub server_key: Option<ServerKey>,
    pub local_tag: String,
    pub dialog: Option<Dialog>,
    /// Call-IDs of this leg's earlier dialogs that a `Replaces` INVITE superseded.
    pub replaced_call_ids: Vec<String>,
    /// Our relay port for this leg's media.
    pub relay: SocketAddr,
    pub remote_media: Option<SocketAddr>,
    pub codec: Option<Codec>,
    /// The endpoint takes RTCP on its RTP port (RFC 5761); otherwise RTCP is not relayed
    /// to it, since it would arrive where only RTP is expected.
    pub rtcp_mux: bool,
    /// Our 2xx to an offerless re-INVITE carried the offer; the answer comes in the ACK.
    pub awaiting_ack_answer: bool,
    pub state: LegState,
    pub rang: bool,
}

/// The stretch of a session during which one device carried it (a CDR segment).
#[derive(Debug, Clone)]
pub struct Segment {
    pub device: String,
    pub start: Time,
    pub end: Option<Time>,
    /// The session's RFC 7989 Session-ID while this device carried it (a new one per
    /// flip under `new_session_id_on_flip`).
    pub session_id: String,
    /// RTP packets the relay forwarded toward the customer and toward the device(s) during
    /// the segment (the session totals are the sums).
    pub rtp_to_customer: u64,
    pub rtp_to_device: u64,
}

impl Segment {
    /// A segment that starts `now` under the session's current Session-ID.
    pub(super) fn new(device: String, start: Time, session_id: String) -> Segment {
        Segment {
            device,
            start,
            end: None,
            session_id,
            rtp_to_customer: 0,
            rtp_to_device: 0,
        }
    }
}

pub struct Session {
    /// RFC 7989 Session-ID (32 hex digits), the same on every leg of the session.
    pub uuid: String,
    pub caller: usize,
    pub callee_user: String,
    pub caller_user: String,
    /// The device leg bridged to the customer.
    pub device: Option<usize>,
    /// Device legs still ringing (forks of the original call).
    pub forks: Vec<usize>,
    pub started_at: Time,
    pub answered_at: Option<Time>,
    pub ended_at: Option<Time>,
    pub segments: Vec<Segment>,
    /// Hold music played to the customer, and until when (quirk `hold_music_during_flip`).
    pub moh: Option<(MediaSender, Time)>,
    pub flips: u32,
    pub told_ringing: bool,
    /// RTP packets the relay forwarded toward the customer and toward the device.
    pub rtp_to_customer: u64,
    pub rtp_to_device: u64,
    /// When the relay last sent a device's RTP to the customer (where a media gap counts
    /// from).
    pub last_to_customer: Option<Time>,
}

impl Session {
    pub fn is_ended(&self) -> bool {
        self.ended_at.is_some()
    }

    /// Whether media from the device should reach the customer now.
    pub fn bridged(&self, now: Time) -> bool {
        self.moh.as_ref().is_none_or(|(_, until)| now >= *until)
    }
}
