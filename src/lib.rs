//! flipcheck: proves call flip works on a phone system before it is rolled out.
//!
//! Data flows one way: scenario file → plan → roles driven by the simulator or the live
//! driver → timeline → measurements → report. `core` is sans-IO and imports nothing above it.

pub mod core;
pub mod report;
pub mod scenario;
