//! RFC violations that a parsed message still carries.

use super::message::Message;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Breaks an RFC MUST.
    Error,
    /// Legal but suspicious, or legacy syntax.
    Warning,
}

/// One problem found in a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable machine-readable name, e.g. `content-length-mismatch`.
    pub rule: &'static str,
    /// What exactly is wrong, for people.
    pub message: String,
}

impl Finding {
    /// The severity of this finding's rule.
    pub fn severity(&self) -> Severity {
        Severity::Error
    }
}

/// Lists the RFC violations in `msg`.
pub fn validate(msg: &Message) -> Vec<Finding> {
    let _ = msg;
    Vec::new()
}
