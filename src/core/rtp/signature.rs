//! Audio signatures: the tone pair each simulated party sends, so a receiver can tell from
//! decoded audio alone who it is hearing (README "How a flip is measured").
//! Also the other sounds a party can send: hold music and silence.
//!
//! Every signature tone is a multiple of 50 Hz, so it completes whole cycles in one 20 ms
//! frame of 160 samples at 8 kHz. That makes each tone land exactly on one DFT bin of any
//! 160-sample window whatever its phase, with no leakage into the other tones' bins: the
//! classifier needs no window function and gets the same answer at every frame offset.
//!
//! The tones keep clear of frequencies that equipment on the path listens for during a call,
//! because a PBX that "hears" one would act on it: DTMF (ITU-T Q.23, ±4 %), fax CNG 1100 Hz and
//! CED/ANS 2100 Hz (T.30, V.25; they trigger fax detection and echo-canceller disabling), the
//! V.21 fax preamble 1650/1850 Hz, SF 2600 Hz, and the call-progress tones 350/400/425/440/
//! 450/480/620 Hz. They also stay above the hold-music notes (all at or below 400 Hz) and
//! inside 600-3200 Hz, which survives a 300-3400 Hz telephone channel.

use super::g711::{G711_CLOCK_RATE, SAMPLES_PER_FRAME};

/// How many parties have a signature (the size of the table).
pub const MAX_PARTIES: usize = 8;

/// The tone pair of one party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The party index (0..MAX_PARTIES).
    pub party: u8,
    /// Lower tone, Hz.
    pub f1_hz: u32,
    /// Upper tone, Hz.
    pub f2_hz: u32,
}

/// Tone pairs, lowest party first. Each pair joins a tone from the lower half of the set
/// with one from the upper half, so no pair looks like a DTMF row+column pair. Low party
/// numbers (the customer and the first devices) get the mid-band tones, which survive
/// band-limited paths best.
const TABLE: [(u32, u32); MAX_PARTIES] = [
    (800, 2200),
    (1000, 2500),
    (1150, 2350),
    (650, 2700),
    (1400, 2850),
    (1550, 3000),
    (1750, 2000),
    (1900, 3150),
];

/// Peak amplitude of each signature tone. The pair sums to an RMS of about -16 dBov, so a
/// path that attenuates by 20 dB still leaves it 14 dB above the silence threshold.
pub const SIGNATURE_TONE_AMPLITUDE: f64 = 5000.0;

/// Hold-music notes (equal temperament, A4 = 440 Hz), all below 400 Hz and none a multiple
/// of 50 Hz: chords of three notes each.
const HOLD_MUSIC_CHORDS: [[f64; 3]; 4] = [
    [261.63, 329.63, 392.00], // C4 E4 G4
    [220.00, 261.63, 329.63], // A3 C4 E4
    [174.61, 220.00, 261.63], // F3 A3 C4
    [196.00, 246.94, 293.66], // G3 B3 D4
];
/// How long each chord lasts, in samples (470 ms). Not a multiple of a frame on purpose, so
/// chord changes fall at every offset inside a frame.
const HOLD_MUSIC_CHORD_SAMPLES: u64 = 3760;
/// Peak amplitude of each hold-music voice (about -19 dBov for the chord).
const HOLD_MUSIC_VOICE_AMPLITUDE: f64 = 3000.0;

/// The signature of `party`. Party numbers wrap at [`MAX_PARTIES`]; callers that take party
/// numbers from outside should check them with [`try_signature`] first.
pub fn signature(party: u8) -> Signature {
    let party = party % MAX_PARTIES as u8;
    let (f1_hz, f2_hz) = TABLE[party as usize];
    Signature {
        party,
        f1_hz,
        f2_hz,
    }
}

/// The signature of `party`, or `None` if the table has none for it.
pub fn try_signature(party: u8) -> Option<Signature> {
    (usize::from(party) < MAX_PARTIES).then(|| signature(party))
}

/// All signatures, in party order.
pub fn signatures() -> impl Iterator<Item = Signature> {
    (0..MAX_PARTIES as u8).map(signature)
}

/// What a party is sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The signature of a party. A party number outside the table sends silence, so it can
    /// never be mistaken for another party.
    Signature(u8),
    /// Music on hold: "other audio" that no receiver may take for a party.
    HoldMusic,
    /// Digital silence.
    Silence,
}

/// A phase-continuous generator of 20 ms frames of linear 8 kHz audio.
#[derive(Debug, Clone)]
pub struct AudioSource {
    source: Source,
    /// The one frame a signature repeats. Signature tones complete whole cycles in a frame,
    /// so consecutive frames are identical and phase continuity is free.
    signature_frame: [i16; SAMPLES_PER_FRAME],
    /// Samples produced since creation: drives the hold-music chord changes.
    clock: u64,
    /// Hold-music voices as unit phasors (re, im), rotated once per sample. Changing chords
    /// keeps each voice's phase, so the waveform has no jumps.
    voices: [(f64, f64); 3],
}

