//! Sans-IO actors built from the core: the simulated user agents (the user's devices and the
//! customer) and the embedded reference PBX. Each takes `now` and datagrams, and returns
//! datagrams, events and its next deadline; the simulator and the live driver move the bytes.

pub mod pbx;
pub mod ua;

use std::net::SocketAddr;

/// A datagram an actor wants sent from one of its own addresses.
#[derive(Debug, Clone)]
pub struct Transmit {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

/// What the simulator and the live driver need from whatever they run: bytes and `now` in,
/// bytes and the next deadline out. The scene of a scenario run and the standalone PBX
/// both implement it, so one driver serves both.
pub trait Actor {
    fn handle_datagram(
        &mut self,
        now: crate::core::Time,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    );
    /// A datagram whose receive timestamp (`received_at`, taken by the kernel or at the
    /// socket read) is earlier than the instant it is handled (`now`): a busy harness
    /// processes late, but what it measures keeps the arrival instant. Actors that do not
    /// measure media can treat it as arriving now.
    fn handle_received(
        &mut self,
        now: crate::core::Time,
        received_at: crate::core::Time,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        let _ = received_at;
        self.handle_datagram(now, local, from, data);
    }
    fn handle_timeout(&mut self, now: crate::core::Time);
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// The next instant `handle_timeout` must be called (`Time::NEVER` for none).
    fn poll_timeout(&self) -> crate::core::Time;
    /// Every address this actor receives on (the driver binds them, the simulator routes).
    fn addresses(&self) -> Vec<SocketAddr>;
    /// True when the actor has nothing left to do and the run can stop.
    fn is_done(&self) -> bool {
        false
    }
    /// Asked to stop (Ctrl-C): hang up, unregister, then report done.
    fn shutdown(&mut self, _now: crate::core::Time) {}
}

impl Actor for pbx::Pbx {
    fn handle_datagram(
        &mut self,
        now: crate::core::Time,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        pbx::Pbx::handle_datagram(self, now, local, from, data)
    }
    fn handle_timeout(&mut self, now: crate::core::Time) {
        pbx::Pbx::handle_timeout(self, now)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        pbx::Pbx::poll_transmit(self)
    }
    fn poll_timeout(&self) -> crate::core::Time {
        pbx::Pbx::poll_timeout(self)
    }
    fn addresses(&self) -> Vec<SocketAddr> {
        pbx::Pbx::addresses(self)
    }
    fn is_done(&self) -> bool {
        self.is_stopped()
    }
    fn shutdown(&mut self, now: crate::core::Time) {
        pbx::Pbx::shutdown(self, now)
    }
}
