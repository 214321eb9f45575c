//! HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617, RFC 7616 for
//! SHA-256): challenges and credentials as header values, the client's `authorize`, the
//! server's `verify`, and a nonce book that spots stale nonces and replays.
//!
//! Only `qop=auth` and the legacy no-qop form (RFC 2069, still sent by some PBXs) are
//! supported; `auth-int` and the `-sess` algorithms are refused with an error.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

use super::auth_params::{AuthItem, LexError, quote, split_items};
use crate::core::Time;

/// Why a challenge or credentials header could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Digest` item in the header value; carries the first scheme seen (e.g. `Basic`).
    #[error("unsupported authentication scheme {0:?}")]
    UnsupportedScheme(String),
    /// A parameter the grammar requires is absent.
    #[error("missing digest parameter {0}")]
    MissingParam(&'static str),
    /// An algorithm other than MD5 or SHA-256 (e.g. `MD5-sess`, `SHA-512-256`).
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// `qop` offered without `auth` (e.g. only `auth-int`), or an unknown qop in credentials.
    #[error("unsupported qop {0:?}")]
    UnsupportedQop(String),
    /// The header value is not `scheme param=value, ...`.
    #[error("malformed authentication header: {0}")]
    Malformed(&'static str),
}

impl From<LexError> for AuthError {
    fn from(e: LexError) -> Self {
        match e {
            LexError::UnterminatedQuote => AuthError::Malformed("unterminated quoted string"),
            LexError::NoScheme => AuthError::Malformed("parameter before any scheme"),
        }
    }
}

/// The digest hash function (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// The RFC 2617 default, and what nearly every SIP server still uses.
    #[default]
    Md5,
    /// RFC 7616 / RFC 8760.
    Sha256,
}

impl Algorithm {
    /// The token on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn parse(s: &str) -> Result<Self, AuthError> {
        if s.eq_ignore_ascii_case("MD5") {
            Ok(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Ok(Algorithm::Sha256)
        } else {
            Err(AuthError::UnsupportedAlgorithm(s.to_string()))
        }
    }

    /// Lower-case hex of the hash of `data` (RFC 7616 §3.4: `H(data)`).
    fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => to_hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0x0f)] as char);
    }
    s
}

/// A Digest challenge from `WWW-Authenticate` (401) or `Proxy-Authenticate` (407).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    /// Must be echoed unchanged in the credentials (RFC 2617 §3.2.1).
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The server offered `qop=auth`; `false` means the legacy RFC 2069 computation.
    pub qop_auth: bool,
    /// The previous nonce was merely too old: retry without asking the user again.
    pub stale: bool,
}

