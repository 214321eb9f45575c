//! The one error type of the media layer. Everything that reads bytes from the network
//! returns it instead of panicking.

/// Why a datagram could not be read as RTP or RTCP.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// The bytes are not a valid RTP packet (too short, wrong version, bad padding...).
    #[error("malformed RTP packet: {0}")]
    MalformedRtp(#[from] rtp_types::RtpParseError),
    /// The second byte puts the packet in the RTCP range (RFC 5761 §4), so it must not be read
    /// as RTP even though its header parses.
    #[error("packet type {packet_type} is RTCP, not RTP (RFC 5761 §4)")]
    LooksLikeRtcp {
        /// The full second byte of the datagram (the RTCP packet type).
        packet_type: u8,
    },
    /// The bytes are not a valid RTCP compound packet.
    #[error("malformed RTCP packet: {0}")]
    MalformedRtcp(#[from] rtcp_types::RtcpParseError),
}