impl AudioSource {
    /// A generator starting at phase zero.
    pub fn new(source: Source) -> Self {
        let mut s = AudioSource {
            source: Source::Silence,
            signature_frame: [0; SAMPLES_PER_FRAME],
            clock: 0,
            voices: [(1.0, 0.0); 3],
        };
        s.set(source);
        s
    }

    /// What the generator is producing now.
    pub fn source(&self) -> Source {
        self.source
    }

    /// Switches what the generator produces from the next frame on.
    pub fn set(&mut self, source: Source) {
        self.source = source;
        self.signature_frame = [0; SAMPLES_PER_FRAME];
        if let Source::Signature(p) = source
            && let Some(sig) = try_signature(p)
        {
            fill_signature(&sig, &mut self.signature_frame);
        }
    }

    /// Writes the next 20 ms frame.
    pub fn next_frame(&mut self, out: &mut [i16; SAMPLES_PER_FRAME]) {
        match self.source {
            Source::Signature(_) => *out = self.signature_frame,
            Source::Silence => *out = [0; SAMPLES_PER_FRAME],
            Source::HoldMusic => self.hold_music(out),
        }
        // Wrapping: only the chord schedule reads the clock, and a wrap after 73 million
        // years of audio (or a skip to Time::NEVER) just changes chord early.
        self.clock = self.clock.wrapping_add(SAMPLES_PER_FRAME as u64);
    }

    /// Moves time on by `frames` frames without producing them (a sender that skipped
    /// packets), keeping the music where it would have been.
    pub fn skip_frames(&mut self, frames: u64) {
        let mut synthesised = 0;
        if self.source == Source::HoldMusic {
            // Bounded: a pacer that skipped more than a second restarts the voices' phases
            // where they are rather than synthesising audio nobody hears.
            let mut scratch = [0; SAMPLES_PER_FRAME];
            synthesised = frames.min(50);
            for _ in 0..synthesised {
                self.next_frame(&mut scratch);
            }
        }
        let rest = (frames - synthesised).wrapping_mul(SAMPLES_PER_FRAME as u64);
        self.clock = self.clock.wrapping_add(rest);
    }

    fn hold_music(&mut self, out: &mut [i16; SAMPLES_PER_FRAME]) {
        let mut steps = chord_steps(self.clock);
        for (i, sample) in out.iter_mut().enumerate() {
            let t = self.clock.wrapping_add(i as u64);
            if t.is_multiple_of(HOLD_MUSIC_CHORD_SAMPLES) {
                steps = chord_steps(t);
            }
            let mut acc = 0.0;
            for (v, &(c, s)) in self.voices.iter_mut().zip(&steps) {
                acc += v.1;
                *v = (v.0 * c - v.1 * s, v.0 * s + v.1 * c);
            }
            *sample = (acc * HOLD_MUSIC_VOICE_AMPLITUDE) as i16;
        }
        // Rotation by a rounded cos/sin drifts off the unit circle; renormalise per frame.
        for v in &mut self.voices {
            let norm = (v.0 * v.0 + v.1 * v.1).sqrt();
            if norm > 0.0 {
                *v = (v.0 / norm, v.1 / norm);
            } else {
                *v = (1.0, 0.0);
            }
        }
    }
}

/// The per-sample rotation (cos, sin) of each voice of the chord sounding at sample `t`.
fn chord_steps(t: u64) -> [(f64, f64); 3] {
    let index = (t / HOLD_MUSIC_CHORD_SAMPLES) % HOLD_MUSIC_CHORDS.len() as u64;
    HOLD_MUSIC_CHORDS[index as usize].map(|f| {
        let w = std::f64::consts::TAU * f / f64::from(G711_CLOCK_RATE);
        (w.cos(), w.sin())
    })
}

