//! The run report: one serde model ([`Report`]), expectation checking ([`check_flip`]), and
//! renderers that each write the same model to an `impl Write`.
//!
//! Renderers live one per file (`json`, `console`, `junit`, `markdown`; `html` joins them with
//! the same `render(report, out)` signature) and never decide a verdict themselves.

mod check;
pub mod console;
pub mod json;
pub mod junit;
pub mod markdown;
mod model;
mod text;

#[cfg(test)]
pub(crate) mod test_fixtures;

pub use check::{bound_text, check_flip, number};
pub use model::{
    CodecReport, Continuity, DialogContinuity, Evidence, ExpectationResult, FlipReport,
    HarnessReport, Keyword, Outcome, Refusal, Report, ScenarioReport, SessionContinuity,
    SipFinding, Summary, TargetInfo, Verdict,
};
