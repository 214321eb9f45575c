//! The `quirks:` list of an embedded target: each item a name (`refuse_flip`) or a
//! single-key mapping with a whole number (`{media_gap_ms: 250}`, or `media_gap_ms: 250`
//! inside a flow list), resolved into [`Quirk`]s with one diagnostic per bad item.

use std::fmt;
use std::ops::RangeInclusive;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::compile::Compiler;
use super::diagnostic::Diagnostic;
use super::raw::with_nearest_or_list;
use super::yaml::Spanned;

/// Quirk switches that make the embedded PBX behave like the variety of real systems
/// (README "Targets"), one behaviour each, to prove that the harness
/// reports exactly that behaviour. Each maps to one field of
/// [`crate::roles::pbx::PbxQuirks`], where the behaviours are documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quirk {
    DropCustomerOnFlip,
    NewDialogOnFlip,
    ReinviteCustomerOnFlip,
    HoldMusicDuringFlip,
    ChangeCallerIdOnFlip,
    NewSessionIdOnFlip,
    OneWayAudioOnFlip,
    SplitCdrOnFlip,
    RefuseFlip,
    FlipNeverAnswered,
    IgnoreFlipRequest,
    ChallengeFlipTwice,
    KeepOldDeviceOnFlip,
    OmitSessionId,
    /// `{media_gap_ms: N}`: N milliseconds, 1 to 60000.
    MediaGapMs(u32),
    /// `{lose_packets_after_flip: N}`: N packets, 1 to 1000.
    LosePacketsAfterFlip(u32),
}

impl Quirk {
    /// The quirks written as a bare name, in documentation order.
    pub const WORDS: &'static [Quirk] = &[
        Quirk::DropCustomerOnFlip,
        Quirk::NewDialogOnFlip,
        Quirk::ReinviteCustomerOnFlip,
        Quirk::HoldMusicDuringFlip,
        Quirk::ChangeCallerIdOnFlip,
        Quirk::NewSessionIdOnFlip,
        Quirk::OneWayAudioOnFlip,
        Quirk::SplitCdrOnFlip,
        Quirk::RefuseFlip,
        Quirk::FlipNeverAnswered,
        Quirk::IgnoreFlipRequest,
        Quirk::ChallengeFlipTwice,
        Quirk::KeepOldDeviceOnFlip,
        Quirk::OmitSessionId,
    ];

    /// The name as written in a target file.
    pub fn name(self) -> &'static str {
        match self {
            Quirk::DropCustomerOnFlip => "drop_customer_on_flip",
            Quirk::NewDialogOnFlip => "new_dialog_on_flip",
            Quirk::ReinviteCustomerOnFlip => "reinvite_customer_on_flip",
            Quirk::HoldMusicDuringFlip => "hold_music_during_flip",
            Quirk::ChangeCallerIdOnFlip => "change_caller_id_on_flip",
            Quirk::NewSessionIdOnFlip => "new_session_id_on_flip",
            Quirk::OneWayAudioOnFlip => "one_way_audio_on_flip",
            Quirk::SplitCdrOnFlip => "split_cdr_on_flip",
            Quirk::RefuseFlip => "refuse_flip",
            Quirk::FlipNeverAnswered => "flip_never_answered",
            Quirk::IgnoreFlipRequest => "ignore_flip_request",
            Quirk::ChallengeFlipTwice => "challenge_flip_twice",
            Quirk::KeepOldDeviceOnFlip => "keep_old_device_on_flip",
            Quirk::OmitSessionId => "omit_session_id",
            Quirk::MediaGapMs(_) => "media_gap_ms",
            Quirk::LosePacketsAfterFlip(_) => "lose_packets_after_flip",
        }
    }
}

impl fmt::Display for Quirk {
    /// As written in a target file: `refuse_flip`, `{media_gap_ms: 250}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quirk::MediaGapMs(n) | Quirk::LosePacketsAfterFlip(n) => {
                write!(f, "{{{}: {n}}}", self.name())
            }
            _ => f.write_str(self.name()),
        }
    }
}

/// A quirk written with a value, and the values it takes.
struct Valued {
    name: &'static str,
    unit: &'static str,
    range: RangeInclusive<u32>,
    /// A plausible value, for the "needs a value" hint.
    example: u32,
    make: fn(u32) -> Quirk,
}

