//! Findings: RFC violations in what peers sent, counted once per peer and rule, so a
//! compatibility report can list them without a flood of garbage growing memory.

use ::core::net::SocketAddr;

/// An RFC violation in a message a peer sent (or a datagram we could not parse at all),
/// counted once per peer and rule: what a compatibility report lists as findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFinding {
    pub peer: SocketAddr,
    pub rule: String,
    /// The first occurrence's detail.
    pub detail: String,
    pub count: u32,
}

/// Distinct (peer, rule) findings kept per endpoint; a flood of garbage cannot grow memory.
const MAX_FINDINGS: usize = 64;

/// Counts a finding once per peer and rule, keeping the first occurrence's detail.
pub(super) fn record_finding(
    findings: &mut Vec<PeerFinding>,
    peer: SocketAddr,
    rule: &str,
    detail: String,
) {
    if let Some(f) = findings
        .iter_mut()
        .find(|f| f.peer == peer && f.rule == rule)
    {
        f.count = f.count.saturating_add(1);
    } else if findings.len() < MAX_FINDINGS {
        let rule = rule.to_string();
        findings.push(PeerFinding {
            peer,
            rule,
            detail,
            count: 1,
        });
    }
}
