//! SIP: message codec, transactions (RFC 3261 §17), dialogs (§12), digest auth, SDP
//! offer/answer, and the transaction layer that ties them to datagrams and streams.
//!
//! The message codec is lossless: [`Message::parse`] keeps every byte it was given so
//! `to_bytes` re-emits it exactly, accessors serve unfolded values with compact forms
//! resolved, and [`validate`] lists what a parsed message does wrong as findings.

mod addr;
mod auth;
mod auth_params;
mod build;
mod dialog;
mod error;
mod findings;
mod framing;
mod header;
mod message;
mod parse;
mod sdp;
mod sdp_answer;
mod sdp_parse;
mod stack;
mod stream;
mod timers;
mod transaction;
mod transport;
mod typed;
mod uri;
mod validate;

pub use addr::{CSeq, NameAddr, Params, Replaces, Via};
pub use auth::{
    Algorithm, AuthError, Challenge, Credentials, DigestResponse, NonceBook, NonceCheck, authorize,
    new_nonce, verify,
};
pub use build::{
    BRANCH_COOKIE, cancel_for, host_port, non_2xx_ack, reason_phrase, response_to, uri_addr,
    uri_user, via_value,
};
pub use dialog::{Dialog, DialogId};
pub use error::ParseError;
pub use framing::{MAX_STREAM_MESSAGE, frame};
pub use header::{canonical_name, compact_form, is_list_header, names_match, split_list};
pub use message::{Message, StartLine};
pub use sdp::{
    Direction, MediaDescription, SdpCodec, SdpError, SessionDescription, is_hold, pcma, pcmu,
    telephone_event,
};
pub use sdp_answer::{Answer, answer_direction, make_answer, make_offer, negotiated};
pub use stack::{Outgoing, PeerFinding, ServerKey, SipEvent, SipStack};
pub use stream::{StreamDecoder, StreamItem};
pub use transaction::{
    ClientState, ClientTransaction, ServerState, ServerTransaction, Timer, TimerConfig,
    TwoXxRetransmitter, TxEvent,
};
pub use transport::{Transport, is_sips, sip_uri};
pub use uri::{SipUri, is_absolute_uri, unescape};
pub use validate::{Finding, Severity, validate};
