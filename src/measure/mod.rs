//! Measurements: from what the parties observed (classified audio frames, SIP dialogs,
//! caller IDs, Session-IDs) to one flip's numbers and continuity verdicts. Nothing here
//! is told what happened; everything is computed from packets that actually flowed.

mod audio;
mod flip;

pub use audio::{AudioWindow, FRAME_MS};
pub use flip::{FlipRecord, measure_flip};
