//! Target profiles (DESIGN.md "Target files"): the embedded reference PBX with its quirk
//! switches, or an external system reached through a registrar.
//!
//! Raw structs first (one per YAML mapping, `deny_unknown_fields`), then one compile step,
//! as for scenarios. `kind` decides which raw struct applies, so the file is read twice:
//! once for `kind` alone, once strictly.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::compile::Compiler;
use super::diagnostic::Diagnostic;
pub use super::quirk::Quirk;
use super::quirk::RawQuirk;
use super::raw::{RawMap, parse_yaml, parse_yaml_hiding, top_level_keys, with_nearest_or_list};
use super::registrar::{Registrar, RegistrarError, Transport, parse_registrar};
use super::yaml::Spanned;
use crate::report::Keyword;

/// The system under test.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Embedded(EmbeddedTarget),
    External(ExternalTarget),
}

impl Target {
    /// `"embedded"` or `"external"`, as in the report's `target.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Embedded(_) => "embedded",
            Target::External(_) => "external",
        }
    }
}

/// The built-in reference PBX, started on loopback.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmbeddedTarget {
    /// Deliberate misbehaviours, in file order, each at most once.
    pub quirks: Vec<Quirk>,
}

/// A real system.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalTarget {
    pub name: String,
    /// `sip:host:port;transport=udp`, checked by [`parse_registrar`] at load time.
    pub registrar: String,
    /// Scenario user name → account on the target.
    pub users: BTreeMap<String, Account>,
    /// The account the simulated customer calls from.
    pub customer: Account,
    /// What the new device dials to pull the call (`flip: { feature_code: "*11" }`).
    pub feature_code: String,
    /// SIP domain of the accounts, when it differs from the registrar host.
    pub domain: Option<String>,
}

impl ExternalTarget {
    /// The registrar address, parsed. Always `Ok` for a target built by [`load_target`] or
    /// [`compile_target`], which reject a bad address.
    pub fn registrar_address(&self) -> Result<Registrar, RegistrarError> {
        parse_registrar(&self.registrar)
    }
}

/// An account on an external target. The password is read from the environment variable
/// `password_env` by the runner: it is never stored in a file or a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub password_env: String,
}

/// The feature code used when a target names none (DESIGN.md "Target files").
pub const DEFAULT_FEATURE_CODE: &str = "*11";

/// Reads and compiles a target profile.
pub fn load_target(path: &Path) -> Result<Target, Vec<Diagnostic>> {
    let text = super::read_file(path)?;
    compile_target(path, &text)
}

/// Compiles a target profile held in memory; `file` is used in diagnostics only.
pub fn compile_target(file: &Path, text: &str) -> Result<Target, Vec<Diagnostic>> {
    let kind: RawKind = parse_yaml(file, text).map_err(|d| vec![d])?;
    let Some(kind) = kind.kind else {
        // A scenario given where a target belongs (`--target`, `pbx --config`) is the
        // likely mistake; say so rather than only that `kind` is missing.
        let d = if let Some(steps) = kind.steps {
            Diagnostic::new(
                file,
                steps.line,
                steps.column,
                "this is a scenario (it has `steps:`), not a target profile",
            )
            .with_hint(
                "a target file has `kind: embedded` or `kind: external`; scenarios go to `flipcheck run PATH`",
            )
        } else {
            Diagnostic::new(file, 1, 1, "missing field `kind`")
                .with_hint("`kind: embedded` or `kind: external`")
        };
        return Err(vec![d]);
    };
    let mut c = Compiler {
        file,
        diags: Vec::new(),
    };
    let target = match kind.value.as_str() {
        "embedded" => {
            let raw: RawEmbedded =
                parse_yaml_hiding(file, text, &["policy"]).map_err(|d| vec![d])?;
            Target::Embedded(embedded(&mut c, raw, &top_level_keys(text)))
        }
        "external" => {
            let raw: RawExternal = parse_yaml(file, text).map_err(|d| vec![d])?;
            Target::External(external(&mut c, raw))
        }
        other => {
            let d = Diagnostic::new(
                file,
                kind.line,
                kind.column,
                format!("unknown target kind `{other}`"),
            );
            return Err(vec![with_nearest_or_list(
                d,
                other,
                &["embedded", "external"],
            )]);
        }
    };
    if c.diags.is_empty() {
        Ok(target)
    } else {
        Err(sorted(c.diags))
    }
}

