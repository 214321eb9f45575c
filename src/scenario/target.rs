//! Target profiles (docs/targets.md): the embedded reference PBX with its quirk
//! switches, or an external system reached through a registrar.
//!
//! Raw structs first (one per YAML mapping, `deny_unknown_fields`), then one compile step,
//! as for scenarios. `kind` decides which raw struct applies, so the file is read twice:
//! once for `kind` alone, once strictly.

use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;

use super::compile::Compiler;
use super::diagnostic::Diagnostic;
pub use super::external::{
    Account, CdrFields, CdrFile, CdrFormat, Customer, DEFAULT_FEATURE_CODE, DEFAULT_TIMEOUTS,
    ExternalTarget, Timeouts, TlsSettings,
};
use super::external::{RawExternal, external};
pub use super::quirk::Quirk;
use super::quirk::RawQuirk;
use super::raw::{parse_yaml, parse_yaml_hiding, top_level_keys, with_nearest_or_list};
use super::yaml::Spanned;

/// The system under test.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Embedded(EmbeddedTarget),
    External(Box<ExternalTarget>),
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
            Target::External(Box::new(external(&mut c, raw)))
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EmbeddedTarget")]
pub(super) struct RawEmbedded {
    /// `embedded`: the built-in reference PBX, started on loopback.
    #[allow(dead_code)] // read by the first pass
    kind: Spanned<String>,
    /// Parsed, whatever it holds, only to be refused at its key: see [`embedded`].
    #[allow(dead_code)]
    #[schemars(skip)]
    policy: Option<serde::de::IgnoredAny>,
    /// Deliberate misbehaviours of the PBX, each producing one fault a detector must catch.
    quirks: Option<Vec<Spanned<RawQuirk>>>,
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
