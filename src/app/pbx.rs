//! `flipcheck pbx`: the embedded reference PBX as a standalone server that real phones
//! and other tools can register to.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use super::{EXIT_ERROR, EXIT_OK, target};
use crate::cli::PbxArgs;
use crate::core::Time;
use crate::core::sip::Algorithm;
use crate::driver::{self, LiveAddrs, Sockets, TlsServer};
use crate::roles::pbx::{Numbering, Pbx, PbxConfig, PbxQuirks, default_users};
use crate::roles::{Actor, Transmit, Transport};
use crate::runner::AddrAlloc;
use crate::scenario::{Target, io_reason, load_target};
use std::net::SocketAddr;

pub fn pbx(args: PbxArgs) -> anyhow::Result<i32> {
    let loopback = args.listen.ip().is_loopback() && args.tls.is_none_or(|a| a.ip().is_loopback());
    let password = match args.password.clone() {
        Some(p) if p.is_empty() => {
            bail!("the PBX password is empty (--password or FLIPCHECK_PBX_PASSWORD)")
        }
        Some(p) => p,
        None if loopback => "flipcheck".to_string(),
        None => {
            let ip = match args.tls {
                Some(tls) if args.listen.ip().is_loopback() => tls.ip(),
                _ => args.listen.ip(),
            };
            bail!(
                "listening on {ip} needs a password: --password or FLIPCHECK_PBX_PASSWORD (the default one is for loopback only)"
            )
        }
    };
    let quirks = match &args.config {
        Some(path) => match load_target(path) {
            Ok(Target::Embedded(t)) => target::quirks_of(&t),
            Ok(Target::External(_)) => {
                bail!(
                    "{}: `flipcheck pbx --config` takes a `kind: embedded` file",
                    path.display()
                )
            }
            Err(diags) => {
                diags.iter().for_each(|d| eprintln!("{d}"));
                return Ok(EXIT_ERROR);
            }
        },
        None => PbxQuirks::default(),
    };
    // Every option is checked before a socket is bound, so a typo never half-starts a server.
    let mut digest = Vec::new();
    for name in &args.digest {
        digest.push(match name.to_ascii_lowercase().as_str() {
            "md5" => Algorithm::Md5,
            "sha-256" | "sha256" => Algorithm::Sha256,
            other => bail!("--digest: unknown algorithm `{other}` (use md5, sha-256)"),
        });
    }
    let numbering = numbering(&args.accounts)?;
    if let Some(realm) = &args.realm
        && (realm.is_empty() || realm.contains('"'))
    {
        bail!("--realm: `{realm}` is not a realm (a non-empty name without quotes)");
    }
    let tls_server = tls_identity(&args)?;
    let mut addrs = LiveAddrs::new(args.listen.ip());
    let sip_addr = addrs.bind_sip(args.listen).map_err(|(transport, e)| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            " (another SIP server has it; pick another --listen port, or port 0 for a free one)"
        } else {
            ""
        };
        anyhow!(
            "cannot listen on {transport} {}: {}{hint}",
            args.listen,
            io_reason(&e)
        )
    })?;
    let tls_addr = match args.tls {
        Some(addr) => Some(addrs.listen(Transport::Tls, addr).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                " (pick another --tls port, or port 0 for a free one)"
            } else {
                ""
            };
            anyhow!("cannot listen on tls {addr}: {}{hint}", io_reason(&e))
        })?),
        None => None,
    };
    let rtp_addrs = (0..args.rtp_ports.max(2))
        .map(|_| addrs.alloc())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| {
            format!(
                "cannot open {} RTP relay ports (--rtp-ports)",
                args.rtp_ports.max(2)
            )
        })?;
    let mut cfg = PbxConfig::reference(
        sip_addr,
        rtp_addrs,
        &password,
        quirks,
        super::run::random_seed(),
    );
    cfg.digest = digest;
    cfg.tls_addr = tls_addr;
    cfg.numbering = numbering;
    if let Some(realm) = &args.realm {
        cfg.realm = realm.clone();
    }
    let domain = cfg.domain.clone();
    let cdr = match &args.cdr {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => None,
    };
    let mut server = PbxServer {
        pbx: Pbx::new(cfg),
        cdr,
        written: 0,
    };
    // One line naming every listener; scripts read the address after `udp `.
    let tls = tls_addr.map(|a| format!(", tls {a}")).unwrap_or_default();
    eprintln!("flipcheck pbx listening on udp {sip_addr}, tcp {sip_addr}{tls} (domain {domain})");
    eprintln!(
        "accounts: alice bob carol supervisor customer; flip by dialling *11 from another device of the same user; Ctrl-C stops"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let limit = Duration::from_secs(10 * 365 * 24 * 3600);
    let mut sockets = Sockets::from(addrs);
    sockets.tls_server = tls_server;
    runtime.block_on(driver::run(&mut server, sockets, limit))?;
    server.flush();
    let ended = server.pbx.sessions.iter().filter(|s| s.is_ended()).count();
    eprintln!(
        "flipcheck pbx stopped after {ended} call session(s), {} CDR record(s)",
        server.pbx.cdrs.len()
    );
    Ok(EXIT_OK)
}

