//! What a final refusal says beyond its status, that a person acts on: when to come back
//! (a 503's Retry-After) and where the target sends us instead (a 3xx's Contact).

use crate::core::sip::Message;

/// The parts of a refusal its status and reason phrase do not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusalDetail {
    /// `Retry-After` seconds (RFC 3261 §20.33), on a 503 or any other refusal.
    pub retry_after: Option<u32>,
    /// The first Contact of a 3xx: where the target redirects the request (RFC 3261
    /// §21.3). Never followed: see the README (Targets).
    pub redirect: Option<String>,
}

impl RefusalDetail {
    pub fn of(msg: &Message) -> RefusalDetail {
        let redirect = match msg.status() {
            Some(300..=399) => msg.contact().map(|c| c.uri),
            _ => None,
        };
        RefusalDetail {
            retry_after: retry_after(msg),
            redirect,
        }
    }
}

/// The seconds of a `Retry-After` (RFC 3261 §20.33: `delta-seconds [comment] *(; param)`).
pub(super) fn retry_after(msg: &Message) -> Option<u32> {
    let value = msg.header("Retry-After")?;
    value.split([';', ' ', '(']).next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(text: &str) -> Message {
        Message::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn retry_after_and_redirect_are_read_where_they_apply() {
        let busy = response(
            "SIP/2.0 503 Service Unavailable\r\nRetry-After: 18000 (Maintenance);duration=3600\r\n\r\n",
        );
        assert_eq!(
            RefusalDetail::of(&busy),
            RefusalDetail {
                retry_after: Some(18000),
                redirect: None
            }
        );
        let moved =
            response("SIP/2.0 302 Moved Temporarily\r\nContact: <sip:alice@192.0.2.7>\r\n\r\n");
        assert_eq!(
            RefusalDetail::of(&moved).redirect.as_deref(),
            Some("sip:alice@192.0.2.7")
        );
        // A Contact on a 486 is no redirect.
        let busy_here = response("SIP/2.0 486 Busy Here\r\nContact: <sip:alice@192.0.2.7>\r\n\r\n");
        assert_eq!(RefusalDetail::of(&busy_here), RefusalDetail::default());
    }
}
