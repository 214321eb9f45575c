//! The PBX's RTP relay: every call leg gets a port of our own, so the customer's media
//! address never changes when the device behind it does. Packets are passed through
//! (SSRC and sequence numbers untouched, as Asterisk does) and transcoded between PCMU and
//! PCMA when the two legs chose different codecs.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::{LegState, Pbx};
use crate::core::Time;
use crate::core::rtp::{Codec, build_rtp, is_rtcp, parse_rtp};
use crate::roles::Transmit;

/// A relay port and what it is bound to.
#[derive(Debug, Clone)]
pub struct RelayPort {
    pub local: SocketAddr,
    /// The leg using this port (index into the PBX's legs), or None when free.
    pub leg: Option<usize>,
}

pub struct Relay {
    ports: Vec<RelayPort>,
    by_addr: HashMap<SocketAddr, usize>,
}

impl Relay {
    pub fn new(addrs: &[SocketAddr]) -> Relay {
        let ports: Vec<RelayPort> = addrs
            .iter()
            .map(|&local| RelayPort { local, leg: None })
            .collect();
        let by_addr = addrs.iter().enumerate().map(|(i, a)| (*a, i)).collect();
        Relay { ports, by_addr }
    }

    pub fn owns(&self, addr: SocketAddr) -> bool {
        self.by_addr.contains_key(&addr)
    }

    /// Takes a free port for `leg`; None when the pool is exhausted (the call gets 503).
    pub fn allocate(&mut self, leg: usize) -> Option<SocketAddr> {
        let port = self.ports.iter_mut().find(|p| p.leg.is_none())?;
        port.leg = Some(leg);
        Some(port.local)
    }

    /// Frees `addr` if `leg` still holds it. A leg is released on several paths (CANCEL
    /// then its 487, BYE then the session's end); by the later one the port may belong to
    /// another call, which must keep it.
    pub fn release(&mut self, addr: SocketAddr, leg: usize) {
        if let Some(&i) = self.by_addr.get(&addr)
            && self.ports[i].leg == Some(leg)
        {
            self.ports[i].leg = None;
        }
    }

    /// The leg a packet arriving on `addr` belongs to.
    pub fn leg_of(&self, addr: SocketAddr) -> Option<usize> {
        self.by_addr.get(&addr).and_then(|&i| self.ports[i].leg)
    }

    #[cfg(test)]
    pub fn free_ports(&self) -> usize {
        self.ports.iter().filter(|p| p.leg.is_none()).count()
    }
}

impl Pbx {
    /// A packet on one of our relay ports: the customer's goes to the device, the device's
    /// to the customer while they are bridged.
    pub(super) fn relay_packet(
        &mut self,
        now: Time,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        let Some(leg_idx) = self.relay.leg_of(local) else {
            return;
        };
        let leg = &mut self.legs[leg_idx];
        if leg.remote_media.is_none() {
            // No usable address in the SDP: latch onto the source (symmetric RTP).
            leg.remote_media = Some(from);
        }
        let session_idx = leg.session;
        let session = &self.sessions[session_idx];
        if session.is_ended() {
            return;
        }
        if leg_idx == session.caller {
            if let Some(device) = session.device {
                self.forward(leg_idx, device, data);
            }
            self.copy_to_kept(session_idx, leg_idx, data);
        } else if Some(leg_idx) == session.device
            && self.device_heard(now, session_idx)
            && self.flip_media_passes(now, leg_idx, data)
        {
            let caller = self.sessions[session_idx].caller;
            if !is_rtcp(data) {
                self.sessions[session_idx].last_to_customer = Some(now);
            }
            self.forward(leg_idx, caller, data);
        }
    }

    /// Whether the customer is to hear the session's device now: not while hold music
    /// plays, nor after a flip under `one_way_audio_on_flip`.
    pub(super) fn device_heard(&self, now: Time, session: usize) -> bool {
        let s = &self.sessions[session];
        let one_way = self.cfg.quirks.one_way_audio_on_flip && s.flips > 0;
        s.bridged(now) && !one_way
    }

    /// Sends a packet that arrived on leg `from` out of leg `to`'s port, in `to`'s codec,
    /// and counts it for the CDR.
    pub(super) fn forward(&mut self, from: usize, to: usize, data: &[u8]) {
        let (from_codec, peer) = (self.legs[from].codec, &self.legs[to]);
        if peer.state != LegState::Confirmed || (is_rtcp(data) && !peer.rtcp_mux) {
            return;
        }
        let Some(dest) = peer.remote_media else {
            return;
        };
        let data = transcode(data, from_codec, peer.codec);
        self.out.push_back(Transmit::udp(peer.relay, dest, data));
        let s = &mut self.sessions[peer.session];
        // Counted for the session and for the segment under way (split CDR records).
        let segment = s.segments.last_mut();
        if to == s.caller {
            s.rtp_to_customer += 1;
            segment.into_iter().for_each(|g| g.rtp_to_customer += 1);
        } else {
            s.rtp_to_device += 1;
            segment.into_iter().for_each(|g| g.rtp_to_device += 1);
        }
    }
}

/// Rewrites an RTP packet from one leg's codec to the other's. Same codec: unchanged.
/// Unknown payloads (e.g. telephone-event) pass through untouched.
pub fn transcode(data: &[u8], from: Option<Codec>, to: Option<Codec>) -> Vec<u8> {
    let (Some(from), Some(to)) = (from, to) else {
        return data.to_vec();
    };
    if from == to {
        return data.to_vec();
    }
    let Ok((mut header, payload)) = parse_rtp(data) else {
        return data.to_vec();
    };
    if Codec::from_payload_type(header.payload_type) != Some(from) {
        return data.to_vec();
    }
    let mut samples = Vec::with_capacity(payload.len());
    from.decode(payload, &mut samples);
    let mut encoded = Vec::with_capacity(samples.len());
    to.encode(&samples, &mut encoded);
    header.payload_type = to.payload_type();
    build_rtp(&header, &encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rtp::RtpHeader;

    #[test]
    fn pool_allocates_and_releases() {
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:4002".parse().unwrap();
        let mut relay = Relay::new(&[a, b]);
        assert_eq!(relay.allocate(7), Some(a));
        assert_eq!(relay.allocate(8), Some(b));
        assert_eq!(relay.allocate(9), None);
        assert_eq!(relay.leg_of(b), Some(8));
        relay.release(a, 7);
        assert_eq!(relay.leg_of(a), None);
        assert_eq!(relay.free_ports(), 1);
        // Taken again by leg 9: a late release by leg 7 leaves it alone.
        assert_eq!(relay.allocate(9), Some(a));
        relay.release(a, 7);
        assert_eq!(relay.leg_of(a), Some(9));
    }

    #[test]
    fn transcodes_ulaw_to_alaw() {
        let h = RtpHeader {
            payload_type: 0,
            sequence: 5,
            timestamp: 800,
            ssrc: 9,
            marker: false,
        };
        let mut payload = Vec::new();
        Codec::Pcmu.encode(&[1000i16; 160], &mut payload);
        let pkt = build_rtp(&h, &payload);
        let out = transcode(&pkt, Some(Codec::Pcmu), Some(Codec::Pcma));
        let (h2, p2) = parse_rtp(&out).unwrap();
        assert_eq!(h2.payload_type, 8);
        assert_eq!((h2.sequence, h2.ssrc), (5, 9));
        let mut back = Vec::new();
        Codec::Pcma.decode(p2, &mut back);
        assert!((back[0] - 1000).abs() < 64);
        assert_eq!(transcode(&pkt, Some(Codec::Pcmu), Some(Codec::Pcmu)), pkt);
    }
}
