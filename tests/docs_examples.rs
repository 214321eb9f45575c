//! The target files the documentation shows are ones this build accepts: every ```yaml
//! block of docs/targets.md that is a whole file (it starts with `kind:`) passes
//! `flipcheck validate`, so a user who copies one starts from a file that works.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_flipcheck");

/// The whole target files among the doc's YAML blocks, with their line in the doc.
fn whole_files(doc: &str) -> Vec<(usize, String)> {
    let mut files = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (n, line) in doc.lines().enumerate() {
        match (&mut block, line.trim_end()) {
            (None, "```yaml") => block = Some((n + 2, String::new())),
            (Some(_), "```") => {
                let (at, text) = block.take().unwrap();
                if text.starts_with("kind:") {
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
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/targets.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/targets.md");
    let files = whole_files(&doc);
    assert!(
        files.len() >= 3,
        "docs/targets.md shows {} target files",
        files.len()
    );
    let dir = tempfile::tempdir().unwrap();
    // A CA file an example names must exist: validate reads it.
    std::fs::write(dir.path().join("corp-ca.pem"), "").unwrap();
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
            "docs/targets.md:{at}: the target file does not validate:\n{}{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
