//! RTP packets (RFC 3550 §5.1): building and parsing the fixed header with `rtp-types`, and
//! telling RTP from RTCP on a shared port (RFC 5761 §4).

use super::error::RtpError;

/// The header fields a media endpoint sets or reads. CSRCs, header extensions and padding
/// are accepted on input and skipped; this layer never sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    /// Payload type, 0..=127.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp, in the payload's clock rate.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Marker bit (RFC 3551 §4.1: first packet of a talkspurt for audio).
    pub marker: bool,
}

/// Builds an RTP packet. The payload type is masked to its 7 bits.
pub fn build_rtp(h: &RtpHeader, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + payload.len());
    write_rtp(h, payload, &mut out);
    out
}

/// Appends an RTP packet to `out`; lets a pacer reuse one buffer per stream.
pub fn write_rtp(h: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) {
    let builder = rtp_types::RtpPacketBuilder::<&[u8], &[u8]>::new()
        .payload_type(h.payload_type & 0x7f)
        .sequence_number(h.sequence)
        .timestamp(h.timestamp)
        .ssrc(h.ssrc)
        .marker_bit(h.marker)
        .payload(payload);
    // The checks the unchecked writer skips are a payload type above 127 (masked above), more
    // than 15 CSRCs, zero padding and an unpadded extension: this builder sets none of them.
    builder.write_into_vec_unchecked(out);
}

/// Parses an RTP packet into its header and payload (after CSRCs and extension, before
/// padding). Rejects packets whose payload type byte is in the RTCP range.
pub fn parse_rtp(bytes: &[u8]) -> Result<(RtpHeader, &[u8]), RtpError> {
    if is_rtcp(bytes) {
        return Err(RtpError::LooksLikeRtcp {
            packet_type: bytes[1],
        });
    }
    let p = rtp_types::RtpPacket::parse(bytes)?;
    let header = RtpHeader {
        payload_type: p.payload_type(),
        sequence: p.sequence_number(),
        timestamp: p.timestamp(),
        ssrc: p.ssrc(),
        marker: p.marker_bit(),
    };
    // payload_offset/payload_len are within `bytes` after a successful parse (rtp-types
    // checks CSRC, extension and padding lengths); slice defensively anyway.
    let start = p.payload_offset();
    let payload = bytes.get(start..start + p.payload_len()).unwrap_or(&[]);
    Ok((header, payload))
}

/// Whether a datagram on a shared RTP/RTCP port is RTCP (RFC 5761 §4): version 2 and the
/// second byte, without the marker bit, in 64..=95 (RTCP packet types 192..=223).
pub fn is_rtcp(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] >> 6 == 2 && (64..=95).contains(&(bytes[1] & 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> RtpHeader {
        RtpHeader {
            payload_type: 8,
            sequence: 65535,
            timestamp: 0xdead_beef,
            ssrc: 0x1234_5678,
            marker: true,
        }
    }

    #[test]
    fn round_trip() {
        let payload = [0xd5u8; 160];
        let bytes = build_rtp(&header(), &payload);
        assert_eq!(bytes.len(), 172);
        assert_eq!(&bytes[..4], &[0x80, 0x88, 0xff, 0xff]);
        let (h, p) = parse_rtp(&bytes).unwrap();
        assert_eq!(h, header());
        assert_eq!(p, &payload[..]);
    }

    #[test]
    fn exact_wire_bytes() {
        let h = RtpHeader {
            payload_type: 0,
            sequence: 1,
            timestamp: 160,
            ssrc: 2,
            marker: false,
        };
        assert_eq!(
            build_rtp(&h, &[0xff, 0x7f]),
            [0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 2, 0xff, 0x7f]
        );
    }

    #[test]
    fn skips_csrcs_extension_and_padding() {
        // V=2 P=1 X=1 CC=1, PT 0; one CSRC; a one-word extension; 2 payload bytes; 2 padding.
        let bytes = [
            0xb1, 0x00, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 9, // header
            0, 0, 0, 5, // CSRC
            0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4, // extension
            0xaa, 0xbb, // payload
            0x00, 0x02, // padding, last byte = count
        ];
        let (h, p) = parse_rtp(&bytes).unwrap();
        assert_eq!((h.sequence, h.ssrc, h.payload_type), (7, 9, 0));
        assert_eq!(p, &[0xaa, 0xbb]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(parse_rtp(&[]), Err(RtpError::MalformedRtp(_))));
        assert!(matches!(
            parse_rtp(&[0x80; 11]),
            Err(RtpError::MalformedRtp(_))
        ));
        let mut v1 = build_rtp(&header(), &[1, 2]);
        v1[0] = 0x40;
        assert!(matches!(parse_rtp(&v1), Err(RtpError::MalformedRtp(_))));
        // Padding count larger than the packet.
        let mut pad = build_rtp(&header(), &[1, 2]);
        pad[0] |= 0x20;
        *pad.last_mut().unwrap() = 200;
        assert!(matches!(parse_rtp(&pad), Err(RtpError::MalformedRtp(_))));
    }

    #[test]
    fn rtcp_demux() {
        // SR (200) and RR (201) headers, with and without the "marker" bit position set.
        assert!(is_rtcp(&[0x80, 200, 0, 6]));
        assert!(is_rtcp(&[0x81, 201, 0, 7]));
        assert!(is_rtcp(&[0x80, 192]));
        assert!(is_rtcp(&[0x80, 223]));
        assert!(!is_rtcp(&[0x80, 224]));
        assert!(!is_rtcp(&[0x80, 191]));
        assert!(!is_rtcp(&[0x80, 0x00]));
        assert!(!is_rtcp(&[0x80, 0x88]));
        assert!(!is_rtcp(&[0x80]));
        assert!(!is_rtcp(&[0x00, 200]));
        let sr = [
            0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(matches!(
            parse_rtp(&sr),
            Err(RtpError::LooksLikeRtcp { packet_type: 200 })
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_rtp(&bytes);
            let _ = is_rtcp(&bytes);
        }

        #[test]
        fn parse_never_panics_on_version_2(mut bytes in proptest::collection::vec(any::<u8>(), 12..100)) {
            bytes[0] = 0x80 | (bytes[0] & 0x3f);
            if let Ok((_, payload)) = parse_rtp(&bytes) {
                prop_assert!(payload.len() <= bytes.len() - 12);
            }
        }

        #[test]
        fn any_header_round_trips(pt in 0u8..128, seq: u16, ts: u32, ssrc: u32, marker: bool,
                                  payload in proptest::collection::vec(any::<u8>(), 0..200)) {
            let h = RtpHeader { payload_type: pt, sequence: seq, timestamp: ts, ssrc, marker };
            let bytes = build_rtp(&h, &payload);
            match parse_rtp(&bytes) {
                Ok((back, p)) => { prop_assert_eq!(back, h); prop_assert_eq!(p, &payload[..]); }
                // Payload types 64..=95 collide with RTCP and are reserved (RFC 5761 §4).
                Err(RtpError::LooksLikeRtcp { .. }) => prop_assert!((64..=95).contains(&pt)),
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}
