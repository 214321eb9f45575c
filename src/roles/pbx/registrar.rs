//! The registrar (RFC 3261 §10.3) and the digest authentication every request to the PBX
//! passes through. Several contacts per user: that is what makes one identity with a desk
//! phone, a softphone and a mobile possible.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;

use super::Numbering;
use crate::core::Time;
use crate::core::sip::{
    Algorithm, Challenge, DigestResponse, Message, NonceBook, NonceCheck, Transport, response_to,
    uri_addr, uri_user, verify,
};

/// One registered contact of a user.
#[derive(Debug, Clone)]
pub struct Binding {
    pub contact: String,
    /// Where requests for this contact go: the Contact URI's address (RFC 3261 §10.3),
    /// or the REGISTER's source when the Contact names no IP address (a host name, or a
    /// private address the phone cannot be reached at is out of scope on loopback). On
    /// TCP and TLS always the REGISTER's source: the connection the phone opened, which
    /// is the only way back to a phone behind NAT or without a certificate of its own (as
    /// RFC 5626 §5.3 does for its flows).
    pub addr: SocketAddr,
    /// The transport the REGISTER came on, which requests to the contact take too.
    pub transport: Transport,
    pub expires_at: Time,
}

/// Outcome of checking a request's credentials.
pub enum AuthOutcome {
    /// The AOR user of the authenticated account.
    Ok(String),
    /// Send this challenge response (401/407) and stop.
    Challenge(Message),
    /// Wrong user for the AOR or bad credentials after a challenge: refuse.
    Forbidden(Message),
}

pub struct Registrar {
    /// Digest algorithms offered, most preferred first.
    algorithms: Vec<Algorithm>,
    realm: String,
    /// Digest username → (AOR user, password).
    accounts: HashMap<String, (String, String)>,
    /// Every dialled name or number → the AOR user it reaches.
    reaches: HashMap<String, String>,
    nonces: NonceBook,
    bindings: HashMap<String, Vec<Binding>>,
}

impl Registrar {
    pub fn new(
        realm: &str,
        users: &[(String, String)],
        numbering: &[Numbering],
        algorithms: &[Algorithm],
    ) -> Registrar {
        let algorithms = if algorithms.is_empty() {
            vec![Algorithm::Md5]
        } else {
            algorithms.to_vec()
        };
        let plan = |user: &str| numbering.iter().find(|n| n.user == user);
        let mut accounts = HashMap::new();
        let mut reaches = HashMap::new();
        for (user, password) in users {
            let auth = plan(user).map_or(user.as_str(), |n| n.auth_username.as_str());
            accounts.insert(auth.to_string(), (user.clone(), password.clone()));
            reaches.insert(user.clone(), user.clone());
            if let Some(ext) = plan(user).and_then(|n| n.extension.as_ref()) {
                reaches.insert(ext.clone(), user.clone());
            }
        }
        Registrar {
            algorithms,
            realm: realm.to_string(),
            accounts,
            reaches,
            nonces: NonceBook::new(Duration::from_secs(300)),
            bindings: HashMap::new(),
        }
    }

    /// The AOR user a dialled name or number reaches, if any.
    pub fn reaches(&self, dialled: &str) -> Option<&str> {
        self.reaches.get(dialled).map(String::as_str)
    }

    /// Live bindings of a user, oldest first.
    pub fn contacts(&self, user: &str, now: Time) -> Vec<Binding> {
        self.bindings
            .get(user)
            .map(|b| b.iter().filter(|b| b.expires_at > now).cloned().collect())
            .unwrap_or_default()
    }

