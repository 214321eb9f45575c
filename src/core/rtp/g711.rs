//! G.711 μ-law and A-law (ITU-T G.711), the two codecs every SIP endpoint must offer
//! (RFC 3551 §4.5.14). The sample conversions come from `audio-codec-algorithms`; this file
//! only loops over frames and maps codecs to their static payload types.

/// Samples per second of both G.711 laws (RFC 3551 §4.5.14).
pub const G711_CLOCK_RATE: u32 = 8000;
/// Samples in one 20 ms packet, the default packetisation (RFC 3551 §4.2).
pub const SAMPLES_PER_FRAME: usize = 160;

/// Encodes linear samples to μ-law, one byte per sample, appended to `out`.
pub fn encode_ulaw(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(
        samples
            .iter()
            .map(|&s| audio_codec_algorithms::encode_ulaw(s)),
    );
}

/// Decodes μ-law bytes to linear samples, appended to `out`.
pub fn decode_ulaw(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(
        bytes
            .iter()
            .map(|&b| audio_codec_algorithms::decode_ulaw(b)),
    );
}

/// Encodes linear samples to A-law, one byte per sample, appended to `out`.
pub fn encode_alaw(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(
        samples
            .iter()
            .map(|&s| audio_codec_algorithms::encode_alaw(s)),
    );
}

/// Decodes A-law bytes to linear samples, appended to `out`.
pub fn decode_alaw(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(
        bytes
            .iter()
            .map(|&b| audio_codec_algorithms::decode_alaw(b)),
    );
}

/// The audio codecs the media layer can send and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 μ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551 §6, table 4).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec for a static payload type, `None` for anything this layer cannot decode.
    pub fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The SDP `a=rtpmap` encoding name and clock rate, e.g. `"PCMU/8000"`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU/8000",
            Codec::Pcma => "PCMA/8000",
        }
    }

    /// RTP clock rate in Hz (8000 for both laws).
    pub fn clock_rate(self) -> u32 {
        G711_CLOCK_RATE
    }

    /// Encodes linear samples, appending one byte per sample to `out`.
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        match self {
            Codec::Pcmu => encode_ulaw(samples, out),
            Codec::Pcma => encode_alaw(samples, out),
        }
    }

    /// Decodes a payload, appending one sample per byte to `out`.
    pub fn decode(self, bytes: &[u8], out: &mut Vec<i16>) {
        match self {
            Codec::Pcmu => decode_ulaw(bytes, out),
            Codec::Pcma => decode_alaw(bytes, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_types_and_names() {
        assert_eq!(Codec::Pcmu.payload_type(), 0);
        assert_eq!(Codec::Pcma.payload_type(), 8);
        assert_eq!(Codec::from_payload_type(0), Some(Codec::Pcmu));
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_payload_type(9), None);
        assert_eq!(Codec::from_payload_type(101), None);
        assert_eq!(Codec::Pcmu.name(), "PCMU/8000");
        assert_eq!(Codec::Pcma.name(), "PCMA/8000");
    }

    #[test]
    fn known_code_words() {
        // G.711 table values: μ-law 0xFF is +0, A-law 0xD5 is the smallest positive step.
        let mut out = Vec::new();
        encode_ulaw(&[0, -1, 32767, -32768], &mut out);
        assert_eq!(out, [0xFF, 0x7F, 0x80, 0x00]);
        let mut pcm = Vec::new();
        decode_alaw(&[0xD5, 0x55], &mut pcm);
        assert_eq!(pcm, [8, -8]);
    }

    #[test]
    fn round_trip_error_is_within_the_law_step() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let samples: Vec<i16> = (-32768i32..=32767).step_by(7).map(|v| v as i16).collect();
            let mut bytes = Vec::new();
            codec.encode(&samples, &mut bytes);
            assert_eq!(bytes.len(), samples.len());
            let mut back = Vec::new();
            codec.decode(&bytes, &mut back);
            for (&a, &b) in samples.iter().zip(&back) {
                // Both laws keep at least 4 mantissa bits: the error is under 1/16 of the value
                // plus the first segment's step.
                let err = (a as i32 - b as i32).abs();
                assert!(err <= (a as i32).abs() / 16 + 64, "{codec:?}: {a} -> {b}");
            }
        }
    }

    #[test]
    fn appends_rather_than_overwrites() {
        let mut out = vec![1u8];
        Codec::Pcma.encode(&[0; 3], &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], 1);
    }
}
