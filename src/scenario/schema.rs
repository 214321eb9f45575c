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
use super::quirk::{Quirk, RawQuirk, valued_names};
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
        v["properties"]["kind"] = json!({ "const": kind });
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
            let schema = match field {
                "flip" => json!({ "enum": words(Outcome::ALL) }),
                "customer_dialog" => expected(words(DialogContinuity::ALL)),
                "caller_id" => expected(words(Continuity::ALL)),
                "session_id" => expected(words(SessionContinuity::ALL)),
                "old_device_released" | "one_way_audio" => json!({ "type": "boolean" }),
                _ => bound.clone(),
            };
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

impl JsonSchema for RawQuirk {
    fn schema_name() -> Cow<'static, str> {
        "Quirk".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Quirk::WORDS.iter().map(|q| q.name()).collect();
        let valued: serde_json::Map<String, Value> = valued_names()
            .map(|n| (n.to_string(), json!({ "type": "integer", "minimum": 1 })))
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
