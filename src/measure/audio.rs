//! Gap and latency arithmetic over a receiver's classified frames (DESIGN.md "What a flip
//! measurement contains"; FIELD-NOTES "audible gap"). A frame heard at `t` covers
//! `[t, t + 20 ms)`; a gap is time covered by no frame of the parties that matter.

use crate::core::Time;
use crate::core::rtp::{FrameClass, HeardFrame};

/// Every frame is 20 ms of audio.
pub const FRAME_MS: f64 = 20.0;

/// The frames one receiver heard between two instants.
pub struct AudioWindow<'a> {
    frames: &'a [HeardFrame],
    from: Time,
    to: Time,
}

impl<'a> AudioWindow<'a> {
    /// `frames` must be in arrival order (receivers append as packets arrive).
    pub fn new(frames: &'a [HeardFrame], from: Time, to: Time) -> Self {
        AudioWindow { frames, from, to }
    }

    fn inside(&self) -> impl Iterator<Item = &'a HeardFrame> + '_ {
        self.frames
            .iter()
            .filter(move |f| f.at >= self.from && f.at <= self.to)
    }

    /// First frame of any of `parties` at or after the window start.
    pub fn first_of(&self, parties: &[u8]) -> Option<Time> {
        self.inside()
            .find(|f| is_party(f.class, parties))
            .map(|f| f.at)
    }

    /// Milliseconds of `Other` audio (hold music, announcements, noise) in the window.
    pub fn other_ms(&self) -> f64 {
        self.inside()
            .filter(|f| f.class == FrameClass::Other)
            .count() as f64
            * FRAME_MS
    }

    /// Whether any frame of `party` was heard in the window.
    pub fn heard(&self, party: u8) -> bool {
        self.inside().any(|f| f.class == FrameClass::Party(party))
    }

    /// The longest stretch in the window not covered by a frame of any of `parties`. The
    /// stretch may start before the window (at the last covering frame before it) so that
    /// a silence that began just before the flip request is counted whole.
    pub fn longest_gap_ms(&self, parties: &[u8]) -> f64 {
        let start = self.from.as_millis_f64();
        let mut covered_until = self
            .frames
            .iter()
            .rev()
            .find(|f| f.at < self.from && is_party(f.class, parties))
            .map_or(start, |last| last.at.as_millis_f64() + FRAME_MS);
        let mut longest: f64 = 0.0;
        for f in self.inside().filter(|f| is_party(f.class, parties)) {
            let t = f.at.as_millis_f64();
            longest = longest.max(t - covered_until);
            covered_until = covered_until.max(t + FRAME_MS);
        }
        longest = longest.max(self.to.as_millis_f64() - covered_until);
        (longest.max(0.0) * 1000.0).round() / 1000.0
    }
}

fn is_party(class: FrameClass, parties: &[u8]) -> bool {
    matches!(class, FrameClass::Party(p) if parties.contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ms: u64, class: FrameClass) -> HeardFrame {
        HeardFrame {
            at: Time::from_millis(ms),
            class,
            ssrc: 1,
            seq: 0,
            payload_type: 0,
        }
    }

    #[test]
    fn gap_between_old_and_new_party() {
        // Old party (1) every 20 ms until 1000, nothing until 1100, then new party (2).
        let mut frames: Vec<HeardFrame> = (0..=50)
            .map(|i| frame(i * 20, FrameClass::Party(1)))
            .collect();
        frames.extend((0..20).map(|i| frame(1100 + i * 20, FrameClass::Party(2))));
        let w = AudioWindow::new(&frames, Time::from_millis(990), Time::from_millis(1480));
        // Covered until 1020, next good frame at 1100.
        assert_eq!(w.longest_gap_ms(&[1, 2]), 80.0);
        assert_eq!(w.first_of(&[2]), Some(Time::from_millis(1100)));
        assert_eq!(w.other_ms(), 0.0);
        assert!(w.heard(2));
    }

    #[test]
    fn hold_music_counts_as_other_and_as_gap() {
        let mut frames: Vec<HeardFrame> = (0..10)
            .map(|i| frame(i * 20, FrameClass::Party(1)))
            .collect();
        frames.extend((10..60).map(|i| frame(i * 20, FrameClass::Other)));
        frames.extend((60..70).map(|i| frame(i * 20, FrameClass::Party(2))));
        let w = AudioWindow::new(&frames, Time::from_millis(190), Time::from_millis(1400));
        assert_eq!(w.other_ms(), 1000.0);
        assert_eq!(w.longest_gap_ms(&[1, 2]), 1000.0);
    }

    #[test]
    fn silence_to_the_end_is_a_gap() {
        let frames: Vec<HeardFrame> = (0..10)
            .map(|i| frame(i * 20, FrameClass::Party(1)))
            .collect();
        let w = AudioWindow::new(&frames, Time::from_millis(100), Time::from_millis(2000));
        assert_eq!(w.longest_gap_ms(&[1, 2]), 1800.0);
        assert_eq!(w.first_of(&[2]), None);
    }
}
