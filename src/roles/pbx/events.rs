//! What the PBX tells its operator as it happens, one line per event: a call answered, a
//! flip that moved a call, a flip request refused (with who asked, as authenticated, and
//! the From it claimed when that differs). `flipcheck pbx` writes each on stderr; the
//! tests use them to know a call is up before a foreign device acts on it.

use std::fmt;

use super::Pbx;
use crate::core::sip::{Message, uri_user};

/// One event of the PBX's call handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PbxEvent {
    /// A device answered a call: `caller` and the device of `callee` talk now.
    Answered {
        session_id: String,
        caller: String,
        callee: String,
        device: String,
    },
    /// A flip moved `user`'s call from one device to another.
    Flipped {
        session_id: String,
        user: String,
        from_device: String,
        to_device: String,
    },
    /// A flip request was refused with `status`: `account` is who authenticated, `claimed`
    /// the From user when it names someone else, `device` the requester's Contact.
    FlipRefused {
        account: String,
        claimed: Option<String>,
        device: String,
        status: u16,
        why: String,
    },
}

impl fmt::Display for PbxEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PbxEvent::Answered {
                session_id,
                caller,
                callee,
                device,
            } => write!(
                f,
                "call answered: {caller} → {callee} on {device} (session {session_id})"
            ),
            PbxEvent::Flipped {
                session_id,
                user,
                from_device,
                to_device,
            } => write!(
                f,
                "call flipped: {user}'s call moved from {from_device} to {to_device} (session {session_id})"
            ),
            PbxEvent::FlipRefused {
                account,
                claimed,
                device,
                status,
                why,
            } => {
                write!(f, "flip refused: {account}")?;
                if let Some(claimed) = claimed {
                    write!(f, " (From {claimed})")?;
                }
                write!(f, " dialled the flip code from {device}: {status} {why}")
            }
        }
    }
}

impl Pbx {
    /// The events since the last call, oldest first.
    pub fn drain_events(&mut self) -> impl Iterator<Item = PbxEvent> + '_ {
        self.events.drain(..)
    }

    /// Records that the flip request `msg` of `account` was refused with `status`.
    pub(super) fn note_flip_refused(
        &mut self,
        msg: &Message,
        account: &str,
        status: u16,
        why: &str,
    ) {
        let claimed = msg
            .from_addr()
            .and_then(|f| uri_user(&f.uri))
            .filter(|user| user != account && self.registrar.reaches(user) != Some(account));
        self.events.push(PbxEvent::FlipRefused {
            account: account.to_string(),
            claimed,
            device: msg.contact().map(|c| c.uri).unwrap_or_default(),
            status,
            why: why.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_is_one_line_naming_who_and_what() {
        let answered = PbxEvent::Answered {
            session_id: "ab12".into(),
            caller: "customer".into(),
            callee: "alice".into(),
            device: "sip:alice@127.0.0.1:5062".into(),
        };
        assert_eq!(
            answered.to_string(),
            "call answered: customer → alice on sip:alice@127.0.0.1:5062 (session ab12)"
        );
        let flipped = PbxEvent::Flipped {
            session_id: "ab12".into(),
            user: "alice".into(),
            from_device: "sip:alice@h:1".into(),
            to_device: "sip:alice@h:2".into(),
        };
        assert_eq!(
            flipped.to_string(),
            "call flipped: alice's call moved from sip:alice@h:1 to sip:alice@h:2 (session ab12)"
        );
        let spoofed = PbxEvent::FlipRefused {
            account: "bob".into(),
            claimed: Some("alice".into()),
            device: "sip:alice@h:3".into(),
            status: 481,
            why: "no call to pull".into(),
        };
        assert_eq!(
            spoofed.to_string(),
            "flip refused: bob (From alice) dialled the flip code from sip:alice@h:3: 481 no call to pull"
        );
        for event in [answered, flipped, spoofed] {
            assert!(!event.to_string().contains('\n'), "{event}");
        }
    }
}
