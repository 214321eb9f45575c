//! SIP: message codec, transactions (RFC 3261 §17), digest auth, SDP offer/answer.

mod auth;
mod auth_params;

pub use auth::{
    Algorithm, AuthError, Challenge, Credentials, DigestResponse, NonceBook, NonceCheck, authorize,
    new_nonce, verify,
};
