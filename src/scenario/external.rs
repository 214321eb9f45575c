//! `kind: external` target profiles: a real phone system, described as its administrator
//! knows it (docs/targets.md). Where it is (registrar, outbound
//! proxy, DNS server), which addresses to use toward it, how long to wait for it, the
//! accounts of each user under test (auth username, AOR, realm, the number the customer
//! dials) — one account or a pool — the customer's side, the flip codes and where the
//! system writes its CDR.
//!
//! Raw structs mirror the YAML one to one (`deny_unknown_fields`); [`external`] checks
//! every value and builds the [`ExternalTarget`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

pub use super::accounts::{Account, Customer};
use super::accounts::{RawCustomer, RawUser, customer, is_dial_string, user_accounts};
use super::compile::Compiler;
use super::raw::{RawMap, with_nearest_or_list};
use super::registrar::{RegistrarError, Transport, parse_registrar};
use super::yaml::Spanned;
use crate::report::Keyword;

/// A real system.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalTarget {
    pub name: String,
    /// `sip:host[:port][;transport=…]` or `sips:…`, checked by [`parse_registrar`].
    pub registrar: String,
    /// Every request goes here first when set (RFC 3261 §8.1.2), same syntax.
    pub outbound_proxy: Option<String>,
    /// SIP domain of the accounts, when it differs from the registrar host.
    pub domain: Option<String>,
    /// The DNS server to locate the registrar with (RFC 3263) instead of the system's.
    pub dns: Option<SocketAddr>,
    /// The local address to send from, instead of the one the OS routes toward the target.
    pub local_address: Option<IpAddr>,
    /// The address written in SDP and Contact when the harness sits behind NAT.
    pub media_address: Option<IpAddr>,
    pub tls: TlsSettings,
    /// The registration expiry asked for (RFC 3261 §10.2.1), refreshed at half the granted.
    pub register_expires: u32,
    pub timeouts: Timeouts,
    /// Scenario user name → its accounts on the target (a pool of one or more).
    pub users: BTreeMap<String, Vec<Account>>,
    /// How the simulated customer calls.
    pub customer: Customer,
    /// What the new device dials to pull the call (`flip: { feature_code: "*11" }`).
    pub feature_code: String,
    /// Where the target writes its call records, for `analytics`.
    pub cdr: Option<CdrFile>,
}

/// TLS toward the target (RFC 3261 §26.2.1; certificates per RFC 5922).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file of the CA that signed the target's certificate; the system roots when unset.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (a lab switch; every run that uses it says so).
    pub insecure: bool,
}

/// How long to wait for the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For a REGISTER to succeed (no answer at all within it: the target is unreachable).
    pub register: Duration,
    /// For the device to ring and the call to be answered.
    pub answer: Duration,
    /// For a flip to be answered, when its step sets no `timeout:`.
    pub flip: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        DEFAULT_TIMEOUTS
    }
}

/// Defaults: a phone gives up on a silent registrar after a few seconds (RFC 3261 Timer F
/// is 32 s, far too long to learn that a target is down), rings for a while, and the flip
/// default of the scenario format.
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts {
    register: Duration::from_secs(4),
    answer: Duration::from_secs(10),
    flip: Duration::from_secs(20),
};

/// The expiry a phone asks for when the profile says nothing (RFC 3261 §10.2.1.1 suggests
/// 3600 s; PBXs usually grant less, and we refresh at half what they grant).
pub const DEFAULT_REGISTER_EXPIRES: u32 = 3600;

/// A CDR file the target writes: one record per line (JSON) or per row (CSV with a header),
/// with the names of the fields that identify a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdrFile {
    pub path: PathBuf,
    pub format: CdrFormat,
    pub fields: CdrFields,
}

/// The format of a CDR file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CdrFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row naming the columns.
    Csv,
}

impl Keyword for CdrFormat {
    const ALL: &'static [Self] = &[CdrFormat::Jsonl, CdrFormat::Csv];
    fn as_str(self) -> &'static str {
        match self {
            CdrFormat::Jsonl => "jsonl",
            CdrFormat::Csv => "csv",
        }
    }
}

