//! Runs compiled scenarios: builds a [`Scene`] per scenario and drives it with the
//! simulator or the live driver, then turns what it measured into the report.

mod scene;
mod script;
pub mod words;

pub use scene::{AccountSetup, AddrAlloc, Owner, Scene, TargetSetup};
pub use script::Script;
pub use words::TargetLabels;
mod outcome;

pub use outcome::{
    scenario_report, scenario_report_with, simulate, simulate_over, simulate_with, time_limit,
    time_limit_with,
};
