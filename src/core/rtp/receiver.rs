//! The sans-IO RTP receiver of one party: decodes, classifies and accounts every packet it
//! hears, keeping the timeline of [`HeardFrame`]s the gap measurements are computed from.

use std::sync::Arc;

use super::classifier::{Classifier, FrameClass};
use super::epoch::PacketFate;
use super::error::RtpError;
use super::g711::{Codec, G711_CLOCK_RATE, SAMPLES_PER_FRAME};
use super::packet::{is_rtcp, parse_rtp};
use super::rtcp::{parse_rtcp, time_from_ntp};
use super::stats::ReceiveStats;
use crate::core::Time;

/// RTP payload type of comfort noise (RFC 3389): heard as silence.
pub const COMFORT_NOISE_PT: u8 = 13;

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

/// How long one packet took from its capture instant (per the sender's RTCP clock
/// mapping) to its arrival here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneWayDelay {
    pub at: Time,
    pub ssrc: u32,
    pub ms: f64,
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
    /// Per SSRC, the last sender report's (run time, RTP timestamp) pair.
    clocks: Vec<(u32, Time, u32)>,
    delays: Vec<OneWayDelay>,
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
            clocks: Vec::new(),
            delays: Vec::new(),
        }
    }

    /// Sender reports on the run clock tell when each RTP timestamp was captured. Reports on
    /// another clock (a real system's own) are ignored: mixing clocks would invent delays.
    fn learn_clocks(&mut self, bytes: &[u8]) {
        let Ok(reports) = parse_rtcp(bytes) else {
            return;
        };
        for r in reports {
            let Some(info) = r.sender else { continue };
            let Some(at) = time_from_ntp(info.ntp) else {
                continue;
            };
            self.clocks.retain(|(ssrc, ..)| *ssrc != r.ssrc);
            // Bounded like the statistics' SSRC table: the oldest clock goes first.
            if self.clocks.len() >= 16 {
                self.clocks.remove(0);
            }
            self.clocks.push((r.ssrc, at, info.rtp_ts));
        }
    }

    fn record_delay(&mut self, now: Time, ssrc: u32, ts: u32) {
        let Some(&(_, sr_at, sr_ts)) = self.clocks.iter().find(|(s, ..)| *s == ssrc) else {
            return;
        };
        // Signed distance on the RTP clock handles wrap-around (RFC 3550 §5.1).
        let samples = ts.wrapping_sub(sr_ts) as i32;
        let captured_us =
            sr_at.as_micros() as f64 + f64::from(samples) * 1e6 / f64::from(G711_CLOCK_RATE);
        let ms = (now.as_micros() as f64 - captured_us) / 1000.0;
        // A delay outside 0..60 s means the mapping does not fit this packet (a rewritten
        // timestamp): no figure is better than a wrong one.
        if (0.0..60_000.0).contains(&ms) {
            self.delays.push(OneWayDelay { at: now, ssrc, ms });
        }
    }

    /// One-way delays of the packets whose sender's clock is known, in arrival order.
    pub fn delays(&self) -> &[OneWayDelay] {
        &self.delays
    }

    /// Takes one datagram that arrived at `now`. RTCP is counted and otherwise ignored; an
    /// RTP packet becomes a [`HeardFrame`]: PCMU/PCMA are decoded and classified, comfort
    /// noise is silence, any other payload type is "other audio". Duplicates are counted in
    /// the statistics but not added to the timeline. Malformed datagrams are returned as
    /// errors and change nothing.
    pub fn handle_packet(&mut self, now: Time, bytes: &[u8]) -> Result<(), RtpError> {
        if is_rtcp(bytes) {
            self.rtcp_packets += 1;
            self.learn_clocks(bytes);
            return Ok(());
        }
        let (h, payload) = parse_rtp(bytes)?;
        self.record_delay(now, h.ssrc, h.timestamp);
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

    /// Moves the frames and delays heard so far to the end of `frames` and `delays` (the
    /// scenario's timeline), keeping this receiver's buffers for reuse.
    pub fn drain_into(&mut self, frames: &mut Vec<HeardFrame>, delays: &mut Vec<OneWayDelay>) {
        frames.append(&mut self.frames);
        delays.append(&mut self.delays);
    }

    /// Removes and returns the one-way delays so far.
    pub fn take_delays(&mut self) -> Vec<OneWayDelay> {
        std::mem::take(&mut self.delays)
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
    use crate::core::rtp::{
        MAX_PARTIES, MediaSender, RtpHeader, Source, build_rtp, build_sender_report, parse_rtp,
    };
    use proptest::prelude::*;

    fn ms(v: u64) -> Time {
        Time::from_millis(v)
    }

    fn receiver() -> MediaReceiver {
        MediaReceiver::new(Arc::new(Classifier::new()))
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
        // Through rtpengine the customer sees one SSRC, and the sequence number
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

#[cfg(test)]
mod delay_tests {
    use super::*;
    use crate::core::rtp::{MediaSender, Source};
    use std::time::Duration;

    #[test]
    fn sender_reports_turn_timestamps_into_one_way_delays() {
        let mut rx = MediaReceiver::new(Arc::new(Classifier::new()));
        let start = Time::from_millis(1000);
        let mut tx = MediaSender::new(
            7,
            100,
            4_000_000_000,
            Codec::Pcmu,
            Source::Signature(1),
            start,
        );
        let delay = Duration::from_micros(4_500);
        let mut now = start;
        for n in 0..10 {
            if n == 3 {
                // The report may be sent between packets; its clock fits every packet.
                rx.handle_packet(
                    now + delay,
                    &tx.sender_report(now + Duration::from_millis(7), None),
                )
                .unwrap();
            }
            let pkt = tx.handle_timeout(now).unwrap();
            rx.handle_packet(now + delay, &pkt).unwrap();
            now += Duration::from_millis(20);
        }
        // Packets before the first report have no known capture time.
        assert_eq!(rx.delays().len(), 7);
        for d in rx.delays() {
            assert!((d.ms - 4.5).abs() < 0.2, "{d:?}");
            assert_eq!(d.ssrc, 7);
        }
        // A wall-clock sender report (a real system's) is ignored.
        let mut rx2 = MediaReceiver::new(Arc::new(Classifier::new()));
        let wall = build_wall_clock_sr(8);
        rx2.handle_packet(now, &wall).unwrap();
        let mut tx2 = MediaSender::new(8, 0, 0, Codec::Pcmu, Source::Signature(2), now);
        rx2.handle_packet(now, &tx2.handle_timeout(now).unwrap())
            .unwrap();
        assert!(rx2.delays().is_empty());
    }

    fn build_wall_clock_sr(ssrc: u32) -> Vec<u8> {
        crate::core::rtp::build_sender_report(ssrc, 3_973_000_000u64 << 32, 0, 1, 160, None)
    }
}