/// Which field of a record holds what. A record belongs to the customer's call when its
/// `call_id` is the customer's Call-ID or its `session_id` the Session-ID it saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdrFields {
    pub call_id: String,
    pub session_id: String,
    /// The device that carried the call in this record (optional in the file).
    pub device: Option<String>,
}

impl Default for CdrFields {
    /// The names `flipcheck pbx --cdr` writes.
    fn default() -> Self {
        CdrFields {
            call_id: "call_id".into(),
            session_id: "session_id".into(),
            device: None,
        }
    }
}

/// The feature code used when a target names none (docs/targets.md).
pub const DEFAULT_FEATURE_CODE: &str = "*11";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ExternalTarget")]
pub(super) struct RawExternal {
    /// `external`: a real system reached over the network.
    #[allow(dead_code)] // read by the first pass
    kind: Spanned<String>,
    /// The system's name in messages and the report's `target.name`.
    name: Spanned<String>,
    /// `sip:HOST[:PORT][;transport=udp|tcp|tls]` or `sips:HOST[:PORT]`: where accounts register and calls go. HOST is a name, an IPv4 address or `[IPv6]`; without a port 5060, or 5061 for TLS.
    registrar: Spanned<String>,
    /// Same syntax as `registrar`: every request goes here first (`Route: <PROXY;lr>`).
    outbound_proxy: Option<Spanned<String>>,
    /// SIP domain of the accounts (default the registrar's host).
    domain: Option<Spanned<String>>,
    /// `IP:PORT` of the DNS server that locates a registrar named by a host name (default the system's resolver).
    dns: Option<Spanned<String>>,
    /// IP address the parties send from (default the one the OS routes toward the target; `--bind` overrides).
    local_address: Option<Spanned<String>>,
    /// IP address written in Contact and SDP, for a harness behind NAT (default the parties' own).
    media_address: Option<Spanned<String>>,
    /// Certificate checking for `sips:` or `transport=tls`.
    tls: Option<Spanned<RawTls>>,
    /// REGISTER settings.
    registration: Option<Spanned<RawRegistration>>,
    /// How long each step may take, as durations (500ms to 300s).
    timeouts: Option<Spanned<RawTimeouts>>,
    /// Scenario user → its account, or `pool:` of accounts (`--pool N` picks one).
    users: Spanned<RawMap<Spanned<RawUser>>>,
    /// The far end that calls the user: an account, or `from:` a trunk caller ID.
    customer: Spanned<RawCustomer>,
    /// The codes the devices dial to flip.
    flip: Option<RawFlipCodes>,
    /// The system's call-record file, read after each scenario for `analytics`.
    cdr: Option<Spanned<RawCdr>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTls {
    /// PEM file of the CA that signed the target's certificate, relative to the target file (default the system's roots).
    ca_file: Option<Spanned<String>>,
    /// Check no certificate at all: a lab switch for self-signed certificates; every run using it prints a warning.
    insecure: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRegistration {
    /// Expiry each REGISTER asks for, 60 to 86400 seconds (default 3600); refreshed at half of what is granted.
    expires: Option<Spanned<u32>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    /// How long a REGISTER may take (default `4s`); no answer within it means the target is unreachable.
    register: Option<Spanned<String>>,
    /// How long the customer's call may take to be answered (default `10s`).
    answer: Option<Spanned<String>>,
    /// How long a flip may take to be answered when its step sets no `timeout:` (default `20s`).
    flip: Option<Spanned<String>>,
}

/// One account, or `pool:` a list of them (then without the account keys). Written out
/// rather than flattened: serde's `flatten` drops the positions errors point at.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawFlipCodes {
    /// What the new device dials to pull the call: digits, `*`, `#`, `+` (default `*11`).
    feature_code: Option<Spanned<String>>,
    // The codes of the other flip methods: known, so that each is refused by name.
    #[schemars(skip)]
    park: Option<Spanned<String>>,
    #[schemars(skip)]
    pickup: Option<Spanned<String>>,
    #[schemars(skip)]
    directed_pickup: Option<Spanned<String>>,
    #[schemars(skip)]
    dtmf_push: Option<Spanned<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCdr {
    /// Path of the call-record file, relative to the target file.
    file: Spanned<String>,
    /// `jsonl` (default) or `csv` with a header row.
    format: Option<Spanned<String>>,
    /// Which fields or columns hold what.
    fields: Option<RawCdrFields>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCdrFields {
    /// The field holding a call's SIP Call-ID (default `call_id`).
    call_id: Option<Spanned<String>>,
    /// The field holding the RFC 7989 Session-ID (default `session_id`).
    session_id: Option<Spanned<String>>,
    /// The field naming the device that had the call (default none).
    device: Option<Spanned<String>>,
}

/// Compiles an external profile; `dir` is the profile's folder (relative paths in it are
/// relative to the file, as a user reading it expects).
pub(super) fn external(c: &mut Compiler<'_>, raw: RawExternal) -> ExternalTarget {
    let dir = c.file.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    if raw.name.value.trim().is_empty() {
        c.push(c.at(&raw.name, "`name` must not be empty"));
    }
    sip_uri(c, &raw.registrar, "registrar");
    if let Some(p) = &raw.outbound_proxy {
        sip_uri(c, p, "outbound_proxy");
    }
    if raw.users.value.0.is_empty() {
        c.push(c.at(
            &raw.users,
            "`users` must map at least one user to an account",
        ));
    }
    let users = raw
        .users
        .value
        .0
        .iter()
        .map(|(name, user)| (name.value.clone(), user_accounts(c, name, user)))
        .collect();
    let customer = customer(c, &raw.customer);
    let mut flip = raw.flip;
    if let Some(f) = flip.as_mut() {
        refuse_other_codes(c, f);
    }
    let feature_code = match flip.and_then(|f| f.feature_code) {
        None => DEFAULT_FEATURE_CODE.to_string(),
        Some(code) => {
            // Dialled digits: RFC 3966 phonedigits plus `*` and `#` (RFC 4733 events).
            if !is_dial_string(&code.value) {
                c.push(
                    c.at(&code, format!("bad feature code `{}`", code.value))
                        .with_hint("digits, `*` and `#` only, e.g. \"*11\""),
                );
            }
            code.value
        }
    };
    let domain = raw.domain.map(|d| {
        if d.value.trim().is_empty() {
            c.push(c.at(&d, "`domain` must not be empty"));
        }
        d.value
    });
    let dns = raw.dns.and_then(|d| match d.value.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            c.push(
                c.at(&d, format!("bad DNS server `{}`", d.value))
                    .with_hint("an IP address and port, e.g. `127.0.0.1:5353` or `[::1]:53`"),
            );
            None
        }
    });
    let ip = |c: &mut Compiler<'_>, node: Option<Spanned<String>>, key: &str| {
        node.and_then(|n| match n.value.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                c.push(
                    c.at(&n, format!("bad `{key}` `{}`", n.value))
                        .with_hint("an IPv4 or IPv6 address, e.g. `192.0.2.10`"),
                );
                None
            }
        })
    };
    let local_address = ip(c, raw.local_address, "local_address");
    let media_address = ip(c, raw.media_address, "media_address");
    let tls = raw
        .tls
        .map(|t| t.value)
        .map_or_else(TlsSettings::default, |t| TlsSettings {
            ca_file: t.ca_file.map(|f| ca_file(c, &dir, &f)),
            insecure: t.insecure.unwrap_or(false),
        });
    let register_expires = match raw.registration.and_then(|r| r.value.expires) {
        None => DEFAULT_REGISTER_EXPIRES,
        Some(e) if (60..=86_400).contains(&e.value) => e.value,
        Some(e) => {
            c.push(
                c.at(
                    &e,
                    format!("registration expiry {} s is out of range", e.value),
                )
                .with_hint("60 to 86400 seconds (RFC 3261 §10.2.1)"),
            );
            DEFAULT_REGISTER_EXPIRES
        }
    };
    let mut timeouts = DEFAULT_TIMEOUTS;
    if let Some(t) = raw.timeouts.map(|t| t.value) {
        let mut set = |node: Option<Spanned<String>>, slot: &mut Duration, key: &str| {
            let Some(node) = node else { return };
            if let Some(d) = c.duration(&node) {
                if (Duration::from_millis(500)..=Duration::from_secs(300)).contains(&d) {
                    *slot = d;
                } else {
                    c.push(
                        c.at(
                            &node,
                            format!("`{key}` timeout `{}` is out of range", node.value),
                        )
                        .with_hint("500ms to 300s"),
                    );
                }
            }
        };
        set(t.register, &mut timeouts.register, "register");
        set(t.answer, &mut timeouts.answer, "answer");
        set(t.flip, &mut timeouts.flip, "flip");
    }
    let cdr = raw.cdr.map(|cdr| cdr_file(c, &dir, cdr.value));
    ExternalTarget {
        name: raw.name.value,
        registrar: raw.registrar.value,
        outbound_proxy: raw.outbound_proxy.map(|p| p.value),
        domain,
        dns,
        local_address,
        media_address,
        tls,
        register_expires,
        timeouts,
        users,
        customer,
        feature_code,
        cdr,
    }
}

