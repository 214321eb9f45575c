//! Sans-IO media endpoints: a [`MediaSender`] that paces one party's RTP on an absolute 20 ms
//! grid, and a [`MediaReceiver`] that decodes, classifies and accounts every packet a party
//! hears. Neither owns a socket or reads a clock; the driver passes `now` in and sends the
//! bytes that come out (str0m's `handle_timeout`/`poll_timeout` pattern).

use std::sync::Arc;
use std::time::Duration;

use super::classifier::{Classifier, FrameClass};
use super::error::RtpError;
use super::g711::{Codec, G711_CLOCK_RATE, SAMPLES_PER_FRAME};
use super::packet::{RtpHeader, is_rtcp, parse_rtp, write_rtp};
use super::signature::{AudioSource, Source};
use super::stats::{PacketFate, ReceiveStats};
use crate::core::Time;

/// Packet interval: 20 ms, the RFC 3551 §4.2 default for G.711.
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
const PACKET_INTERVAL_US: u64 = 20_000;
/// RTP payload type of comfort noise (RFC 3389): heard as silence.
pub const COMFORT_NOISE_PT: u8 = 13;

/// Sends one party's audio as RTP every 20 ms.
///
/// Packets are due on an absolute grid, `start + n × 20 ms`, so a late call does not push
/// later packets back (no drift; oha's open-loop pacing). A call that is several periods
/// late sends one packet and jumps to the next grid point after `now`: a burst would
/// arrive as jitter the far end never saw from a real phone. The RTP timestamp follows the
/// grid (it jumps over skipped slots, as after silence suppression) while the sequence
/// number counts packets actually sent (RFC 3550 §5.1), so the receiver sees no loss.
#[derive(Debug, Clone)]
pub struct MediaSender {
    ssrc: u32,
    seq: u16,
    ts0: u32,
    codec: Codec,
    audio: AudioSource,
    start: Time,
    /// Grid index of the next packet; its deadline is `start + slot × 20 ms`.
    slot: u64,
    muted: bool,
    stopped: bool,
    packets_sent: u64,
    octets_sent: u64,
    late_sends: u64,
    max_lateness: Duration,
    total_lateness: Duration,
    pcm: [i16; SAMPLES_PER_FRAME],
    /// The encoded payload of the latest packet.
    payload: Vec<u8>,
    /// Whether `payload` can be sent again as it is (see `handle_timeout_into`).
    payload_valid: bool,
}

impl MediaSender {
    /// A sender whose first packet is due at `start`, with sequence number `seq0` and RTP
    /// timestamp `ts0` (random per RFC 3550 §5.1; the caller draws them from its RNG).
    pub fn new(ssrc: u32, seq0: u16, ts0: u32, codec: Codec, source: Source, start: Time) -> Self {
        MediaSender {
            ssrc,
            seq: seq0,
            ts0,
            codec,
            audio: AudioSource::new(source),
            start,
            slot: 0,
            muted: false,
            stopped: false,
            packets_sent: 0,
            octets_sent: 0,
            late_sends: 0,
            max_lateness: Duration::ZERO,
            total_lateness: Duration::ZERO,
            pcm: [0; SAMPLES_PER_FRAME],
            payload: Vec::with_capacity(SAMPLES_PER_FRAME),
            payload_valid: false,
        }
    }

    fn deadline(&self, slot: u64) -> Time {
        self.start + Duration::from_micros(slot.saturating_mul(PACKET_INTERVAL_US))
    }

    /// When the next packet is due; [`Time::NEVER`] once stopped.
    pub fn poll_timeout(&self) -> Time {
        if self.stopped {
            Time::NEVER
        } else {
            self.deadline(self.slot)
        }
    }