impl Challenge {
    /// Parses the first Digest challenge of a header value; other schemes are skipped.
    pub fn parse(header_value: &str) -> Result<Challenge, AuthError> {
        let item = first_digest(header_value)?;
        let qop_auth = match item.get("qop") {
            None => false,
            Some(list) => {
                // RFC 2617 §3.2.1: a quoted, comma-separated list, e.g. "auth,auth-int".
                if list
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    true
                } else {
                    return Err(AuthError::UnsupportedQop(list.to_string()));
                }
            }
        };
        Ok(Challenge {
            realm: required(&item, "realm")?,
            nonce: required(&item, "nonce")?,
            opaque: item.get("opaque").map(str::to_string),
            algorithm: item
                .get("algorithm")
                .map_or(Ok(Algorithm::Md5), Algorithm::parse)?,
            qop_auth,
            stale: item
                .get("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The header value, `Digest realm="...", nonce="...", ...` (RFC 2617 §3.2.1 order).
    pub fn to_header_value(&self) -> String {
        let mut s = format!(
            "Digest realm={}, nonce={}",
            quote(&self.realm),
            quote(&self.nonce)
        );
        if let Some(o) = &self.opaque {
            s.push_str(&format!(", opaque={}", quote(o)));
        }
        s.push_str(&format!(", algorithm={}", self.algorithm));
        if self.qop_auth {
            s.push_str(", qop=\"auth\"");
        }
        if self.stale {
            s.push_str(", stale=TRUE");
        }
        s
    }
}

fn first_digest(header_value: &str) -> Result<AuthItem, AuthError> {
    let items = split_items(header_value)?;
    let first_scheme = items.first().map(|i| i.scheme.clone());
    items
        .into_iter()
        .find(|i| i.scheme.eq_ignore_ascii_case("Digest"))
        .ok_or_else(|| AuthError::UnsupportedScheme(first_scheme.unwrap_or_default()))
}

fn required(item: &AuthItem, name: &'static str) -> Result<String, AuthError> {
    item.get(name)
        .map(str::to_string)
        .ok_or(AuthError::MissingParam(name))
}

/// Digest credentials from `Authorization` / `Proxy-Authorization` (RFC 3261 §22.4).
/// Holds the response hash, never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestResponse {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    /// The Request-URI as the client wrote it; part of the hash (RFC 3261 §22.4).
    pub uri: String,
    /// Lower-case hex digest.
    pub response: String,
    pub algorithm: Algorithm,
    pub cnonce: Option<String>,
    /// Nonce count, 8 hex digits (RFC 2617 §3.2.2).
    pub nc: Option<String>,
    /// `Some("auth")` or `None` (legacy).
    pub qop: Option<String>,
    pub opaque: Option<String>,
}

impl DigestResponse {
    /// Parses the first Digest credentials of a header value.
    pub fn parse(header_value: &str) -> Result<Self, AuthError> {
        let item = first_digest(header_value)?;
        let qop = item.get("qop").map(str::to_string);
        if let Some(q) = &qop
            && !q.eq_ignore_ascii_case("auth")
        {
            return Err(AuthError::UnsupportedQop(q.clone()));
        }
        Ok(DigestResponse {
            username: required(&item, "username")?,
            realm: required(&item, "realm")?,
            nonce: required(&item, "nonce")?,
            uri: required(&item, "uri")?,
            response: required(&item, "response")?,
            algorithm: item
                .get("algorithm")
                .map_or(Ok(Algorithm::Md5), Algorithm::parse)?,
            cnonce: item.get("cnonce").map(str::to_string),
            nc: item.get("nc").map(str::to_string),
            qop,
            opaque: item.get("opaque").map(str::to_string),
        })
    }

    /// The header value; `qop` and `nc` unquoted as RFC 2617 §3.2.2 requires.
    pub fn to_header_value(&self) -> String {
        let mut s = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm
        );
        if let Some(c) = &self.cnonce {
            s.push_str(&format!(", cnonce={}", quote(c)));
        }
        if let Some(nc) = &self.nc {
            s.push_str(&format!(", nc={nc}"));
        }
        if let Some(q) = &self.qop {
            s.push_str(&format!(", qop={q}"));
        }
        if let Some(o) = &self.opaque {
            s.push_str(&format!(", opaque={}", quote(o)));
        }
        s
    }
}

/// A username and password, with a `Debug` that hides the password so credentials can sit
/// in configuration structs that get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The request-digest (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1):
/// `H(H(A1):nonce:nc:cnonce:qop:H(A2))`, or `H(H(A1):nonce:H(A2))` without qop.
#[allow(clippy::too_many_arguments)] // each argument is one field of the RFC formula
fn request_digest(
    alg: Algorithm,
    username: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str)>, // (nc, cnonce) when qop=auth
) -> String {
    let ha1 = alg.hex(&format!("{username}:{realm}:{password}"));
    let ha2 = alg.hex(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => alg.hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => alg.hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// Builds the credentials answering `ch` for a request `method uri` (the Request-URI).
/// `cnonce` and `nc` are used only when the challenge offered `qop=auth`.
pub fn authorize(
    ch: &Challenge,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> DigestResponse {
    let nc_hex = format!("{nc:08x}");
    let qop = ch.qop_auth.then_some((nc_hex.as_str(), cnonce));
    let response = request_digest(
        ch.algorithm,
        username,
        &ch.realm,
        password,
        method,
        uri,
        &ch.nonce,
        qop,
    );
    DigestResponse {
        username: username.to_string(),
        realm: ch.realm.clone(),
        nonce: ch.nonce.clone(),
        uri: uri.to_string(),
        response,
        algorithm: ch.algorithm,
        cnonce: ch.qop_auth.then(|| cnonce.to_string()),
        nc: ch.qop_auth.then_some(nc_hex),
        qop: ch.qop_auth.then(|| "auth".to_string()),
        opaque: ch.opaque.clone(),
    }
}

/// Server side: recomputes the digest from `resp` and the stored password and compares in
/// constant time. Nonce freshness and replay are the [`NonceBook`]'s job.
/// For a request, `method` is its method; RFC 3261 §22.4: for ACK/CANCEL use the INVITE's.
pub fn verify(resp: &DigestResponse, password: &str, method: &str) -> bool {
    let qop = match (&resp.qop, &resp.nc, &resp.cnonce) {
        (Some(q), Some(nc), Some(cn)) if q.eq_ignore_ascii_case("auth") => {
            Some((nc.as_str(), cn.as_str()))
        }
        (None, _, _) => None,
        // qop without nc/cnonce (or an unknown qop) cannot be verified.
        _ => return false,
    };
    let expected = request_digest(
        resp.algorithm,
        &resp.username,
        &resp.realm,
        password,
        method,
        &resp.uri,
        &resp.nonce,
        qop,
    );
    constant_time_eq(
        expected.as_bytes(),
        resp.response.to_ascii_lowercase().as_bytes(),
    )
}

/// Compares without an early exit, so response time does not leak the matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh nonce: 128 random bits as 32 hex digits.
pub fn new_nonce(rng: &mut impl rand::RngCore) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    to_hex(&bytes)
}

/// The verdict of [`NonceBook::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Issued by us, young enough, and (with qop) a nonce count not seen before.
    Valid,
    /// Ours but older than `max_age`: challenge again with `stale=TRUE` (RFC 2617 §3.2.1).
    Stale,
    /// Never issued by us (or forgotten): challenge again without `stale`.
    Unknown,
    /// A nonce count at or below one already accepted, or not 8 hex digits: refuse.
    Replay,
}

/// Server-side nonce book: issued nonces with their issue time and the highest nonce
/// count accepted for each.
#[derive(Debug, Clone)]
pub struct NonceBook {
    max_age: Duration,
    nonces: HashMap<String, NonceEntry>,
}

#[derive(Debug, Clone)]
struct NonceEntry {
    issued: Time,
    last_nc: Option<u32>,
}

impl NonceBook {
    /// A book whose nonces go stale `max_age` after issue.
    pub fn new(max_age: Duration) -> Self {
        NonceBook {
            max_age,
            nonces: HashMap::new(),
        }
    }

    /// Issues and remembers a new nonce. Also forgets nonces older than twice `max_age`,
    /// so the book stays bounded; a client using one gets `Unknown`, i.e. a new challenge.
    pub fn issue(&mut self, now: Time, rng: &mut impl rand::RngCore) -> String {
        let keep = self.max_age.saturating_mul(2);
        self.nonces.retain(|_, e| now - e.issued <= keep);
        let nonce = new_nonce(rng);
        self.nonces.insert(
            nonce.clone(),
            NonceEntry {
                issued: now,
                last_nc: None,
            },
        );
        nonce
    }

    /// Checks a nonce and nonce count from credentials, and records the count if valid.
    /// `nc` is `None` for legacy no-qop credentials, which cannot be replay-checked.
    pub fn check(&mut self, now: Time, nonce: &str, nc: Option<&str>) -> NonceCheck {
        let Some(entry) = self.nonces.get_mut(nonce) else {
            return NonceCheck::Unknown;
        };
        if now - entry.issued > self.max_age {
            return NonceCheck::Stale;
        }
        let Some(nc) = nc else {
            return NonceCheck::Valid;
        };
        let parsed = (nc.len() == 8)
            .then(|| u32::from_str_radix(nc, 16).ok())
            .flatten();
        match parsed {
            Some(n) if entry.last_nc.is_none_or(|last| n > last) => {
                entry.last_nc = Some(n);
                NonceCheck::Valid
            }
            _ => NonceCheck::Replay,
        }
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
