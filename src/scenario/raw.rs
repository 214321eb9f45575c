//! Scenario files exactly as written (the parse before the one compile step): one struct per YAML mapping,
//! `deny_unknown_fields` everywhere, names kept as spanned strings. Nothing here is
//! validated; [`super::compile`] turns it into a [`super::Plan`].
//!
//! Names (devices, methods, codecs, outcomes) stay strings rather than serde enums so that
//! the compiler can report *every* bad name in a file at once, each with its own line and a
//! suggestion, instead of stopping at the first.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};

use super::diagnostic::Diagnostic;
use super::yaml::{self, Spanned, YamlErrorKind};

/// Step names as written in scenario files (`- talk: 2s`), in documentation order.
pub const STEP_NAMES: &[&str] = &["register", "call", "talk", "flip", "hangup"];

/// A whole scenario file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// The scenario's name in reports.
    pub name: Spanned<String>,
    /// The identity under test, whose devices flip the call (default `alice`; on an external target a key of its `users:`).
    pub user: Option<Spanned<String>>,
    /// The user's devices by name (at most 7), each registering as the user with its own Contact.
    pub devices: Spanned<RawMap<RawDevice>>,
    /// The far end that calls the user.
    pub customer: Option<RawCustomer>,
    /// What happens, in order: `register`, `call`, `talk`, `flip`, `hangup`.
    pub steps: Spanned<Vec<Spanned<RawStep>>>,
    /// Expectations checked on every flip; a flip's own `expect:` overrides them key by key. `flip: moved` unless an outcome is named.
    pub expect: Option<RawExpect>,
}

/// `devices: { desk: { codecs: [PCMU], network: lan } }`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    /// Codecs offered, in order of preference (default `[PCMU]`).
    pub codecs: Option<Spanned<Vec<Spanned<String>>>>,
    /// The link to the target (default `lan`).
    pub network: Option<Spanned<String>>,
}

/// `customer: { codecs: [PCMU], network: lan, replaces: accept }`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCustomer {
    /// Codecs offered, in order of preference (default `[PCMU]`).
    pub codecs: Option<Spanned<Vec<Spanned<String>>>>,
    /// The link to the target (default `lan`).
    pub network: Option<Spanned<String>>,
    /// How the customer's phone treats an INVITE with `Replaces` (default `accept`): `reject` answers 420 to `Require: replaces`; `ignore` treats it as a new, unrelated call.
    pub replaces: Option<Spanned<String>>,
}

