//! Measurements: a pure function from a scenario's [`Timeline`](crate::timeline::Timeline)
//! (what every party heard and every SIP message that flowed) and the target's evidence
//! files to the flip reports. Nothing here names a role or the PBX, and nothing is told
//! what happened: a value that could not be observed is reported as such, with the reason.

mod audio;
mod calls;
mod evidence;
mod flip;
mod harness;
mod settle;

pub use audio::{FRAME_MS, STEADY_SHARE};
pub use evidence::{CdrSource, Evidence};
pub use flip::{measure_flip, measure_flips, settlement};
pub use harness::{LATENESS_P99_LIMIT_MS, harness_around, harness_between, overload_words};
pub use settle::{AUDIO_GRACE, Progress, Settlement, progress};
