//! One scenario's world: the customer, the user's devices, the embedded PBX when there is
//! no external target, and the script that drives them. It is an [`Actor`], so the
//! simulator and the live driver run it the same way.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use super::script::Script;
use crate::capture::Capture;
use crate::core::Time;
use crate::core::rtp::{Classifier, Codec};
use crate::roles::pbx::{Pbx, PbxConfig, PbxQuirks};
use crate::roles::ua::{ReplacesMode, UaConfig, UaOptions, UserAgent};
use crate::roles::{Actor, TlsClient, TlsClientOptions, Transmit, Transport};
use crate::scenario::{CodecName, Plan, Registrar, ReplacesSupport, SipScheme};
use crate::timeline::{Lag, PartyInfo, Timeline};

/// What the scenario runs against, resolved to addresses and credentials.
// One per scenario, built once: the size of the external variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum TargetSetup {
    Embedded {
        quirks: PbxQuirks,
        password: String,
    },
    External {
        proxy: SocketAddr,
        domain: String,
        /// The account of the user under test (every device registers with it), and the
        /// customer's (a trunk's: no password, calls without registering).
        user: AccountSetup,
        customer: AccountSetup,
        /// What the customer dials to reach the user (an extension, a number).
        dial: String,
        feature_code: String,
        /// The registrar as the target names it: the transport every party's SIP takes,
        /// whether it is a SIPS URI, and the host a TLS certificate must be valid for
        /// (RFC 5922 §7.2), whatever address `proxy` resolved it to.
        registrar: Registrar,
        /// How the parties check the target's TLS certificate.
        tls: TlsClientOptions,
    },
}

/// One party's account on an external target: digest credentials, and the rest of the
/// account plan (AOR, realm, expiry, outbound proxy, advertised address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSetup {
    pub username: String,
    pub password: String,
    pub options: UaOptions,
}

impl AccountSetup {
    /// A plain account: AOR `USERNAME@DOMAIN`, no other setting.
    pub fn new(username: &str, password: &str) -> AccountSetup {
        AccountSetup {
            username: username.to_string(),
            password: password.to_string(),
            options: UaOptions::default(),
        }
    }
}

impl TargetSetup {
    /// What the parties' SIP goes on: the registrar's transport; UDP for the embedded PBX
    /// (which serves every transport: see [`Scene::over`]).
    pub fn transport(&self) -> Transport {
        match self {
            TargetSetup::Embedded { .. } => Transport::Udp,
            TargetSetup::External { registrar, .. } => registrar.transport,
        }
    }

    /// The warning a run owes its user when the target's TLS certificate goes unchecked.
    pub fn insecure_warning(&self) -> Option<String> {
        match self {
            TargetSetup::External { registrar, tls, .. } if tls.insecure => Some(format!(
                "warning: the TLS certificate of {registrar} is not checked (insecure): the connection is encrypted, but nothing proves who answers it"
            )),
            _ => None,
        }
    }
}

/// Hands out the local addresses a scene needs: real bound sockets in live mode, virtual
/// ones in the simulator.
pub trait AddrAlloc {
    fn alloc(&mut self) -> std::io::Result<SocketAddr>;
}

/// Who receives on an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Customer,
    Device(usize),
    Pbx,
}

/// Ports in the embedded PBX's relay for one scenario (two per call leg at most in flight).
const SCENE_RELAY_PORTS: usize = 16;

pub struct Scene {
    pub customer: UserAgent,
    pub devices: Vec<UserAgent>,
    pub pbx: Option<Pbx>,
    pub script: Script,
    pub plan: Plan,
    /// What every party observed: the one input of the measurements.
    pub timeline: Timeline,
    /// How errors name the target and its password sources.
    pub labels: super::TargetLabels,
    owners: HashMap<SocketAddr, Owner>,
    /// Every datagram sent, and received from outside, when `--pcap` asked for it.
    pub capture: Option<Capture>,
    /// The clock of the last input, for stamping captured packets.
    last_now: Time,
    /// Round-robin start for polling, so no actor starves the others' output.
    turn: usize,
    /// What every party's SIP goes on.
    transport: Transport,
    /// How the parties check the TLS server they register with.
    tls_client: TlsClient,
}