    /// Returns the next RTP packet if it is due at `now`, else `None`. Idempotent: calling
    /// again at the same `now` returns `None`.
    pub fn handle_timeout(&mut self, now: Time) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(12 + SAMPLES_PER_FRAME);
        self.handle_timeout_into(now, &mut out).then_some(out)
    }

    /// Like [`handle_timeout`](Self::handle_timeout) but appends the packet to `out` (a
    /// buffer the pacer reuses) and returns whether it did.
    pub fn handle_timeout_into(&mut self, now: Time, out: &mut Vec<u8>) -> bool {
        let due = self.poll_timeout();
        if now < due {
            return false;
        }
        // Send for the latest grid slot at or before `now`; skip the ones before it.
        let behind = (now - due).as_micros() as u64 / PACKET_INTERVAL_US;
        let lateness = now - due;
        self.max_lateness = self.max_lateness.max(lateness);
        // Saturating: a driver passing Time::NEVER must not be able to overflow anything.
        self.total_lateness = self.total_lateness.saturating_add(lateness);
        if behind > 0 {
            self.late_sends = self.late_sends.saturating_add(behind);
            self.audio.skip_frames(behind);
            self.slot = self.slot.saturating_add(behind);
        }
        // A signature or silence repeats the same frame (its tones complete whole cycles in
        // 20 ms), so its encoded payload is reused until the source, codec or mute changes.
        let repeats = self.muted || self.audio.source() != Source::HoldMusic;
        if repeats && self.payload_valid {
            self.audio.skip_frames(1);
        } else {
            self.audio.next_frame(&mut self.pcm);
            if self.muted {
                self.pcm = [0; SAMPLES_PER_FRAME];
            }
            self.payload.clear();
            self.codec.encode(&self.pcm, &mut self.payload);
            self.payload_valid = repeats;
        }
        let header = RtpHeader {
            payload_type: self.codec.payload_type(),
            sequence: self.seq,
            timestamp: self.timestamp_of(self.slot),
            ssrc: self.ssrc,
            // RFC 3551 §4.1: the marker flags the first packet of a talkspurt.
            marker: self.packets_sent == 0,
        };
        write_rtp(&header, &self.payload, out);
        self.seq = self.seq.wrapping_add(1);
        self.slot = self.slot.saturating_add(1);
        self.packets_sent += 1;
        self.octets_sent += self.payload.len() as u64;
        true
    }

    fn timestamp_of(&self, slot: u64) -> u32 {
        let step = u64::from(G711_CLOCK_RATE) * PACKET_INTERVAL_US / 1_000_000;
        self.ts0.wrapping_add((slot.wrapping_mul(step)) as u32)
    }

    /// Changes what the party sends from the next packet on.
    pub fn set_source(&mut self, s: Source) {
        self.audio.set(s);
        self.payload_valid = false;
    }

    /// The current source.
    pub fn source(&self) -> Source {
        self.audio.source()
    }

    /// Changes the codec (after a re-INVITE); timing and numbering carry on.
    pub fn set_codec(&mut self, c: Codec) {
        self.codec = c;
        self.payload_valid = false;
    }

    /// The current codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Muted senders keep sending on time, with silence.
    pub fn set_muted(&mut self, m: bool) {
        self.muted = m;
        self.payload_valid = false;
    }

    /// Whether the sender is muted.
    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// Stops sending for good: `poll_timeout` returns [`Time::NEVER`].
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Packets sent so far.
    pub fn packets_sent(&self) -> u64 {
        self.packets_sent
    }

    /// Payload octets sent so far (for an RTCP SR).
    pub fn octets_sent(&self) -> u64 {
        self.octets_sent
    }

    /// Grid slots skipped because `handle_timeout` was called more than a period late.
    pub fn late_sends(&self) -> u64 {
        self.late_sends
    }

    /// Total lateness: the sum over packets of `now - deadline` (same as
    /// [`total_lateness`](Self::total_lateness)).
    pub fn lateness(&self) -> Duration {
        self.total_lateness
    }

    /// Sum over packets of how late each was sent.
    pub fn total_lateness(&self) -> Duration {
        self.total_lateness
    }

    /// The latest any packet was sent after its deadline.
    pub fn max_lateness(&self) -> Duration {
        self.max_lateness
    }
}

/// One packet's worth of audio as a receiver heard it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeardFrame {
    /// Arrival time of the packet.
    pub at: Time,
    /// What the packet's audio was.
    pub class: FrameClass,
    /// SSRC, sequence number and payload type as received (after any B2BUA rewrite).
    pub ssrc: u32,
    /// Sequence number as received.
    pub seq: u16,
    /// Payload type as received.
    pub payload_type: u8,
}

