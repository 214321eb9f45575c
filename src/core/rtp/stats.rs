//! Receive statistics for one receiving party (RFC 3550 A.1, A.3, A.8): packets received,
//! expected and lost, late and duplicate packets, and interarrival jitter, across every SSRC
//! it hears. Sequence numbers are tracked per SSRC in epochs (see `epoch.rs`), so a flip that
//! resets or jumps them is never counted as loss.

use super::epoch::{PacketFate, SeqTracker};
use super::rtcp::ReportBlockData;
use crate::core::Time;

/// Sources tracked at once; the least recently heard is retired beyond this.
pub const MAX_SOURCES: usize = 16;

#[derive(Debug, Clone)]
struct SourceStats {
    ssrc: u32,
    seq: SeqTracker,
    /// Previous packet's arrival (RTP units) and timestamp, for A.8; `None` after an epoch
    /// change, so the next packet sets a new baseline.
    last_transit: Option<(f64, u32)>,
    /// Interarrival jitter estimate, timestamp units (RFC 3550 A.8).
    jitter: f64,
    /// Totals at the previous report block, for `fraction_lost` (RFC 3550 A.3).
    prior_expected: u64,
    prior_received: u64,
    /// Value of `ReceiveStats::packets` at this source's latest packet.
    last_packet: u64,
}

/// Receive statistics across every source a receiver hears.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    clock_rate: u32,
    sources: Vec<SourceStats>,
    /// Totals of sources dropped to keep `sources` at most [`MAX_SOURCES`] long.
    retired_expected: u64,
    retired_received: u64,
    retired_epochs: u64,
    ssrcs_seen: usize,
    /// Index of the source of the latest packet.
    current: Option<usize>,
    late: u64,
    duplicates: u64,
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
            retired_epochs: 0,
            ssrcs_seen: 0,
            current: None,
            late: 0,
            duplicates: 0,
            packets: 0,
        }
    }

    /// Accounts for one RTP packet that arrived at `now`.
    pub fn on_packet(&mut self, now: Time, seq: u16, rtp_ts: u32, ssrc: u32) -> PacketFate {
        let arrival = now.as_micros() as f64 * f64::from(self.clock_rate) / 1e6;
        self.packets += 1;
        let Some(idx) = self.sources.iter().position(|s| s.ssrc == ssrc) else {
            if self.sources.len() >= MAX_SOURCES {
                self.retire_oldest();
            }
            self.ssrcs_seen += 1;
            self.sources.push(SourceStats {
                ssrc,
                seq: SeqTracker::new(self.clock_rate, seq, rtp_ts),
                last_transit: Some((arrival, rtp_ts)),
                jitter: 0.0,
                prior_expected: 0,
                prior_received: 0,
                last_packet: self.packets,
            });
            self.current = Some(self.sources.len() - 1);
            return PacketFate::InOrder;
        };
        self.current = Some(idx);
        let rate = f64::from(self.clock_rate);
        let src = &mut self.sources[idx];
        src.last_packet = self.packets;
        // How much longer this packet travelled than the previous one (A.8's D): a reordered
        // or duplicated packet is delayed by milliseconds, a new stream that reuses old
        // numbers by however long the old one ran.
        let delay = src.last_transit.map_or(0.0, |(prev_arrival, prev_ts)| {
            (arrival - prev_arrival) - f64::from(rtp_ts.wrapping_sub(prev_ts) as i32)
        });
        let (fate, new_epoch) = src.seq.on_packet(seq, rtp_ts, delay);
        match fate {
            PacketFate::Duplicate => {
                self.duplicates += 1;
                return fate;
            }
            PacketFate::Late => self.late += 1,
            PacketFate::InOrder => {}
        }
        // RFC 3550 A.8: J += (|D| - J) / 16. A transit change of over a second is a
        // timestamp discontinuity (a B2BUA splicing sources), not network jitter: it and a
        // new epoch take a new baseline instead.
        if !new_epoch && src.last_transit.is_some() && delay.abs() <= rate {
            src.jitter += (delay.abs() - src.jitter) / 16.0;
        }
        src.last_transit = Some((arrival, rtp_ts));
        fate
    }

    /// Drops the source heard least recently, keeping its counts in the totals. Bounds the
    /// work per packet when garbage arrives with a new SSRC each time.
    fn retire_oldest(&mut self) {
        let oldest = (0..self.sources.len()).min_by_key(|&i| self.sources[i].last_packet);
        let Some(i) = oldest else {
            return;
        };
        let old = self.sources.swap_remove(i);
        self.retired_expected += old.seq.expected();
        self.retired_received += old.seq.received();
        self.retired_epochs += old.seq.epochs();
        self.current = None;
    }

    /// Unique packets received (duplicates excluded), over all sources and epochs.
    pub fn received(&self) -> u64 {
        self.retired_received + self.sources.iter().map(|s| s.seq.received()).sum::<u64>()
    }

    /// Packets expected (RFC 3550 A.3), summed over epochs.
    pub fn expected(&self) -> u64 {
        self.retired_expected + self.sources.iter().map(|s| s.seq.expected()).sum::<u64>()
    }

    /// Packets lost: expected - received, never negative (see `epoch.rs`).
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
        self.retired_epochs + self.sources.iter().map(|s| s.seq.epochs()).sum::<u64>()
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
        let (expected, received) = (src.seq.expected(), src.seq.received());
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
            ext_highest_seq: src.seq.ext_highest_seq(),
            jitter: src.jitter as u32,
            lsr: 0,
            dlsr: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::epoch::tests::{counts, feed, run};
    use super::*;

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
}