    /// Checks digest credentials (RFC 3261 §22.4). REGISTER is challenged with 401 and
    /// WWW-Authenticate, everything else with 407 and Proxy-Authenticate (§22.3).
    pub fn authenticate(&mut self, now: Time, req: &Message, rng: &mut StdRng) -> AuthOutcome {
        let method = req.method().unwrap_or("").to_string();
        let auth_header = if method == "REGISTER" {
            "Authorization"
        } else {
            "Proxy-Authorization"
        };
        let mut stale = false;
        if let Some(resp) = req
            .header(auth_header)
            .and_then(|h| DigestResponse::parse(h).ok())
        {
            let nonce_ok = self.nonces.check(now, &resp.nonce, resp.nc.as_deref());
            match (nonce_ok, self.accounts.get(&resp.username)) {
                (NonceCheck::Valid, Some((user, password)))
                    if resp.realm == self.realm && self.algorithms.contains(&resp.algorithm) =>
                {
                    if verify(&resp, password, &method) {
                        return AuthOutcome::Ok(user.clone());
                    }
                    let mut rsp = response_to(req, 403, Some("auth"));
                    rsp.push_header("Content-Length", "0");
                    return AuthOutcome::Forbidden(rsp);
                }
                (NonceCheck::Stale, _) => stale = true,
                _ => {}
            }
        }
        AuthOutcome::Challenge(self.challenge(now, req, rng, stale))
    }

    /// A fresh challenge to `req`: 401 with WWW-Authenticate to REGISTER, 407 with
    /// Proxy-Authenticate to anything else (RFC 3261 §22.3). `stale` tells a client whose
    /// nonce expired that its password was right (RFC 7616 §3.3).
    pub fn challenge(
        &mut self,
        now: Time,
        req: &Message,
        rng: &mut StdRng,
        stale: bool,
    ) -> Message {
        let (code, challenge_header) = if req.method() == Some("REGISTER") {
            (401, "WWW-Authenticate")
        } else {
            (407, "Proxy-Authenticate")
        };
        // One challenge per algorithm, most preferred first (RFC 8760 §2.4, RFC 7616 §3.7):
        // a client takes the first it supports.
        let nonce = self.nonces.issue(now, rng);
        let mut rsp = response_to(req, code, Some("auth"));
        for &algorithm in &self.algorithms {
            let challenge = Challenge {
                realm: self.realm.clone(),
                nonce: nonce.clone(),
                opaque: None,
                algorithm,
                qop_auth: true,
                stale,
            };
            rsp.push_header(challenge_header, &challenge.to_header_value());
        }
        rsp.push_header("Content-Length", "0");
        rsp
    }

    /// Applies an authenticated REGISTER and returns the 200 (or an error response).
    pub fn register(
        &mut self,
        now: Time,
        req: &Message,
        (source, transport): (SocketAddr, Transport),
        account: &str,
    ) -> Message {
        let Some(aor_user) = req.to_addr().and_then(|t| uri_user(&t.uri)) else {
            return empty(req, 400);
        };
        if aor_user != account {
            // A user may only register their own AOR.
            return empty(req, 403);
        }
        let default_expires = req.expires().unwrap_or(3600);
        let list = self.bindings.entry(aor_user.clone()).or_default();
        let contacts_raw = req.header_values("Contact");
        if contacts_raw.iter().any(|c| c.trim() == "*") {
            // RFC 3261 §10.2.2: `Contact: *` with Expires 0 removes every binding.
            list.clear();
        } else {
            for contact in req.contacts() {
                let expires = contact
                    .param("expires")
                    .and_then(|e| e.parse().ok())
                    .unwrap_or(default_expires)
                    .min(7200);
                list.retain(|b| b.contact != contact.uri);
                if expires > 0 {
                    let expires_at = now + Duration::from_secs(expires.into());
                    let addr = match uri_addr(&contact.uri) {
                        Some(addr) if !transport.is_reliable() => addr,
                        _ => source,
                    };
                    list.push(Binding {
                        contact: contact.uri.clone(),
                        addr,
                        transport,
                        expires_at,
                    });
                }
            }
        }
        list.retain(|b| b.expires_at > now);
        let mut ok = response_to(req, 200, Some("reg"));
        for b in list.iter() {
            let secs = (b.expires_at - now).as_secs();
            ok.push_header("Contact", &format!("<{}>;expires={secs}", b.contact));
        }
        ok.push_header("Content-Length", "0");
        ok
    }
}

fn empty(req: &Message, code: u16) -> Message {
    let mut rsp = response_to(req, code, Some("reg"));
    rsp.push_header("Content-Length", "0");
    rsp
}
