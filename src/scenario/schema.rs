//! JSON Schemas of scenario and target files, generated from the raw structs the files
//! are parsed into (schemars), so that an editor with a YAML language server completes
//! keys and flags a misspelt one exactly where `flipcheck validate` would: the structs
//! deny unknown fields, and so does the schema. The words a key takes (codecs, methods,
//! expectation values, quirks) are the ones this build carries out, from the same lists
//! the compiler resolves them with. Checked in as `schemas/*.schema.json`; a test keeps
//! them current.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

use super::compile::{SUPPORTED_CODECS, SUPPORTED_NETWORKS};
use super::external::{CdrFormat, RawExternal};
use super::flip::SUPPORTED_METHODS;
use super::plan::ReplacesSupport;
use super::quirk::{Quirk, RawQuirk, valued_quirks};
use super::raw::{EXPECT_FIELDS, RawBound, RawExpect, RawMap, RawScenario};
use super::target::RawEmbedded;
use super::yaml::Spanned;
use crate::report::{Continuity, DialogContinuity, Keyword, Outcome, SessionContinuity};

/// The schema of a scenario file.
pub fn scenario_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(RawScenario)).expect("JSON");
    schema["title"] = json!("flipcheck scenario");
    set_enum(
        &mut schema,
        "/$defs/RawFlip/properties/method",
        words(SUPPORTED_METHODS),
    );
    for device in ["RawDevice", "RawCustomer"] {
        let props = format!("/$defs/{device}/properties");
        set_enum(
            &mut schema,
            &format!("{props}/codecs/items"),
            words(SUPPORTED_CODECS),
        );
        set_enum(
            &mut schema,
            &format!("{props}/network"),
            words(SUPPORTED_NETWORKS),
        );
    }
    set_enum(
        &mut schema,
        "/$defs/RawCustomer/properties/replaces",
        words(ReplacesSupport::ALL),
    );
    schema
}

/// The schema of a target file: `kind: embedded` or `kind: external`.
pub fn target_schema() -> Value {
    let mut generator = SchemaGenerator::default();
    let variant = |kind: &str, schema: Schema| {
        let mut v = serde_json::to_value(schema).expect("JSON");
        // `const` instead of the string type, keeping the field's description.
        let k = &mut v["properties"]["kind"];
        k["const"] = json!(kind);
        if let Value::Object(o) = k {
            o.remove("type");
        }
        v
    };
    let embedded = variant("embedded", generator.root_schema_for::<RawEmbedded>());
    let external = variant("external", generator.root_schema_for::<RawExternal>());
    let mut defs = serde_json::Map::new();
    for v in [&embedded, &external] {
        if let Some(Value::Object(d)) = v.get("$defs") {
            defs.extend(d.clone());
        }
    }
    let strip = |mut v: Value| {
        if let Value::Object(o) = &mut v {
            o.remove("$defs");
            o.remove("$schema");
        }
        v
    };
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "flipcheck target",
        "description": "The system under test: the embedded PBX (with quirks) or a real one.",
        "oneOf": [strip(embedded), strip(external)],
        "$defs": defs,
    });
    set_enum(
        &mut schema,
        "/$defs/RawCdr/properties/format",
        words(CdrFormat::ALL),
    );
    schema
}

/// A keyword list's words, as a JSON array.
fn words<K: Keyword>(ks: &[K]) -> Value {
    ks.iter().map(|k| k.as_str()).collect()
}

/// Restricts the string (or optional string) schema at JSON `pointer` to `values`, keeping
/// its description. The pointer must exist: a renamed field fails the schema tests here.
fn set_enum(schema: &mut Value, pointer: &str, values: Value) {
    let Some(Value::Object(o)) = schema.pointer_mut(pointer) else {
        panic!("no schema at {pointer}");
    };
    o.remove("type");
    o.insert("enum".into(), values);
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }
}

impl<V: JsonSchema> JsonSchema for RawMap<V> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let values = generator.subschema_for::<V>();
        json_schema!({ "type": "object", "additionalProperties": values })
    }
}

