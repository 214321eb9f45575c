//! `flipcheck probe --target FILE`: before running a checklist against a real system,
//! check the profile itself. An OPTIONS to the registrar ("are you there?"), then every
//! account of the profile — each user's, every pool member, the customer's — registers
//! and unregisters, and a table says what worked, in words that name the account and the
//! variable its password comes from.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::{EXIT_ERROR, EXIT_OK, target};
use crate::core::Time;
use crate::core::rtp::{Classifier, Codec};
use crate::driver::{self, LiveAddrs};
use crate::report::Keyword;
use crate::roles::ua::{ReplacesMode, UaConfig, UserAgent};
use crate::roles::{Actor, Transmit};
use crate::runner::{AddrAlloc, TargetLabels};
use crate::scenario::{ExternalTarget, Target, load_target};

/// One account to try.
struct Probe {
    /// The scenario user (or `customer`) and which pool member.
    who: String,
    env: String,
    ua: Option<UserAgent>,
    /// Why it could not even be tried (its password variable is not set).
    skipped: Option<String>,
    unregistering: bool,
    done: bool,
}

/// Every probe as one actor for the driver.
struct Probes {
    probes: Vec<Probe>,
    deadline: Time,
    started: bool,
    tls: crate::roles::TlsClient,
}

pub fn probe(target: &Path, bind: Option<std::net::IpAddr>) -> anyhow::Result<i32> {
    let t = match load_target(target) {
        Ok(Target::External(t)) => t,
        Ok(Target::Embedded(_)) => bail!(
            "{}: `probe` checks an external target; the embedded PBX needs no probe",
            target.display()
        ),
        Err(diags) => {
            diags.iter().for_each(|d| eprintln!("{d}"));
            return Ok(EXIT_ERROR);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let located = super::reach::locate(&t, &runtime, bind.or(t.local_address))?;
    let proxy = located.proxy;
    let bind = match bind.or(t.local_address) {
        Some(ip) => ip,
        None => super::run::route_toward(proxy)
            .with_context(|| format!("target `{}`: no route to {proxy}", t.name))?,
    };
    let mut addrs = LiveAddrs::new(bind);
    // Fresh identifiers every run (RFC 3261 §8.1.1.7): a target must not take a second
    // probe for a retransmission of the first.
    let probes = accounts(&t, &located, &mut addrs, super::run::random_seed())?;
    // Each account gets the profile's registration timeout to answer.
    let timeout = t.timeouts.register;
    let mut actor = Probes {
        probes,
        deadline: Time::ZERO + timeout,
        started: false,
        tls: crate::roles::TlsClient {
            options: crate::roles::TlsClientOptions {
                ca_file: t.tls.ca_file.clone(),
                insecure: t.tls.insecure,
            },
            names: vec![(proxy, located.registrar.host.clone())],
        },
    };
    if t.tls.insecure {
        eprintln!(
            "warning: the TLS certificate of {} is not checked (insecure)",
            t.registrar
        );
    }
    // Bounded twice: the probe's own deadline, and the driver's limit.
    runtime.block_on(driver::run(
        &mut actor,
        addrs.sockets,
        timeout + Duration::from_secs(2),
    ))?;
    let mut out = String::new();
    // Written to a String (infallible), then to stdout at once: a closed pipe ends quietly.
    let _ = writeln!(out, "flipcheck probe | target {} ({})", t.name, t.registrar);
    let _ = writeln!(out);
    let _ = writeln!(out, "registrar: {}", located.how);
    let options = actor
        .probes
        .iter()
        .filter_map(|p| p.ua.as_ref())
        .find_map(|ua| ua.options_answer().cloned());
    let _ = match options {
        Some(Ok((status, reason))) => writeln!(out, "OPTIONS to {proxy}: {status} {reason}"),
        _ => writeln!(
            out,
            "OPTIONS to {proxy}: no response over {} within {}",
            located.registrar.transport.as_str().to_uppercase(),
            secs(timeout)
        ),
    };
    let labels = TargetLabels {
        target: format!("{} ({})", t.name, t.registrar),
        ..TargetLabels::default()
    };
    let mut b = Builder::new();
    b.push_record([
        "account",
        "username",
        "aor",
        "password from",
        "register",
        "result",
    ]);
    let mut failures = 0;
    for p in &actor.probes {
        let over = located.registrar.transport.as_str().to_uppercase();
        let (username, aor, register, result) = match (&p.ua, &p.skipped) {
            (_, Some(why)) => ("-".into(), "-".into(), "not tried".into(), why.clone()),
            (Some(ua), None) => {
                let username = ua.config().username.clone();
                let aor = ua.aor();
                let labels = TargetLabels {
                    user_secret: p.env.clone(),
                    ..labels.clone()
                };
                match (p.unregistering, ua.register_error()) {
                    (true, _) => (
                        username,
                        aor,
                        "ok".into(),
                        "registered and unregistered".into(),
                    ),
                    (false, Some(f)) => (
                        username,
                        aor,
                        f.to_string(),
                        crate::runner::words::register_failed(&p.who, ua, f, &labels),
                    ),
                    (false, None) => (
                        username,
                        aor,
                        "no response".into(),
                        format!(
                            "no response from {proxy} over {over} within {}",
                            secs(timeout)
                        ),
                    ),
                }
            }
            (None, None) => continue,
        };
        if register != "ok" {
            failures += 1;
        }
        b.push_record([
            p.who.clone(),
            username,
            aor,
            p.env.clone(),
            register,
            result,
        ]);
    }
    let mut table = b.build();
    table.with(Style::psql());
    let _ = writeln!(out, "{table}\n");
    let total = actor.probes.len();
    let _ = writeln!(
        out,
        "{} of {total} account{} registered",
        total - failures,
        if total == 1 { "" } else { "s" }
    );
    super::outputs::quiet_on_closed_pipe(std::io::stdout().write_all(out.as_bytes()))?;
    Ok(if failures == 0 { EXIT_OK } else { EXIT_ERROR })
}

/// A user agent for every account of the profile, or the reason it cannot be tried.
fn accounts(
    t: &ExternalTarget,
    located: &super::reach::Located,
    addrs: &mut LiveAddrs,
    seed: u64,
) -> anyhow::Result<Vec<Probe>> {
    let classifier = Arc::new(Classifier::new());
    let mut list: Vec<(String, &crate::scenario::Account)> = Vec::new();
    for (user, pool) in &t.users {
        for (i, a) in pool.iter().enumerate() {
            let who = if pool.len() == 1 {
                user.clone()
            } else {
                format!("{user} (pool {})", i + 1)
            };
            list.push((who, a));
        }
    }
    // The customer registers its account's own AOR: a `from:` number is only the caller
    // ID its calls present.
    if let Some(a) = &t.customer.account {
        list.push(("customer".into(), a));
    }
    let mut out = Vec::new();
    for (n, (who, a)) in list.into_iter().enumerate() {
        let password = match target::password(&a.password_env, &who) {
            Ok(p) => p,
            Err(e) => {
                out.push(Probe {
                    who,
                    env: a.password_env.clone(),
                    ua: None,
                    skipped: Some(e.to_string()),
                    unregistering: false,
                    done: true,
                });
                continue;
            }
        };
        let cfg = UaConfig {
            name: who.clone(),
            username: a.username.clone(),
            password,
            domain: located.domain.clone(),
            proxy: located.proxy,
            sip_addr: addrs.alloc()?,
            rtp_addr: addrs.alloc()?,
            codecs: vec![Codec::Pcmu],
            signature: 0,
            replaces: ReplacesMode::Accept,
            auto_answer: false,
            seed: seed.wrapping_add(n as u64),
            transport: located.registrar.transport,
            sips: located.registrar.scheme == crate::scenario::SipScheme::Sips,
            options: target::ua_options(t, located, Some(a), None),
        };
        out.push(Probe {
            who,
            env: a.password_env.clone(),
            ua: Some(UserAgent::new(cfg, classifier.clone())),
            skipped: None,
            unregistering: false,
            done: false,
        });
    }
    Ok(out)
}

impl Probes {
    fn uas(&mut self) -> impl Iterator<Item = &mut UserAgent> {
        self.probes.iter_mut().filter_map(|p| p.ua.as_mut())
    }

    /// Moves each probe on: registered → unregister; failed or unregistered → done.
    fn advance(&mut self, now: Time) {
        if !self.started {
            self.started = true;
            let mut first = true;
            let patience = self.deadline.saturating_since(now);
            for ua in self.uas() {
                // One OPTIONS is enough to say whether the registrar answers at all.
                if first {
                    ua.options(now);
                    first = false;
                }
                ua.register_within(now, patience);
            }
        }
        for p in self.probes.iter_mut().filter(|p| !p.done) {
            let Some(ua) = p.ua.as_mut() else { continue };
            while ua.poll_event().is_some() {}
            if ua.register_error().is_some() {
                p.done = true;
            } else if ua.is_registered() && !p.unregistering {
                p.unregistering = true;
                ua.unregister(now);
            } else if p.unregistering && ua.is_idle() {
                p.done = true;
            }
        }
    }
}

impl Actor for Probes {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        if let Some(ua) = self.uas().find(|ua| ua.addresses().contains(&local)) {
            ua.handle_datagram(now, local, from, data);
        }
        self.advance(now);
    }

    fn handle_timeout(&mut self, now: Time) {
        for ua in self.uas() {
            if ua.poll_timeout() <= now {
                ua.handle_timeout(now);
            }
        }
        self.advance(now);
        if now >= self.deadline {
            // What has not answered by now is reported as silent.
            self.probes.iter_mut().for_each(|p| p.done = true);
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.uas().find_map(UserAgent::poll_transmit)
    }

    fn poll_timeout(&self) -> Time {
        if !self.started {
            return Time::ZERO;
        }
        let uas = self
            .probes
            .iter()
            .filter_map(|p| p.ua.as_ref())
            .map(UserAgent::poll_timeout)
            .min()
            .unwrap_or(Time::NEVER);
        uas.min(self.deadline)
    }

    fn addresses(&self) -> Vec<SocketAddr> {
        self.probes
            .iter()
            .filter_map(|p| p.ua.as_ref())
            .flat_map(|ua| ua.addresses())
            .collect()
    }

    fn is_done(&self) -> bool {
        self.started && self.probes.iter().all(|p| p.done)
    }

    fn tls_client(&self) -> crate::roles::TlsClient {
        self.tls.clone()
    }
}

/// `4 s`, `1.5 s`.
fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
