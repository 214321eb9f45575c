//! Sans-IO actors built from the core: the simulated user agents (the user's devices and the
//! customer) and the embedded reference PBX. Each takes `now` and messages, and returns
//! messages, events and its next deadline; the simulator and the live driver move the bytes.

pub mod pbx;
pub mod ua;

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::core::Time;
pub use crate::core::sip::Transport;

/// A message an actor wants sent from one of its own addresses: a UDP datagram (all media
/// is), or one SIP message on the TCP or TLS connection between `from` and `to`, which the
/// driver opens on the first send and reuses for everything after, both ways.
#[derive(Debug, Clone)]
pub struct Transmit {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub transport: Transport,
    pub data: Vec<u8>,
}

impl Transmit {
    /// A UDP datagram (RTP, RTCP, SIP over UDP).
    pub fn udp(from: SocketAddr, to: SocketAddr, data: Vec<u8>) -> Transmit {
        Transmit {
            from,
            to,
            transport: Transport::Udp,
            data,
        }
    }
}

/// How a TLS client checks the server it connects to. By default the server's certificate
/// must chain to the system's roots and name the host the target was given as (RFC 5922
/// §7.2 for SIP domains, RFC 6125 for the matching).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsClientOptions {
    /// Trust the CA certificates in this PEM file instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate: the connection is encrypted but the server is not
    /// authenticated. For lab systems with self-made certificates; the app warns.
    pub insecure: bool,
}

/// The TLS servers an actor connects to: how to check them, and the name each one's
/// certificate must carry (sent as SNI, RFC 6066 §3). An address not listed is checked
/// against its IP address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsClient {
    pub options: TlsClientOptions,
    pub names: Vec<(SocketAddr, String)>,
}

/// What the simulator and the live driver need from whatever they run: bytes and `now` in,
/// bytes and the next deadline out. The scene of a scenario run and the standalone PBX
/// both implement it, so one driver serves both.
pub trait Actor {
    /// A UDP datagram handled the instant it arrived.
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]);
    /// A message received on `transport` (a datagram, or one message framed out of a TCP
    /// or TLS connection) whose receive timestamp (`received_at`, taken by the kernel or at
    /// the socket read) is earlier than the instant it is handled (`now`): a busy harness
    /// processes late, but what it measures keeps the arrival instant. Actors that do not
    /// measure media and speak UDP only can treat it as a datagram arriving now.
    fn handle_received(
        &mut self,
        now: Time,
        received_at: Time,
        transport: Transport,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        let _ = (received_at, transport);
        self.handle_datagram(now, local, from, data);
    }
    /// The TCP or TLS connection between `local` and `remote` is gone, or could not be
    /// opened: refused, reset, closed by the peer, a failed TLS handshake, a framing error.
    /// What was waiting on it will get no answer; `reason` says why, in words.
    fn handle_flow_closed(
        &mut self,
        now: Time,
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        reason: &str,
    ) {
        let _ = (now, transport, local, remote, reason);
    }
    fn handle_timeout(&mut self, now: Time);
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// The next instant `handle_timeout` must be called (`Time::NEVER` for none).
    fn poll_timeout(&self) -> Time;
    /// Every address this actor receives on (the driver binds them, the simulator routes).
    fn addresses(&self) -> Vec<SocketAddr>;
    /// The TCP and TLS listeners this actor serves SIP on, among its addresses.
    fn listeners(&self) -> Vec<(Transport, SocketAddr)> {
        Vec::new()
    }
    /// How to check the TLS servers this actor connects to.
    fn tls_client(&self) -> TlsClient {
        TlsClient::default()
    }
    /// True when the actor has nothing left to do and the run can stop.
    fn is_done(&self) -> bool {
        false
    }
    /// Asked to stop (Ctrl-C): hang up, unregister, then report done.
    fn shutdown(&mut self, _now: Time) {}
}

impl Actor for pbx::Pbx {
    fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        pbx::Pbx::handle_datagram(self, now, local, from, data)
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
        pbx::Pbx::handle_message(self, now, transport, local, from, data)
    }
    fn handle_flow_closed(
        &mut self,
        now: Time,
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        reason: &str,
    ) {
        pbx::Pbx::handle_flow_closed(self, now, transport, local, remote, reason)
    }
    fn listeners(&self) -> Vec<(Transport, SocketAddr)> {
        pbx::Pbx::listeners(self)
    }
    fn handle_timeout(&mut self, now: Time) {
        pbx::Pbx::handle_timeout(self, now)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        pbx::Pbx::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Time {
        pbx::Pbx::poll_timeout(self)
    }
    fn addresses(&self) -> Vec<SocketAddr> {
        pbx::Pbx::addresses(self)
    }
    fn is_done(&self) -> bool {
        self.is_stopped()
    }
    fn shutdown(&mut self, now: Time) {
        pbx::Pbx::shutdown(self, now)
    }
}