/// Everything one party receives: decodes and classifies each packet, keeps the timeline of
/// [`HeardFrame`]s and the RFC 3550 statistics. It keys nothing on SSRC, sequence number or
/// payload type, so it carries on through B2BUA rewrites and re-INVITEs.
#[derive(Debug, Clone)]
pub struct MediaReceiver {
    classifier: Arc<Classifier>,
    stats: ReceiveStats,
    frames: Vec<HeardFrame>,
    last_payload_type: Option<u8>,
    payload_type_changes: u64,
    rtcp_packets: u64,
    pcm: Vec<i16>,
}

impl MediaReceiver {
    /// A receiver sharing `classifier` with the others.
    pub fn new(classifier: Arc<Classifier>) -> Self {
        MediaReceiver {
            classifier,
            stats: ReceiveStats::new(G711_CLOCK_RATE),
            frames: Vec::new(),
            last_payload_type: None,
            payload_type_changes: 0,
            rtcp_packets: 0,
            pcm: Vec::with_capacity(SAMPLES_PER_FRAME),
        }
    }

    /// Takes one datagram that arrived at `now`. RTCP is counted and otherwise ignored; an
    /// RTP packet becomes a [`HeardFrame`]: PCMU/PCMA are decoded and classified, comfort
    /// noise is silence, any other payload type is "other audio". Duplicates are counted in
    /// the statistics but not added to the timeline. Malformed datagrams are returned as
    /// errors and change nothing.
    pub fn handle_packet(&mut self, now: Time, bytes: &[u8]) -> Result<(), RtpError> {
        if is_rtcp(bytes) {
            self.rtcp_packets += 1;
            return Ok(());
        }
        let (h, payload) = parse_rtp(bytes)?;
        let fate = self.stats.on_packet(now, h.sequence, h.timestamp, h.ssrc);
        if self
            .last_payload_type
            .is_some_and(|pt| pt != h.payload_type)
        {
            self.payload_type_changes += 1;
        }
        self.last_payload_type = Some(h.payload_type);
        if fate == PacketFate::Duplicate {
            return Ok(());
        }
        let class = match Codec::from_payload_type(h.payload_type) {
            Some(codec) => {
                self.pcm.clear();
                codec.decode(payload, &mut self.pcm);
                self.classifier.classify(&self.pcm)
            }
            None if h.payload_type == COMFORT_NOISE_PT => FrameClass::Silence,
            None => FrameClass::Other,
        };
        self.frames.push(HeardFrame {
            at: now,
            class,
            ssrc: h.ssrc,
            seq: h.sequence,
            payload_type: h.payload_type,
        });
        Ok(())
    }

    /// The timeline of classified packets, in arrival order.
    pub fn frames(&self) -> &[HeardFrame] {
        &self.frames
    }

    /// Removes and returns the timeline so far (for long runs that stream it out).
    pub fn take_frames(&mut self) -> Vec<HeardFrame> {
        std::mem::take(&mut self.frames)
    }

    /// RFC 3550 receive statistics.
    pub fn stats(&self) -> &ReceiveStats {
        &self.stats
    }

    /// Mutable statistics, for [`ReceiveStats::report_block`].
    pub fn stats_mut(&mut self) -> &mut ReceiveStats {
        &mut self.stats
    }

    /// Payload type of the latest RTP packet.
    pub fn last_payload_type(&self) -> Option<u8> {
        self.last_payload_type
    }

    /// How often the payload type changed between consecutive packets.
    pub fn payload_type_changes(&self) -> u64 {
        self.payload_type_changes
    }

    /// Distinct SSRCs heard.
    pub fn ssrcs_seen(&self) -> usize {
        self.stats.ssrc_count()
    }

