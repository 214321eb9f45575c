//! RTP/RTCP, G.711, audio signatures, the classifier and RFC 3550 receive statistics.
//!
//! Every simulated party sends G.711 RTP every 20 ms carrying its own audio signature (a
//! tone pair nobody else uses, [`signature`]); every receiver decodes each packet and
//! classifies its audio as one party, silence or other audio ([`Classifier`]). Because the
//! classification is on decoded audio it survives B2BUAs that rewrite SSRC and sequence
//! numbers. [`MediaSender`] and [`MediaReceiver`] are the sans-IO endpoints built from the
//! rest.

mod classifier;
mod epoch;
mod error;
mod g711;
mod packet;
mod receiver;
mod rtcp;
mod sender;
mod signature;
mod stats;

pub use classifier::{
    Classifier, FrameAnalysis, FrameClass, PARTY_MAJORITY, PARTY_MIN_TONE, SILENCE_DBOV,
};
pub use epoch::{DUPLICATE_WINDOW, MAX_DROPOUT, MAX_MISORDER, PacketFate};
pub use error::RtpError;
pub use g711::{
    Codec, G711_CLOCK_RATE, SAMPLES_PER_FRAME, decode_alaw, decode_ulaw, encode_alaw, encode_ulaw,
};
pub use packet::{RtpHeader, build_rtp, is_rtcp, parse_rtp, write_rtp};
pub use receiver::{COMFORT_NOISE_PT, HeardFrame, MediaReceiver, OneWayDelay};
pub use rtcp::{
    ReportBlockData, RtcpKind, RtcpSummary, SenderInfo, build_receiver_report, build_sender_report,
    ntp_from_time, parse_rtcp, time_from_ntp,
};
pub use sender::{MediaSender, PACKET_INTERVAL};
pub use signature::{
    AudioSource, MAX_PARTIES, SIGNATURE_TONE_AMPLITUDE, Signature, Source, signature, signatures,
    try_signature,
};
pub use stats::{MAX_SOURCES, ReceiveStats};