/// The quirks written `{name: N}`, in documentation order. The ranges keep a run
/// meaningful: a gap past a minute or a loss past twenty seconds of audio is a dropped call
/// by another name, which `drop_customer_on_flip` already proves.
const VALUED: &[Valued] = &[
    Valued {
        name: "media_gap_ms",
        unit: "milliseconds",
        range: 1..=60_000,
        example: 250,
        make: Quirk::MediaGapMs,
    },
    Valued {
        name: "lose_packets_after_flip",
        unit: "packets",
        range: 1..=1000,
        example: 10,
        make: Quirk::LosePacketsAfterFlip,
    },
];

/// The quirks written with a value: name, unit and the values taken.
pub(super) fn valued_quirks()
-> impl Iterator<Item = (&'static str, &'static str, RangeInclusive<u32>)> {
    VALUED.iter().map(|v| (v.name, v.unit, v.range.clone()))
}

/// Quirk names this version knows but does not carry out, each with why and what to do
/// instead: refused where written rather than accepted and ignored.
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "split_recording_on_flip",
        "the embedded PBX records no calls",
        "`split_cdr_on_flip` splits the call's CDR instead",
    ),
    (
        "allow_cross_user_flip",
        "a flip pulls only a call of the same user",
        "remove it",
    ),
    (
        "allow_flip_on_hold",
        "no call is ever on hold, so there is no hold to allow a flip in",
        "remove it",
    ),
];

