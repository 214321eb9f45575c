//! Scenario and target files: YAML → raw structs → one compile step → a validated plan
//! (parse, then compile once). Every error is a [`Diagnostic`] with file, line, column and, for a
//! misspelt name, the nearest valid one.
//!
//! Files: `yaml` (the only user of the YAML library), `raw` (the file as written),
//! `compile` (raw → [`Plan`], with `flip` and `expect` for those parts), `plan` (the plan
//! types), `target` (target profiles) with `quirk` (their quirk lists), `external` and
//! `accounts` (a real system's profile), `registrar` (SIP
//! URI of an external target), `diagnostic`, `files` (finding and reading files).

mod accounts;
mod compile;
mod diagnostic;
mod expect;
mod external;
mod files;
mod flip;
mod plan;
mod quirk;
mod raw;
mod registrar;
mod schema;
mod target;
mod yaml;

#[cfg(test)]
mod compile_tests;
#[cfg(test)]
mod expect_tests;
#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod target_tests;

pub use compile::{DEFAULT_USER, compile_scenario};
pub use diagnostic::{Diagnostic, Diagnostics, io_reason, nearest, plain_os_error};
pub(crate) use files::read_file;
pub use files::{CheckedFile, collect_scenarios, load_any, load_scenario};
pub use plan::{
    Bound, CodecName, DEFAULT_SETTLE, DEFAULT_TIMEOUT, DeviceId, DevicePlan, Expectations,
    FlipMethod, NetworkProfile, Party, PartyPlan, Plan, ReplacesSupport, SETTLE_RANGE, StepPlan,
    TIMEOUT_RANGE,
};
pub use raw::STEP_NAMES;
pub use registrar::{Registrar, RegistrarError, SipScheme, Transport, parse_registrar};
pub use schema::{scenario_schema, target_schema};
pub use target::{
    Account, CdrFields, CdrFile, CdrFormat, Customer, DEFAULT_FEATURE_CODE, DEFAULT_TIMEOUTS,
    EmbeddedTarget, ExternalTarget, Quirk, Target, Timeouts, TlsSettings, compile_target,
    load_target,
};
