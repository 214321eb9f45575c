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
//!   highest packet's by a plausible amount (a reordered packet is older in both);
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
    /// Index of the source of the latest packet.
    current: Option<usize>,
    late: u64,
    duplicates: u64,
    epochs: u64,
}

impl ReceiveStats {
    /// Statistics for a stream whose RTP clock runs at `clock_rate` Hz.
    pub fn new(clock_rate: u32) -> Self {
        ReceiveStats {
            clock_rate: clock_rate.max(1),
            sources: Vec::new(),
            current: None,
            late: 0,
            duplicates: 0,
            epochs: 0,
        }
    }

    /// Accounts for one RTP packet that arrived at `now`.
    pub fn on_packet(&mut self, now: Time, seq: u16, rtp_ts: u32, ssrc: u32) -> PacketFate {
        let rate = u64::from(self.clock_rate);
        let idx = match self.sources.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None => {
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
                });
                self.epochs += 1;
                let i = self.sources.len() - 1;
                self.current = Some(i);
                self.update_jitter(i, now, rtp_ts);
                return PacketFate::InOrder;
            }
        };
        self.current = Some(idx);
        let src = &mut self.sources[idx];
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
            // max_ext >= EXT_OFFSET > back, so this cannot underflow.
            let ext = e.max_ext - back;
            if dts <= 0 && lag <= plausible_lag {
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
            self.update_jitter(idx, now, rtp_ts);
        }
        fate
    }

    /// RFC 3550 A.8: J += (|D| - J) / 16, with D the change in transit time.
    fn update_jitter(&mut self, idx: usize, now: Time, rtp_ts: u32) {
        let rate = f64::from(self.clock_rate);
        let src = &mut self.sources[idx];
        let arrival = now.as_micros() as f64 * rate / 1e6;
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
        self.sources.iter().map(SourceStats::received).sum()
    }

    /// Packets expected (RFC 3550 A.3), summed over epochs.
    pub fn expected(&self) -> u64 {
        self.sources.iter().map(SourceStats::expected).sum()
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

    /// Distinct SSRCs heard.
    pub fn ssrc_count(&self) -> usize {
        self.sources.len()
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
        let src = &mut self.sources[i];
        let (expected, received) = (src.expected(), src.received());
        let expected_interval = expected - src.prior_expected;
        let received_interval = received - src.prior_received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        src.prior_expected = expected;
        src.prior_received = received;
        let fraction_lost = if expected_interval == 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval).min(255) as u8
        };
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
