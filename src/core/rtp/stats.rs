//! Receive statistics for one receiving party (RFC 3550 A.1, A.3, A.8): packets received,
//! expected and lost, late and duplicate packets, and interarrival jitter.
//!
//! Flips break the RFC's assumption of one sequence space per SSRC. rtpengine keeps the SSRC
//! but lets the sequence number jump back (61 → 0) when the source changes, and a B2BUA that
//! passes RTP through jumps both sequence number and timestamp (FIELD-NOTES.md). RFC 3550
//! A.1 would count the first as a run of late packets and `tshark` reports it as negative
//! loss. So each SSRC's packets are split into **epochs**: a new epoch starts on
//! - a jump of more than [`MAX_DROPOUT`] forward or [`MAX_MISORDER`] back (A.1 would wait
//!   for a second packet to confirm it; we start at once so no packet goes uncounted);
//! - a backward step that is not a plausible late packet: its timestamp is not behind the
//!   highest packet's by a plausible amount (a reordered packet is older in both), or it
//!   travelled over a second longer than the packet before it (a new stream that reuses
//!   numbers and timestamps the old one already sent). So a packet is late only if it is at
//!   most [`MAX_MISORDER`] packets *and* about a second behind;
//! - a forward gap whose timestamp went backwards or jumped by more than a minute (a real
//!   loss of k packets moves the timestamp on by about k packet times);
//! - a repeat of the highest sequence number with a different timestamp.
//!
//! Loss is counted inside each epoch (highest - lowest + 1 - unique packets received) and
//! summed, so a jump between epochs is never loss, and loss is never negative: duplicates
//! are recognised (over the last [`DUPLICATE_WINDOW`] sequence numbers) and not counted as
//! received, and a late packet older than the epoch's first one extends the epoch back.
//! Unlike A.1 there is no probation: every packet counts from the first.

use super::rtcp::ReportBlockData;
use crate::core::Time;

/// A forward sequence jump larger than this starts a new epoch (RFC 3550 A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// A backward sequence step larger than this starts a new epoch (RFC 3550 A.1).
pub const MAX_MISORDER: u16 = 100;
/// How many recent sequence numbers are remembered to recognise duplicates.
pub const DUPLICATE_WINDOW: u64 = 1024;
/// A late packet's timestamp may lag the highest packet's by this many seconds more than
/// its sequence lag explains (silence suppression between the two).
const LATE_TS_SLACK_S: u64 = 2;
/// A packet that travelled this many seconds longer than the previous one is not late but
/// from a new stream reusing old numbers.
const MAX_LATE_S: f64 = 1.0;
/// Sources tracked at once; the least recently heard is retired beyond this.
pub const MAX_SOURCES: usize = 16;
/// A forward gap whose timestamp moved on by more than this is a new source, not loss.
const GAP_TS_LIMIT_S: u64 = 60;
/// Extended sequence numbers start one cycle up so a late packet before the first one
/// never needs a negative number.
const EXT_OFFSET: u64 = 1 << 16;

/// What a packet was, relative to the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketFate {
    /// Newer than any before it in its epoch (possibly after a gap), or the first of a new
    /// epoch.
    InOrder,
    /// Older than the highest seen, and not seen before: reordered.
    Late,
    /// Seen before: not counted as received.
    Duplicate,
}

#[derive(Debug, Clone)]
struct Epoch {
    base_ext: u64,
    max_ext: u64,
    max_ts: u32,
    /// Timestamp units per sequence step, learned from consecutive packets.
    ts_step: u32,
    received: u64,
    /// Bit `ext % DUPLICATE_WINDOW` is set if `ext` was received (for ext within the window).
    seen: [u64; (DUPLICATE_WINDOW / 64) as usize],
}

impl Epoch {
    fn new(seq: u16, ts: u32, ts_step: u32) -> Self {
        let ext = EXT_OFFSET + u64::from(seq);
        let mut e = Epoch {
            base_ext: ext,
            max_ext: ext,
            max_ts: ts,
            ts_step,
            received: 1,
            seen: [0; (DUPLICATE_WINDOW / 64) as usize],
        };
        e.mark(ext);
        e
    }

