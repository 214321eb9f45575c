//! What a CI log and a pipe get from `flipcheck run`: off a terminal, one plain line per
//! scenario on standard error as it finishes and no ANSI codes anywhere; a reader that
//! closes the pipe early (`| head -1`) ends the run quietly with its verdict's exit code.

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_flipcheck");

fn checklist() -> String {
    format!("{}/scenarios/checklist", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_log_gets_one_plain_line_per_scenario() {
    let out = Command::new(BIN)
        .args(["run", "--sim", "--seed", "7", &checklist()])
        .env("CI", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("[1/2] PASS flip desk to mobile and back ("),
        "{stderr}"
    );
    assert!(lines[0].contains(": moved, gap "), "{stderr}");
    assert!(lines[1].starts_with("[2/2] PASS "), "{stderr}");
    assert!(!stderr.contains('\u{1b}') && !out.stdout.contains(&0x1b));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [vec!["run", "--sim", "--seed", "7"], vec!["validate"]] {
        let mut child = Command::new(BIN)
            .args(&args)
            .arg(checklist())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // No reader is left: the first write to standard output meets a closed pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}