    /// RTCP packets received (and ignored).
    pub fn rtcp_packets(&self) -> u64 {
        self.rtcp_packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rtp::{build_rtp, build_sender_report, signature::MAX_PARTIES};
    use proptest::prelude::*;

    fn ms(v: u64) -> Time {
        Time::from_millis(v)
    }

    fn sender(source: Source) -> MediaSender {
        MediaSender::new(0xfeed, 65530, u32::MAX - 320, Codec::Pcmu, source, ms(100))
    }

    fn receiver() -> MediaReceiver {
        MediaReceiver::new(Arc::new(Classifier::new()))
    }

    #[test]
    fn one_second_on_the_grid_is_fifty_packets() {
        let mut s = sender(Source::Signature(0));
        assert_eq!(s.poll_timeout(), ms(100));
        assert_eq!(s.handle_timeout(ms(99)), None);
        let mut packets = Vec::new();
        let mut now = ms(100);
        while now < ms(1100) {
            packets.extend(s.handle_timeout(now));
            // Idempotent: a second call at the same instant sends nothing.
            assert_eq!(s.handle_timeout(now), None);
            now += PACKET_INTERVAL;
        }
        assert_eq!(packets.len(), 50);
        assert_eq!(s.packets_sent(), 50);
        assert_eq!(s.octets_sent(), 50 * 160);
        assert_eq!(s.poll_timeout(), ms(1100));
        assert_eq!(
            (s.late_sends(), s.max_lateness(), s.lateness()),
            (0, Duration::ZERO, Duration::ZERO)
        );
        for (i, p) in packets.iter().enumerate() {
            let (h, payload) = parse_rtp(p).unwrap();
            assert_eq!(h.ssrc, 0xfeed);
            assert_eq!(h.payload_type, 0);
            assert_eq!(h.sequence, 65530u16.wrapping_add(i as u16));
            assert_eq!(h.timestamp, (u32::MAX - 320).wrapping_add(160 * i as u32));
            assert_eq!(h.marker, i == 0);
            assert_eq!(payload.len(), 160);
        }
    }

    #[test]
    fn grid_does_not_drift_with_slightly_late_calls() {
        let mut s = sender(Source::Silence);
        for n in 0..100u64 {
            let due = s.poll_timeout();
            assert_eq!(due, ms(100 + 20 * n));
            // Every call 7 ms late: still on the absolute grid.
            assert!(s.handle_timeout(due + Duration::from_millis(7)).is_some());
        }
        assert_eq!(s.late_sends(), 0);
        assert_eq!(s.max_lateness(), Duration::from_millis(7));
        assert_eq!(s.total_lateness(), Duration::from_millis(700));
    }

    #[test]
    fn a_late_call_sends_one_packet_and_skips_the_grid() {
        let mut s = sender(Source::Signature(1));
        let first = s.handle_timeout(ms(100)).unwrap();
        // Next due at 120; called at 195: slots 120, 140, 160 are skipped, 180 is sent.
        let late = s.handle_timeout(ms(195)).unwrap();
        assert_eq!(s.handle_timeout(ms(195)), None);
        assert_eq!(s.late_sends(), 3);
        assert_eq!(s.max_lateness(), Duration::from_millis(75));
        assert_eq!(s.poll_timeout(), ms(200));
        let (h0, _) = parse_rtp(&first).unwrap();
        let (h1, _) = parse_rtp(&late).unwrap();
        assert_eq!(h1.sequence, h0.sequence.wrapping_add(1));
        assert_eq!(h1.timestamp, h0.timestamp.wrapping_add(4 * 160));
        assert!(s.handle_timeout(ms(200)).is_some());
        assert_eq!(s.packets_sent(), 3);
    }

    #[test]
    fn absurd_times_do_not_panic() {
        for source in [Source::Signature(0), Source::HoldMusic] {
            let mut s = sender(source);
            assert!(s.handle_timeout(Time::NEVER).is_some());
            assert!(s.late_sends() > 1 << 40);
            let _ = s.handle_timeout(Time::NEVER);
            assert_eq!(s.poll_timeout(), Time::NEVER);
        }
    }

    #[test]
    fn mute_source_codec_and_stop() {
        let c = Classifier::new();
        let mut s = sender(Source::Signature(2));
        let heard = |p: Vec<u8>| -> (u8, FrameClass) {
            let (h, payload) = parse_rtp(&p).unwrap();
            let mut pcm = Vec::new();
            Codec::from_payload_type(h.payload_type)
                .unwrap()
                .decode(payload, &mut pcm);
            (h.payload_type, c.classify(&pcm))
        };
        let mut now = ms(100);
        let mut next = |s: &mut MediaSender| {
            let p = s.handle_timeout(now).unwrap();
            now += PACKET_INTERVAL;
            heard(p)
        };
        assert_eq!(next(&mut s), (0, FrameClass::Party(2)));
        s.set_muted(true);
        assert!(s.is_muted());
        assert_eq!(next(&mut s), (0, FrameClass::Silence));
        s.set_muted(false);
        s.set_codec(Codec::Pcma);
        assert_eq!(next(&mut s), (8, FrameClass::Party(2)));
        s.set_source(Source::HoldMusic);
        assert_eq!(s.source(), Source::HoldMusic);
        assert_eq!(next(&mut s), (8, FrameClass::Other));
        s.set_source(Source::Signature(5));
        assert_eq!(next(&mut s), (8, FrameClass::Party(5)));
        s.stop();
        assert!(s.is_stopped());
        assert_eq!(s.poll_timeout(), Time::NEVER);
        assert_eq!(s.handle_timeout(ms(10_000)), None);
    }

    #[test]
    fn sender_to_receiver_every_party() {
        let classifier = Arc::new(Classifier::new());
        for party in 0..MAX_PARTIES as u8 {
            for codec in [Codec::Pcmu, Codec::Pcma] {
                let mut s = MediaSender::new(7, 0, 0, codec, Source::Signature(party), ms(0));
                let mut r = MediaReceiver::new(classifier.clone());
                for n in 0..25 {
                    let p = s.handle_timeout(ms(20 * n)).unwrap();
                    r.handle_packet(ms(20 * n + 30), &p).unwrap();
                }
                assert_eq!(r.frames().len(), 25);
                assert!(
                    r.frames()
                        .iter()
                        .all(|f| f.class == FrameClass::Party(party))
                );
                assert_eq!(r.last_payload_type(), Some(codec.payload_type()));
                assert_eq!((r.stats().received(), r.stats().lost()), (25, 0));
            }
        }
    }

    #[test]
    fn receiver_survives_a_b2bua_rewrite() {
        // Desk (party 1) then mobile (party 2) reach the customer through a B2BUA that
        // changes SSRC, sequence numbers and payload type at the flip.
        let mut desk = MediaSender::new(1, 100, 0, Codec::Pcmu, Source::Signature(1), ms(0));
        let mut mobile = MediaSender::new(2, 9000, 5, Codec::Pcma, Source::Signature(2), ms(1000));
        let mut r = receiver();
        for n in 0..50 {
            r.handle_packet(ms(20 * n + 5), &desk.handle_timeout(ms(20 * n)).unwrap())
                .unwrap();
        }
        for n in 50..100 {
            r.handle_packet(ms(20 * n + 5), &mobile.handle_timeout(ms(20 * n)).unwrap())
                .unwrap();
        }
        let f = r.frames();
        assert_eq!(f.len(), 100);
        assert_eq!(f[49].class, FrameClass::Party(1));
        assert_eq!((f[49].ssrc, f[49].seq, f[49].payload_type), (1, 149, 0));
        assert_eq!(f[50].class, FrameClass::Party(2));
        assert_eq!((f[50].ssrc, f[50].seq, f[50].payload_type), (2, 9000, 8));
        assert_eq!(f[50].at, ms(1005));
        assert_eq!(r.ssrcs_seen(), 2);
        assert_eq!(r.payload_type_changes(), 1);
        assert_eq!(
            (r.stats().received(), r.stats().expected(), r.stats().lost()),
            (100, 100, 0)
        );
    }

    #[test]
    fn rtpengine_style_flip_keeps_ssrc_and_resets_seq() {
        // FIELD-NOTES: through rtpengine the customer sees one SSRC, and the sequence number
        // jumps back 61 -> 0 at the flip. The relay is modelled by rewriting the SSRC only.
        let mut desk = MediaSender::new(11, 0, 1000, Codec::Pcmu, Source::Signature(1), ms(0));
        let mut mobile = MediaSender::new(22, 0, 777, Codec::Pcmu, Source::Signature(2), ms(1240));
        let mut r = receiver();
        let relay = |p: Vec<u8>| -> Vec<u8> {
            let (mut h, payload) = parse_rtp(&p).unwrap();
            h.ssrc = 0x5151;
            build_rtp(&h, payload)
        };
        for n in 0..62 {
            let p = relay(desk.handle_timeout(ms(20 * n)).unwrap());
            r.handle_packet(ms(20 * n + 3), &p).unwrap();
        }
        for n in 62..112 {
            let p = relay(mobile.handle_timeout(ms(20 * n)).unwrap());
            r.handle_packet(ms(20 * n + 3), &p).unwrap();
        }
        let f = r.frames();
        assert_eq!(f.len(), 112);
        assert_eq!((f[61].seq, f[61].class), (61, FrameClass::Party(1)));
        assert_eq!((f[62].seq, f[62].class), (0, FrameClass::Party(2)));
        let st = r.stats();
        assert_eq!(
            (st.received(), st.expected(), st.lost(), st.late()),
            (112, 112, 0, 0)
        );
        assert_eq!((st.epochs(), r.ssrcs_seen()), (2, 1));
    }

    #[test]
    fn hold_music_is_heard_as_other() {
        let mut s = MediaSender::new(1, 0, 0, Codec::Pcma, Source::HoldMusic, ms(0));
        let mut r = receiver();
        for n in 0..100 {
            r.handle_packet(ms(20 * n), &s.handle_timeout(ms(20 * n)).unwrap())
                .unwrap();
        }
        assert!(r.frames().iter().all(|f| f.class == FrameClass::Other));
    }

    #[test]
    fn other_payload_types_rtcp_duplicates_and_garbage() {
        let mut r = receiver();
        let hdr = |pt, seq| RtpHeader {
            payload_type: pt,
            sequence: seq,
            timestamp: 160 * seq as u32,
            ssrc: 3,
            marker: false,
        };
        // Telephone-event (dynamic PT 101) is other audio; comfort noise is silence.
        r.handle_packet(ms(0), &build_rtp(&hdr(101, 0), &[1, 0, 0, 160]))
            .unwrap();
        r.handle_packet(ms(20), &build_rtp(&hdr(COMFORT_NOISE_PT, 1), &[40]))
            .unwrap();
        // An empty G.711 payload carries no audio.
        r.handle_packet(ms(40), &build_rtp(&hdr(0, 2), &[]))
            .unwrap();
        // A duplicate is counted but not heard twice.
        r.handle_packet(ms(41), &build_rtp(&hdr(0, 2), &[]))
            .unwrap();
        r.handle_packet(ms(50), &build_sender_report(3, 0, 0, 0, 0, None))
            .unwrap();
        assert!(r.handle_packet(ms(60), &[0x80, 0, 1]).is_err());
        assert!(r.handle_packet(ms(60), &[]).is_err());
        let classes: Vec<_> = r.frames().iter().map(|f| f.class).collect();
        assert_eq!(
            classes,
            [FrameClass::Other, FrameClass::Silence, FrameClass::Silence]
        );
        assert_eq!(r.rtcp_packets(), 1);
        assert_eq!(r.stats().duplicates(), 1);
        assert_eq!(r.last_payload_type(), Some(0));
        assert_eq!(r.take_frames().len(), 3);
        assert!(r.frames().is_empty());
    }

    proptest! {
        #[test]
        fn handle_packet_never_panics(packets in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..200), 0..20)) {
            let mut r = receiver();
            for (i, p) in packets.iter().enumerate() {
                let _ = r.handle_packet(ms(i as u64), p);
            }
            prop_assert!(r.stats().lost() >= 0);
        }

        #[test]
        fn handle_packet_never_panics_on_rtp_like_input(
            packets in proptest::collection::vec((any::<u16>(), any::<u32>(), any::<u32>(), 0u8..3,
                proptest::collection::vec(any::<u8>(), 0..200)), 0..40)) {
            let mut r = receiver();
            for (i, (seq, ts, ssrc, pt, payload)) in packets.iter().enumerate() {
                let h = RtpHeader { payload_type: [0, 8, 13][*pt as usize], sequence: *seq, timestamp: *ts, ssrc: *ssrc % 3, marker: false };
                prop_assert!(r.handle_packet(ms(i as u64), &build_rtp(&h, payload)).is_ok());
            }
            prop_assert!(r.stats().lost() >= 0);
            prop_assert!(r.stats().received() <= r.stats().expected());
        }
    }
}
