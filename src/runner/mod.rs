//! Runs compiled scenarios: builds a [`Scene`] per scenario and drives it with the
//! simulator or the live driver, then turns what it measured into the report.

mod scene;
mod script;

pub use scene::{AddrAlloc, Owner, Scene, TargetSetup};
pub use script::Script;
mod outcome;

pub use outcome::{scenario_report, simulate, simulate_over, simulate_with, time_limit};