impl Scene {
    /// The scene of `plan` against `target`, over the target's transport.
    pub fn new(
        plan: &Plan,
        target: &TargetSetup,
        seed: u64,
        alloc: &mut dyn AddrAlloc,
    ) -> std::io::Result<Scene> {
        Scene::over(plan, target, target.transport(), seed, alloc)
    }

    /// The scene with every party's SIP over `transport`. The embedded PBX serves any
    /// (TLS on an address of its own; live, a TLS listener needs a certificate, so that is
    /// for the simulator); an external target only the one its registrar names.
    pub fn over(
        plan: &Plan,
        target: &TargetSetup,
        transport: Transport,
        seed: u64,
        alloc: &mut dyn AddrAlloc,
    ) -> std::io::Result<Scene> {
        if transport != target.transport() && matches!(target, TargetSetup::External { .. }) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "the target's registrar names {}, not {transport}",
                    target.transport()
                ),
            ));
        }
        let classifier = Arc::new(Classifier::new());
        let mut owners = HashMap::new();
        let mut sips = false;
        let mut tls_client = TlsClient::default();
        let (pbx, proxy, domain, user, customer_account, dial, feature_code) = match target {
            TargetSetup::Embedded { quirks, password } => {
                let sip_addr = alloc.alloc()?;
                let tls_addr = match transport {
                    Transport::Tls => Some(alloc.alloc()?),
                    _ => None,
                };
                let rtp_addrs = (0..SCENE_RELAY_PORTS)
                    .map(|_| alloc.alloc())
                    .collect::<Result<Vec<_>, _>>()?;
                let mut cfg = PbxConfig::reference(
                    sip_addr,
                    rtp_addrs,
                    password,
                    quirks.clone(),
                    seed ^ 0x9b,
                );
                cfg.tls_addr = tls_addr;
                let domain = cfg.domain.clone();
                let pbx = Pbx::new(cfg);
                for a in pbx.addresses() {
                    owners.insert(a, Owner::Pbx);
                }
                let user = AccountSetup::new(&plan.user, password);
                let customer = AccountSetup::new("customer", password);
                (
                    Some(pbx),
                    tls_addr.unwrap_or(sip_addr),
                    domain,
                    user,
                    customer,
                    plan.user.clone(),
                    "*11".to_string(),
                )
            }
            TargetSetup::External {
                proxy,
                domain,
                user,
                customer,
                dial,
                feature_code,
                registrar,
                tls,
            } => {
                sips = registrar.scheme == SipScheme::Sips;
                tls_client = TlsClient {
                    options: tls.clone(),
                    names: vec![(*proxy, registrar.host.clone())],
                };
                (
                    None,
                    *proxy,
                    domain.clone(),
                    user.clone(),
                    customer.clone(),
                    dial.clone(),
                    feature_code.clone(),
                )
            }
        };
        let mut make_ua = |name: &str,
                           account: &AccountSetup,
                           codecs: &[CodecName],
                           signature: u8,
                           n: u64,
                           replaces: ReplacesMode,
                           auto_answer: bool|
         -> std::io::Result<UserAgent> {
            let cfg = UaConfig {
                name: name.to_string(),
                username: account.username.clone(),
                password: account.password.clone(),
                domain: domain.clone(),
                proxy,
                transport,
                sips,
                sip_addr: alloc.alloc()?,
                rtp_addr: alloc.alloc()?,
                codecs: media_codecs(codecs),
                signature,
                replaces,
                auto_answer,
                seed: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(n),
                options: account.options.clone(),
            };
            Ok(UserAgent::new(cfg, classifier.clone()))
        };
        let replaces = match plan.customer.replaces {
            ReplacesSupport::Accept => ReplacesMode::Accept,
            ReplacesSupport::Reject => ReplacesMode::Reject,
            ReplacesSupport::Ignore => ReplacesMode::Ignore,
        };
        let customer = make_ua(
            "customer",
            &customer_account,
            &plan.customer.codecs,
            0,
            0,
            replaces,
            true,
        )?;
        let mut devices = Vec::new();
        for (i, d) in plan.devices.iter().enumerate() {
            let ua = make_ua(
                &d.name,
                &user,
                &d.codecs,
                (i + 1) as u8,
                (i + 1) as u64,
                ReplacesMode::Accept,
                false,
            )?;
            devices.push(ua);
        }
        for a in customer.addresses() {
            owners.insert(a, Owner::Customer);
        }
        for (i, d) in devices.iter().enumerate() {
            for a in d.addresses() {
                owners.insert(a, Owner::Device(i));
            }
        }
        let script = Script::new(plan, dial, feature_code);
        let parties = std::iter::once(&customer)
            .chain(devices.iter())
            .map(|ua| PartyInfo {
                name: ua.name().to_string(),
                signature: ua.config().signature,
                contact: ua.contact(),
            })
            .collect();
        Ok(Scene {
            customer,
            devices,
            pbx,
            script,
            plan: plan.clone(),
            timeline: Timeline::new(parties),
            labels: super::TargetLabels::default(),
            owners,
            capture: None,
            last_now: Time::ZERO,
            turn: 0,
            transport,
            tls_client,
        })
    }

    /// What every party's SIP goes on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    pub fn owner(&self, addr: SocketAddr) -> Option<Owner> {
        self.owners.get(&addr).copied()
    }

    /// Runs the script as far as the current state allows, on an up-to-date timeline.
    fn advance(&mut self, now: Time) {
        self.drain();
        let mut script = std::mem::take(&mut self.script);
        script.advance(now, self);
        self.script = script;
        self.drain();
    }

    /// Moves what the parties observed since the last call into the timeline.
    fn drain(&mut self) {
        let tl = &mut self.timeline;
        let parties = std::iter::once(&mut self.customer).chain(self.devices.iter_mut());
        for (party, ua) in parties.enumerate() {
            while let Some((at, what)) = ua.poll_observation() {
                tl.record(at, party, what);
            }
            ua.receiver_mut()
                .drain_into(&mut tl.frames[party], &mut tl.delays[party]);
        }
    }

    /// The CDR lines the embedded PBX wrote, as the evidence a target's CDR file is.
    pub fn evidence(&self) -> crate::measure::Evidence {
        crate::measure::Evidence {
            cdr: self.pbx.as_ref().map(|pbx| {
                crate::measure::CdrSource::flipcheck("the embedded PBX's CDR", pbx.cdrs.join("\n"))
            }),
        }
    }
}