/// One item of `quirks:` as written. Deserialised by hand so that every shape, right or
/// wrong, reaches the compiler with its position (a serde error would stop at the first).
#[derive(Debug)]
pub(super) enum RawQuirk {
    /// `refuse_flip`
    Word(String),
    /// `{media_gap_ms: 250}`: normally one entry; zero or several are errors.
    Map(Vec<(Spanned<String>, Spanned<RawValue>)>),
    /// Anything else (a number, a list, nothing), described for the error.
    Other(&'static str),
}

/// A quirk's value as written: a whole number, or what else it was (for the error).
#[derive(Debug)]
pub(super) enum RawValue {
    Integer(i128),
    Other(String),
}

impl<'de> Deserialize<'de> for RawQuirk {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawQuirk;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quirk name or `{name: value}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawQuirk, E> {
                Ok(RawQuirk::Word(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawQuirk, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    entries.push((k, map.next_value::<Spanned<RawValue>>()?));
                }
                Ok(RawQuirk::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawQuirk, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawQuirk::Other("a list"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawQuirk, E> {
                Ok(RawQuirk::Other("a number"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawQuirk, E> {
                Ok(RawQuirk::Other("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawQuirk, E> {
                Ok(RawQuirk::Other("a number"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawQuirk, E> {
                Ok(RawQuirk::Other("`true` or `false`"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawQuirk, E> {
                Ok(RawQuirk::Other("an empty item"))
            }
            fn visit_none<E: de::Error>(self) -> Result<RawQuirk, E> {
                Ok(RawQuirk::Other("an empty item"))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
                Ok(RawValue::Integer(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
                Ok(RawValue::Integer(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
                Ok(RawValue::Other(format!("`{v}`")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::Other(format!("`{v}`")))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
                Ok(RawValue::Other(format!("`{v}`")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Other("nothing".into()))
            }
            fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Other("nothing".into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawValue::Other("a list".into()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawValue::Other("a mapping".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Every name a file may use, words then valued, in documentation order.
fn accepted_names() -> Vec<&'static str> {
    Quirk::WORDS
        .iter()
        .map(|q| q.name())
        .chain(VALUED.iter().map(|v| v.name))
        .collect()
}

impl Compiler<'_> {
    /// Resolves a `quirks:` list; each quirk at most once, whatever its value.
    pub(super) fn quirks(&mut self, raw: &[Spanned<RawQuirk>]) -> Vec<Quirk> {
        let mut out: Vec<Quirk> = Vec::new();
        for item in raw {
            let Some((quirk, line, column)) = self.quirk(item) else {
                continue;
            };
            if out.iter().any(|q| q.name() == quirk.name()) {
                let message = format!("quirk `{}` is listed twice", quirk.name());
                self.push(Diagnostic::new(self.file, line, column, message));
            } else {
                out.push(quirk);
            }
        }
        out
    }

    /// One item, and where its name is written (where a duplicate is reported).
    fn quirk(&mut self, item: &Spanned<RawQuirk>) -> Option<(Quirk, usize, usize)> {
        match &item.value {
            RawQuirk::Word(word) => {
                let node = Spanned {
                    value: word.clone(),
                    line: item.line,
                    column: item.column,
                };
                let quirk = self.word_quirk(&node)?;
                Some((quirk, item.line, item.column))
            }
            RawQuirk::Map(entries) => match entries.as_slice() {
                [] => {
                    self.push(
                        self.at(item, "an empty mapping is not a quirk")
                            .with_hint("write a quirk name, or `{media_gap_ms: 250}`"),
                    );
                    None
                }
                [(key, value)] => {
                    let quirk = self.valued_quirk(key, value)?;
                    Some((quirk, key.line, key.column))
                }
                [_, (second, _), ..] => {
                    self.push(
                        self.at(
                            second,
                            format!(
                                "a quirk with a value is a mapping with one key, and this one \
                                 has {}",
                                entries.len()
                            ),
                        )
                        .with_hint(
                            "give each quirk its own list item, e.g. \
                             `[media_gap_ms: 250, lose_packets_after_flip: 10]`",
                        ),
                    );
                    None
                }
            },
            RawQuirk::Other(what) => {
                self.push(
                    self.at(
                        item,
                        format!("a quirk is a name or `{{name: value}}`, not {what}"),
                    )
                    .with_hint("e.g. `quirks: [refuse_flip, {media_gap_ms: 250}]`"),
                );
                None
            }
        }
    }

    fn word_quirk(&mut self, node: &Spanned<String>) -> Option<Quirk> {
        if let Some(q) = Quirk::WORDS.iter().find(|q| q.name() == node.value) {
            return Some(*q);
        }
        if let Some(v) = VALUED.iter().find(|v| v.name == node.value) {
            let (lo, hi) = (v.range.start(), v.range.end());
            self.push(
                self.at(
                    node,
                    format!(
                        "quirk `{}` needs a value: a number of {} from {lo} to {hi}",
                        v.name, v.unit
                    ),
                )
                .with_hint(format!("write `{{{}: {}}}`", v.name, v.example)),
            );
            return None;
        }
        self.unknown_quirk(node);
        None
    }

    fn valued_quirk(&mut self, key: &Spanned<String>, value: &Spanned<RawValue>) -> Option<Quirk> {
        let Some(v) = VALUED.iter().find(|v| v.name == key.value) else {
            if Quirk::WORDS.iter().any(|q| q.name() == key.value) {
                self.push(
                    self.at(key, format!("quirk `{}` takes no value", key.value))
                        .with_hint(format!("write it as a bare name: `{}`", key.value)),
                );
            } else {
                self.unknown_quirk(key);
            }
            return None;
        };
        let (lo, hi) = (v.range.start(), v.range.end());
        let wrong = match &value.value {
            RawValue::Integer(n) => match u32::try_from(*n) {
                Ok(n) if v.range.contains(&n) => return Some((v.make)(n)),
                _ => format!(
                    "quirk `{}` must be from {lo} to {hi} {}, not {n}",
                    v.name, v.unit
                ),
            },
            RawValue::Other(what) => format!(
                "quirk `{}` must be a whole number of {} from {lo} to {hi}, not {what}",
                v.name, v.unit
            ),
        };
        self.push(self.at(value, wrong));
        None
    }

    /// A name that is no quirk of this version: refused if it is a known one, else unknown
    /// with the nearest accepted name.
    fn unknown_quirk(&mut self, node: &Spanned<String>) {
        if let Some((name, why, hint)) = REFUSED.iter().find(|(n, ..)| *n == node.value) {
            self.push(
                self.at(
                    node,
                    format!("quirk `{name}` is not supported in this version: {why}"),
                )
                .with_hint(*hint),
            );
            return;
        }
        let d = self.at(node, format!("unknown quirk `{}`", node.value));
        self.push(with_nearest_or_list(d, &node.value, &accepted_names()));
    }
}
