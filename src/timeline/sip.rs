//! A SIP message as the timeline keeps it: the facts the measurements read (dialog
//! identifiers, caller ID, Session-ID, the SDP's codecs and direction), taken from the
//! message exactly as it crossed the wire.

use std::net::SocketAddr;

use crate::core::sip::{Message, NameAddr, SessionDescription};

/// Whether the party sent the message or received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipDir {
    Sent,
    Received,
}

/// The audio part of an SDP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpSummary {
    /// Encodings in m= order, as `NAME/RATE` (telephone-event included).
    pub codecs: Vec<String>,
    /// `sendrecv`, `sendonly`, `recvonly` or `inactive` (RFC 3264 §5.1).
    pub direction: String,
    /// Where the sender of the SDP wants RTP.
    pub address: Option<SocketAddr>,
}

/// One SIP message sent or received by a party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipRecord {
    pub dir: SipDir,
    /// The other end of the hop: destination when sent, source when received.
    pub peer: SocketAddr,
    /// The request's method, or for a response the method of its CSeq.
    pub method: String,
    /// The status code of a response; `None` for a request.
    pub status: Option<u16>,
    /// The reason phrase of a response.
    pub reason: Option<String>,
    pub call_id: String,
    pub cseq: u32,
    /// The top Via's branch: a retransmission repeats it.
    pub branch: Option<String>,
    pub from_tag: Option<String>,
    pub to_tag: Option<String>,
    /// Who the message presents as its sender: P-Asserted-Identity, else From for a
    /// request and To for a response, without tags (the caller ID a phone shows).
    pub identity: Option<String>,
    /// RFC 7989 Session-ID, without parameters.
    pub session_id: Option<String>,
    /// The `Reason` header (RFC 3326), e.g. why a flip was refused.
    pub reason_header: Option<String>,
    /// The audio of an SDP body, if the message carried one that parses.
    pub sdp: Option<SdpSummary>,
}

impl SipRecord {
    /// The record of `msg`; `None` when the message lacks a Call-ID or CSeq (such a message
    /// belongs to no call, and the SIP layer reports it as a finding).
    pub fn of(msg: &Message, dir: SipDir, peer: SocketAddr) -> Option<SipRecord> {
        let call_id = msg.call_id()?.to_string();
        let cseq = msg.cseq()?;
        let status = msg.status();
        // The identity a message presents: its P-Asserted-Identity (RFC 3325), else its From
        // (a request) or To (a response). An ACK or CANCEL copies the From of its INVITE
        // without the assertion, and presents nothing of its own: counting it would undo
        // the identity a replacing INVITE asserted.
        let presents = !matches!(msg.method(), Some("ACK" | "CANCEL"));
        let identity = match (presents, status) {
            (false, _) => None,
            (true, Some(_)) => msg.p_asserted_identity().or_else(|| msg.to_addr()),
            (true, None) => msg.p_asserted_identity().or_else(|| msg.from_addr()),
        }
        .map(untagged);
        let sdp = (!msg.body().is_empty())
            .then(|| SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok())
            .flatten()
            .and_then(|sdp| summary(&sdp));
        Some(SipRecord {
            dir,
            peer,
            method: msg.method().map_or(cseq.method.clone(), str::to_string),
            status,
            reason: msg.reason().map(str::to_string),
            call_id,
            cseq: cseq.seq,
            branch: msg.top_via().and_then(|v| v.branch().map(str::to_string)),
            from_tag: msg.from_addr().and_then(|a| a.tag().map(str::to_string)),
            to_tag: msg.to_addr().and_then(|a| a.tag().map(str::to_string)),
            identity,
            session_id: msg.session_id().map(str::to_string),
            reason_header: msg.header("Reason").map(str::to_string),
            sdp,
        })
    }

    pub fn is_request(&self) -> bool {
        self.status.is_none()
    }

    /// A request that carries an SDP body: an offer (RFC 3264), except in an ACK.
    pub fn is_offer(&self) -> bool {
        self.is_request() && self.sdp.is_some() && self.method != "ACK"
    }
}

/// A name-addr without its tag, so one caller ID compares equal across dialogs.
fn untagged(mut na: NameAddr) -> String {
    na.params.retain(|(k, _)| !k.eq_ignore_ascii_case("tag"));
    na.to_string()
}

fn summary(sdp: &SessionDescription) -> Option<SdpSummary> {
    let audio = sdp.audio()?;
    let address = sdp
        .media_address(audio)
        .and_then(|(ip, port)| Some(SocketAddr::new(ip.parse().ok()?, port)));
    Some(SdpSummary {
        codecs: audio.codecs.iter().map(|c| c.rtpmap_name()).collect(),
        direction: audio.direction.as_str().to_string(),
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:5060".parse().unwrap()
    }

    #[test]
    fn a_200_with_sdp_and_identity() {
        let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
            m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";
        let text = format!(
            "SIP/2.0 200 OK\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bKabc\r\n\
            From: <sip:customer@x>;tag=f1\r\n\
            To: <sip:alice@x>;tag=t1\r\n\
            Call-ID: c1\r\n\
            CSeq: 2 INVITE\r\n\
            P-Asserted-Identity: <sip:alice@x>\r\n\
            Session-ID: 0123456789abcdef0123456789abcdef;remote=00000000000000000000000000000000\r\n\
            Content-Type: application/sdp\r\n\
            Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let msg = Message::parse(text.as_bytes()).unwrap();
        let r = SipRecord::of(&msg, SipDir::Received, peer()).unwrap();
        assert_eq!(
            (r.method.as_str(), r.status, r.cseq),
            ("INVITE", Some(200), 2)
        );
        assert_eq!(r.branch.as_deref(), Some("z9hG4bKabc"));
        assert_eq!(
            (r.from_tag.as_deref(), r.to_tag.as_deref()),
            (Some("f1"), Some("t1"))
        );
        assert_eq!(r.identity.as_deref(), Some("<sip:alice@x>"));
        assert_eq!(
            r.session_id.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        let sdp = r.sdp.as_ref().unwrap();
        assert_eq!(sdp.codecs, ["PCMU/8000", "telephone-event/8000"]);
        assert_eq!(sdp.direction, "sendonly");
        assert_eq!(sdp.address, Some("127.0.0.1:4000".parse().unwrap()));
        assert!(!r.is_request() && !r.is_offer());
    }

    #[test]
    fn a_request_presents_its_from_without_the_tag() {
        let text = "BYE sip:alice@x SIP/2.0\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bKq\r\n\
            From: \"Pbx\" <sip:pbx@x>;tag=a\r\n\
            To: <sip:alice@x>;tag=b\r\n\
            Call-ID: c2\r\nCSeq: 7 BYE\r\nReason: SIP;cause=200\r\nContent-Length: 0\r\n\r\n";
        let msg = Message::parse(text.as_bytes()).unwrap();
        let r = SipRecord::of(&msg, SipDir::Sent, peer()).unwrap();
        assert_eq!(r.identity.as_deref(), Some("\"Pbx\" <sip:pbx@x>"));
        assert_eq!(r.reason_header.as_deref(), Some("SIP;cause=200"));
        assert!(r.is_request() && !r.is_offer() && r.sdp.is_none());
        let ack = Message::parse(text.replace("BYE", "ACK").as_bytes()).unwrap();
        let r = SipRecord::of(&ack, SipDir::Received, peer()).unwrap();
        assert_eq!(r.identity, None, "an ACK presents no identity of its own");
        let no_call_id =
            Message::parse(b"OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n").unwrap();
        assert_eq!(SipRecord::of(&no_call_id, SipDir::Received, peer()), None);
    }
}
