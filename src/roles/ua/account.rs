//! Who this party is on the target, as its account plan says: the address of record (often
//! not the auth username), the digest credentials it answers challenges with (only for its
//! own realm), the outbound proxy its requests outside a dialog are routed through, and the
//! address it advertises in Contact and SDP when it sits behind NAT.

use std::net::{IpAddr, SocketAddr};

use super::UserAgent;
use crate::core::sip::{Challenge, Message, Transport, authorize, sip_uri};

/// What a target's account plan sets beyond username and password. The default is a
/// plain account: AOR `USERNAME@DOMAIN`, any realm, no outbound proxy, our own address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaOptions {
    /// The address of record (RFC 3261 §10.2: To and From of REGISTER, From of our
    /// calls), e.g. `sip:alice@acme.test` for auth username `1001`.
    pub aor: Option<String>,
    /// The From URI of our calls when it is not the AOR: a trunk's number, or a caller ID
    /// presented instead of the account's own.
    pub from: Option<String>,
    /// Answer only challenges of this realm (RFC 3261 §22.1): credentials are for one
    /// protection space, and a proxy on the way may challenge for its own.
    pub realm: Option<String>,
    /// The expiry asked for in REGISTER (RFC 3261 §10.2.1); refreshed at half the granted.
    pub register_expires: u32,
    /// A `Route` value for every request outside a dialog: the outbound proxy, loose
    /// routing (RFC 3261 §8.1.2), e.g. `<sip:edge.acme.test;lr>`.
    pub outbound_route: Option<String>,
    /// The address written in Contact and SDP instead of our own (a harness behind NAT
    /// with a known public address); the ports stay ours.
    pub advertised_ip: Option<IpAddr>,
}

impl Default for UaOptions {
    fn default() -> Self {
        UaOptions {
            aor: None,
            from: None,
            realm: None,
            register_expires: DEFAULT_EXPIRES,
            outbound_route: None,
            advertised_ip: None,
        }
    }
}

/// RFC 3261 §10.2.1.1's suggestion, when the account plan names none.
pub const DEFAULT_EXPIRES: u32 = 3600;

impl UserAgent {
    /// Our address of record.
    pub fn aor(&self) -> String {
        match &self.cfg.options.aor {
            Some(aor) => aor.clone(),
            None => self.uri_at(&self.cfg.username),
        }
    }

    /// Who our calls are from.
    pub(super) fn caller(&self) -> String {
        self.cfg.options.from.clone().unwrap_or_else(|| self.aor())
    }

    /// `user` at the AOR's domain, in our URI scheme.
    pub(super) fn uri_at(&self, user: &str) -> String {
        format!("{}:{user}@{}", self.scheme(), self.cfg.domain)
    }

    pub(super) fn scheme(&self) -> &'static str {
        if self.sips() { "sips" } else { "sip" }
    }

    pub(super) fn sips(&self) -> bool {
        self.cfg.sips && self.cfg.transport == Transport::Tls
    }

    /// The Contact URI this party puts in its requests.
    pub fn contact(&self) -> String {
        self.contact_uri()
    }

    pub(super) fn contact_uri(&self) -> String {
        let user = Some(self.cfg.username.as_str());
        let addr = self.advertised(self.cfg.sip_addr);
        sip_uri(user, addr, self.cfg.transport, self.sips())
    }

    /// `addr` as the target should see it: on the advertised address when one is set.
    pub(super) fn advertised(&self, addr: SocketAddr) -> SocketAddr {
        match self.cfg.options.advertised_ip {
            Some(ip) => SocketAddr::new(ip, addr.port()),
            None => addr,
        }
    }

    /// Adds the outbound proxy's `Route` to a request outside a dialog.
    pub(super) fn push_route(&self, msg: &mut Message) {
        if let Some(route) = &self.cfg.options.outbound_route {
            msg.push_header("Route", route);
        }
    }

    /// Credentials answering a 401 or 407 (RFC 3261 §22.2, §22.3): the header to add and
    /// its value, for the first challenge we support (RFC 8760 §2.4: most preferred first)
    /// in our realm; else what kept us from answering, in words.
    pub(super) fn credentials(
        &mut self,
        challenge: &Message,
        request: &Message,
    ) -> Result<(&'static str, String), String> {
        let (challenge_header, auth_header) = if challenge.status() == Some(407) {
            ("Proxy-Authenticate", "Proxy-Authorization")
        } else {
            ("WWW-Authenticate", "Authorization")
        };
        let offered: Vec<Challenge> = challenge
            .header_values(challenge_header)
            .iter()
            .filter_map(|h| Challenge::parse(h).ok())
            .collect();
        if offered.is_empty() {
            let raw = challenge.header(challenge_header).unwrap_or("none");
            return Err(raw.to_string());
        }
        let realm = self.cfg.options.realm.as_deref();
        let Some(chosen) = offered.iter().find(|c| realm.is_none_or(|r| c.realm == r)) else {
            let realms: Vec<String> = offered.iter().map(|c| format!("\"{}\"", c.realm)).collect();
            return Err(format!(
                "realm {}; the account is for realm \"{}\"",
                realms.join(", "),
                realm.unwrap_or_default()
            ));
        };
        if self.cfg.password.is_empty() {
            return Err(format!(
                "realm \"{}\"; {} has no credentials",
                chosen.realm, self.cfg.name
            ));
        }
        let (Some(method), Some(uri)) = (request.method(), request.request_uri()) else {
            return Err("a challenge to a request we cannot read back".into());
        };
        let cnonce = self.stack.random_hex(1);
        let (user, password) = (&self.cfg.username, &self.cfg.password);
        let resp = authorize(chosen, user, password, method, uri, &cnonce, 1);
        Ok((auth_header, resp.to_header_value()))
    }
}
