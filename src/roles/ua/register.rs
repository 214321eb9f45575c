//! Registration (RFC 3261 §10): REGISTER with digest auth, refreshed at half the granted
//! time, and removed at the end of a run.

use super::{CTX_REGISTER, CTX_UNREGISTER, UaEvent, UserAgent};
use crate::core::Time;
use crate::core::sip::Message;

impl UserAgent {
    /// REGISTER our contact (RFC 3261 §10.2); the 401 challenge is answered automatically.
    pub fn register(&mut self, now: Time) {
        self.now = now;
        self.register_auth = 0;
        self.register_error = None;
        self.send_register(now, 3600, None);
    }

    /// Remove our binding (Expires: 0), e.g. at the end of a run or on Ctrl-C.
    pub fn unregister(&mut self, now: Time) {
        self.refresh_at = Time::NEVER;
        if self.registered {
            self.register_auth = 0;
            self.send_register(now, 0, None);
        }
    }

    fn send_register(&mut self, now: Time, expires: u32, auth: Option<(&str, String)>) {
        self.register_cseq += 1;
        let registrar = format!("{}:{}", self.scheme(), self.cfg.domain);
        let mut msg = Message::request("REGISTER", &registrar);
        msg.push_header("Max-Forwards", "70");
        let mut from = crate::core::sip::NameAddr::new(&self.aor());
        from.set_param("tag", Some(&self.register_tag));
        msg.push_header("From", &from.to_string());
        msg.push_header("To", &format!("<{}>", self.aor()));
        msg.push_header("Call-ID", &self.register_call_id);
        msg.push_header("CSeq", &format!("{} REGISTER", self.register_cseq));
        msg.push_header(
            "Contact",
            &format!("<{}>;expires={expires}", self.contact_uri()),
        );
        msg.push_header("Expires", &expires.to_string());
        msg.push_header("User-Agent", &format!("flipcheck-{}", self.cfg.name));
        if let Some((header, value)) = auth {
            msg.push_header(header, &value);
        }
        msg.push_header("Content-Length", "0");
        let ctx = if expires == 0 {
            CTX_UNREGISTER
        } else {
            CTX_REGISTER
        };
        self.send(now, msg, self.cfg.proxy, ctx);
    }

    pub(super) fn handle_register_response(
        &mut self,
        now: Time,
        msg: Message,
        ctx: u64,
        request: Message,
    ) {
        let status = msg.status().unwrap_or(500);
        match status {
            100..=199 => {}
            200..=299 => {
                self.registered = ctx == CTX_REGISTER;
                self.register_error = None;
                self.transport_error = None;
                // Refresh at half the granted time (RFC 3261 §10.2.4), so a long run
                // never loses its binding. The registrar's figure wins over ours.
                let contact = self.contact_uri();
                let granted = msg
                    .contacts()
                    .iter()
                    .find(|c| c.uri == contact)
                    .and_then(|c| c.param("expires").and_then(|e| e.parse().ok()))
                    .or(msg.expires())
                    .unwrap_or(3600u32)
                    .max(2);
                self.refresh_at = if self.registered {
                    now + std::time::Duration::from_secs(u64::from(granted / 2))
                } else {
                    Time::NEVER
                };
                self.events.push_back(if ctx == CTX_REGISTER {
                    UaEvent::Registered
                } else {
                    UaEvent::Unregistered
                });
            }
            401 | 407 if self.register_auth < 2 => {
                self.register_auth += 1;
                let Some(credentials) = self.credentials(&msg, &request) else {
                    self.register_failed(status);
                    return;
                };
                let expires = request.expires().unwrap_or(3600);
                self.send_register(now, expires, Some(credentials));
            }
            _ => self.register_failed(status),
        }
    }
}