/// One frame of a signature: the two tones at equal amplitude, starting at phase zero.
fn fill_signature(sig: &Signature, out: &mut [i16; SAMPLES_PER_FRAME]) {
    let rate = f64::from(G711_CLOCK_RATE);
    for (n, sample) in out.iter_mut().enumerate() {
        let t = n as f64 / rate;
        let v = (std::f64::consts::TAU * f64::from(sig.f1_hz) * t).sin()
            + (std::f64::consts::TAU * f64::from(sig.f2_hz) * t).sin();
        *sample = (v * SIGNATURE_TONE_AMPLITUDE).round() as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DTMF: [f64; 8] = [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0];

    fn tones() -> Vec<u32> {
        signatures().flat_map(|s| [s.f1_hz, s.f2_hz]).collect()
    }

    #[test]
    fn tones_complete_whole_cycles_in_a_frame() {
        for f in tones() {
            assert_eq!(f % 50, 0, "{f} Hz");
            assert_eq!(
                (f as usize * SAMPLES_PER_FRAME) % G711_CLOCK_RATE as usize,
                0
            );
            assert!(
                (600..=3200).contains(&f),
                "{f} Hz outside the telephone band"
            );
        }
    }

    #[test]
    fn tones_are_all_different_and_spaced() {
        let mut t = tones();
        t.sort();
        for w in t.windows(2) {
            assert!(w[1] - w[0] >= 100, "{} and {} Hz too close", w[0], w[1]);
        }
        for s in signatures() {
            assert!(s.f1_hz < s.f2_hz);
        }
    }

    #[test]
    fn tones_avoid_frequencies_the_network_listens_for() {
        for f in tones() {
            let f = f64::from(f);
            for d in DTMF {
                assert!((f - d).abs() / d > 0.03, "{f} Hz near DTMF {d}");
            }
            for (c, tol) in [
                (1100.0, 0.04),
                (2100.0, 0.04),
                (1650.0, 0.02),
                (1850.0, 0.02),
                (2600.0, 0.03),
            ] {
                assert!((f - c).abs() / c > tol, "{f} Hz near {c}");
            }
            for c in [350.0, 400.0, 425.0, 440.0, 450.0, 480.0, 620.0] {
                assert!((f - c).abs() >= 30.0, "{f} Hz near call progress {c}");
            }
            for chord in HOLD_MUSIC_CHORDS {
                for note in chord {
                    assert!(f - note >= 200.0, "{f} Hz near hold note {note}");
                }
            }
        }
    }

    #[test]
    fn no_pair_looks_like_dtmf() {
        // A DTMF detector needs one row tone (< 1000 Hz) and one column tone (1150-1700 Hz).
        for s in signatures() {
            let row = s.f1_hz < 1100;
            let col = (1150..=1700).contains(&s.f2_hz);
            assert!(!(row && col), "{s:?}");
        }
    }

    #[test]
    fn try_signature_and_wrapping() {
        assert_eq!(try_signature(7).map(|s| s.party), Some(7));
        assert_eq!(try_signature(8), None);
        assert_eq!(signature(9), signature(1));
        assert_eq!(signature(3).party, 3);
    }

    #[test]
    fn signature_frames_repeat_and_are_phase_continuous() {
        let mut src = AudioSource::new(Source::Signature(2));
        let mut a = [0; SAMPLES_PER_FRAME];
        let mut b = [0; SAMPLES_PER_FRAME];
        src.next_frame(&mut a);
        src.next_frame(&mut b);
        assert_eq!(a, b);
        // The sample after the frame's last one is the frame's first one again: a
        // continuous sine (the step across the boundary is no bigger than the largest step).
        let max_step = a
            .windows(2)
            .map(|w| (w[1] as i32 - w[0] as i32).abs())
            .max()
            .unwrap();
        assert!((a[0] as i32 - a[159] as i32).abs() <= max_step);
        let peak = a.iter().map(|&s| (s as i32).abs()).max().unwrap();
        assert!(peak > 8000 && peak <= 10000, "peak {peak}");
    }

    #[test]
    fn out_of_table_party_and_silence_are_silent() {
        let mut out = [1; SAMPLES_PER_FRAME];
        AudioSource::new(Source::Signature(8)).next_frame(&mut out);
        assert_eq!(out, [0; SAMPLES_PER_FRAME]);
        let mut out = [1; SAMPLES_PER_FRAME];
        AudioSource::new(Source::Silence).next_frame(&mut out);
        assert_eq!(out, [0; SAMPLES_PER_FRAME]);
    }

    #[test]
    fn hold_music_is_continuous_and_loud() {
        let mut src = AudioSource::new(Source::HoldMusic);
        let mut prev: Option<i16> = None;
        let mut frame = [0; SAMPLES_PER_FRAME];
        for _ in 0..200 {
            src.next_frame(&mut frame);
            let rms = (frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 160.0).sqrt();
            assert!(rms > 1000.0, "rms {rms}");
            // No clicks: a step between samples is at most Σ A·ω over the voices, under
            // 3 × 3000 × 2π·392/8000 ≈ 2771; a phase jump at a chord change could be 18000.
            let mut all = prev.into_iter().chain(frame.iter().copied());
            let mut last = all.next().unwrap();
            for s in all {
                assert!((s as i32 - last as i32).abs() < 2800, "jump {last} -> {s}");
                last = s;
            }
            prev = Some(frame[159]);
        }
    }

    #[test]
    fn skipping_keeps_the_music_on_schedule() {
        let mut a = AudioSource::new(Source::HoldMusic);
        let mut b = AudioSource::new(Source::HoldMusic);
        let mut fa = [0; SAMPLES_PER_FRAME];
        let mut fb = [0; SAMPLES_PER_FRAME];
        for _ in 0..3 {
            a.next_frame(&mut fa);
        }
        b.skip_frames(3);
        a.next_frame(&mut fa);
        b.next_frame(&mut fb);
        assert_eq!(fa, fb);
    }
}
