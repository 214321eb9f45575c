//! SIP: message codec, transactions (RFC 3261 §17), digest auth, SDP offer/answer.

mod auth;
mod auth_params;
mod sdp;
mod sdp_answer;
mod sdp_parse;
mod timers;
mod transaction;

pub use auth::{
    Algorithm, AuthError, Challenge, Credentials, DigestResponse, NonceBook, NonceCheck, authorize,
    new_nonce, verify,
};
pub use sdp::{
    Direction, MediaDescription, SdpCodec, SdpError, SessionDescription, is_hold, pcma, pcmu,
    telephone_event,
};
pub use sdp_answer::{Answer, answer_direction, make_answer, make_offer, negotiated};
pub use transaction::{
    ClientState, ClientTransaction, ServerState, ServerTransaction, Timer, TimerConfig,
    TwoXxRetransmitter, TxEvent,
};
