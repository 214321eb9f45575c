use clap::Parser;

use flipcheck::app;
use flipcheck::cli::{Cli, Command};

fn main() {
    // Diagnostics on stderr, quiet by default: FLIPCHECK_LOG=flipcheck=debug shows SIP.
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLIPCHECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => app::run(args),
        Command::Validate { paths } => app::validate(&paths),
        Command::Pbx(args) => app::pbx(args),
        Command::Probe { target, bind } => app::probe(&target, bind),
        Command::Certify { .. } => not_implemented("certify"),
        Command::Load { .. } => not_implemented("load"),
        Command::Merge { .. } => not_implemented("merge"),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            // One line on stderr, with its causes (README "Exit codes": exit 2 with a one-line reason).
            // I/O causes without Rust's `(os error N)` suffix: the errno adds nothing.
            let causes: Vec<String> = e
                .chain()
                .map(|c| flipcheck::scenario::plain_os_error(&c.to_string()))
                .collect();
            eprintln!("error: {}", causes.join(": "));
            app::EXIT_ERROR
        }
    };
    std::process::exit(code);
}

/// Commands of the command-line contract that this build does not have yet: exit 2, saying
/// which (README "Commands").
fn not_implemented(command: &str) -> anyhow::Result<i32> {
    Err(anyhow::anyhow!(
        "`flipcheck {command}` is not implemented yet in this build"
    ))
}
