//! Arithmetic over the frames one party heard, in arrival order (README "How a flip is
//! measured").
//!
//! A frame heard at `t` is 20 ms of audio, so it covers `[t, t + 20 ms)` — unless a newer
//! frame (another party, music, silence) arrives before that, which cuts it short: what the
//! listener hears from then on is the newer frame. Without that rule a frame that hold
//! music replaced after 0.2 ms would be credited a full 20 ms.

use std::time::Duration;

use crate::core::Time;
use crate::core::rtp::{FrameClass, HeardFrame, PACKET_INTERVAL};

/// Every frame is 20 ms of audio.
pub const FRAME_MS: f64 = 20.0;

/// Share of a window's frames the expected party must fill for audio to count as steady.
pub const STEADY_SHARE: f64 = 0.9;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Rounds to the microsecond the clock has, so figures print without float noise.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Where frame `i` stops being heard: 20 ms after it arrived, or when the next frame did.
pub fn coverage_end(frames: &[HeardFrame], i: usize) -> Time {
    let natural = frames[i].at + PACKET_INTERVAL;
    match frames.get(i + 1) {
        Some(next) if next.at < natural => next.at,
        _ => natural,
    }
}

/// Index of the first frame of party `sig` heard in `[from, to]`.
pub fn first_of(frames: &[HeardFrame], sig: u8, from: Time, to: Time) -> Option<usize> {
    let start = frames.partition_point(|f| f.at < from);
    frames[start..]
        .iter()
        .take_while(|f| f.at <= to)
        .position(|f| f.class == FrameClass::Party(sig))
        .map(|p| start + p)
}

/// Index of the last frame of party `sig` heard before frame `before`.
pub fn last_before(frames: &[HeardFrame], sig: u8, before: usize) -> Option<usize> {
    frames[..before]
        .iter()
        .rposition(|f| f.class == FrameClass::Party(sig))
}

/// The gap at the switch from `old` to `new` (README "How a flip is measured", `customer_gap_ms`): from the end of
/// the old party's last frame before the new party's first frame in `[from, to]`, to that
/// first frame. `None` when the new party was not heard in the window. When the old party
/// was never heard, the gap runs from `from`.
pub fn switch_gap_ms(frames: &[HeardFrame], old: u8, new: u8, from: Time, to: Time) -> Option<f64> {
    let first_new = first_of(frames, new, from, to)?;
    let end_old = last_before(frames, old, first_new).map_or(from, |i| coverage_end(frames, i));
    Some(round3(ms(frames[first_new].at.saturating_since(end_old))))
}

/// Milliseconds of "other audio" (hold music, announcements, noise) heard in `[from, to]`.
pub fn other_ms(frames: &[HeardFrame], from: Time, to: Time) -> f64 {
    let start = frames.partition_point(|f| f.at < from);
    let total: Duration = (start..frames.len())
        .take_while(|&i| frames[i].at <= to)
        .filter(|&i| frames[i].class == FrameClass::Other)
        .map(|i| coverage_end(frames, i).min(to) - frames[i].at)
        .sum();
    round3(ms(total))
}

/// The longest stretch of `[from, to]` covered by no frame of any of `parties`.
pub fn max_hole_ms(frames: &[HeardFrame], parties: &[u8], from: Time, to: Time) -> f64 {
    let is_party = |f: &HeardFrame| matches!(f.class, FrameClass::Party(p) if parties.contains(&p));
    let start = frames.partition_point(|f| f.at < from);
    // A frame that arrived before the window may still cover its start.
    let mut covered_until = frames[..start]
        .iter()
        .rposition(is_party)
        .map_or(from, |i| coverage_end(frames, i).max(from));
    let mut longest = Duration::ZERO;
    for i in (start..frames.len()).take_while(|&i| frames[i].at <= to) {
        if !is_party(&frames[i]) {
            continue;
        }
        longest = longest.max(frames[i].at.saturating_since(covered_until));
        covered_until = covered_until.max(coverage_end(frames, i));
    }
    longest = longest.max(to.saturating_since(covered_until));
    round3(ms(longest))
}

/// Frames of `sig` needed in a window of `len` for audio to be steady.
fn needed(len: Duration) -> usize {
    let expected = len.as_secs_f64() / PACKET_INTERVAL.as_secs_f64();
    (expected * STEADY_SHARE).ceil() as usize
}

