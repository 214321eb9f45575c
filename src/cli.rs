//! The command line (a contract scripts depend on; README "Commands"). Raw clap
//! arguments here; turning them into a validated plan happens in `app`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Shown under every `--help`: scripts and CI branch on these (README "Exit codes").
const EXIT_CODES: &str = "Exit codes: 0 every expectation held, 1 at least one expectation failed, \
2 bad input, unreachable target, internal error, Ctrl-C (one-line reason on stderr), or a \
harness too overloaded around a flip to measure it.";

#[derive(Parser, Debug)]
#[command(
    name = "flipcheck",
    version,
    about = "Proves call flip works on a phone system before it is rolled out",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run scenario files or folders (default: scenarios/checklist)
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Parse and check scenarios and targets, print errors, run nothing
    #[command(after_help = EXIT_CODES)]
    Validate {
        /// Scenario or target files, or folders of them (*.yaml, *.yml)
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Run the embedded reference PBX as a standalone server
    Pbx(PbxArgs),
    /// Check a target profile: OPTIONS to the registrar, then every account registers and
    /// unregisters; a table says what worked
    #[command(after_help = EXIT_CODES)]
    Probe {
        /// Target profile (`kind: external`)
        #[arg(long, value_name = "FILE")]
        target: PathBuf,
        /// Send from this local address (default: the profile's `local_address`, else the
        /// one the OS routes toward the registrar)
        #[arg(long, value_name = "ADDR")]
        bind: Option<std::net::IpAddr>,
    },
    /// Run the certification suite against a target (not implemented yet)
    Certify {
        /// Target profile
        #[arg(long, value_name = "FILE")]
        target: PathBuf,
    },
    /// Load generator (not implemented yet)
    Load {
        /// Options of the future load generator; any are accepted and refused as a whole
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
    /// Merge results of sharded load runs (not implemented yet)
    Merge {
        /// JSON reports of the shards
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario files or folders of them [default: scenarios/checklist]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Target profile (targets/*.yaml); without it the embedded PBX starts on loopback
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// Write the JSON report here, `-` for standard output (schema: reports/schema.json);
    /// at most one report goes to standard output
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report here (a testcase per expectation per flip), `-` for
    /// standard output
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write an HTML report here (not implemented yet)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a Markdown summary here (for a pull-request comment or a CI job summary), `-`
    /// for standard output
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// One pcap of SIP+RTP per scenario in this folder (created if missing)
    #[arg(long, value_name = "DIR")]
    pub pcap: Option<PathBuf>,
    /// Repeatable randomness (ids, SSRCs) in `--sim`: a number from 0 to 2^64-1; the report
    /// records it. Live runs always put fresh identifiers on the wire
    // Hyphen values reach the parser so `--seed -1` says "invalid digit", not "unexpected
    // argument".
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Virtual time (embedded PBX only): the same scenario in milliseconds
    #[arg(long)]
    pub sim: bool,
    /// Send from this local address (default: the target's `local_address`, else the one the
    /// OS routes toward the target)
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<std::net::IpAddr>,
    /// Which account of a user's `pool:` to use (1 = the first): parallel runs against one
    /// system each take their own, so their calls do not collide
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub pool: u16,
}

#[derive(Args, Debug)]
pub struct PbxArgs {
    /// Address to listen on for SIP over UDP and TCP, as IP:PORT; port 0 picks one free for both
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5060")]
    pub listen: SocketAddr,
    /// Also serve SIP over TLS on this address, as IP:PORT (needs --cert and --key); port 0
    /// picks a free one
    #[arg(long, value_name = "ADDR")]
    pub tls: Option<SocketAddr>,
    /// The TLS listener's certificate chain, PEM, the server's own certificate first
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The TLS listener's private key, PEM (PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// A target file of `kind: embedded` with quirks and policy
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Password of every account (alice, bob, carol, supervisor, customer); default
    /// `flipcheck`, accepted on loopback only
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "FLIPCHECK_PBX_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Number of RTP relay ports (two per bridged call)
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub rtp_ports: usize,
    /// Digest algorithms to challenge with, most preferred first: md5, sha-256
    #[arg(
        long,
        value_name = "ALGS",
        value_delimiter = ',',
        default_value = "md5"
    )]
    pub digest: Vec<String>,
    /// Append one CDR line (JSON) per call session to this file
    #[arg(long, value_name = "FILE")]
    pub cdr: Option<PathBuf>,
    /// The realm of every challenge (default: the listening address, as the domain)
    #[arg(long, value_name = "REALM")]
    pub realm: Option<String>,
    /// An account plan entry, USER:AUTH or USER:AUTH:NUMBER: USER (alice, bob, …) authenticates with
    /// digest username AUTH and is also reached by dialling NUMBER; repeatable
    #[arg(long = "account", value_name = "USER:AUTH[:NUMBER]")]
    pub accounts: Vec<String>,
}
