//! Why a SIP server could not be located, in words for the person running the test.

use std::time::Duration;

/// Why [`super::Resolver::locate`] found no candidate. `server` fields read like
/// "DNS server 127.0.0.53:53" (or "DNS servers a:53, b:53"), the ones that were asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError {
    /// Every step of RFC 3263 §4 came back empty; `asked` lists what was looked up.
    #[error("no SIP server found for {host}: no {asked} records")]
    NotFound { host: String, asked: String },

    /// SRV records named servers whose names have no address (RFC 2782: "there MUST be
    /// one or more address records for this name").
    #[error(
        "no SIP server found for {host}: the SRV records name {targets}, which have no A/AAAA records"
    )]
    NoAddresses { host: String, targets: String },

    /// Every SRV record for the transports looked up has target `.` (RFC 2782: the service
    /// is decidedly not available at this domain).
    #[error(
        "no SIP server found for {host}: {names} says the service is not available (SRV target \".\")"
    )]
    Declined { host: String, names: String },

    /// A query got no answer within the per-query bound.
    #[error("{server} did not answer within {} s ({query})", secs(*after))]
    NoAnswer {
        server: String,
        query: String,
        after: Duration,
    },

    /// A query failed: an error code (SERVFAIL, REFUSED, …) or a socket error.
    #[error("{server} could not answer {query}: {reason}")]
    DnsFailed {
        server: String,
        query: String,
        reason: String,
    },

    /// All the lookups together took longer than the total bound.
    #[error("locating {host} took longer than {} s in all; {server} is too slow", secs(*after))]
    TooSlow {
        host: String,
        server: String,
        after: Duration,
    },

    /// The host is not something DNS can be asked about.
    #[error("`{host}` is not a valid DNS name: {reason}")]
    BadName { host: String, reason: String },

    /// `sips:` requires TLS on every hop (RFC 3261 §26.2.2); UDP cannot carry it.
    #[error("sips:{host} needs TLS, which transport=udp cannot carry (RFC 3261 §26.2.2)")]
    SipsOverUdp { host: String },

    /// The system's resolver configuration could not be read or used.
    #[error("cannot use the system's DNS configuration (/etc/resolv.conf): {0}")]
    SystemConfig(String),
}

/// "2", "0.5": seconds without a trailing ".0" for whole numbers.
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        let e = LocateError::NoAnswer {
            server: "DNS server 127.0.0.53:53".into(),
            query: "NAPTR acme.test".into(),
            after: Duration::from_secs(2),
        };
        assert_eq!(
            e.to_string(),
            "DNS server 127.0.0.53:53 did not answer within 2 s (NAPTR acme.test)"
        );
        let e = LocateError::TooSlow {
            host: "acme.test".into(),
            server: "DNS server 127.0.0.53:53".into(),
            after: Duration::from_millis(6500),
        };
        assert!(e.to_string().contains("longer than 6.5 s"), "{e}");
    }
}
