//! Classifies each frame of decoded audio as one party's signature, silence, or other audio.
//!
//! The test is on energy shares: the frame's energy is split over frequency with Goertzel
//! filters (one DFT bin each) at every signature tone and at ±50 Hz around it, and a party is
//! heard when the bands around its two tones hold a clear majority of the frame's energy.
//! Shares, not levels, make the answer independent of gain; G.711 quantisation noise is
//! ~38 dB down and costs a fraction of a percent of share.
//!
//! Rules, in order:
//! 1. **Silence** if the frame's RMS is below [`SILENCE_DBOV`].
//! 2. **Silence** if more than half of the frame's 2.5 ms blocks are below it: a frame in
//!    which a party stops (or starts) part-way is classified by its dominant part.
//! 3. **Party(p)** if p's bands hold at least [`PARTY_MAJORITY`] of the energy and each of
//!    its two tones at least [`PARTY_MIN_TONE`]. The ±50 Hz side bins are what keep a tone
//!    that plays for only part of the frame in its band: a tone present in half the frame
//!    and silence in the other half keeps ~90 % of its energy within ±50 Hz (the silent part
//!    adds none), so rule 3 still names the party. A frame split between two parties, or
//!    a mix of two parties at similar levels, gives neither a majority and is **Other**;
//!    a mix where one party is more than 3.7 dB louder (a 0.7 share) is that party. Never a third party: bands of
//!    parties absent from the frame hold only leakage.
//! 4. **Other** otherwise (hold music, announcements, noise, DTMF, speech).

use super::g711::G711_CLOCK_RATE;
use super::signature::{MAX_PARTIES, signatures};

/// Frames quieter than this (RMS relative to a full-scale square wave, i.e. 0 dBov is an RMS
/// of 32768) are silence. A-law's idle code decodes to ±8 (-72 dBov), comfort noise is
/// usually -60 dBov or quieter, and the quietest signature after 20 dB of loss is -36 dBov.
pub const SILENCE_DBOV: f32 = -50.0;
/// Share of the frame's energy a party's two bands must hold.
pub const PARTY_MAJORITY: f32 = 0.7;
/// Share each of the party's two tones must hold on its own, so one tone (or one party's
/// tone plus something else) is not enough.
pub const PARTY_MIN_TONE: f32 = 0.15;
/// Block length (samples) for the partly-silent test of rule 2: 2.5 ms, 8 blocks a frame.
const BLOCK: usize = 20;
/// Bins per tone: the tone's own and one DFT bin (50 Hz) either side.
const BINS_PER_TONE: usize = 3;
const BIN_SPACING_HZ: f64 = 50.0;
const N_BINS: usize = MAX_PARTIES * 2 * BINS_PER_TONE;

/// What one frame of received audio was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FrameClass {
    /// The signature of this party.
    Party(u8),
    /// Nothing audible.
    Silence,
    /// Audible, but no party's signature (hold music, announcements, noise, a mix).
    Other,
}

/// The numbers behind a classification, for diagnostics and for finding frames where two
/// parties were heard at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameAnalysis {
    /// The verdict.
    pub class: FrameClass,
    /// RMS level of the frame in dBov (`-inf` for digital silence).
    pub level_dbov: f32,
    /// Share of the frame's energy in each party's two bands (0 when rule 1 or 2 applied).
    pub party_share: [f32; MAX_PARTIES],
}

/// A signature classifier. Immutable once built; share one between receivers (`Arc`).
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Goertzel coefficients 2·cos(ω), laid out party-major: for party p, tone t (0 or 1),
    /// side s (0 = -50 Hz, 1 = on the tone, 2 = +50 Hz) at index `(p * 2 + t) * 3 + s`.
    coeffs: [f32; N_BINS],
}

impl Default for Classifier {
    fn default() -> Self {
        Self::new()
    }
}

/// Mean square (in sample units²) of a signal at [`SILENCE_DBOV`].
fn silence_mean_square() -> f64 {
    let rms = 32768.0 * 10f64.powf(f64::from(SILENCE_DBOV) / 20.0);
    rms * rms
}

impl Classifier {
    /// Builds the filter bank for every signature tone.
    pub fn new() -> Self {
        let mut coeffs = [0.0; N_BINS];
        for sig in signatures() {
            for (t, f) in [sig.f1_hz, sig.f2_hz].into_iter().enumerate() {
                for s in 0..BINS_PER_TONE {
                    let hz = f64::from(f) + (s as f64 - 1.0) * BIN_SPACING_HZ;
                    let w = std::f64::consts::TAU * hz / f64::from(G711_CLOCK_RATE);
                    coeffs[(usize::from(sig.party) * 2 + t) * BINS_PER_TONE + s] =
                        (2.0 * w.cos()) as f32;
                }
            }
        }
        Classifier { coeffs }
    }

