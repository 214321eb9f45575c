//! A small SDP model (RFC 4566): what a call-flip tester needs to read and write audio
//! offers, and enough of everything else to print a session back without losing lines.
//! Offer/answer (RFC 3264) lives in `sdp_answer.rs`.
//!
//! "Lossless enough" means: a parse → print → parse round trip gives an equal value, and
//! lines we do not model are kept verbatim (session-level `b=`, `a=`..., media-level
//! `a=ptime`, `a=rtcp`, non-RTP formats such as T.38's `t38`). What is normalised: line
//! order follows RFC 4566 §5, the direction attribute is written on every media line
//! (inherited from the session level when absent), rtpmap is written for every codec with a
//! known name, and an rtpmap channel count (`opus/48000/2`) and an m= port count are dropped.

use std::fmt;

/// Why an SDP body could not be read or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// A line that breaks the RFC 4566 grammar we rely on (1-based line number).
    #[error("SDP line {line}: {reason}")]
    Malformed { line: usize, reason: &'static str },
    /// No `o=` line: the body is not SDP at all.
    #[error("SDP has no o= line")]
    MissingOrigin,
    /// No usable (port ≠ 0, RTP/AVP) audio stream in an offer. Answer 488.
    #[error("no usable audio stream")]
    NoAudio,
    /// No codec in common (telephone-event alone does not count). Answer 488.
    #[error("no codec in common")]
    NoCommonCodec,
    /// The answerer rejected the audio stream (port 0, RFC 3264 §6).
    #[error("audio stream rejected")]
    Rejected,
}

/// Media direction attribute (RFC 4566 §6, RFC 3264 §5.1), from the writer's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// The default when no attribute is present (RFC 3264 §5.1).
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The same stream seen from the other side: sendonly ↔ recvonly.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
    /// The attribute name, e.g. `sendrecv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    /// Whether the writer sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
    /// Whether the writer receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
    /// The direction with the given send/receive capabilities.
    pub fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
    /// The direction an attribute value names (`sendonly` ...), if it is one.
    pub fn parse(s: &str) -> Option<Direction> {
        Some(match s {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One RTP payload format of a media line: its m= number plus rtpmap/fmtp.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SdpCodec {
    pub payload_type: u8,
    /// Encoding name as written (`PCMU`, `telephone-event`); empty for an unknown static
    /// payload type listed without rtpmap.
    pub name: String,
    pub clock_rate: u32,
    /// The `a=fmtp` parameters, e.g. `0-16` for telephone-event.
    pub fmtp: Option<String>,
}

impl SdpCodec {
    /// `name/clock_rate`, the rtpmap encoding (e.g. `PCMU/8000`).
    pub fn rtpmap_name(&self) -> String {
        format!("{}/{}", self.name, self.clock_rate)
    }
    /// Same encoding (name case-insensitively, and clock rate), whatever the payload type.
    pub fn same_encoding(&self, other: &SdpCodec) -> bool {
        !self.name.is_empty()
            && self.name.eq_ignore_ascii_case(&other.name)
            && self.clock_rate == other.clock_rate
    }
    /// RFC 4733 DTMF events rather than audio.
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case("telephone-event")
    }
    /// The codec a static payload type implies without rtpmap (RFC 3551 §6, audio ones).
    pub fn from_static(pt: u8) -> SdpCodec {
        let (name, clock_rate) = match pt {
            0 => ("PCMU", 8000),
            3 => ("GSM", 8000),
            4 => ("G723", 8000),
            8 => ("PCMA", 8000),
            // RFC 3551 §4.5.2: G.722's RTP clock is 8000 although it samples at 16 kHz.
            9 => ("G722", 8000),
            13 => ("CN", 8000),
            18 => ("G729", 8000),
            _ => ("", 0),
        };
        SdpCodec {
            payload_type: pt,
            name: name.to_string(),
            clock_rate,
            fmtp: None,
        }
    }
}

/// G.711 µ-law, static payload type 0.
pub fn pcmu() -> SdpCodec {
    SdpCodec::from_static(0)
}
/// G.711 A-law, static payload type 8.
pub fn pcma() -> SdpCodec {
    SdpCodec::from_static(8)
}
/// RFC 4733 DTMF on dynamic payload type `pt` (101 by convention), events 0–16.
pub fn telephone_event(pt: u8) -> SdpCodec {
    SdpCodec {
        payload_type: pt,
        name: "telephone-event".to_string(),
        clock_rate: 8000,
        fmtp: Some("0-16".to_string()),
    }
}

/// One m= section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaDescription {
    /// `audio`, `video`, `image`, ...
    pub media: String,
    /// 0 means the stream is rejected or disabled (RFC 3264 §6, §8.2).
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, `udptl`, ...
    pub proto: String,
    /// Numeric formats in m= order, with their rtpmap/fmtp.
    pub codecs: Vec<SdpCodec>,
    /// Media-level attribute, else the session-level one, else sendrecv.
    pub direction: Direction,
    /// The media-level c= address (without `IN IP4`).
    pub connection: Option<String>,
    /// Other `a=` values without the `a=` (e.g. `ptime:20`, `rtcp:4001`), in order.
    pub other_attributes: Vec<String>,
    /// Non-numeric m= formats (e.g. `t38` for `m=image ... udptl t38`), after the codecs.
    pub other_formats: Vec<String>,
    /// Other media-level lines verbatim (`b=AS:64`, `i=...`, `k=...`).
    pub other_lines: Vec<String>,
}

/// A whole SDP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin_username: String,
    pub session_id: u64,
    /// o= session version: the offerer increments it on each new offer (RFC 3264 §8).
    pub version: u64,
    pub origin_address: String,
    pub session_name: String,
    /// The session-level c= address (without `IN IP4`).
    pub connection: Option<String>,
    pub media: Vec<MediaDescription>,
    /// The first t= value, `0 0` for SIP.
    pub timing: String,
    /// A session-level direction attribute, if present (media lines inherit it).
    pub direction: Option<Direction>,
    /// Other session-level `a=` values without the `a=`, in order.
    pub attributes: Vec<String>,
    /// Other session-level lines verbatim (`i=`, `b=`, further `t=`, `r=`, ...).
    pub other_lines: Vec<String>,
}