/// The TLS listener's certificate and key, read and checked before anything is bound.
fn tls_identity(args: &PbxArgs) -> anyhow::Result<Option<TlsServer>> {
    match (&args.tls, &args.cert, &args.key) {
        (None, None, None) => Ok(None),
        (Some(_), Some(cert), Some(key)) => TlsServer::from_pem_files(cert, key)
            .map(Some)
            .map_err(|e| anyhow!("--cert/--key: {e}")),
        (Some(_), _, _) => bail!("--tls needs --cert FILE and --key FILE (PEM)"),
        (None, _, _) => bail!("--cert and --key are for a TLS listener: add --tls ADDR"),
    }
}

/// The PBX as a server: after every input, each newly ended call session's CDR line is
/// appended to the CDR file at once (a crash loses nothing already ended) and announced.
struct PbxServer {
    pbx: Pbx,
    cdr: Option<std::fs::File>,
    written: usize,
}

impl PbxServer {
    fn flush(&mut self) {
        for line in &self.pbx.cdrs[self.written..] {
            eprintln!("call session ended: {line}");
            if let Some(file) = self.cdr.as_mut()
                && let Err(e) = writeln!(file, "{line}")
            {
                eprintln!("warning: cannot append to the CDR file: {e}");
            }
        }
        self.written = self.pbx.cdrs.len();
    }

    fn after_input(&mut self) {
        for event in self.pbx.drain_events() {
            eprintln!("{event}");
        }
        if self.pbx.cdrs.len() > self.written {
            self.flush();
        }
    }
}

impl Actor for PbxServer {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        self.pbx.handle_datagram(now, local, from, data);
        self.after_input();
    }
    fn handle_received(
        &mut self,
        now: Time,
        _received_at: Time,
        transport: Transport,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        self.pbx.handle_message(now, transport, local, from, data);
        self.after_input();
    }
    fn handle_flow_closed(
        &mut self,
        now: Time,
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        reason: &str,
    ) {
        self.pbx
            .handle_flow_closed(now, transport, local, remote, reason);
        self.after_input();
    }
    fn listeners(&self) -> Vec<(Transport, SocketAddr)> {
        self.pbx.listeners()
    }
    fn handle_timeout(&mut self, now: Time) {
        self.pbx.handle_timeout(now);
        self.after_input();
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.pbx.poll_transmit()
    }
    fn poll_timeout(&self) -> Time {
        self.pbx.poll_timeout()
    }
    fn addresses(&self) -> Vec<SocketAddr> {
        self.pbx.addresses()
    }
    fn is_done(&self) -> bool {
        self.pbx.is_stopped()
    }
    fn shutdown(&mut self, now: Time) {
        self.pbx.shutdown(now);
        self.after_input();
    }
}

/// `--account USER:AUTH[:NUMBER]` entries, checked against the directory and each other:
/// every name a request can carry must reach exactly one user.
fn numbering(entries: &[String]) -> anyhow::Result<Vec<Numbering>> {
    let users: Vec<String> = default_users("").into_iter().map(|(u, _)| u).collect();
    let mut plan: Vec<Numbering> = Vec::new();
    let mut names: Vec<String> = users.clone();
    for entry in entries {
        let parts: Vec<&str> = entry.split(':').collect();
        let (user, auth, number) = match parts.as_slice() {
            [user, auth] => (*user, *auth, None),
            [user, auth, number] => (*user, *auth, Some(*number)),
            _ => bail!("--account `{entry}`: expected USER:AUTH or USER:AUTH:NUMBER"),
        };
        if !users.iter().any(|u| u == user) {
            bail!(
                "--account `{entry}`: `{user}` is not a user of the PBX ({})",
                users.join(", ")
            );
        }
        if plan.iter().any(|n| n.user == user) {
            bail!("--account `{entry}`: `{user}` has an account plan entry already");
        }
        let fresh = |name: &str, names: &[String]| -> anyhow::Result<()> {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-_.".contains(c));
            if !ok {
                bail!("--account `{entry}`: `{name}` is not a SIP user name or number");
            }
            if names.iter().any(|n| n == name) && name != user {
                bail!("--account `{entry}`: `{name}` already names another account");
            }
            Ok(())
        };
        fresh(auth, &names)?;
        names.push(auth.to_string());
        if let Some(number) = number {
            fresh(number, &names)?;
            names.push(number.to_string());
        }
        plan.push(Numbering {
            user: user.to_string(),
            auth_username: auth.to_string(),
            extension: number.map(str::to_string),
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_plan_entries_are_parsed_and_checked() {
        let plan = numbering(&["alice:1001:2001".into(), "bob:1002".into()]).unwrap();
        assert_eq!(
            plan,
            [
                Numbering {
                    user: "alice".into(),
                    auth_username: "1001".into(),
                    extension: Some("2001".into()),
                },
                Numbering {
                    user: "bob".into(),
                    auth_username: "1002".into(),
                    extension: None,
                },
            ]
        );
        let err = |entries: &[&str]| {
            let v: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
            numbering(&v).unwrap_err().to_string()
        };
        assert!(err(&["alice"]).contains("expected USER:AUTH"));
        assert!(err(&["dave:1001"]).contains("`dave` is not a user of the PBX"));
        assert!(err(&["alice:bob"]).contains("`bob` already names another account"));
        assert!(err(&["alice:1001", "bob:1001"]).contains("`1001` already names another"));
        assert!(err(&["alice:10 01"]).contains("is not a SIP user name or number"));
        assert!(err(&["alice:1", "alice:2"]).contains("has an account plan entry already"));
    }
}
