//! A user agent's media: its SDP offers and answers, the sender pointed at the peer, and
//! RTCP sender reports (RFC 3550 §6.4.1) over rtcp-mux (RFC 5761) when the peer agreed to
//! it. The reports put the run clock in their NTP field, which is what lets every receiver
//! turn RTP timestamps into capture instants and so measure mouth-to-ear delay.

use std::net::SocketAddr;
use std::time::Duration;

use super::{CallIdx, CallState, UserAgent, codec_of};
use crate::core::Time;
use crate::core::rtp::{Codec, MediaSender, Source};
use crate::core::sip::{
    Direction, SdpCodec, SdpError, SessionDescription, make_answer, make_offer, pcma, pcmu,
    telephone_event,
};
use crate::roles::Transmit;

/// The SDP attribute that multiplexes RTCP on the RTP port (RFC 5761 §5.1.1).
pub const RTCP_MUX: &str = "rtcp-mux";
/// First report soon after media starts, so short calls get a clock mapping too; then the
/// RFC 3550 §6.2 minimum interval.
const RTCP_FIRST: Duration = Duration::from_millis(100);
const RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// Whether an SDP's audio stream asks for RTCP on the RTP port.
pub fn wants_rtcp_mux(sdp: &SessionDescription) -> bool {
    sdp.audio()
        .is_some_and(|a| a.other_attributes.iter().any(|x| x == RTCP_MUX))
}

/// Adds `a=rtcp-mux` to an SDP's audio stream.
pub fn add_rtcp_mux(sdp: &mut SessionDescription) {
    if let Some(m) = sdp.media.iter_mut().find(|m| m.media == "audio")
        && !m.other_attributes.iter().any(|x| x == RTCP_MUX)
    {
        m.other_attributes.push(RTCP_MUX.to_string());
    }
}

impl UserAgent {
    /// Our SDP offer: the configured codecs plus telephone-event (RFC 4733), rtcp-mux.
    pub(super) fn offer(&mut self) -> SessionDescription {
        let codecs = self.sdp_codecs();
        let sid = self.stack.next_u64() >> 1;
        let ip = self.advertised(self.cfg.rtp_addr).ip().to_string();
        let port = self.cfg.rtp_addr.port();
        let mut sdp = make_offer(&ip, port, &codecs, Direction::SendRecv, sid, sid);
        add_rtcp_mux(&mut sdp);
        sdp
    }

    /// Our answer to `offer` and the codec we will send (RFC 3264 §6.1).
    pub(super) fn answer_sdp(
        &mut self,
        offer: &SessionDescription,
    ) -> Result<(SessionDescription, Codec), SdpError> {
        let supported = self.sdp_codecs();
        let ip = self.advertised(self.cfg.rtp_addr).ip().to_string();
        let port = self.cfg.rtp_addr.port();
        let sid = self.stack.next_u64() >> 1;
        let a = make_answer(offer, &ip, port, &supported, Direction::SendRecv, sid, sid)?;
        let codec = codec_of(&a.codec).ok_or(SdpError::NoCommonCodec)?;
        let mut sdp = a.sdp;
        if wants_rtcp_mux(offer) {
            add_rtcp_mux(&mut sdp);
        }
        Ok((sdp, codec))
    }

    pub(super) fn sdp_codecs(&self) -> Vec<SdpCodec> {
        let mut codecs: Vec<SdpCodec> = self
            .cfg
            .codecs
            .iter()
            .map(|c| match c {
                Codec::Pcmu => pcmu(),
                Codec::Pcma => pcma(),
            })
            .collect();
        codecs.push(telephone_event(101));
        codecs
    }

    /// The codec to send after our offer was answered: the answer's first that we offered.
    pub(super) fn codec_in_answer(&self, answer: &SessionDescription) -> Option<Codec> {
        let audio = answer.audio()?;
        audio
            .codecs
            .iter()
            .filter_map(codec_of)
            .find(|c| self.cfg.codecs.contains(c))
    }

    /// Points our sender at the peer's media address with the negotiated codec. A new
    /// sender (new SSRC) starts on the 20 ms grid from `now`.
    pub(super) fn start_media(
        &mut self,
        now: Time,
        idx: CallIdx,
        remote: &SessionDescription,
        codec: Codec,
    ) {
        let remote_addr = remote
            .rtp_address()
            .and_then(|(ip, port)| Some(SocketAddr::new(ip.parse().ok()?, port)));
        let mux = wants_rtcp_mux(remote);
        let media = crate::timeline::CallChange::Media {
            codec: codec.name().to_string(),
            remote: remote_addr,
        };
        self.note_call(now, idx, media);
        let call = &mut self.calls[idx];
        call.codec = Some(codec);
        call.remote_media = remote_addr;
        call.rtcp_mux = mux;
        match call.sender.as_mut() {
            Some(sender) => sender.set_codec(codec),
            None => {
                let ssrc = self.stack.next_u64() as u32;
                let seq0 = self.stack.next_u64() as u16;
                let ts0 = self.stack.next_u64() as u32;
                let source = Source::Signature(self.cfg.signature);
                let call = &mut self.calls[idx];
                call.sender = Some(MediaSender::new(ssrc, seq0, ts0, codec, source, now));
                call.next_rtcp = now + RTCP_FIRST;
            }
        }
    }

    /// Sends every RTP packet and RTCP report that is due.
    pub(super) fn send_media(&mut self, now: Time) {
        let rtp = self.cfg.rtp_addr;
        for call in self.calls.iter_mut() {
            let (Some(sender), Some(to)) = (call.sender.as_mut(), call.remote_media) else {
                continue;
            };
            let skipped_before = sender.late_sends();
            if sender.poll_timeout() <= now
                && let Some(data) = sender.handle_timeout(now)
            {
                self.out.push_back(Transmit::udp(rtp, to, data));
            }
            let skipped = sender.late_sends() - skipped_before;
            if skipped > 0 {
                // The harness fell behind its own 20 ms grid: a fact about us, not the target.
                let what = crate::timeline::Observation::SkippedSlots(skipped);
                self.observations.push_back((now, what));
            }
            if call.rtcp_mux && call.state == CallState::Confirmed && call.next_rtcp <= now {
                let block = Some(self.receiver.stats_mut().report_block());
                let data = sender.sender_report(now, block);
                self.out.push_back(Transmit::udp(rtp, to, data));
                call.next_rtcp = now + RTCP_INTERVAL;
            }
        }
    }

    /// The earliest RTP or RTCP deadline of any call.
    pub(super) fn media_deadline(&self) -> Time {
        self.calls
            .iter()
            .filter(|c| c.remote_media.is_some())
            .filter_map(|c| {
                let rtp = c.sender.as_ref()?.poll_timeout();
                let live_rtcp = c.rtcp_mux && c.state == CallState::Confirmed;
                Some(if live_rtcp { rtp.min(c.next_rtcp) } else { rtp })
            })
            .min()
            .unwrap_or(Time::NEVER)
    }
}
