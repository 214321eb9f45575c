//! The binary's commands, between the raw command line and the library: the only place
//! that reads the environment, the wall clock and the OS for a seed, and the only place
//! errors become exit codes.

mod pbx;
mod run;
mod target;

pub use pbx::pbx;
pub use run::run;

use std::path::PathBuf;

use crate::scenario::{collect_scenarios, load_scenario, load_target};

/// Exit codes (DESIGN.md): every expectation held / one failed / bad input or error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// `flipcheck validate`: parse and check scenarios and targets, run nothing.
pub fn validate(paths: &[PathBuf]) -> anyhow::Result<i32> {
    let mut errors = 0;
    let mut checked = 0;
    for path in paths {
        if looks_like_target(path) {
            checked += 1;
            if let Err(diags) = load_target(path) {
                errors += diags.len();
                diags.iter().for_each(|d| eprintln!("{d}"));
            }
            continue;
        }
        let files = match collect_scenarios(std::slice::from_ref(path)) {
            Ok(files) => files,
            Err(d) => {
                eprintln!("{d}");
                errors += 1;
                continue;
            }
        };
        for file in files {
            checked += 1;
            if let Err(diags) = load_scenario(&file) {
                errors += diags.len();
                diags.iter().for_each(|d| eprintln!("{d}"));
            }
        }
    }
    if errors > 0 {
        eprintln!("{errors} error(s) in {checked} file(s)");
        return Ok(EXIT_ERROR);
    }
    println!("{checked} file(s) ok");
    Ok(EXIT_OK)
}

/// A file whose first mapping key is `kind:` is a target profile, not a scenario.
fn looks_like_target(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .any(|l| l.trim_start().starts_with("kind:") && !l.starts_with(' '))
        })
        .unwrap_or(false)
}
