//! docs/report.md, the reference of the JSON report's fields, is generated from the
//! descriptions in reports/schema.json, so the page and the contract cannot drift apart.
//! `FLIPCHECK_BLESS=1 cargo test --test report_doc` rewrites it after a schema change.

use std::fmt::Write;
use std::path::Path;

use serde_json::{Map, Value};

const HEADER: &str = "\
# The JSON report

`flipcheck run --json FILE` (or `--json -` for standard output) writes one JSON document
per run. Its schema is `reports/schema.json` (JSON Schema draft 2020-12); this page lists
every field of it. Fields may be added in later versions; the listed ones keep their names
and meanings. A value that could not be observed on a target is `null` or `not_checked`,
and the flip's `not_checked` gives the reason.

This page is generated from the schema's descriptions by `tests/report_doc.rs`.
";

/// A field's type as a reader wants it: `integer ≥ 0`, one of the enum's words, a link to
/// another table.
fn type_of(s: &Value) -> String {
    if let Some(Value::Array(words)) = s.get("enum") {
        let words: Vec<String> = words
            .iter()
            .map(|w| match w {
                Value::String(w) => format!("`{w}`"),
                other => format!("`{other}`"),
            })
            .collect();
        return words.join(", ");
    }
    if let Some(Value::String(r)) = s.get("$ref") {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("[{name}](#{name})");
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alts)) = s.get(key) {
            return alts.iter().map(type_of).collect::<Vec<_>>().join(" or ");
        }
    }
    let base = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    };
    let mut out = if base.starts_with("array") {
        match s.get("items") {
            Some(items) => base.replacen("array", &format!("array of {}", type_of(items)), 1),
            None => base,
        }
    } else {
        base
    };
    if let Some(min) = s.get("minimum") {
        write!(out, " ≥ {min}").unwrap();
    }
    if let Some(max) = s.get("maximum") {
        write!(out, " ≤ {max}").unwrap();
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// One table of an object's fields, and the tables of objects nested in them after it.
fn table(out: &mut String, title: &str, schema: &Map<String, Value>) {
    writeln!(out, "\n## {title}\n").unwrap();
    if let Some(Value::String(d)) = schema.get("description") {
        writeln!(out, "{}\n", d.trim()).unwrap();
    }
    let Some(Value::Object(props)) = schema.get("properties") else {
        writeln!(out, "Type: {}.", type_of(&Value::Object(schema.clone()))).unwrap();
        return;
    };
    let required: Vec<&str> = match schema.get("required") {
        Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    writeln!(out, "| Field | Type | Meaning |\n|---|---|---|").unwrap();
    let mut nested = Vec::new();
    for (name, field) in props {
        let optional = if required.contains(&name.as_str()) {
            ""
        } else {
            " (optional)"
        };
        let is_object = field.get("properties").is_some();
        let ty = if is_object {
            let anchor = format!("{title}.{name}");
            nested.push((anchor.clone(), field));
            format!("[object](#{})", anchor.replace('.', "").to_lowercase())
        } else {
            type_of(field)
        };
        let about = field
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        writeln!(
            out,
            "| `{name}`{optional} | {} | {} |",
            cell(&ty),
            cell(about)
        )
        .unwrap();
    }
    for (anchor, field) in nested {
        table(out, &anchor, field.as_object().unwrap());
    }
}

fn generate(schema: &Value) -> String {
    let mut out = String::from(HEADER);
    let top = schema.as_object().expect("the schema is an object");
    table(&mut out, "report", top);
    if let Some(Value::Object(defs)) = schema.get("$defs") {
        for (name, def) in defs {
            table(&mut out, name, def.as_object().expect("a definition"));
        }
    }
    out
}

#[test]
fn docs_report_md_is_generated_from_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("reports/schema.json")).expect("reports/schema.json"),
    )
    .expect("reports/schema.json is JSON");
    let text = generate(&schema);
    let path = root.join("docs/report.md");
    if std::env::var_os("FLIPCHECK_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "docs/report.md is not what reports/schema.json generates; run FLIPCHECK_BLESS=1 cargo test --test report_doc"
    );
}

#[test]
fn every_field_of_the_schema_appears_with_its_description() {
    let schema = serde_json::json!({
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": { "type": "integer", "minimum": 0, "description": "Milliseconds | measured." },
            "b": { "type": "object", "description": "Nested.", "properties": {
                "c": { "enum": ["x", "y"], "description": "A word." }
            }}
        },
        "$defs": { "verdict": { "enum": ["pass", "fail"], "description": "How it ended." } }
    });
    let text = generate(&schema);
    assert!(
        text.contains("| `a` | integer ≥ 0 | Milliseconds \\| measured. |"),
        "{text}"
    );
    assert!(text.contains("| `b` (optional) | [object](#reportb) | Nested. |"));
    assert!(text.contains("## report.b"));
    assert!(text.contains("| `c` (optional) | `x`, `y` | A word. |"));
    assert!(text.contains("## verdict\n\nHow it ended.\n\nType: `pass`, `fail`."));
}
