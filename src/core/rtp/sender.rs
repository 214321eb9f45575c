//! The sans-IO RTP sender of one party: paces G.711 packets carrying the party's audio on
//! an absolute 20 ms grid. It owns no socket and reads no clock; the driver asks
//! [`MediaSender::poll_timeout`] when to call [`MediaSender::handle_timeout`] and sends the
//! bytes that come out (str0m's `handle_timeout`/`poll_timeout` pattern).

use std::time::Duration;

use super::g711::{Codec, G711_CLOCK_RATE, SAMPLES_PER_FRAME};
use super::packet::{RtpHeader, write_rtp};
use super::rtcp::{ReportBlockData, build_sender_report, ntp_from_time};
use super::signature::{AudioSource, Source};
use crate::core::Time;

/// Packet interval: 20 ms, the RFC 3551 §4.2 default for G.711.
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
const PACKET_INTERVAL_US: u64 = 20_000;

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

    /// An RTCP sender report (RFC 3550 §6.4.1) as of `now`: the NTP field is run time and
    /// the RTP timestamp the same instant on this stream's 20 ms grid, so a receiver can map
    /// any packet's timestamp back to its capture time. `report` describes what we hear.
    pub fn sender_report(&self, now: Time, report: Option<ReportBlockData>) -> Vec<u8> {
        let since = now.saturating_since(self.start).as_micros() as u64;
        let samples = since * u64::from(G711_CLOCK_RATE) / 1_000_000;
        let rtp_ts = self.ts0.wrapping_add(samples as u32);
        build_sender_report(
            self.ssrc,
            ntp_from_time(now),
            rtp_ts,
            self.packets_sent as u32,
            self.octets_sent as u32,
            report,
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rtp::{Classifier, FrameClass, parse_rtp};

    fn ms(v: u64) -> Time {
        Time::from_millis(v)
    }

    fn sender(source: Source) -> MediaSender {
        MediaSender::new(0xfeed, 65530, u32::MAX - 320, Codec::Pcmu, source, ms(100))
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
}
