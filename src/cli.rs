//! The command line (DESIGN.md "Command line": a contract scripts depend on). Raw clap
//! arguments here; turning them into a validated plan happens in `app`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "flipcheck",
    version,
    about = "Proves call flip works on a phone system before it is rolled out"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run scenario files or folders (default: scenarios/checklist)
    Run(RunArgs),
    /// Parse and check scenarios and targets, print errors, run nothing
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run the embedded reference PBX as a standalone server
    Pbx(PbxArgs),
    /// Run the certification suite against a target (not implemented yet)
    Certify {
        #[arg(long)]
        target: PathBuf,
    },
    /// Load generator (not implemented yet)
    Load,
    /// Merge results of sharded load runs (not implemented yet)
    Merge { files: Vec<PathBuf> },
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario files or folders
    pub paths: Vec<PathBuf>,
    /// Target profile; without it the embedded PBX starts on loopback
    #[arg(long)]
    pub target: Option<PathBuf>,
    /// Write the JSON report here
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a JUnit report here (not implemented yet)
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write an HTML report here (not implemented yet)
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Write a Markdown report here (not implemented yet)
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// One pcap of SIP+RTP per scenario in this folder
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Repeatable randomness (impairment, ids)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Virtual time (embedded PBX only)
    #[arg(long)]
    pub sim: bool,
}

#[derive(Args, Debug)]
pub struct PbxArgs {
    /// Address to listen on for SIP (UDP)
    #[arg(long, default_value = "127.0.0.1:5060")]
    pub listen: SocketAddr,
    /// A target file of `kind: embedded` with quirks and policy
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Password of every account in the default directory (else FLIPCHECK_PBX_PASSWORD)
    #[arg(long, env = "FLIPCHECK_PBX_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Number of RTP relay ports (two per bridged call)
    #[arg(long, default_value_t = 200)]
    pub rtp_ports: usize,
    /// Digest algorithms to challenge with, most preferred first: md5, sha-256
    #[arg(long, value_delimiter = ',', default_value = "md5")]
    pub digest: Vec<String>,
    /// Append one CDR line (JSON) per call session to this file
    #[arg(long)]
    pub cdr: Option<PathBuf>,
}