    /// Classifies one frame of 8 kHz linear audio. Exact for 160-sample (20 ms) frames at any
    /// phase; other lengths (10, 30 ms packets) work with slightly less margin.
    pub fn classify(&self, samples: &[i16]) -> FrameClass {
        self.analyse(samples).class
    }

    /// Classifies a frame and returns the numbers behind the verdict.
    pub fn analyse(&self, samples: &[i16]) -> FrameAnalysis {
        let mut out = FrameAnalysis {
            class: FrameClass::Silence,
            level_dbov: f32::NEG_INFINITY,
            party_share: [0.0; MAX_PARTIES],
        };
        if samples.is_empty() {
            return out;
        }
        // Rules 1 and 2 in exact integer arithmetic.
        let quiet = silence_mean_square();
        let mut energy: u64 = 0;
        let mut blocks = 0usize;
        let mut quiet_blocks = 0usize;
        for block in samples.chunks(BLOCK) {
            let e: u64 = block
                .iter()
                .map(|&s| (i64::from(s) * i64::from(s)) as u64)
                .sum();
            energy += e;
            blocks += 1;
            if (e as f64) / (block.len() as f64) < quiet {
                quiet_blocks += 1;
            }
        }
        let mean_square = energy as f64 / samples.len() as f64;
        if mean_square > 0.0 {
            out.level_dbov = (10.0 * (mean_square / (32768.0 * 32768.0)).log10()) as f32;
        }
        if mean_square < quiet || quiet_blocks * 2 > blocks {
            return out;
        }

        // Rule 3: Goertzel over all bins at once; the inner loop runs across bins so it
        // vectorises. Samples are scaled to ±1 to keep f32 well inside its range.
        let mut s1 = [0f32; N_BINS];
        let mut s2 = [0f32; N_BINS];
        for &x in samples {
            let x = f32::from(x) * (1.0 / 32768.0);
            for j in 0..N_BINS {
                let s0 = x + self.coeffs[j] * s1[j] - s2[j];
                s2[j] = s1[j];
                s1[j] = s0;
            }
        }
        // Parseval: a real tone on bin k puts |X_k|² = (A·N/2)² in bin k and the same in its
        // mirror, out of N·Σx² in total, so its share of the energy is 2|X_k|² / (N·Σx²).
        let norm_energy = (mean_square * samples.len() as f64) / (32768.0 * 32768.0);
        let scale = 2.0 / (samples.len() as f64 * norm_energy);
        let mut tone_share = [0f32; MAX_PARTIES * 2];
        for (tone, share) in tone_share.iter_mut().enumerate() {
            let mut p = 0.0f64;
            for j in tone * BINS_PER_TONE..(tone + 1) * BINS_PER_TONE {
                let (a, b, c) = (
                    f64::from(s1[j]),
                    f64::from(s2[j]),
                    f64::from(self.coeffs[j]),
                );
                p += a * a + b * b - c * a * b;
            }
            *share = (p * scale) as f32;
        }
        let mut best: Option<(u8, f32)> = None;
        for party in 0..MAX_PARTIES {
            let (t1, t2) = (tone_share[party * 2], tone_share[party * 2 + 1]);
            let share = t1 + t2;
            out.party_share[party] = share;
            let heard = share >= PARTY_MAJORITY && t1.min(t2) >= PARTY_MIN_TONE;
            if heard && best.is_none_or(|(_, s)| share > s) {
                best = Some((party as u8, share));
            }
        }
        out.class = match best {
            Some((party, _)) => FrameClass::Party(party),
            None => FrameClass::Other,
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::g711::Codec;
    use super::super::signature::{AudioSource, Source, signature};
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const N: usize = 160;

    fn tone_pair(party: u8, gain_db: f64, phase: (f64, f64), len: usize) -> Vec<i16> {
        let sig = signature(party);
        let a = 5000.0 * 10f64.powf(gain_db / 20.0);
        (0..len)
            .map(|n| {
                let t = n as f64 / 8000.0;
                let v = (std::f64::consts::TAU * sig.f1_hz as f64 * t + phase.0).sin()
                    + (std::f64::consts::TAU * sig.f2_hz as f64 * t + phase.1).sin();
                (a * v).round() as i16
            })
            .collect()
    }

    fn round_trip(codec: Codec, samples: &[i16]) -> Vec<i16> {
        let mut bytes = Vec::new();
        codec.encode(samples, &mut bytes);
        let mut out = Vec::new();
        codec.decode(&bytes, &mut out);
        out
    }

    fn noise(rng: &mut StdRng, dbov: f64, len: usize) -> Vec<i16> {
        // Sum of 12 uniforms minus 6: unit-variance, near-Gaussian.
        let rms = 32768.0 * 10f64.powf(dbov / 20.0);
        (0..len)
            .map(|_| {
                let g: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                (g * rms).clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }

    #[test]
    fn every_party_at_every_gain_and_phase_through_both_laws() {
        let c = Classifier::new();
        let mut rng = StdRng::seed_from_u64(7);
        for party in 0..MAX_PARTIES as u8 {
            for gain in [0.0, -3.0, -6.0, -10.0, -15.0, -20.0] {
                for _ in 0..8 {
                    let phase = (rng.random::<f64>() * 6.3, rng.random::<f64>() * 6.3);
                    let frame = tone_pair(party, gain, phase, N);
                    assert_eq!(c.classify(&frame), FrameClass::Party(party));
                    for codec in [Codec::Pcmu, Codec::Pcma] {
                        let a = c.analyse(&round_trip(codec, &frame));
                        assert_eq!(
                            a.class,
                            FrameClass::Party(party),
                            "{codec:?} {gain} dB {a:?}"
                        );
                        assert!(a.party_share[party as usize] > 0.97, "{a:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn generator_frames_at_every_offset() {
        let c = Classifier::new();
        for party in 0..MAX_PARTIES as u8 {
            let mut src = AudioSource::new(Source::Signature(party));
            let mut stream = Vec::new();
            let mut frame = [0; N];
            for _ in 0..3 {
                src.next_frame(&mut frame);
                stream.extend_from_slice(&frame);
            }
            let stream = round_trip(Codec::Pcmu, &stream);
            for offset in 0..2 * N {
                let class = c.classify(&stream[offset..offset + N]);
                assert_eq!(class, FrameClass::Party(party), "offset {offset}");
            }
        }
    }

    #[test]
    fn other_packet_lengths() {
        let c = Classifier::new();
        for party in 0..MAX_PARTIES as u8 {
            for len in [80, 240, 320] {
                let frame = round_trip(Codec::Pcma, &tone_pair(party, -6.0, (0.3, 1.9), len));
                assert_eq!(c.classify(&frame), FrameClass::Party(party), "len {len}");
            }
        }
    }

    #[test]
    fn hold_music_is_other_at_every_offset() {
        let c = Classifier::new();
        let mut src = AudioSource::new(Source::HoldMusic);
        let mut stream = Vec::new();
        let mut frame = [0; N];
        // 2.4 s: five chord changes at different offsets inside a frame.
        for _ in 0..120 {
            src.next_frame(&mut frame);
            stream.extend_from_slice(&frame);
        }
        for (codec, gain) in [(Codec::Pcmu, 1.0), (Codec::Pcma, 0.1)] {
            let scaled: Vec<i16> = stream.iter().map(|&s| (s as f64 * gain) as i16).collect();
            let heard = round_trip(codec, &scaled);
            for offset in 0..heard.len() - N {
                let a = c.analyse(&heard[offset..offset + N]);
                assert_eq!(a.class, FrameClass::Other, "offset {offset}: {a:?}");
                assert!(
                    a.party_share.iter().all(|&s| s < 0.2),
                    "offset {offset}: {a:?}"
                );
            }
        }
    }

    #[test]
    fn silence_and_low_noise_are_silence() {
        let c = Classifier::new();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(c.classify(&[0; N]), FrameClass::Silence);
        assert_eq!(c.classify(&[]), FrameClass::Silence);
        assert_eq!(
            c.classify(&round_trip(Codec::Pcma, &[0; N])),
            FrameClass::Silence
        );
        for _ in 0..50 {
            let n = noise(&mut rng, -60.0, N);
            assert_eq!(
                c.classify(&round_trip(Codec::Pcmu, &n)),
                FrameClass::Silence
            );
        }
        let a = c.analyse(&[0; N]);
        assert_eq!(a.level_dbov, f32::NEG_INFINITY);
    }

    #[test]
    fn loud_noise_is_other() {
        let c = Classifier::new();
        let mut rng = StdRng::seed_from_u64(2);
        for dbov in [-40.0, -20.0, -10.0] {
            for _ in 0..50 {
                let n = noise(&mut rng, dbov, N);
                assert_eq!(c.classify(&n), FrameClass::Other, "{dbov} dBov");
            }
        }
    }

    #[test]
    fn level_is_reported_in_dbov() {
        let c = Classifier::new();
        let square = [16384i16; N];
        let a = c.analyse(&square);
        assert!((a.level_dbov - (-6.0206)).abs() < 0.01, "{a:?}");
    }

    #[test]
    fn sum_of_two_parties_is_never_a_third() {
        let c = Classifier::new();
        for a in 0..MAX_PARTIES as u8 {
            for b in 0..MAX_PARTIES as u8 {
                if a == b {
                    continue;
                }
                for (gain_b, expect) in [
                    (0.0, FrameClass::Other),
                    (-3.0, FrameClass::Other),
                    (-4.5, FrameClass::Party(a)),
                    (-10.0, FrameClass::Party(a)),
                ] {
                    let fa = tone_pair(a, 0.0, (0.1, 0.2), N);
                    let fb = tone_pair(b, gain_b, (1.1, 2.2), N);
                    let mix: Vec<i16> = fa.iter().zip(&fb).map(|(&x, &y)| x + y).collect();
                    let class = c.classify(&round_trip(Codec::Pcmu, &mix));
                    assert_eq!(class, expect, "{a}+{b} at {gain_b} dB");
                }
            }
        }
    }

    #[test]
    fn single_tones_dtmf_and_test_tones_are_other() {
        let c = Classifier::new();
        let sine = |f: f64, amp: f64| -> Vec<f64> {
            (0..N)
                .map(|n| amp * (std::f64::consts::TAU * f * n as f64 / 8000.0).sin())
                .collect()
        };
        let to_i16 = |v: Vec<f64>| -> Vec<i16> { v.into_iter().map(|x| x as i16).collect() };
        for sig in signatures() {
            for f in [sig.f1_hz, sig.f2_hz] {
                assert_eq!(
                    c.classify(&to_i16(sine(f as f64, 8000.0))),
                    FrameClass::Other
                );
            }
        }
        for (row, col) in [
            (697.0, 1209.0),
            (941.0, 1336.0),
            (852.0, 1477.0),
            (770.0, 1633.0),
        ] {
            let v: Vec<f64> = sine(row, 6000.0)
                .iter()
                .zip(sine(col, 6000.0))
                .map(|(a, b)| a + b)
                .collect();
            assert_eq!(
                c.classify(&to_i16(v)),
                FrameClass::Other,
                "DTMF {row}+{col}"
            );
        }
        for f in [440.0, 1004.0, 1100.0, 2100.0, 2600.0] {
            assert_eq!(
                c.classify(&to_i16(sine(f, 10000.0))),
                FrameClass::Other,
                "{f} Hz"
            );
        }
    }

    #[test]
    fn party_then_silence_inside_one_frame_goes_by_the_dominant_part() {
        let c = Classifier::new();
        for party in 0..MAX_PARTIES as u8 {
            for gain in [0.0, -20.0] {
                let tone = tone_pair(party, gain, (0.7, 0.4), N);
                for cut in (0..=N).step_by(8) {
                    // The party stops at `cut` ...
                    let mut stops = tone.clone();
                    stops[cut..].fill(0);
                    // ... or starts there.
                    let mut starts = tone.clone();
                    starts[..cut].fill(0);
                    let audible = |k: usize| -> FrameClass {
                        if k >= N / 2 {
                            FrameClass::Party(party)
                        } else if k < 7 * N / 20 {
                            FrameClass::Silence
                        } else {
                            // 35..50 %: within one block of the boundary, either answer.
                            FrameClass::Other
                        }
                    };
                    for (frame, k) in [(stops, cut), (starts, N - cut)] {
                        let got = c.classify(&round_trip(Codec::Pcmu, &frame));
                        match audible(k) {
                            FrameClass::Other => assert_ne!(got, FrameClass::Other, "{party} {k}"),
                            want => assert_eq!(got, want, "party {party} gain {gain} audible {k}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn switch_between_two_parties_inside_one_frame() {
        let c = Classifier::new();
        let a = tone_pair(0, 0.0, (0.0, 0.0), N);
        let b = tone_pair(1, 0.0, (0.0, 0.0), N);
        let splice =
            |cut: usize| -> Vec<i16> { a[..cut].iter().chain(&b[cut..]).copied().collect() };
        assert_eq!(c.classify(&splice(N / 2)), FrameClass::Other);
        assert_eq!(c.classify(&splice(N * 9 / 10)), FrameClass::Party(0));
        assert_eq!(c.classify(&splice(N / 10)), FrameClass::Party(1));
    }

    proptest::proptest! {
        #[test]
        fn any_party_gain_phase_and_law(party in 0u8..MAX_PARTIES as u8, gain in -20.0f64..0.0,
                                        p1 in 0.0f64..6.3, p2 in 0.0f64..6.3, alaw: bool) {
            let codec = if alaw { Codec::Pcma } else { Codec::Pcmu };
            let frame = round_trip(codec, &tone_pair(party, gain, (p1, p2), N));
            proptest::prop_assert_eq!(Classifier::new().classify(&frame), FrameClass::Party(party));
        }

        #[test]
        fn arbitrary_audio_never_panics_and_noise_is_no_party(
            samples in proptest::collection::vec(proptest::prelude::any::<i16>(), 0..400)) {
            let a = Classifier::new().analyse(&samples);
            // Uniform random samples are white noise: every band holds a few percent.
            if samples.len() >= 80 {
                proptest::prop_assert!(!matches!(a.class, FrameClass::Party(_)), "{a:?}");
            }
        }
    }
}