/// One `- step: …` item. Externally tagged: the key is the step name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawStep {
    /// `register: [desk, mobile]`: these devices register as the user.
    Register(Vec<Spanned<String>>),
    /// `call: { from: customer, answer: desk }`: the customer calls the user; this device answers.
    Call(RawCall),
    /// `talk: 2s`: let the call run this long (any duration such as `500ms`, `1m 30s`).
    Talk(Spanned<String>),
    /// `flip: { to: mobile, method: feature_code, … }`: move the live call to another device.
    Flip(Box<RawFlip>), // boxed: by far the largest step
    /// `hangup: customer`: this party (the customer or a device) ends the call.
    Hangup(Spanned<String>),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCall {
    /// Who places the call: `customer`.
    pub from: Spanned<String>,
    /// The device that answers it.
    pub answer: Spanned<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFlip {
    /// The device expected to hold the call before the flip (default: the one that has it).
    pub from: Option<Spanned<String>>,
    /// The device the call moves to.
    pub to: Spanned<String>,
    /// How the flip is asked for: `feature_code`, a pull (the new device dials the target's flip code while the call stays live on the old one).
    pub method: Spanned<String>,
    /// Parsed only to be refused: no flip of this version rings the new device.
    #[schemars(skip)]
    pub answer_after_rings: Option<Spanned<u32>>,
    /// Parsed only to be refused, as `answer_after_rings`.
    #[schemars(skip)]
    pub no_answer: Option<Spanned<bool>>,
    /// How long the customer must hear the new device steadily before the flip counts as
    /// settled: a duration, 100ms to 10s (default `500ms`).
    pub settle: Option<Spanned<String>>,
    /// How long to wait for the flip to be answered: a duration, 1s to 300s (default the
    /// target's `timeouts.flip`, 20s).
    pub timeout: Option<Spanned<String>>,
    /// Expectations for this flip, overriding the scenario's `expect:` key by key.
    pub expect: Option<RawExpect>,
}

/// `expect:` at scenario level or inside a flip step.
///
/// Deserialised by hand to keep where each key was written: an expectation that cannot apply
/// to a flip is reported at its key, and a value's span is not its key's.
#[derive(Debug, Default)]
pub struct RawExpect {
    pub flip: Option<Spanned<String>>,
    pub customer_gap_ms: Option<Spanned<RawBound>>,
    pub other_audio_ms: Option<Spanned<RawBound>>,
    pub flip_latency_ms: Option<Spanned<RawBound>>,
    pub device_gap_ms: Option<Spanned<RawBound>>,
    pub max_hole_ms: Option<Spanned<RawBound>>,
    pub customer_dialog: Option<Spanned<String>>,
    pub caller_id: Option<Spanned<String>>,
    pub session_id: Option<Spanned<String>>,
    pub old_device_released: Option<Spanned<bool>>,
    pub one_way_audio: Option<Spanned<bool>>,
    /// Every key as written, in file order (each at most once: the YAML layer rejects
    /// duplicate keys).
    pub keys: Vec<Spanned<&'static str>>,
}

/// The keys of an `expect:` block, in documentation order.
pub const EXPECT_FIELDS: &[&str] = &[
    "flip",
    "customer_gap_ms",
    "other_audio_ms",
    "flip_latency_ms",
    "device_gap_ms",
    "max_hole_ms",
    "customer_dialog",
    "caller_id",
    "session_id",
    "old_device_released",
    "one_way_audio",
];

impl RawExpect {
    /// Where key `name` was written, if it was.
    pub fn key(&self, name: &str) -> Option<&Spanned<&'static str>> {
        self.keys.iter().find(|k| k.value == name)
    }
}

impl<'de> Deserialize<'de> for RawExpect {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawExpect;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of expectations")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawExpect, A::Error> {
                let mut e = RawExpect::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    // Each arm names its field once, for the value and for `keys`.
                    macro_rules! field {
                        ($($f:ident),*) => {
                            match key.value.as_str() {
                                $(stringify!($f) => {
                                    e.$f = Some(map.next_value()?);
                                    stringify!($f)
                                })*
                                other => {
                                    return Err(de::Error::unknown_field(other, EXPECT_FIELDS));
                                }
                            }
                        };
                    }
                    let name = field!(
                        flip,
                        customer_gap_ms,
                        other_audio_ms,
                        flip_latency_ms,
                        device_gap_ms,
                        max_hole_ms,
                        customer_dialog,
                        caller_id,
                        session_id,
                        old_device_released,
                        one_way_audio
                    );
                    e.keys.push(Spanned {
                        value: name,
                        line: key.line,
                        column: key.column,
                    });
                }
                Ok(e)
            }
        }
        d.deserialize_map(V)
    }
}

/// `300` (exactly) or `{ min: 0, max: 300 }` with either key optional.
///
/// Deserialised by hand rather than as an untagged enum: untagged enums buffer their input,
/// which loses the line numbers, and their error ("did not match any variant") would not say
/// which key was wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RawBound {
    Exact(f64),
    Range { min: Option<f64>, max: Option<f64> },
}

