//! Sequence-number bookkeeping for one SSRC (RFC 3550 A.1 and A.3), split into epochs.
//!
//! Flips break the RFC's assumption of one sequence space per SSRC. rtpengine keeps the SSRC
//! but lets the sequence number jump back (61 → 0) when the source changes, and a B2BUA that
//! passes RTP through jumps both sequence number and timestamp (as rtpengine does). RFC 3550
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
/// A forward gap whose timestamp moved on by more than this is a new source, not loss.
const GAP_TS_LIMIT_S: u64 = 60;
/// Extended sequence numbers start one cycle up so a late packet before the first one
/// never needs a negative number.
const EXT_OFFSET: u64 = 1 << 16;
const SEEN_WORDS: usize = (DUPLICATE_WINDOW / 64) as usize;

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

/// One unbroken sequence space.
#[derive(Debug, Clone)]
struct Epoch {
    base_ext: u64,
    max_ext: u64,
    max_ts: u32,
    received: u64,
    /// Bit `ext % DUPLICATE_WINDOW` is set if `ext` was received (for ext within the window).
    seen: [u64; SEEN_WORDS],
}

impl Epoch {
    fn new(seq: u16, ts: u32) -> Self {
        let ext = EXT_OFFSET + u64::from(seq);
        let mut e = Epoch {
            base_ext: ext,
            max_ext: ext,
            max_ts: ts,
            received: 1,
            seen: [0; SEEN_WORDS],
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
            self.seen = [0; SEEN_WORDS];
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

/// The sequence state of one SSRC: its current epoch and the totals of closed ones.
#[derive(Debug, Clone)]
pub(super) struct SeqTracker {
    clock_rate: u64,
    epoch: Epoch,
    /// Timestamp units per sequence step, learned from consecutive packets.
    ts_step: u32,
    closed_expected: u64,
    closed_received: u64,
    epochs: u64,
}

impl SeqTracker {
    /// Starts tracking with the source's first packet.
    pub(super) fn new(clock_rate: u32, seq: u16, ts: u32) -> Self {
        SeqTracker {
            clock_rate: u64::from(clock_rate.max(1)),
            epoch: Epoch::new(seq, ts),
            // 20 ms until learned otherwise.
            ts_step: clock_rate / 50,
            closed_expected: 0,
            closed_received: 0,
            epochs: 1,
        }
    }

    /// Accounts for a packet. `delay` is how much longer (timestamp units) this packet took
    /// to arrive than the previous one, 0 if unknown. Returns its fate and whether it
    /// started a new epoch.
    pub(super) fn on_packet(&mut self, seq: u16, ts: u32, delay: f64) -> (PacketFate, bool) {
        let rate = self.clock_rate;
        let e = &mut self.epoch;
        let max_seq = (e.max_ext & 0xffff) as u16;
        let udelta = seq.wrapping_sub(max_seq);
        // Timestamp distance forward from the highest packet, as signed 32-bit.
        let dts = ts.wrapping_sub(e.max_ts) as i32;

        if udelta == 0 {
            if ts == e.max_ts {
                return (PacketFate::Duplicate, false);
            }
        } else if udelta < MAX_DROPOUT {
            if udelta == 1 || (dts > 0 && (dts as u64) <= GAP_TS_LIMIT_S * rate) {
                if udelta == 1 && dts > 0 && (dts as u64) <= rate {
                    self.ts_step = dts as u32;
                }
                e.advance(e.max_ext + u64::from(udelta), ts);
                return (PacketFate::InOrder, false);
            }
        } else if udelta > u16::MAX - MAX_MISORDER {
            let back = u64::from(u16::MAX - udelta) + 1;
            let lag = u64::from(e.max_ts.wrapping_sub(ts));
            let plausible_lag = back * u64::from(self.ts_step) + LATE_TS_SLACK_S * rate;
            if dts <= 0 && lag <= plausible_lag && delay <= rate as f64 * MAX_LATE_S {
                // max_ext >= EXT_OFFSET > back, so this cannot underflow.
                let ext = e.max_ext - back;
                if e.is_seen(ext) {
                    return (PacketFate::Duplicate, false);
                }
                e.mark(ext);
                e.received += 1;
                e.base_ext = e.base_ext.min(ext);
                return (PacketFate::Late, false);
            }
        }
        // Anything else is a discontinuity (see the module docs).
        self.closed_expected += e.expected();
        self.closed_received += e.received;
        self.epoch = Epoch::new(seq, ts);
        self.epochs += 1;
        (PacketFate::InOrder, true)
    }

    /// Packets expected over all epochs (RFC 3550 A.3).
    pub(super) fn expected(&self) -> u64 {
        self.closed_expected + self.epoch.expected()
    }

    /// Unique packets received over all epochs.
    pub(super) fn received(&self) -> u64 {
        self.closed_received + self.epoch.received
    }

    /// Epochs so far, the current one included.
    pub(super) fn epochs(&self) -> u64 {
        self.epochs
    }

    /// The current epoch's extended highest sequence number (RFC 3550 A.1: cycles << 16 |
    /// highest), counted from its first packet's cycle.
    pub(super) fn ext_highest_seq(&self) -> u32 {
        (self.epoch.max_ext - EXT_OFFSET) as u32
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! Sequence behaviour, driven through [`ReceiveStats`] as its users see it. The helpers
    //! are shared with the statistics tests.
    use super::super::stats::ReceiveStats;
    use super::*;
    use crate::core::Time;

    /// Feeds packets given as (seq, ts) arriving on time every 20 ms from t = 0.
    pub(in crate::core::rtp) fn feed(
        stats: &mut ReceiveStats,
        ssrc: u32,
        packets: &[(u16, u32)],
    ) -> Vec<PacketFate> {
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
    pub(in crate::core::rtp) fn run(seq0: u16, ts0: u32, n: usize) -> Vec<(u16, u32)> {
        (0..n)
            .map(|i| {
                (
                    seq0.wrapping_add(i as u16),
                    ts0.wrapping_add(160 * i as u32),
                )
            })
            .collect()
    }

    pub(in crate::core::rtp) fn counts(s: &ReceiveStats) -> (u64, u64, i64, u64, u64) {
        (
            s.received(),
            s.expected(),
            s.lost(),
            s.late(),
            s.duplicates(),
        )
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
    fn rtpengine_seq_reset_is_a_new_epoch_not_negative_loss() {
        // As seen through rtpengine: same SSRC, sequence jumps back 61 -> 0 at the flip; the new device's
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