/// Whether the media description puts its receiver on hold: sendonly or inactive, or the
/// RFC 2543 style `c=0.0.0.0` (RFC 3264 §8.4).
pub fn is_hold(media: &MediaDescription) -> bool {
    matches!(media.direction, Direction::SendOnly | Direction::Inactive)
        || media.connection.as_deref().is_some_and(is_zero_address)
}

fn is_zero_address(a: &str) -> bool {
    a == "0.0.0.0" || a == "::"
}

impl SessionDescription {
    /// Parses an SDP body (CRLF or bare LF line ends).
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        super::sdp_parse::parse(text)
    }

    /// The first `m=audio` section, whatever its port.
    pub fn audio(&self) -> Option<&MediaDescription> {
        self.media.iter().find(|m| m.media == "audio")
    }

    /// Where to send RTP for the first audio stream: its c= address, else the session's,
    /// and its port. `None` if there is no audio, its port is 0, or no c= applies.
    pub fn rtp_address(&self) -> Option<(String, u16)> {
        let m = self.audio()?;
        self.media_address(m)
    }

    /// The address and port of `m`, using the session-level c= when `m` has none.
    pub fn media_address(&self, m: &MediaDescription) -> Option<(String, u16)> {
        if m.port == 0 {
            return None;
        }
        let addr = m.connection.as_ref().or(self.connection.as_ref())?;
        // Multicast c= carries `/ttl[/count]` after the address (RFC 4566 §5.7).
        let addr = addr.split('/').next().unwrap_or(addr);
        Some((addr.to_string(), m.port))
    }

    /// Whether the audio stream puts us on hold (see [`is_hold`]), including a
    /// session-level `c=0.0.0.0`.
    pub fn is_hold(&self) -> bool {
        self.audio().is_some_and(|m| {
            is_hold(m)
                || (m.connection.is_none()
                    && self.connection.as_deref().is_some_and(is_zero_address))
        })
    }
}

fn addr_type(addr: &str) -> &'static str {
    if addr.contains(':') { "IP6" } else { "IP4" }
}

/// Writes the lines of `lines` whose type letter is in `letters`.
fn write_lines(f: &mut fmt::Formatter<'_>, lines: &[String], letters: &str) -> fmt::Result {
    for l in lines {
        if l.chars().next().is_some_and(|c| letters.contains(c)) {
            write!(f, "{l}\r\n")?;
        }
    }
    Ok(())
}

impl fmt::Display for SessionDescription {
    /// RFC 4566 §5 order, CRLF line ends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.session_name.is_empty() {
            "-" // RFC 4566 §5.3: s= must not be empty.
        } else {
            &self.session_name
        };
        write!(
            f,
            "v=0\r\no={} {} {} IN {} {}\r\ns={}\r\n",
            self.origin_username,
            self.session_id,
            self.version,
            addr_type(&self.origin_address),
            self.origin_address,
            name
        )?;
        write_lines(f, &self.other_lines, "iuep")?;
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {c}\r\n", addr_type(c))?;
        }
        write_lines(f, &self.other_lines, "b")?;
        let timing = if self.timing.is_empty() {
            "0 0"
        } else {
            &self.timing
        };
        write!(f, "t={timing}\r\n")?;
        // Everything else we kept (r=, z=, k=, extra t=, unknown letters).
        for l in &self.other_lines {
            if !l.chars().next().is_some_and(|c| "iuepb".contains(c)) {
                write!(f, "{l}\r\n")?;
            }
        }
        if let Some(d) = self.direction {
            write!(f, "a={d}\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {} {}", self.media, self.port, self.proto)?;
        for c in &self.codecs {
            write!(f, " {}", c.payload_type)?;
        }
        for fmt_token in &self.other_formats {
            write!(f, " {fmt_token}")?;
        }
        f.write_str("\r\n")?;
        write_lines(f, &self.other_lines, "i")?;
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {c}\r\n", addr_type(c))?;
        }
        for l in &self.other_lines {
            if !l.starts_with('i') {
                write!(f, "{l}\r\n")?;
            }
        }
        for c in &self.codecs {
            if !c.name.is_empty() {
                write!(f, "a=rtpmap:{} {}\r\n", c.payload_type, c.rtpmap_name())?;
            }
            if let Some(p) = &c.fmtp {
                write!(f, "a=fmtp:{} {p}\r\n", c.payload_type)?;
            }
        }
        for a in &self.other_attributes {
            write!(f, "a={a}\r\n")?;
        }
        write!(f, "a={}\r\n", self.direction)
    }
}

#[cfg(test)]
#[path = "sdp_tests.rs"]
mod tests;