impl<'de> Deserialize<'de> for RawBound {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawBound;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a mapping with `min` and/or `max`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawBound, E> {
                Ok(RawBound::Exact(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawBound, E> {
                Ok(RawBound::Exact(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawBound, E> {
                Ok(RawBound::Exact(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawBound, A::Error> {
                const FIELDS: &[&str] = &["min", "max"];
                let (mut min, mut max) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "min" => &mut min,
                        "max" => &mut max,
                        _ => return Err(de::Error::unknown_field(&key, FIELDS)),
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom(format!("duplicate field `{key}`")));
                    }
                    *slot = Some(map.next_value::<f64>()?);
                }
                Ok(RawBound::Range { min, max })
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping kept in file order with spanned keys.
///
/// Device order matters (a [`super::DeviceId`] is an index, and reports list devices as
/// written) and key positions are where "unknown device" errors point, so neither a
/// `BTreeMap` nor a `HashMap` will do. Duplicate keys are rejected by the YAML layer.
#[derive(Debug)]
pub struct RawMap<V>(pub Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for RawMap<V> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapV<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapV<V> {
            type Value = RawMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMap<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    entries.push((k, map.next_value::<V>()?));
                }
                Ok(RawMap(entries))
            }
        }
        d.deserialize_map(MapV(PhantomData))
    }
}

/// The top-level keys of a document and their positions, for errors about a whole block
/// (`expect:` with no flip to apply to, too many `devices`): a struct field's span is its
/// value's, and a block value starts on the line after its key. Empty if `text` is not a
/// mapping, which the strict parse reports.
pub fn top_level_keys(text: &str) -> Vec<Spanned<String>> {
    yaml::from_str::<RawMap<de::IgnoredAny>>(text)
        .map(|m| m.0.into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default()
}

/// Flip fields parsed only to be refused (see [`RawFlip`]): never suggested for a misspelt
/// field nor listed among the valid ones.
pub const REFUSED_FLIP_FIELDS: &[&str] = &["answer_after_rings", "no_answer"];

/// Parses `text` into raw structs, turning a YAML error into a [`Diagnostic`] with a
/// nearest-name suggestion for unknown fields and steps.
pub fn parse_yaml<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Diagnostic> {
    parse_yaml_hiding(file, text, &[])
}

/// [`parse_yaml`], never suggesting nor listing the fields in `refused`: they parse only so
/// that the compiler can say they are not supported, and suggesting one for a typo would
/// lead the user into that refusal.
pub fn parse_yaml_hiding<T: DeserializeOwned>(
    file: &Path,
    text: &str,
    refused: &[&str],
) -> Result<T, Diagnostic> {
    yaml::from_str::<T>(text).map_err(|e| {
        let at = |msg: String| Diagnostic::new(file, e.line, e.column, msg);
        match e.kind {
            YamlErrorKind::UnknownField { field, expected } => {
                let d = at(format!("unknown field `{field}`"));
                if field == "password" {
                    // Secrets never live in files (docs/targets.md).
                    d.with_hint(
                        "passwords are never written in files; name an environment \
                         variable with `password_env`",
                    )
                } else {
                    let expected: Vec<&str> = expected
                        .into_iter()
                        .filter(|f| !refused.contains(f))
                        .collect();
                    with_nearest_or_list(d, &field, &expected)
                }
            }
            YamlErrorKind::UnknownVariant { variant, .. }
                if variant == "~" || variant.is_empty() =>
            {
                at("empty step".to_string()).with_hint("write `- name: value`, e.g. `- talk: 2s`")
            }
            YamlErrorKind::UnknownVariant { variant, expected } => {
                let noun = if expected == STEP_NAMES {
                    "step"
                } else {
                    "value"
                };
                with_nearest_or_list(
                    at(format!("unknown {noun} `{variant}`")),
                    &variant,
                    &expected,
                )
            }
            YamlErrorKind::MissingField { field } => at(format!("missing field `{field}`")),
            YamlErrorKind::ExtraKeyAfterVariant => at(
                "a step has exactly one key (its name); put its settings inside it, \
                 e.g. `- flip: { to: mobile, method: feature_code }`"
                    .to_string(),
            ),
            other => at(other.to_string()),
        }
    })
}

/// ``did you mean `x`?`` if some name is close, otherwise the list of valid names.
pub(crate) fn with_nearest_or_list(d: Diagnostic, wrong: &str, valid: &[&str]) -> Diagnostic {
    let d = d.with_nearest(wrong, valid.iter().copied());
    if d.suggestion.is_some() || valid.is_empty() {
        d
    } else {
        let list = valid
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        d.with_hint(format!("expected one of {list}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Diagnostic> {
        parse_yaml(Path::new("t.yaml"), text)
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // only parsed, to provoke errors
    struct Steps {
        steps: Vec<Spanned<RawStep>>,
    }

    #[test]
    fn step_names_match_the_enum() {
        let e = parse::<Steps>("steps:\n  - dance: 1\n").unwrap_err();
        let list = STEP_NAMES
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(e.message, "unknown step `dance`");
        assert_eq!(e.suggestion, Some(format!("expected one of {list}")));
        assert_eq!((e.line, e.column), (2, 5));
    }

    #[test]
    fn bounds_accept_numbers_and_ranges() {
        #[derive(Debug, Deserialize)]
        struct B {
            a: Spanned<RawBound>,
            b: RawBound,
            c: RawBound,
            d: RawBound,
        }
        let b: B = parse("a: 300\nb: { max: 2.5 }\nc: { min: 0, max: 10 }\nd: -1\n").unwrap();
        assert_eq!(
            (b.a.value, b.a.line, b.a.column),
            (RawBound::Exact(300.0), 1, 4)
        );
        assert_eq!(
            b.b,
            RawBound::Range {
                min: None,
                max: Some(2.5)
            }
        );
        assert_eq!(
            b.c,
            RawBound::Range {
                min: Some(0.0),
                max: Some(10.0)
            }
        );
        assert_eq!(b.d, RawBound::Exact(-1.0));
    }

    #[test]
    fn bound_with_a_misspelt_key_suggests_the_right_one() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct B {
            a: Spanned<RawBound>,
        }
        let e = parse::<B>("a:\n  mx: 3\n").unwrap_err();
        assert_eq!(e.message, "unknown field `mx`");
        assert_eq!(e.suggestion.as_deref(), Some("did you mean `max`?"));
        assert_eq!(e.line, 2);
    }

    #[test]
    fn maps_keep_file_order_and_key_positions() {
        #[derive(Debug, Deserialize)]
        struct M {
            devices: RawMap<RawDevice>,
        }
        let m: M = parse("devices:\n  zed: {}\n  alpha: { network: lan }\n").unwrap();
        let keys: Vec<_> = m
            .devices
            .0
            .iter()
            .map(|(k, _)| (k.value.as_str(), k.line, k.column))
            .collect();
        assert_eq!(keys, [("zed", 2, 3), ("alpha", 3, 3)]);
    }

    #[test]
    fn top_level_keys_point_at_the_keys() {
        let keys: Vec<_> = top_level_keys("name: x\nexpect:\n  flip: moved\n")
            .into_iter()
            .map(|k| (k.value, k.line, k.column))
            .collect();
        assert_eq!(keys, [("name".into(), 1, 1), ("expect".into(), 2, 1)]);
        assert!(top_level_keys("- a\n").is_empty());
    }

    #[test]
    fn expect_keeps_every_key_position() {
        #[derive(Debug, Deserialize)]
        struct E {
            expect: RawExpect,
        }
        let all: String = EXPECT_FIELDS
            .iter()
            .map(|f| {
                let value = match *f {
                    "old_device_released" | "one_way_audio" => "true",
                    f if f.ends_with("_ms") => "1",
                    _ => "x",
                };
                format!("  {f}: {value}\n")
            })
            .collect();
        let e = parse::<E>(&format!("expect:\n{all}")).unwrap().expect;
        let keys: Vec<_> = e.keys.iter().map(|k| (k.value, k.line, k.column)).collect();
        let want: Vec<_> = EXPECT_FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| (*f, i + 2, 3))
            .collect();
        assert_eq!(keys, want, "every field is parsed and its key kept");
        let released = e.old_device_released.clone().unwrap();
        assert_eq!(
            (released.value, released.line, released.column),
            (true, 11, 24)
        );
        let err = parse::<E>("expect: { flip: moved, caler_id: same }\n").unwrap_err();
        assert_eq!(err.message, "unknown field `caler_id`");
        assert_eq!(err.suggestion.as_deref(), Some("did you mean `caller_id`?"));
        assert_eq!((err.line, err.column), (1, 24));
    }

    #[test]
    fn a_step_with_two_keys_is_explained() {
        let e = parse::<Steps>("steps:\n  - talk: 1s\n    hangup: customer\n").unwrap_err();
        assert!(e.message.starts_with("a step has exactly one key"), "{e}");
        // The library points at the extra key.
        assert_eq!((e.line, e.column), (3, 5));
    }
}