/// Codes of flip methods this version does not carry out (park and pickup, directed
/// pickup, a DTMF push): refused where they stand rather than kept for nothing.
fn refuse_other_codes(c: &mut Compiler<'_>, f: &mut RawFlipCodes) {
    for (node, key) in [
        (f.park.take(), "park"),
        (f.pickup.take(), "pickup"),
        (f.directed_pickup.take(), "directed_pickup"),
        (f.dtmf_push.take(), "dtmf_push"),
    ] {
        if let Some(n) = node {
            c.push(
                c.at(&n, format!("flip code `{key}` is not supported in this version"))
                    .with_hint(
                        "only the `feature_code` flip is carried out; remove it (`flip: { feature_code: \"*11\" }`)",
                    ),
            );
        }
    }
}

/// A `sip:`/`sips:` URI naming a server (registrar, outbound proxy).
/// The CA file, relative to the profile; one that cannot be read is found by `validate`,
/// not by the first TLS handshake of a run.
fn ca_file(c: &mut Compiler<'_>, dir: &std::path::Path, node: &Spanned<String>) -> PathBuf {
    let path = dir.join(&node.value);
    if let Err(e) = std::fs::File::open(&path) {
        c.push(c.at(
            node,
            format!(
                "cannot read the CA file {}: {}",
                path.display(),
                super::io_reason(&e)
            ),
        ));
    }
    path
}

