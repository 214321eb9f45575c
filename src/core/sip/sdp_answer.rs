//! RFC 3264 offer/answer for one audio stream with G.711 and telephone-event.
//!
//! Policy (RFC 3264 leaves it to the answerer): we accept the first usable audio stream
//! (port ≠ 0, RTP/AVP or RTP/AVPF) and reject every other m= line with port 0; we answer
//! with a single audio codec — the first of the offer's list we support — plus
//! telephone-event when both sides have it, so the offerer cannot switch codecs on us.

use super::sdp::{Direction, MediaDescription, SdpCodec, SdpError, SessionDescription};

/// The o= username and s= we write.
const ORIGIN_USER: &str = "flipcheck";

fn session(address: &str, session_id: u64, version: u64) -> SessionDescription {
    SessionDescription {
        origin_username: ORIGIN_USER.to_string(),
        session_id,
        version,
        origin_address: address.to_string(),
        session_name: ORIGIN_USER.to_string(),
        connection: Some(address.to_string()),
        media: Vec::new(),
        timing: "0 0".to_string(),
        direction: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    }
}

fn audio_media(port: u16, proto: &str, codecs: Vec<SdpCodec>, d: Direction) -> MediaDescription {
    MediaDescription {
        media: "audio".to_string(),
        port,
        proto: proto.to_string(),
        codecs,
        direction: d,
        // 20 ms is what every G.711 device sends; saying so avoids odd defaults.
        other_attributes: vec!["ptime:20".to_string()],
        ..MediaDescription::default()
    }
}

/// An offer with one audio stream at `address:port` listing `codecs` in preference order.
/// `version` must grow with each new offer in the session (RFC 3264 §8).
pub fn make_offer(
    address: &str,
    port: u16,
    codecs: &[SdpCodec],
    direction: Direction,
    session_id: u64,
    version: u64,
) -> SessionDescription {
    let mut sd = session(address, session_id, version);
    sd.media
        .push(audio_media(port, "RTP/AVP", codecs.to_vec(), direction));
    sd
}

/// The outcome of answering an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer body to send.
    pub sdp: SessionDescription,
    /// The audio codec chosen: the first common one, in the offerer's order, with the
    /// offerer's payload type (RFC 3264 §6.1).
    pub codec: SdpCodec,
    /// The common telephone-event format, if any, with the offerer's payload type.
    pub telephone_event: Option<SdpCodec>,
    /// Where to send RTP (the offer's c= and port); `None` if the offer has no c=.
    pub remote: Option<(String, u16)>,
    /// Our direction, as written in the answer.
    pub direction: Direction,
}

fn usable_audio(m: &MediaDescription) -> bool {
    m.media == "audio"
        && m.port != 0
        && (m.proto.eq_ignore_ascii_case("RTP/AVP") || m.proto.eq_ignore_ascii_case("RTP/AVPF"))
}

/// The answer direction (RFC 3264 §6.1): we send only if we want to and the offerer
/// receives; we receive only if we want to and the offerer sends. So sendonly → recvonly,
/// recvonly → sendonly, inactive → inactive, sendrecv → our wish.
pub fn answer_direction(offered: Direction, local: Direction) -> Direction {
    Direction::from_flags(
        local.sends() && offered.receives(),
        local.receives() && offered.sends(),
    )
}

/// Answers `offer` with our audio at `address:port`, choosing among `supported`.
/// Errors (`NoAudio`, `NoCommonCodec`) mean the caller should answer 488.
pub fn make_answer(
    offer: &SessionDescription,
    address: &str,
    port: u16,
    supported: &[SdpCodec],
    local_direction: Direction,
    session_id: u64,
    version: u64,
) -> Result<Answer, SdpError> {
    let chosen = offer
        .media
        .iter()
        .position(usable_audio)
        .ok_or(SdpError::NoAudio)?;
    let offered = &offer.media[chosen];
    let supports = |c: &SdpCodec| supported.iter().find(|s| s.same_encoding(c));
    let codec = offered
        .codecs
        .iter()
        .find(|c| !c.is_telephone_event() && supports(c).is_some())
        .cloned()
        .ok_or(SdpError::NoCommonCodec)?;
    // RFC 4733 §2.4.1: telephone-event must share the audio codec's clock rate.
    let telephone_event = offered
        .codecs
        .iter()
        .filter(|c| c.is_telephone_event() && c.clock_rate == codec.clock_rate)
        .find_map(|c| {
            supports(c).map(|ours| SdpCodec {
                // Our fmtp says which events we can receive.
                fmtp: ours.fmtp.clone().or_else(|| c.fmtp.clone()),
                ..c.clone()
            })
        });
    let direction = answer_direction(offered.direction, local_direction);
    let mut codecs = vec![codec.clone()];
    codecs.extend(telephone_event.clone());

    let mut sd = session(address, session_id, version);
    for (i, m) in offer.media.iter().enumerate() {
        if i == chosen {
            sd.media
                .push(audio_media(port, &offered.proto, codecs.clone(), direction));
        } else {
            // RFC 3264 §6: one m= line per offered one, port 0 to reject, formats kept.
            sd.media.push(MediaDescription {
                media: m.media.clone(),
                port: 0,
                proto: m.proto.clone(),
                codecs: m.codecs.clone(),
                other_formats: m.other_formats.clone(),
                ..MediaDescription::default()
            });
        }
    }
    Ok(Answer {
        sdp: sd,
        codec,
        telephone_event,
        remote: offer.media_address(offered),
        direction,
    })
}

/// What the offerer should send once `answer` arrives: the first audio codec of the
/// answer that was offered, with the answer's payload type (RFC 3264 §6.1: the answer's
/// numbers are what the answerer wants to receive).
pub fn negotiated(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<SdpCodec, SdpError> {
    let offered = offer.audio().ok_or(SdpError::NoAudio)?;
    let answered = answer.audio().ok_or(SdpError::NoAudio)?;
    if answered.port == 0 {
        return Err(SdpError::Rejected);
    }
    answered
        .codecs
        .iter()
        .filter(|a| !a.is_telephone_event() && !a.name.eq_ignore_ascii_case("CN"))
        .find(|a| {
            offered.codecs.iter().any(|o| {
                o.same_encoding(a) || (a.name.is_empty() && o.payload_type == a.payload_type)
            })
        })
        .cloned()
        .ok_or(SdpError::NoCommonCodec)
}