/// The first instant, at or before `until`, at which party `sig` has been heard steadily
/// for `settle`: its first frame after `from` lies at least `settle` back, and the last
/// `settle` hold at least [`STEADY_SHARE`] of the frames a steady stream would have.
pub fn steady_at(
    frames: &[HeardFrame],
    sig: u8,
    from: Time,
    settle: Duration,
    until: Time,
) -> Option<Time> {
    let first = first_of(frames, sig, from, until)?;
    let ours: Vec<Time> = frames[first..]
        .iter()
        .take_while(|f| f.at <= until)
        .filter(|f| f.class == FrameClass::Party(sig))
        .map(|f| f.at)
        .collect();
    let earliest = ours[0] + settle;
    let need = needed(settle);
    let mut lo = 0;
    for (hi, &t) in ours.iter().enumerate() {
        while ours[lo] + settle < t {
            lo += 1;
        }
        if t >= earliest && hi + 1 - lo >= need {
            return Some(t);
        }
    }
    None
}

/// Share of the frames a steady stream would bring in `[from, to]` that were `sig`'s.
pub fn share(frames: &[HeardFrame], sig: u8, from: Time, to: Time) -> f64 {
    let len = to.saturating_since(from);
    let expected = len.as_secs_f64() / PACKET_INTERVAL.as_secs_f64();
    if expected < 1.0 {
        return 0.0;
    }
    let start = frames.partition_point(|f| f.at < from);
    let heard = frames[start..]
        .iter()
        .take_while(|f| f.at <= to)
        .filter(|f| f.class == FrameClass::Party(sig))
        .count();
    heard as f64 / expected
}

