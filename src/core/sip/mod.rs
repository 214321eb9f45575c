//! SIP: message codec, transactions (RFC 3261 §17), digest auth, SDP offer/answer.
//!
//! The message codec is lossless: [`Message::parse`] keeps every byte it was given so
//! `to_bytes` re-emits it exactly, accessors serve unfolded values with compact forms
//! resolved, and [`validate`] lists what a parsed message does wrong as findings.

mod addr;
mod error;
mod framing;
mod header;
mod message;
mod parse;
mod typed;
mod uri;
mod validate;

pub use addr::{CSeq, NameAddr, Params, Replaces, Via};
pub use error::ParseError;
pub use framing::{MAX_STREAM_MESSAGE, frame};
pub use header::{canonical_name, compact_form, is_list_header, names_match, split_list};
pub use message::{Message, StartLine};
pub use uri::{SipUri, is_absolute_uri, unescape};
pub use validate::{Finding, Severity, validate};
