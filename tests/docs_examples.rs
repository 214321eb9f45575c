//! The files the documentation shows are ones this build accepts: every ```yaml block of
//! docs/targets.md that is a whole target file (it starts with `kind:`), and of
//! docs/scenarios.md that is a whole scenario (it starts with `name:`), passes
//! `flipcheck validate`, so a user who copies one starts from a file that works.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_flipcheck");

/// The whole files among the doc's YAML blocks (those that start with `first`), with
/// their line in the doc.
fn whole_files(doc: &str, first: &str) -> Vec<(usize, String)> {
    let mut files = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (n, line) in doc.lines().enumerate() {
        match (&mut block, line.trim_end()) {
            (None, "```yaml") => block = Some((n + 2, String::new())),
            (Some(_), "```") => {
                let (at, text) = block.take().unwrap();
                if text.starts_with(first) {
                    files.push((at, text));
                }
            }
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    files
}

#[test]
fn every_whole_target_file_in_docs_targets_md_validates() {
    let dir = tempfile::tempdir().unwrap();
    // A CA file an example names must exist: validate reads it.
    std::fs::write(dir.path().join("corp-ca.pem"), "").unwrap();
    validate_all(&dir, "docs/targets.md", "kind:", 3);
}

#[test]
fn every_whole_scenario_in_docs_scenarios_md_validates() {
    let dir = tempfile::tempdir().unwrap();
    validate_all(&dir, "docs/scenarios.md", "name:", 2);
}

/// Runs `flipcheck validate` on each whole file of `doc` written into `dir`.
fn validate_all(dir: &tempfile::TempDir, doc: &str, first: &str, at_least: usize) {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&doc_path).expect(doc);
    let files = whole_files(&text, first);
    assert!(
        files.len() >= at_least,
        "{doc} shows {} whole files",
        files.len()
    );
    for (at, text) in files {
        let file = dir.path().join(format!("line-{at}.yaml"));
        std::fs::write(&file, &text).unwrap();
        let out = Command::new(BIN)
            .arg("validate")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{doc}:{at}: the file does not validate:\n{}{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The refused-flip example passes where the doc says it does and fails where it says it
/// fails, so the page's account of `blocked` is what the build does.
#[test]
fn the_refused_flip_example_passes_only_against_a_refusing_target() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenarios.md"))
            .expect("docs/scenarios.md");
    let (_, text) = whole_files(&doc, "name: a refused flip")
        .into_iter()
        .next()
        .expect("docs/scenarios.md shows the refused-flip example");
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("refused.yaml");
    std::fs::write(&scenario, text).unwrap();
    let target = dir.path().join("refusing.yaml");
    std::fs::write(&target, "kind: embedded\nquirks: [refuse_flip]\n").unwrap();
    let run = |target: Option<&Path>| {
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--sim"]);
        if let Some(t) = target {
            cmd.arg("--target").arg(t);
        }
        cmd.arg(&scenario).output().unwrap()
    };
    let refusing = run(Some(&target));
    assert_eq!(
        refusing.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&refusing.stdout)
    );
    let plain = run(None);
    assert_eq!(
        plain.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&plain.stdout)
    );
}
