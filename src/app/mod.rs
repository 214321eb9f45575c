//! The binary's commands, between the raw command line and the library: the only place
//! that reads the environment, the wall clock and the OS for a seed, and the only place
//! errors become exit codes.

mod pbx;
mod run;
mod target;

pub use pbx::pbx;
pub use run::run;

use std::path::PathBuf;

use crate::scenario::{collect_scenarios, load_any};

/// Exit codes (DESIGN.md): every expectation held / one failed / bad input or error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// `flipcheck validate`: parse and check scenarios and targets, run nothing. Folders
/// contribute their `*.yaml` files; each file is a target profile if it declares `kind:`.
pub fn validate(paths: &[PathBuf]) -> anyhow::Result<i32> {
    let files = match collect_scenarios(paths) {
        Ok(files) => files,
        Err(d) => {
            eprintln!("{d}");
            return Ok(EXIT_ERROR);
        }
    };
    let mut errors = 0;
    for file in &files {
        if let Err(diags) = load_any(file) {
            errors += diags.len();
            diags.iter().for_each(|d| eprintln!("{d}"));
        }
    }
    if errors > 0 {
        eprintln!("{errors} error(s) in {} file(s)", files.len());
        return Ok(EXIT_ERROR);
    }
    println!("{} file(s) ok", files.len());
    Ok(EXIT_OK)
}