/// RTP loss and lateness among the frames heard in `[from, to]`: per SSRC, sequence numbers
/// between the lowest and the highest heard that never arrived, and packets that arrived
/// after a higher one. A jump of more than 3000 starts a new run (a relay that restarts
/// numbering, as rtpengine does at a flip). `None` when no packet arrived.
pub fn loss_in(frames: &[HeardFrame], from: Time, to: Time) -> Option<(i64, u64)> {
    const RESTART: i64 = 3000;
    let start = frames.partition_point(|f| f.at < from);
    let inside: Vec<&HeardFrame> = frames[start..].iter().take_while(|f| f.at <= to).collect();
    if inside.is_empty() {
        return None;
    }
    // (ssrc, first extended seq, lowest, highest, count, last extended)
    struct Run {
        ssrc: u32,
        low: i64,
        high: i64,
        count: i64,
        last: i64,
    }
    let (mut lost, mut late) = (0i64, 0u64);
    let mut runs: Vec<Run> = Vec::new();
    let close = |r: &Run| (r.high - r.low + 1 - r.count).max(0);
    for f in inside {
        let seq = i64::from(f.seq);
        match runs.iter_mut().rposition(|r| r.ssrc == f.ssrc) {
            Some(i) => {
                let r = &mut runs[i];
                // Extend the 16-bit number to the one nearest the previous (RFC 3550 A.1).
                let mut ext = (r.last & !0xffff) | seq;
                if ext < r.last - 0x8000 {
                    ext += 0x1_0000;
                } else if ext > r.last + 0x8000 {
                    ext -= 0x1_0000;
                }
                if (ext - r.last).abs() > RESTART {
                    lost += close(r);
                    *r = Run {
                        ssrc: f.ssrc,
                        low: seq,
                        high: seq,
                        count: 1,
                        last: seq,
                    };
                    continue;
                }
                if ext < r.high {
                    late += 1;
                }
                r.low = r.low.min(ext);
                r.high = r.high.max(ext);
                r.count += 1;
                r.last = ext;
            }
            None => runs.push(Run {
                ssrc: f.ssrc,
                low: seq,
                high: seq,
                count: 1,
                last: seq,
            }),
        }
    }
    lost += runs.iter().map(close).sum::<i64>();
    Some((lost, late))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(us: u64, class: FrameClass, seq: u16) -> HeardFrame {
        HeardFrame {
            at: Time::from_micros(us),
            class,
            ssrc: 1,
            seq,
            payload_type: 0,
        }
    }

    fn party(p: u8) -> FrameClass {
        FrameClass::Party(p)
    }

    fn t(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    /// Party 1 every 20 ms up to `old_until` (ms), then `between`, then party 2 from `new_from`.
    fn stream(old_until: u64, between: &[(u64, FrameClass)], new_from: u64) -> Vec<HeardFrame> {
        let mut v: Vec<HeardFrame> = (0..=old_until / 20)
            .map(|i| frame(i * 20_000 + 300, party(1), i as u16))
            .collect();
        v.extend(between.iter().map(|&(us, c)| frame(us, c, 0)));
        v.extend((0..50).map(|i| frame(new_from * 1000 + i * 20_000, party(2), 100 + i as u16)));
        v
    }

    #[test]
    fn the_gap_is_the_switch_only() {
        // Old ends at 1000.3 (+20 = 1020.3), new starts at 1100: 79.7 ms.
        let frames = stream(1000, &[], 1100);
        assert_eq!(switch_gap_ms(&frames, 1, 2, t(990), t(3000)), Some(79.7));
        // Overlap: no gap.
        let frames = stream(1000, &[], 1010);
        assert_eq!(switch_gap_ms(&frames, 1, 2, t(990), t(3000)), Some(0.0));
        // The new party never heard: no switch.
        let frames: Vec<_> = (0..10)
            .map(|i| frame(i * 20_000, party(1), i as u16))
            .collect();
        assert_eq!(switch_gap_ms(&frames, 1, 2, t(0), t(1000)), None);
    }

    #[test]
    fn a_later_hole_is_not_the_flip_gap() {
        // Clean switch at 1000, then a 200 ms hole in the new stream at 1500.
        let mut frames = stream(980, &[], 1000);
        frames.retain(|f| !(f.at > t(1500) && f.at < t(1700)));
        assert_eq!(switch_gap_ms(&frames, 1, 2, t(990), t(2000)), Some(0.0));
        assert!(max_hole_ms(&frames, &[1, 2], t(990), t(2000)) > 150.0);
    }

    #[test]
    fn music_cuts_the_last_frame_short_and_counts_as_other() {
        // Old to 1000.3; music from 1000.5 every 20 ms for 1 s; new from 2000.5.
        let music: Vec<(u64, FrameClass)> = (0..50)
            .map(|i| (1_000_500 + i * 20_000, FrameClass::Other))
            .collect();
        let frames = stream(1000, &music, 2000);
        let gap = switch_gap_ms(&frames, 1, 2, t(990), t(3000)).unwrap();
        let other = other_ms(&frames, t(990), t(3000));
        // The music cut the old frame short at 1000.5, the new frame cut the music short.
        assert_eq!(gap, 999.5);
        assert_eq!(other, 999.5);
    }

    #[test]
    fn holes_are_clipped_to_the_window() {
        let frames = stream(1000, &[], 1100);
        assert_eq!(max_hole_ms(&frames, &[1, 2], t(990), t(1050)), 29.7);
        assert_eq!(max_hole_ms(&frames, &[1, 2], t(990), t(2100)), 79.7);
        // Nothing after 1980: the rest of the window is a hole.
        assert_eq!(max_hole_ms(&frames, &[1], t(0), t(2000)), 979.7);
    }

    #[test]
    fn steady_needs_the_settle_time_and_ninety_percent() {
        let frames = stream(1000, &[], 1100);
        let settle = Duration::from_millis(500);
        assert_eq!(
            steady_at(&frames, 2, t(1000), settle, t(3000)),
            Some(t(1600))
        );
        assert_eq!(steady_at(&frames, 2, t(1000), settle, t(1599)), None);
        // Three of the 26 frames of the first half second missing: 23 heard, steady at once.
        let mut gappy = frames.clone();
        gappy.retain(|f| ![t(1200), t(1240), t(1280)].contains(&f.at));
        assert_eq!(
            steady_at(&gappy, 2, t(1000), settle, t(3000)),
            Some(t(1600))
        );
        // Four missing: 22 < 23 until the window has left the first of them behind.
        gappy.retain(|f| f.at != t(1320));
        assert_eq!(
            steady_at(&gappy, 2, t(1000), settle, t(3000)),
            Some(t(1720))
        );
        assert!(share(&frames, 2, t(1100), t(2000)) > 0.99);
        assert_eq!(share(&frames, 1, t(1100), t(2000)), 0.0);
    }

    #[test]
    fn loss_and_lateness_in_a_window() {
        let mut frames: Vec<_> = (0..20u16)
            .filter(|s| ![5, 6, 12].contains(s))
            .map(|s| frame(u64::from(s) * 20_000, party(1), s))
            .collect();
        // Packet 12 arrives late, after 13.
        frames.push(frame(19 * 20_000 + 1000, party(1), 12));
        assert_eq!(loss_in(&frames, t(0), t(1000)), Some((2, 1)));
        // Sequence numbers that wrap are one run.
        let wrap: Vec<_> = [65534u16, 65535, 1, 2]
            .iter()
            .enumerate()
            .map(|(i, &s)| frame(i as u64 * 20_000, party(1), s))
            .collect();
        assert_eq!(loss_in(&wrap, t(0), t(1000)), Some((1, 0)));
        // A restart of the numbering is a new run, not 40,000 lost packets.
        let restart: Vec<_> = [40_000u16, 40_001, 0, 1]
            .iter()
            .enumerate()
            .map(|(i, &s)| frame(i as u64 * 20_000, party(1), s))
            .collect();
        assert_eq!(loss_in(&restart, t(0), t(1000)), Some((0, 0)));
        assert_eq!(loss_in(&frames, t(5000), t(6000)), None);
    }
}