    fn expected(&self) -> u64 {
        self.max_ext - self.base_ext + 1
    }

    fn bit(ext: u64) -> (usize, u64) {
        let i = ext % DUPLICATE_WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    fn mark(&mut self, ext: u64) {
        let (w, b) = Self::bit(ext);
        self.seen[w] |= b;
    }

    fn is_seen(&self, ext: u64) -> bool {
        let (w, b) = Self::bit(ext);
        self.seen[w] & b != 0
    }

    /// Moves the highest sequence number forward, forgetting the slots it reuses.
    fn advance(&mut self, ext: u64, ts: u32) {
        if ext - self.max_ext >= DUPLICATE_WINDOW {
            self.seen = [0; (DUPLICATE_WINDOW / 64) as usize];
        } else {
            for e in self.max_ext + 1..=ext {
                let (w, b) = Self::bit(e);
                self.seen[w] &= !b;
            }
        }
        self.max_ext = ext;
        self.max_ts = ts;
        self.received += 1;
        self.mark(ext);
    }
}

#[derive(Debug, Clone)]
struct SourceStats {
    ssrc: u32,
    epoch: Epoch,
    closed_expected: u64,
    closed_received: u64,
    /// Previous packet's arrival (RTP units) and timestamp, for A.8; `None` after an epoch
    /// change or timestamp jump, so the next packet sets a new baseline.
    last_transit: Option<(f64, u32)>,
    /// Interarrival jitter estimate, timestamp units (RFC 3550 A.8).
    jitter: f64,
    prior_expected: u64,
    prior_received: u64,
    /// Value of `ReceiveStats::packets` at this source's latest packet.
    last_packet: u64,
}

impl SourceStats {
    fn expected(&self) -> u64 {
        self.closed_expected + self.epoch.expected()
    }
    fn received(&self) -> u64 {
        self.closed_received + self.epoch.received
    }
    fn new_epoch(&mut self, seq: u16, ts: u32) {
        self.closed_expected += self.epoch.expected();
        self.closed_received += self.epoch.received;
        self.epoch = Epoch::new(seq, ts, self.epoch.ts_step);
        self.last_transit = None;
    }
}

/// Receive statistics across every source a receiver hears.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    clock_rate: u32,
    sources: Vec<SourceStats>,
    /// Totals of sources dropped to keep `sources` at most [`MAX_SOURCES`] long.
    retired_expected: u64,
    retired_received: u64,
    ssrcs_seen: usize,
    /// Index of the source of the latest packet.
    current: Option<usize>,
    late: u64,
    duplicates: u64,
    epochs: u64,
    /// Packets seen, duplicates included: a logical clock for retiring sources.
    packets: u64,
}

impl ReceiveStats {
    /// Statistics for a stream whose RTP clock runs at `clock_rate` Hz.
    pub fn new(clock_rate: u32) -> Self {
        ReceiveStats {
            clock_rate: clock_rate.max(1),
            sources: Vec::new(),
            retired_expected: 0,
            retired_received: 0,
            ssrcs_seen: 0,
            current: None,
            late: 0,
            duplicates: 0,
            epochs: 0,
            packets: 0,
        }
    }

