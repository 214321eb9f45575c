//! The binary's commands, between the raw command line and the library: the only place
//! that reads the environment, the wall clock and the OS for a seed, and the only place
//! errors become exit codes.

mod cdr;
mod outputs;
mod pbx;
mod probe;
mod reach;
mod run;
mod target;

pub use pbx::pbx;
pub use probe::probe;
pub use run::run;

use std::io::Write;
use std::path::PathBuf;

use crate::scenario::{collect_scenarios, load_any};

/// Exit codes (README "Exit codes"): every expectation held / one failed / bad input or error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// `flipcheck validate`: parse and check scenarios and targets, run nothing. Folders
/// contribute their `*.yaml` files; each file is a target profile if it declares `kind:`.
/// Every path is checked, so one missing path does not hide the errors of the others; a
/// path with no YAML file in it is an error too (a wrong folder must not pass as "ok").
pub fn validate(paths: &[PathBuf]) -> anyhow::Result<i32> {
    let mut errors = 0;
    let mut files = Vec::new();
    for path in paths {
        match collect_scenarios(std::slice::from_ref(path)) {
            Ok(found) if found.is_empty() => {
                errors += 1;
                eprintln!("{}: error: no *.yaml files in this folder", path.display());
            }
            Ok(found) => {
                for f in found {
                    if !files.contains(&f) {
                        files.push(f);
                    }
                }
            }
            Err(d) => {
                errors += 1;
                eprintln!("{d}");
            }
        }
    }
    for file in &files {
        if let Err(diags) = load_any(file) {
            errors += diags.len();
            diags.iter().for_each(|d| eprintln!("{d}"));
        }
    }
    if errors > 0 {
        eprintln!("{errors} error(s) in {} file(s) checked", files.len());
        return Ok(EXIT_ERROR);
    }
    let printed = writeln!(std::io::stdout(), "{} file(s) ok", files.len());
    outputs::quiet_on_closed_pipe(printed)?;
    Ok(EXIT_OK)
}
