//! The only file that talks to the YAML library (serde-saphyr 2.2), so that it can be
//! swapped. Everything else sees [`Spanned`], [`from_str`] and
//! [`YamlError`].

use std::borrow::Cow;

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_saphyr::MessageFormatter as _;

/// A value and where it was written: 1-based line and column of the YAML node.
///
/// For an alias (`*a`) the position is where the alias is used, because that is the line a
/// user must look at to understand which step went wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub line: usize,
    pub column: usize,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Spanned {
            value: s.value,
            line: usize::try_from(s.referenced.line()).unwrap_or(usize::MAX),
            column: usize::try_from(s.referenced.column()).unwrap_or(usize::MAX),
        })
    }
}

/// Why a document did not fit the raw structs, with the library's own wording removed
/// where we can word it better (unknown names get a suggestion upstream).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum YamlErrorKind {
    /// A mapping key the struct does not have (`deny_unknown_fields`).
    #[error("unknown field `{field}`")]
    UnknownField {
        field: String,
        expected: Vec<&'static str>,
    },
    /// A key of an externally tagged enum (a step name) that is not a variant.
    #[error("unknown variant `{variant}`")]
    UnknownVariant {
        variant: String,
        expected: Vec<&'static str>,
    },
    #[error("missing field `{field}`")]
    MissingField { field: &'static str },
    /// A mapping with more than one key where one enum variant was expected.
    #[error("expected exactly one key here")]
    ExtraKeyAfterVariant,
    /// Anything else, in the library's words (syntax errors, wrong types).
    #[error("{0}")]
    Other(String),
}

/// A YAML error and its 1-based position (0 when the library did not know it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {line}, column {column}")]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub line: usize,
    pub column: usize,
}

/// Parses one YAML document into `T`.
///
/// Booleans are strict (`true`/`false` only): in a test plan `no_answer: no` or
/// `old_device_released: on` is more likely a mistake than YAML 1.1 shorthand, and the
/// Norway problem has no place in a checklist. Duplicate keys are errors (library default).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(convert)
}

fn convert(err: serde_saphyr::Error) -> YamlError {
    let (line, column) = err
        .location()
        .map(|l| {
            (
                usize::try_from(l.line()).unwrap_or(usize::MAX),
                usize::try_from(l.column()).unwrap_or(usize::MAX),
            )
        })
        .unwrap_or((0, 0));
    let inner = err.without_snippet();
    let kind = match inner {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => YamlErrorKind::UnknownField {
            field: field.clone(),
            expected: expected.clone(),
        },
        serde_saphyr::Error::SerdeUnknownVariant {
            variant, expected, ..
        } => YamlErrorKind::UnknownVariant {
            variant: variant.clone(),
            expected: expected.clone(),
        },
        serde_saphyr::Error::SerdeMissingField { field, .. } => {
            YamlErrorKind::MissingField { field }
        }
        serde_saphyr::Error::ExpectedMappingEndAfterEnumVariantValue { .. } => {
            YamlErrorKind::ExtraKeyAfterVariant
        }
        // The library's wording names Rust types and parser events; users wrote YAML.
        // Externally tagged enums are only used for steps.
        serde_saphyr::Error::ExpectedStringKeyForExternallyTaggedEnum { .. }
        | serde_saphyr::Error::ExternallyTaggedEnumExpectedScalarOrMapping { .. } => {
            YamlErrorKind::Other("a step is written `- name: value`, e.g. `- talk: 2s`".into())
        }
        serde_saphyr::Error::NullIntoString { .. } => YamlErrorKind::Other("missing value".into()),
        serde_saphyr::Error::Eof { .. } => {
            YamlErrorKind::Other("the file is empty or ends too early".into())
        }
        serde_saphyr::Error::Unexpected { expected, .. } => YamlErrorKind::Other(
            match *expected {
                "sequence start" => "expected a list here, e.g. `[desk, mobile]`",
                "mapping start" => "expected a mapping (`key: value` entries) here",
                "string scalar" => "expected a single value here, e.g. `2s` or `desk`",
                other => return unexpected(other, line, column),
            }
            .into(),
        ),
        serde_saphyr::Error::InvalidScalar { ty, .. } => YamlErrorKind::Other(match *ty {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => {
                "expected a whole number, 0 or more".to_string()
            }
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => {
                "expected a whole number".to_string()
            }
            "floating point" | "f32" | "f64" => "expected a number".to_string(),
            other => format!("invalid {other}"),
        }),
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => YamlErrorKind::Other(match key {
            Some(k) => format!("duplicate key `{}`", sanitize(Cow::Borrowed(k))),
            None => "duplicate key".to_string(),
        }),
        other => {
            // The formatter gives the message without the "at line X, column Y" suffix,
            // which we print ourselves in `file:line:column` form.
            let text = serde_saphyr::DefaultMessageFormatter.format_message(other);
            YamlErrorKind::Other(sanitize(text))
        }
    };
    YamlError { kind, line, column }
}

fn unexpected(expected: &str, line: usize, column: usize) -> YamlError {
    YamlError {
        kind: YamlErrorKind::Other(format!("expected {expected}")),
        line,
        column,
    }
}

/// Escapes control characters: the message may quote bytes from a user's file and is
/// printed to a terminal.
fn sanitize(text: Cow<'_, str>) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = c.is_control();
            let mut buf = Vec::new();
            if escape {
                buf.extend(c.escape_debug());
            } else {
                buf.push(c);
            }
            buf
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // some fields exist only to be misspelt
    struct Doc {
        name: Spanned<String>,
        on: Option<bool>,
        steps: Option<Vec<Spanned<Step>>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum Step {
        Talk(Spanned<String>),
        Hangup(String),
    }

    #[test]
    fn spans_are_one_based_line_and_column() {
        let d: Doc = from_str("# c\nname:   x\nsteps:\n  - talk: 2s\n").unwrap();
        assert_eq!((d.name.line, d.name.column), (2, 9));
        let steps = d.steps.unwrap();
        assert_eq!((steps[0].line, steps[0].column), (4, 5));
        let Step::Talk(t) = &steps[0].value else {
            panic!("expected talk")
        };
        assert_eq!((t.value.as_str(), t.line, t.column), ("2s", 4, 11));
    }

    #[test]
    fn unknown_names_are_structured() {
        let e = from_str::<Doc>("name: x\nsteps:\n  - tlak: 2s\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 5));
        assert_eq!(
            e.kind,
            YamlErrorKind::UnknownVariant {
                variant: "tlak".into(),
                expected: vec!["talk", "hangup"]
            }
        );
        let e = from_str::<Doc>("name: x\nnmae: y\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(matches!(e.kind, YamlErrorKind::UnknownField { ref field, .. } if field == "nmae"));
        let e = from_str::<Doc>("on: true\n").unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::MissingField { field: "name" });
    }

    #[test]
    fn booleans_are_strict() {
        let e = from_str::<Doc>("name: x\non: yes\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 5));
        assert!(matches!(e.kind, YamlErrorKind::Other(ref m) if m.contains("boolean")));
    }

    #[test]
    fn other_errors_have_no_location_suffix() {
        let e = from_str::<Doc>("name: [x\n").unwrap_err();
        let YamlErrorKind::Other(m) = &e.kind else {
            panic!("{e:?}")
        };
        assert!(!m.contains("at line"), "{m}");
        assert!(e.line >= 1);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(sanitize(Cow::Borrowed("a\u{1b}[31mb")), "a\\u{1b}[31mb");
    }
}