fn sip_uri(c: &mut Compiler<'_>, node: &Spanned<String>, key: &str) {
    let Err(e) = parse_registrar(&node.value) else {
        return;
    };
    let d = c.at(node, format!("bad {key} `{}`: {e}", node.value));
    let d = match &e {
        RegistrarError::BadTransport(t) => {
            let names: Vec<&str> = Transport::ALL.iter().map(|t| t.as_str()).collect();
            with_nearest_or_list(d, t, &names)
        }
        RegistrarError::UnknownParameter(p) => with_nearest_or_list(d, p, &["transport"]),
        _ => d.with_hint("e.g. `sip:pbx.example.com:5060;transport=udp`"),
    };
    c.push(d);
}

fn cdr_file(c: &mut Compiler<'_>, dir: &std::path::Path, raw: RawCdr) -> CdrFile {
    let format = raw
        .format
        .as_ref()
        .and_then(|f| c.keyword::<CdrFormat>(f, "CDR format"))
        .unwrap_or(CdrFormat::Jsonl);
    let mut fields = CdrFields::default();
    if let Some(f) = raw.fields {
        let mut name = |node: Option<Spanned<String>>| {
            node.map(|n| {
                if n.value.trim().is_empty() {
                    c.push(c.at(&n, "a CDR field name must not be empty"));
                }
                n.value
            })
        };
        if let Some(v) = name(f.call_id) {
            fields.call_id = v;
        }
        if let Some(v) = name(f.session_id) {
            fields.session_id = v;
        }
        fields.device = name(f.device);
    }
    if raw.file.value.trim().is_empty() {
        c.push(c.at(&raw.file, "`file` must not be empty"));
    }
    CdrFile {
        path: dir.join(&raw.file.value),
        format,
        fields,
    }
}