    /// Accounts for one RTP packet that arrived at `now`.
    pub fn on_packet(&mut self, now: Time, seq: u16, rtp_ts: u32, ssrc: u32) -> PacketFate {
        let rate = u64::from(self.clock_rate);
        let arrival = self.arrival(now);
        let idx = match self.sources.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None => {
                if self.sources.len() >= MAX_SOURCES {
                    self.retire_oldest();
                }
                self.ssrcs_seen += 1;
                self.sources.push(SourceStats {
                    ssrc,
                    // 20 ms until learned otherwise.
                    epoch: Epoch::new(seq, rtp_ts, self.clock_rate / 50),
                    closed_expected: 0,
                    closed_received: 0,
                    last_transit: None,
                    jitter: 0.0,
                    prior_expected: 0,
                    prior_received: 0,
                    last_packet: 0,
                });
                self.epochs += 1;
                self.packets += 1;
                let i = self.sources.len() - 1;
                self.sources[i].last_packet = self.packets;
                self.current = Some(i);
                self.update_jitter(i, arrival, rtp_ts);
                return PacketFate::InOrder;
            }
        };
        self.current = Some(idx);
        self.packets += 1;
        let src = &mut self.sources[idx];
        src.last_packet = self.packets;
        let e = &mut src.epoch;
        let max_seq = (e.max_ext & 0xffff) as u16;
        let udelta = seq.wrapping_sub(max_seq);
        // Timestamp distance forward from the highest packet, as signed 32-bit.
        let dts = rtp_ts.wrapping_sub(e.max_ts) as i32;