/// The codecs our media layer can send, in the scenario's order (G.722 and Opus are not
/// implemented yet and are left out of the offer rather than offered and not sent).
fn media_codecs(codecs: &[CodecName]) -> Vec<Codec> {
    let list: Vec<Codec> = codecs
        .iter()
        .filter_map(|c| match c {
            CodecName::Pcmu => Some(Codec::Pcmu),
            CodecName::Pcma => Some(Codec::Pcma),
            _ => None,
        })
        .collect();
    if list.is_empty() {
        vec![Codec::Pcmu]
    } else {
        list
    }
}

impl Actor for Scene {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        self.handle_received(now, now, Transport::Udp, local, from, data);
    }

    fn handle_received(
        &mut self,
        now: Time,
        received_at: Time,
        transport: Transport,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        self.last_now = now;
        let waited = now.saturating_since(received_at).as_micros();
        self.timeline.receive_lag.push(Lag {
            at: received_at,
            micros: u32::try_from(waited).unwrap_or(u32::MAX),
        });
        if let Some(cap) = self.capture.as_mut() {
            // Our own sends are captured when sent; only outside peers' packets here.
            if !self.owners.contains_key(&from) {
                cap.record(received_at, transport, from, local, data);
            }
        }
        let at = received_at;
        match self.owner(local) {
            Some(Owner::Customer) => self
                .customer
                .handle_received(now, at, transport, local, from, data),
            Some(Owner::Device(i)) => {
                self.devices[i].handle_received(now, at, transport, local, from, data)
            }
            Some(Owner::Pbx) => {
                if let Some(pbx) = self.pbx.as_mut() {
                    pbx.handle_message(now, transport, local, from, data)
                }
            }
            None => {}
        }
        self.advance(now);
    }

    fn handle_flow_closed(
        &mut self,
        now: Time,
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        reason: &str,
    ) {
        self.last_now = now;
        match self.owner(local) {
            Some(Owner::Customer) => self
                .customer
                .handle_flow_closed(now, transport, remote, reason),
            Some(Owner::Device(i)) => {
                self.devices[i].handle_flow_closed(now, transport, remote, reason)
            }
            Some(Owner::Pbx) => {
                if let Some(pbx) = self.pbx.as_mut() {
                    pbx.handle_flow_closed(now, transport, local, remote, reason)
                }
            }
            None => {}
        }
        self.advance(now);
    }

    fn handle_timeout(&mut self, now: Time) {
        let deadline = Actor::poll_timeout(self);
        if deadline != Time::NEVER {
            let late = now.saturating_since(deadline).as_micros();
            self.timeline.timer_lag.push(Lag {
                at: now,
                micros: u32::try_from(late).unwrap_or(u32::MAX),
            });
        }
        self.last_now = now;
        if let Some(pbx) = self.pbx.as_mut()
            && pbx.poll_timeout() <= now
        {
            pbx.handle_timeout(now);
        }
        if self.customer.poll_timeout() <= now {
            self.customer.handle_timeout(now);
        }
        for d in self.devices.iter_mut() {
            if d.poll_timeout() <= now {
                d.handle_timeout(now);
            }
        }
        self.advance(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        let n = self.devices.len() + 2;
        for k in 0..n {
            let i = (self.turn + k) % n;
            let t = match i {
                0 => self.pbx.as_mut().and_then(Pbx::poll_transmit),
                1 => self.customer.poll_transmit(),
                _ => self.devices[i - 2].poll_transmit(),
            };
            if let Some(t) = t {
                self.turn = (i + 1) % n;
                if let Some(cap) = self.capture.as_mut() {
                    cap.record(self.last_now, t.transport, t.from, t.to, &t.data);
                }
                self.drain();
                return Some(t);
            }
        }
        None
    }

    fn poll_timeout(&self) -> Time {
        let pbx = self
            .pbx
            .as_ref()
            .map(Pbx::poll_timeout)
            .unwrap_or(Time::NEVER);
        let devices = self
            .devices
            .iter()
            .map(UserAgent::poll_timeout)
            .min()
            .unwrap_or(Time::NEVER);
        pbx.min(devices)
            .min(self.customer.poll_timeout())
            .min(self.script.poll_timeout())
    }

    fn addresses(&self) -> Vec<SocketAddr> {
        let mut all: Vec<SocketAddr> = self.owners.keys().copied().collect();
        all.sort();
        all
    }

    /// The embedded PBX's listener for the scene's transport, when that is TCP or TLS.
    fn listeners(&self) -> Vec<(Transport, SocketAddr)> {
        let pbx = self.pbx.as_ref().map(Pbx::listeners).unwrap_or_default();
        pbx.into_iter()
            .filter(|(t, _)| *t == self.transport)
            .collect()
    }

    fn tls_client(&self) -> TlsClient {
        self.tls_client.clone()
    }

    fn is_done(&self) -> bool {
        self.script.is_done()
    }

    fn shutdown(&mut self, now: Time) {
        let mut script = std::mem::take(&mut self.script);
        script.abort(now, self, "interrupted");
        self.script = script;
    }
}