impl JsonSchema for RawBound {
    fn schema_name() -> Cow<'static, str> {
        "Bound".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A figure the measured value must meet: a number (exactly), or `{ min, max }` with either bound optional.",
            "oneOf": [
                { "type": "number" },
                {
                    "type": "object",
                    "properties": { "min": { "type": "number" }, "max": { "type": "number" } },
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for RawExpect {
    fn schema_name() -> Cow<'static, str> {
        "Expect".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let bound = serde_json::to_value(generator.subschema_for::<RawBound>()).expect("JSON");
        let expected = |ws: Value| -> Value {
            let ws: Vec<Value> = ws
                .as_array()
                .into_iter()
                .flatten()
                .filter(|w| *w != "not_checked")
                .cloned()
                .collect();
            json!({ "enum": ws })
        };
        let mut props = serde_json::Map::new();
        for &field in EXPECT_FIELDS {
            let mut schema = match field {
                "flip" => json!({ "enum": words(Outcome::ALL) }),
                "customer_dialog" => expected(words(DialogContinuity::ALL)),
                "caller_id" => expected(words(Continuity::ALL)),
                "session_id" => expected(words(SessionContinuity::ALL)),
                "old_device_released" | "one_way_audio" => json!({ "type": "boolean" }),
                _ => bound.clone(),
            };
            schema["description"] = json!(expect_description(field));
            props.insert(field.into(), schema);
        }
        json_schema!({
            "description": "What each flip must show; a flip's own `expect:` adds to the scenario's.",
            "type": "object",
            "properties": props,
            "additionalProperties": false
        })
    }
}

/// What an `expect:` key checks, shown by an editor on hover; docs/scenarios.md says more.
fn expect_description(field: &str) -> &'static str {
    match field {
        "flip" => "How the flip must end (default `moved`).",
        "customer_gap_ms" => {
            "Milliseconds the customer heard neither device around the switch (old device's last frame to the new device's first)."
        }
        "other_audio_ms" => {
            "Milliseconds of hold music, announcements or noise the customer heard in the flip's window."
        }
        "flip_latency_ms" => {
            "Milliseconds from the flip request to the customer hearing the new device."
        }
        "device_gap_ms" => "Milliseconds from the new device's answer to it hearing the customer.",
        "max_hole_ms" => {
            "Longest stretch, in milliseconds, in the flip's window in which the customer heard neither device."
        }
        "customer_dialog" => {
            "Whether the customer's SIP dialog survived (`same_dialog`), was replaced (`new_dialog`) or ended (`lost`)."
        }
        "caller_id" => "Whether the identity the customer sees stayed the same.",
        "session_id" => {
            "Whether the RFC 7989 Session-ID stayed the same (`absent`: the target sends none)."
        }
        "old_device_released" => {
            "Whether the old device's call ended and no audio reached it 200 ms later."
        }
        "one_way_audio" => {
            "Whether one direction was steady while the other was not, after the new device answered."
        }
        _ => unreachable!("every expect key has a description: {field}"),
    }
}

impl JsonSchema for RawQuirk {
    fn schema_name() -> Cow<'static, str> {
        "Quirk".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Quirk::WORDS.iter().map(|q| q.name()).collect();
        let valued: serde_json::Map<String, Value> = valued_quirks()
            .map(|(name, unit, range)| {
                let schema = json!({
                    "type": "integer",
                    "minimum": range.start(),
                    "maximum": range.end(),
                    "description": format!("{unit}, {} to {}", range.start(), range.end()),
                });
                (name.to_string(), schema)
            })
            .collect();
        json_schema!({
            "description": "A deliberate misbehaviour of the embedded PBX: a name, or `{name: N}` for those with a value.",
            "oneOf": [
                { "enum": names },
                {
                    "type": "object",
                    "properties": valued,
                    "additionalProperties": false,
                    "minProperties": 1,
                    "maxProperties": 1
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refused_keys_are_not_offered() {
        let s = scenario_schema().to_string();
        assert!(!s.contains("answer_after_rings") && !s.contains("no_answer"));
        let t = target_schema().to_string();
        for key in ["policy", "park", "directed_pickup", "dtmf_push", "G722"] {
            assert!(!t.contains(&format!("\"{key}\"")), "{key}");
        }
        assert!(!s.contains("\"G722\"") && !s.contains("\"refer\""));
    }
}
