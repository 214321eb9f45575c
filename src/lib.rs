//! flipcheck: proves call flip works on a phone system before it is rolled out.
//!
//! Data flows one way: scenario file → plan → roles driven by the simulator or the live
//! driver → timeline → measurements → report. `core` is sans-IO and imports nothing above it.

pub mod app;
pub mod capture;
pub mod cli;
pub mod core;
pub mod driver;
pub mod locate;
pub mod measure;
pub mod report;
pub mod roles;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod timeline;