/// Whether `text` is a target profile: only target profiles have a top-level `kind:`.
pub(crate) fn declares_kind(text: &str) -> bool {
    target_kind(text).is_some()
}

/// A target profile's `kind:` value and its 1-based line and column, if `text` has one.
pub(crate) fn target_kind(text: &str) -> Option<(String, usize, usize)> {
    let kind = crate::scenario::yaml::from_str::<RawKind>(text)
        .ok()?
        .kind?;
    Some((kind.value, kind.line, kind.column))
}

fn sorted(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| (d.line, d.column));
    diags
}

/// First pass: only `kind` (and `steps`, to recognise a scenario), everything else ignored.
#[derive(Deserialize)]
struct RawKind {
    kind: Option<Spanned<String>>,
    steps: Option<Spanned<serde::de::IgnoredAny>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmbedded {
    #[allow(dead_code)] // read by the first pass
    kind: Spanned<String>,
    /// Parsed, whatever it holds, only to be refused at its key: see [`embedded`].
    #[allow(dead_code)]
    policy: Option<serde::de::IgnoredAny>,
    quirks: Option<Vec<Spanned<RawQuirk>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExternal {
    #[allow(dead_code)] // read by the first pass
    kind: Spanned<String>,
    name: Spanned<String>,
    registrar: Spanned<String>,
    users: Spanned<RawMap<RawAccount>>,
    customer: RawAccount,
    flip: Option<RawFlipCodes>,
    domain: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    username: Spanned<String>,
    password_env: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlipCodes {
    feature_code: Option<Spanned<String>>,
}

fn embedded(c: &mut Compiler<'_>, raw: RawEmbedded, keys: &[Spanned<String>]) -> EmbeddedTarget {
    // Flip policies (on hold, in a three-way call) decide for call states that no call of
    // this version reaches, so a policy block would be accepted and never consulted. The
    // key is refused whatever its value, even an empty one.
    if let Some(key) = keys.iter().find(|k| k.value == "policy") {
        c.push(
            c.at(
                key,
                "`policy` is not supported in this version: no call state such as hold or a \
                 three-way call can reach a policy",
            )
            .with_hint("remove the `policy:` block"),
        );
    }
    let quirks = c.quirks(raw.quirks.as_deref().unwrap_or_default());
    EmbeddedTarget { quirks }
}

fn external(c: &mut Compiler<'_>, raw: RawExternal) -> ExternalTarget {
    if raw.name.value.trim().is_empty() {
        c.push(c.at(&raw.name, "`name` must not be empty"));
    }
    if let Err(e) = parse_registrar(&raw.registrar.value) {
        let d = c.at(
            &raw.registrar,
            format!("bad registrar `{}`: {e}", raw.registrar.value),
        );
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
        .map(|(name, acc)| (name.value.clone(), account(c, acc)))
        .collect();
    let customer = account(c, &raw.customer);
    let feature_code = match raw.flip.and_then(|f| f.feature_code) {
        None => DEFAULT_FEATURE_CODE.to_string(),
        Some(code) => {
            // Dialled digits: RFC 3966 phonedigits plus `*` and `#` (RFC 4733 events).
            let ok = !code.value.is_empty()
                && code
                    .value
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || ch == '*' || ch == '#');
            if !ok {
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
    ExternalTarget {
        name: raw.name.value,
        registrar: raw.registrar.value,
        users,
        customer,
        feature_code,
        domain,
    }
}

fn account(c: &mut Compiler<'_>, raw: &RawAccount) -> Account {
    if raw.username.value.trim().is_empty() {
        c.push(c.at(&raw.username, "`username` must not be empty"));
    }
    let env = &raw.password_env.value;
    // POSIX environment variable names (IEEE 1003.1 §8.1); anything else is likely the
    // password itself pasted into the file.
    let valid = env
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
        && env
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !valid {
        c.push(
            c.at(
                &raw.password_env,
                "`password_env` must name an environment variable",
            )
            .with_hint("e.g. `ALICE_SIP_PASSWORD`; never put the password itself in a file"),
        );
    }
    Account {
        username: raw.username.value.clone(),
        password_env: env.clone(),
    }
}