        let fate = if udelta == 0 {
            if rtp_ts == e.max_ts {
                PacketFate::Duplicate
            } else {
                src.new_epoch(seq, rtp_ts);
                self.epochs += 1;
                PacketFate::InOrder
            }
        } else if udelta < MAX_DROPOUT {
            let plausible = udelta == 1 || (dts > 0 && (dts as u64) <= GAP_TS_LIMIT_S * rate);
            if plausible {
                if udelta == 1 && dts > 0 && (dts as u64) <= rate {
                    e.ts_step = dts as u32;
                }
                e.advance(e.max_ext + u64::from(udelta), rtp_ts);
            } else {
                src.new_epoch(seq, rtp_ts);
                self.epochs += 1;
            }
            PacketFate::InOrder
        } else if udelta > u16::MAX - MAX_MISORDER {
            let back = u64::from(u16::MAX - udelta) + 1;
            let lag = u64::from(e.max_ts.wrapping_sub(rtp_ts));
            let plausible_lag = back * u64::from(e.ts_step) + LATE_TS_SLACK_S * rate;
            // How much later than the previous packet this one travelled: a reordered or
            // duplicated packet is delayed by milliseconds, a new stream that happens to
            // reuse old numbers by however long the old one ran.
            let delay = src.last_transit.map_or(0.0, |(prev_arrival, prev_ts)| {
                (arrival - prev_arrival) - f64::from(rtp_ts.wrapping_sub(prev_ts) as i32)
            });
            // max_ext >= EXT_OFFSET > back, so this cannot underflow.
            let ext = e.max_ext - back;
            if dts <= 0 && lag <= plausible_lag && delay <= rate as f64 * MAX_LATE_S {
                if e.is_seen(ext) {
                    PacketFate::Duplicate
                } else {
                    e.mark(ext);
                    e.received += 1;
                    e.base_ext = e.base_ext.min(ext);
                    PacketFate::Late
                }
            } else {
                src.new_epoch(seq, rtp_ts);
                self.epochs += 1;
                PacketFate::InOrder
            }
        } else {
            src.new_epoch(seq, rtp_ts);
            self.epochs += 1;
            PacketFate::InOrder
        };
        match fate {
            PacketFate::Duplicate => self.duplicates += 1,
            PacketFate::Late => self.late += 1,
            PacketFate::InOrder => {}
        }
        if fate != PacketFate::Duplicate {
            self.update_jitter(idx, arrival, rtp_ts);
        }
        fate
    }

    /// Arrival time in RTP timestamp units (RFC 3550 A.8).
    fn arrival(&self, now: Time) -> f64 {
        now.as_micros() as f64 * f64::from(self.clock_rate) / 1e6
    }

    /// Drops the source heard least recently, keeping its counts in the totals. Bounds the
    /// work per packet when garbage arrives with a new SSRC each time.
    fn retire_oldest(&mut self) {
        let Some(i) = (0..self.sources.len()).min_by_key(|&i| self.sources[i].last_packet) else {
            return;
        };
        let old = self.sources.swap_remove(i);
        self.retired_expected += old.expected();
        self.retired_received += old.received();
        self.current = None;
    }

    /// RFC 3550 A.8: J += (|D| - J) / 16, with D the change in transit time.
    fn update_jitter(&mut self, idx: usize, arrival: f64, rtp_ts: u32) {
        let rate = f64::from(self.clock_rate);
        let src = &mut self.sources[idx];
        if let Some((prev_arrival, prev_ts)) = src.last_transit {
            let d = (arrival - prev_arrival) - f64::from(rtp_ts.wrapping_sub(prev_ts) as i32);
            // A transit change of over a second is a timestamp discontinuity (a B2BUA
            // splicing sources), not network jitter: take a new baseline instead.
            if d.abs() <= rate {
                src.jitter += (d.abs() - src.jitter) / 16.0;
            }
        }
        src.last_transit = Some((arrival, rtp_ts));
    }

    /// Unique packets received (duplicates excluded), over all sources and epochs.
    pub fn received(&self) -> u64 {
        self.retired_received + self.sources.iter().map(SourceStats::received).sum::<u64>()
    }

    /// Packets expected (RFC 3550 A.3), summed over epochs.
    pub fn expected(&self) -> u64 {
        self.retired_expected + self.sources.iter().map(SourceStats::expected).sum::<u64>()
    }

    /// Packets lost: expected - received, never negative (see the module docs).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received() as i64
    }

    /// Packets that arrived after a newer one (reordered).
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Packets that arrived more than once (extra copies).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Sequence epochs started: one per SSRC plus one per discontinuity.
    pub fn epochs(&self) -> u64 {
        self.epochs
    }

    /// Distinct SSRCs heard (an SSRC that comes back after being retired counts again).
    pub fn ssrc_count(&self) -> usize {
        self.ssrcs_seen
    }

    /// SSRC of the latest packet.
    pub fn current_ssrc(&self) -> Option<u32> {
        self.current.map(|i| self.sources[i].ssrc)
    }

    /// Interarrival jitter of the current source, milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.current.map_or(0.0, |i| {
            self.sources[i].jitter * 1000.0 / f64::from(self.clock_rate)
        })
    }

    /// A report block for the current source (RFC 3550 §6.4.1, A.3), and starts a new
    /// reporting interval for `fraction_lost`. LSR/DLSR are 0: SRs are not tracked.
    pub fn report_block(&mut self) -> ReportBlockData {
        let Some(i) = self.current else {
            return ReportBlockData::default();
        };
        // `current` is cleared whenever a source is removed, so `i` is in bounds.
        let src = &mut self.sources[i];
        let (expected, received) = (src.expected(), src.received());
        let expected_interval = expected - src.prior_expected;
        let received_interval = received - src.prior_received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        src.prior_expected = expected;
        src.prior_received = received;
        // RFC 3550 A.3: zero when nothing was expected or nothing lost.
        let fraction_lost = (lost_interval << 8)
            .checked_div(expected_interval)
            .map_or(0, |f| f.min(255) as u8);
        ReportBlockData {
            ssrc: src.ssrc,
            fraction_lost,
            cumulative_lost: (expected - received).min(0x7f_ffff) as i32,
            ext_highest_seq: (src.epoch.max_ext - EXT_OFFSET) as u32,
            jitter: src.jitter as u32,
            lsr: 0,
            dlsr: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds packets given as (seq, ts) arriving on time every 20 ms from t = 0.
    fn feed(stats: &mut ReceiveStats, ssrc: u32, packets: &[(u16, u32)]) -> Vec<PacketFate> {
        let base = stats.received() + stats.duplicates();
        packets
            .iter()
            .enumerate()
            .map(|(i, &(seq, ts))| {
                let now = Time::from_millis(20 * (base + i as u64));
                stats.on_packet(now, seq, ts, ssrc)
            })
            .collect()
    }

    /// A run of `n` consecutive packets from `seq0`, timestamps 160 apart from `ts0`.
    fn run(seq0: u16, ts0: u32, n: usize) -> Vec<(u16, u32)> {
        (0..n)
            .map(|i| {
                (
                    seq0.wrapping_add(i as u16),
                    ts0.wrapping_add(160 * i as u32),
                )
            })
            .collect()
    }

    fn counts(s: &ReceiveStats) -> (u64, u64, i64, u64, u64) {
        (
            s.received(),
            s.expected(),
            s.lost(),
            s.late(),
            s.duplicates(),
        )
    }

    #[test]
    fn clean_stream() {
        let mut s = ReceiveStats::new(8000);
        let fates = feed(&mut s, 1, &run(1000, 5, 100));
        assert!(fates.iter().all(|&f| f == PacketFate::InOrder));
        assert_eq!(counts(&s), (100, 100, 0, 0, 0));
        assert_eq!(s.jitter_ms(), 0.0);
        assert_eq!(s.epochs(), 1);
        assert_eq!(s.current_ssrc(), Some(1));
    }

    #[test]
    fn loss() {
        let mut s = ReceiveStats::new(8000);
        let mut p = run(0, 0, 60);
        p.retain(|&(seq, _)| ![10, 11, 50].contains(&seq));
        feed(&mut s, 1, &p);
        assert_eq!(counts(&s), (57, 60, 3, 0, 0));
        assert_eq!(s.epochs(), 1);
    }

    #[test]
    fn reorder_is_late_not_loss() {
        let mut s = ReceiveStats::new(8000);
        let p = run(0, 0, 6);
        let order = [p[0], p[1], p[3], p[2], p[4], p[5]];
        let fates = feed(&mut s, 1, &order);
        assert_eq!(fates[3], PacketFate::Late);
        assert_eq!(counts(&s), (6, 6, 0, 1, 0));
    }

    #[test]
    fn first_packet_reordered_extends_the_epoch_back() {
        let mut s = ReceiveStats::new(8000);
        let p = run(100, 0, 4);
        let fates = feed(&mut s, 1, &[p[1], p[0], p[2], p[3]]);
        assert_eq!(
            fates,
            [
                PacketFate::InOrder,
                PacketFate::Late,
                PacketFate::InOrder,
                PacketFate::InOrder
            ]
        );
        assert_eq!(counts(&s), (4, 4, 0, 1, 0));
    }

    #[test]
    fn duplicates_are_not_received_twice() {
        let mut s = ReceiveStats::new(8000);
        let p = run(0, 0, 5);
        let fates = feed(&mut s, 1, &[p[0], p[1], p[1], p[2], p[1], p[3], p[4], p[4]]);
        use PacketFate::*;
        assert_eq!(
            fates,
            [
                InOrder, InOrder, Duplicate, InOrder, Duplicate, InOrder, InOrder, Duplicate
            ]
        );
        assert_eq!(counts(&s), (5, 5, 0, 0, 3));
    }

    #[test]
    fn wraparound_at_65535() {
        let mut s = ReceiveStats::new(8000);
        let mut p = run(65530, u32::MAX - 800, 12);
        assert_eq!(p[6].0, 0);
        p.remove(7); // seq 1 lost, just after the wrap
        feed(&mut s, 1, &p);
        assert_eq!(counts(&s), (11, 12, 1, 0, 0));
        assert_eq!(s.epochs(), 1);
        let rb = s.report_block();
        assert_eq!(rb.ext_highest_seq, 65536 + 5);
        assert_eq!(rb.cumulative_lost, 1);
    }

    #[test]
    fn late_packet_across_the_wrap() {
        let mut s = ReceiveStats::new(8000);
        let p = run(65534, 0, 4); // 65534, 65535, 0, 1
        let fates = feed(&mut s, 1, &[p[0], p[2], p[1], p[3]]);
        assert_eq!(fates[2], PacketFate::Late);
        assert_eq!(counts(&s), (4, 4, 0, 1, 0));
    }

    #[test]
    fn ssrc_change_is_a_new_source_without_loss() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, 1, &run(0, 0, 50));
        feed(&mut s, 2, &run(40_000, 123_456, 50));
        assert_eq!(counts(&s), (100, 100, 0, 0, 0));
        assert_eq!(s.ssrc_count(), 2);
        assert_eq!(s.current_ssrc(), Some(2));
        assert_eq!(s.epochs(), 2);
        // The old source coming back carries on where it was.
        feed(&mut s, 1, &run(50, 8000, 10));
        assert_eq!(counts(&s), (110, 110, 0, 0, 0));
        assert_eq!(s.epochs(), 2);
    }

    #[test]
    fn rtpengine_seq_reset_is_a_new_epoch_not_negative_loss() {
        // FIELD-NOTES: same SSRC, sequence jumps back 61 -> 0 at the flip; the new device's
        // timestamps are its own.
        for new_ts0 in [7_777_777u32, 61 * 160 + 160, 0, u32::MAX - 100] {
            let mut s = ReceiveStats::new(8000);
            feed(&mut s, 1, &run(0, 0, 62));
            let fates = feed(&mut s, 1, &run(0, new_ts0, 50));
            assert!(
                fates.iter().all(|&f| f == PacketFate::InOrder),
                "ts0 {new_ts0}: {fates:?}"
            );
            assert_eq!(counts(&s), (112, 112, 0, 0, 0), "ts0 {new_ts0}");
            assert_eq!(s.epochs(), 2);
        }
    }

    #[test]
    fn loss_inside_each_epoch_still_counts() {
        let mut s = ReceiveStats::new(8000);
        let mut a = run(0, 0, 62);
        a.remove(30);
        let mut b = run(0, 9_000_000, 50);
        b.remove(20);
        b.remove(20);
        feed(&mut s, 1, &a);
        feed(&mut s, 1, &b);
        assert_eq!(counts(&s), (109, 112, 3, 0, 0));
    }

    #[test]
    fn big_jumps_start_epochs() {
        // B2BUA passing a new device's RTP through: sequence and timestamp both jump.
        for jump_to in [
            30_000u16,
            61 + MAX_DROPOUT,
            61u16.wrapping_sub(MAX_MISORDER + 1),
        ] {
            let mut s = ReceiveStats::new(8000);
            feed(&mut s, 1, &run(0, 0, 62));
            feed(&mut s, 1, &run(jump_to, 400_000, 20));
            assert_eq!(counts(&s), (82, 82, 0, 0, 0), "to {jump_to}");
            assert_eq!(s.epochs(), 2);
        }
    }

    #[test]
    fn forward_gap_with_consistent_timestamps_is_loss() {
        let mut s = ReceiveStats::new(8000);
        let p = run(0, 0, 80);
        feed(&mut s, 1, &p[..62]);
        feed(&mut s, 1, &p[72..]);
        assert_eq!(counts(&s), (70, 80, 10, 0, 0));
        assert_eq!(s.epochs(), 1);
    }

    #[test]
    fn forward_gap_with_timestamps_going_back_is_a_new_epoch() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, 1, &run(0, 100_000, 62));
        feed(&mut s, 1, &run(100, 5_000, 20));
        assert_eq!(counts(&s), (82, 82, 0, 0, 0));
        assert_eq!(s.epochs(), 2);
    }

    #[test]
    fn repeated_highest_seq_with_new_timestamp_is_a_new_epoch() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, 1, &run(0, 0, 10));
        let fates = feed(&mut s, 1, &run(9, 50_000, 5));
        assert_eq!(fates[0], PacketFate::InOrder);
        assert_eq!(counts(&s), (15, 15, 0, 0, 0));
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        // Odd packets arrive 10 ms late: |D| is 80 timestamp units on every step after the
        // first, so J converges to 80 units = 10 ms.
        let mut s = ReceiveStats::new(8000);
        let mut expect = 0.0f64;
        for i in 0..300u64 {
            let now = Time::from_millis(20 * i + if i % 2 == 1 { 10 } else { 0 });
            s.on_packet(now, i as u16, 160 * i as u32, 1);
            if i > 0 {
                expect += (80.0 - expect) / 16.0;
            }
            assert!((s.jitter_ms() - expect / 8.0).abs() < 1e-9, "packet {i}");
        }
        assert!((s.jitter_ms() - 10.0).abs() < 1e-3);
        assert_eq!(s.report_block().jitter, 79);
    }

    #[test]
    fn jitter_ignores_a_timestamp_splice() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, 1, &run(0, 0, 50));
        // Same sequence space, timestamps jump by 10 s (a B2BUA splicing sources).
        feed(&mut s, 1, &run(50, 50 * 160 + 80_000, 50));
        assert_eq!(s.jitter_ms(), 0.0);
        assert_eq!(counts(&s), (100, 100, 0, 0, 0));
    }

    #[test]
    fn report_block_fraction_lost_per_interval() {
        let mut s = ReceiveStats::new(8000);
        assert_eq!(s.report_block(), ReportBlockData::default());
        let mut p = run(0, 0, 110);
        p.retain(|&(seq, _)| seq % 11 != 5); // 10 lost
        feed(&mut s, 42, &p);
        let rb = s.report_block();
        assert_eq!(rb.ssrc, 42);
        assert_eq!(rb.fraction_lost, (10 * 256 / 110) as u8);
        assert_eq!(rb.cumulative_lost, 10);
        assert_eq!(rb.ext_highest_seq, 109);
        // Next interval: no new loss.
        feed(&mut s, 42, &run(110, 110 * 160, 10));
        let rb = s.report_block();
        assert_eq!(rb.fraction_lost, 0);
        assert_eq!(rb.cumulative_lost, 10);
        assert_eq!(rb.ext_highest_seq, 119);
    }

    #[test]
    fn many_ssrcs_are_bounded_and_still_counted() {
        let mut s = ReceiveStats::new(8000);
        for ssrc in 0..100u32 {
            feed(&mut s, ssrc, &run(ssrc as u16 * 7, ssrc * 1000, 3));
        }
        assert_eq!(counts(&s), (300, 300, 0, 0, 0));
        assert_eq!(s.ssrc_count(), 100);
        assert_eq!(s.current_ssrc(), Some(99));
        // The most recent sources are still tracked: their next packet continues the epoch.
        feed(&mut s, 99, &[(99 * 7 + 4, 99 * 1000 + 640)]);
        assert_eq!(counts(&s), (301, 302, 1, 0, 0));
        assert_eq!(s.epochs(), 100);
    }

    #[test]
    fn duplicate_window_forgets_old_packets() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, 1, &run(0, 0, 2000));
        // Seq 1950 (50 back) is a duplicate.
        assert_eq!(
            feed(&mut s, 1, &[(1950, 1950 * 160)])[0],
            PacketFate::Duplicate
        );
        assert_eq!(counts(&s), (2000, 2000, 0, 0, 1));
        // After forward gaps (smaller and larger than the window), a late packet whose slot
        // held an old sequence number is late, not a duplicate.
        for gap in [500u16, 1500] {
            let mut s = ReceiveStats::new(8000);
            feed(&mut s, 1, &run(0, 0, 1000));
            let top = 999 + gap;
            // Arrival times follow the timestamps, as after a real outage.
            let at = |seq: u16| Time::from_millis(20 * u64::from(seq) + 1);
            s.on_packet(at(top), top, u32::from(top) * 160, 1);
            let late = top - 20;
            let fate = s.on_packet(at(top), late, u32::from(late) * 160, 1);
            assert_eq!(fate, PacketFate::Late, "gap {gap}");
            assert_eq!(
                counts(&s),
                (1002, 1000 + u64::from(gap), i64::from(gap) - 2, 1, 0)
            );
        }
    }
}
