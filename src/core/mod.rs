//! The sans-IO core: SIP, SDP, RTP and audio. Nothing here reads a clock, touches a socket
//! or uses a global RNG: every entry point takes `now` and bytes, and returns bytes, events
//! and the next deadline. That is what lets one scenario run live and in virtual time.

pub mod pacer;
pub mod rtp;
pub mod sip;
pub mod time;

pub use time::Time;
