//! The JSON Schemas of scenario and target files that editors use (`schemas/`): generated
//! from the structs the files are parsed into, checked in current, valid draft 2020-12,
//! every shipped scenario and target valid against them, and a misspelt key flagged as
//! `flipcheck validate` flags it. `FLIPCHECK_BLESS=1 cargo test --test file_schemas`
//! rewrites the checked-in files after a change to the file formats.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn checked_in(name: &str, generated: &Value) -> Value {
    let path = root().join("schemas").join(name);
    let text = serde_json::to_string_pretty(generated).unwrap() + "\n";
    if std::env::var_os("FLIPCHECK_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "{} is not what this build generates; run FLIPCHECK_BLESS=1 cargo test --test file_schemas",
        path.display()
    );
    generated.clone()
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::meta::validate(schema)
        .unwrap_or_else(|e| panic!("not valid draft 2020-12: {e}"));
    jsonschema::draft202012::new(schema).expect("schema compiles")
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root().join(dir)];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn problems(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| e.to_string()).collect()
}

#[test]
fn every_shipped_scenario_fits_the_scenario_schema() {
    let v = validator(&checked_in(
        "scenario.schema.json",
        &flipcheck::scenario::scenario_schema(),
    ));
    let files = yaml_files("scenarios");
    assert!(files.len() >= 2);
    for f in files {
        let doc = yaml(&f);
        assert_eq!(problems(&v, &doc), Vec::<String>::new(), "{}", f.display());
    }
    let mut typo = yaml(&root().join("scenarios/checklist/flip-feature-code.yaml"));
    let at = typo["steps"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s.get("flip").is_some())
        .expect("a flip step");
    let flip = |doc: &mut Value| -> serde_json::Map<String, Value> {
        doc["steps"][at]["flip"].as_object().unwrap().clone()
    };
    let mut renamed = flip(&mut typo);
    let method = renamed.remove("method").unwrap();
    renamed.insert("methd".into(), method);
    typo["steps"][at]["flip"] = renamed.into();
    assert!(!problems(&v, &typo).is_empty(), "a misspelt key is flagged");
    let mut refer = flip(&mut typo);
    refer.remove("methd");
    refer.insert("method".into(), "refer".into());
    typo["steps"][at]["flip"] = refer.into();
    assert!(
        !problems(&v, &typo).is_empty(),
        "a method this build does not carry out is flagged"
    );
}

#[test]
fn every_shipped_target_fits_the_target_schema() {
    let v = validator(&checked_in(
        "target.schema.json",
        &flipcheck::scenario::target_schema(),
    ));
    let files = yaml_files("targets");
    assert!(files.len() >= 3);
    for f in files {
        let doc = yaml(&f);
        assert_eq!(problems(&v, &doc), Vec::<String>::new(), "{}", f.display());
    }
    let mut typo = yaml(&root().join("targets/example-external.yaml"));
    let registrar = typo.as_object_mut().unwrap().remove("registrar").unwrap();
    typo["registar"] = registrar;
    assert!(!problems(&v, &typo).is_empty(), "a misspelt key is flagged");
    let quirky =
        serde_json::json!({"kind": "embedded", "quirks": ["refuse_flip", {"media_gap_ms": 250}]});
    assert_eq!(problems(&v, &quirky), Vec::<String>::new());
    let unknown = serde_json::json!({"kind": "embedded", "quirks": ["refuse_flips"]});
    assert!(
        !problems(&v, &unknown).is_empty(),
        "an unknown quirk is flagged"
    );
}

/// Every key an editor offers, with the JSON pointer of those that have no description.
fn undescribed(node: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(o) = node else { return };
    if let Some(Value::Object(props)) = o.get("properties") {
        // A step such as `talk: 2s` is an object of one key whose description is the
        // object's own (how serde's externally tagged enums appear in a schema).
        let single_described = props.len() == 1 && o.contains_key("description");
        for (key, schema) in props {
            let here = format!("{at}/properties/{key}");
            // A `$ref` shows the referenced definition's description.
            if schema.get("description").is_none()
                && schema.get("$ref").is_none()
                && !single_described
            {
                out.push(here.clone());
            }
            undescribed(schema, &here, out);
        }
    }
    if let Some(Value::Object(defs)) = o.get("$defs") {
        for (name, schema) in defs {
            undescribed(schema, &format!("{at}/$defs/{name}"), out);
        }
    }
    for key in ["oneOf", "anyOf", "items", "additionalProperties"] {
        match o.get(key) {
            Some(Value::Array(items)) => {
                for (i, s) in items.iter().enumerate() {
                    undescribed(s, &format!("{at}/{key}/{i}"), out);
                }
            }
            Some(s @ Value::Object(_)) => undescribed(s, &format!("{at}/{key}"), out),
            _ => {}
        }
    }
}

#[test]
fn every_key_an_editor_offers_is_described() {
    for (name, schema) in [
        ("scenario", flipcheck::scenario::scenario_schema()),
        ("target", flipcheck::scenario::target_schema()),
    ] {
        let mut missing = Vec::new();
        undescribed(&schema, "", &mut missing);
        // A bound's `min`/`max` explain themselves under the bound's description.
        missing.retain(|p| !p.starts_with("/$defs/Bound/"));
        assert_eq!(
            missing,
            Vec::<String>::new(),
            "{name} schema keys without a description"
        );
    }
}
