//! Finding and reading scenario files on disk.

use std::fs;
use std::path::{Path, PathBuf};

use super::compile::compile_scenario;
use super::diagnostic::{Diagnostic, io_reason};
use super::plan::Plan;
use super::target::{Target, compile_target, declares_kind, target_kind};

/// Reads, parses and compiles one scenario file. A target profile given where a scenario
/// belongs is named as such instead of as a scenario with an unknown `kind` field.
pub fn load_scenario(path: &Path) -> Result<Plan, Vec<Diagnostic>> {
    let text = read_file(path)?;
    if let Some((kind, line, column)) = target_kind(&text) {
        return Err(vec![
            Diagnostic::new(
                path,
                line,
                column,
                format!("this is a target profile (`kind: {kind}`), not a scenario"),
            )
            .with_hint("give it with --target"),
        ]);
    }
    compile_scenario(path, &text)
}

/// A file given to `flipcheck validate`, compiled.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckedFile {
    /// A scenario (no top-level `kind:`).
    Scenario(Box<Plan>),
    /// A target profile (top-level `kind:`).
    Target(Target),
}

/// Reads and compiles a scenario or a target profile, telling them apart by the top-level
/// `kind:` key that only target profiles have.
pub fn load_any(path: &Path) -> Result<CheckedFile, Vec<Diagnostic>> {
    let text = read_file(path)?;
    if declares_kind(&text) {
        compile_target(path, &text).map(CheckedFile::Target)
    } else {
        compile_scenario(path, &text).map(|p| CheckedFile::Scenario(Box::new(p)))
    }
}

/// Reads a whole file as UTF-8 text; a failure is a diagnostic about the whole file.
/// A binary file (a pcap or a report given by mistake) is said to be one instead of
/// leaving the YAML parser to trip over its first control byte.
pub(crate) fn read_file(path: &Path) -> Result<String, Vec<Diagnostic>> {
    let whole = |m: String| vec![Diagnostic::whole_file(path, m)];
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(whole("is a folder, not a file".into()));
    }
    let bytes =
        fs::read(path).map_err(|e| whole(format!("cannot read file: {}", io_reason(&e))))?;
    // YAML allows no C0 control character but tab, LF and CR (YAML 1.2 §5.1).
    if bytes
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
    {
        return Err(whole(
            "not a text file (binary content); expected YAML".into(),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| whole("not a UTF-8 text file; save it as UTF-8 YAML".into()))
}

/// Expands command-line paths into scenario files: a file is taken as given (whatever its
/// extension, since the user named it); a folder contributes every `*.yaml`/`*.yml` below it,
/// recursively, sorted by path so runs and reports are in a stable order. Arguments keep
/// their order and a file reached twice is listed once.
pub fn collect_scenarios(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut out = Vec::new();
    for p in paths {
        let meta = fs::metadata(p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Diagnostic::whole_file(p, "no such scenario file or folder")
            } else {
                Diagnostic::whole_file(p, format!("cannot read: {}", io_reason(&e)))
            }
        })?;
        let mut found = Vec::new();
        if meta.is_dir() {
            walk(p, &mut found)?;
            found.sort();
        } else {
            found.push(p.clone());
        }
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let entries = fs::read_dir(dir).map_err(|e| {
        Diagnostic::whole_file(dir, format!("cannot read folder: {}", io_reason(&e)))
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            Diagnostic::whole_file(dir, format!("cannot read folder: {}", io_reason(&e)))
        })?;
        let path = entry.path();
        // `metadata` follows symlinks, so a linked folder of scenarios is walked too.
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch folder in the temp dir, unique per test and process, removed at the end.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("flipcheck-files-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
        fn file(&self, rel: &str) -> PathBuf {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "name: x\n").unwrap();
            p
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn folders_expand_to_sorted_yaml_files_recursively() {
        let s = Scratch::new("walk");
        let b = s.file("b.yaml");
        let a = s.file("a.yml");
        let nested = s.file("sub/c.yaml");
        s.file("notes.txt");
        s.file("sub/README.md");
        let got = collect_scenarios(std::slice::from_ref(&s.0)).unwrap();
        assert_eq!(got, vec![a, b, nested]);
    }

    #[test]
    fn files_keep_argument_order_and_duplicates_collapse() {
        let s = Scratch::new("order");
        let z = s.file("z.yaml");
        let a = s.file("a.yaml");
        let txt = s.file("odd.txt");
        let got = collect_scenarios(&[z.clone(), txt.clone(), s.0.clone(), z.clone()]).unwrap();
        assert_eq!(got, vec![z, txt, a]);
    }

    /// The checked-in examples under `scenarios/` and `targets/` must stay valid.
    #[test]
    fn shipped_examples_compile_and_are_told_apart() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let scenarios = collect_scenarios(&[root.join("scenarios")]).unwrap();
        assert!(!scenarios.is_empty());
        for f in &scenarios {
            match load_any(f) {
                Ok(CheckedFile::Scenario(_)) => {}
                other => panic!("{}: {other:?}", f.display()),
            }
        }
        let targets = collect_scenarios(&[root.join("targets")]).unwrap();
        assert_eq!(targets.len(), 3);
        for f in &targets {
            match load_any(f) {
                Ok(CheckedFile::Target(_)) => {}
                other => panic!("{}: {other:?}", f.display()),
            }
        }
    }

    #[test]
    fn a_missing_path_is_a_diagnostic_at_line_zero() {
        let missing = PathBuf::from("/nonexistent/flipcheck/scenarios");
        let d = collect_scenarios(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(
            (d.file.as_path(), d.line, d.column),
            (missing.as_path(), 0, 0)
        );
        assert!(
            d.message.starts_with("no such scenario file or folder"),
            "{d}"
        );
        let ds = load_scenario(&missing).unwrap_err();
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].line, 0);
        assert!(ds[0].message.starts_with("cannot read file"));
    }

    #[test]
    fn binary_and_non_utf8_files_are_named_as_such() {
        let s = Scratch::new("binary");
        let bin = s.0.join("capture.yaml");
        fs::write(&bin, b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00").unwrap();
        let d = &load_scenario(&bin).unwrap_err()[0];
        assert_eq!(d.line, 0);
        assert_eq!(d.message, "not a text file (binary content); expected YAML");
        let latin = s.0.join("latin.yaml");
        fs::write(&latin, b"name: caf\xe9\n").unwrap();
        let d = &load_scenario(&latin).unwrap_err()[0];
        assert_eq!(d.message, "not a UTF-8 text file; save it as UTF-8 YAML");
        let d = &load_scenario(&s.0).unwrap_err()[0];
        assert_eq!(d.message, "is a folder, not a file");
    }
}
