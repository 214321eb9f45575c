//! Packet capture of a run: every message the scene sent or received from outside, kept in
//! memory with its run time and transport, and written as a classic pcap of raw IP packets
//! (LINKTYPE_RAW: IPv4 and IPv6 side by side) that Wireshark and sngrep open. A UDP
//! datagram becomes one IP/UDP packet; a SIP message on a TCP or TLS connection becomes one
//! TCP segment of its flow, with sequence numbers that run on across the flow's messages,
//! so Wireshark follows the stream. TLS is written as the SIP inside it (we are the
//! endpoint and hold the plaintext): Wireshark needs "Decode As… SIP" on the TLS port.
//! Recording is sans-IO; only [`Capture::write_pcap`] touches a writer.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

use crate::core::Time;
use crate::core::sip::Transport;

#[derive(Debug, Clone)]
pub struct CapturedPacket {
    pub at: Time,
    pub transport: Transport,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct Capture {
    pub packets: Vec<CapturedPacket>,
}

const UDP: u8 = 17;
const TCP: u8 = 6;

impl Capture {
    pub fn record(
        &mut self,
        at: Time,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        data: &[u8],
    ) {
        self.packets.push(CapturedPacket {
            at,
            transport,
            from,
            to,
            data: data.to_vec(),
        });
    }

    /// Writes the capture; `epoch` is the wall-clock time (since 1970) of run time zero.
    /// A packet between an IPv4 and an IPv6 address (which no socket can send) or too big
    /// for one IP packet is left out and counted in the returned number.
    pub fn write_pcap(
        &self,
        out: impl Write,
        epoch: Duration,
    ) -> Result<usize, pcap_file::PcapError> {
        let header = PcapHeader {
            datalink: DataLink::RAW,
            ..PcapHeader::default()
        };
        let mut writer = PcapWriter::with_header(out, header)?;
        let mut streams = Streams::default();
        let mut left_out = 0;
        for p in &self.packets {
            let segment = match p.transport {
                Transport::Udp => udp(p.from, p.to, &p.data),
                Transport::Tcp | Transport::Tls => streams.segment(p.from, p.to, &p.data),
            };
            let Some(frame) = segment.and_then(|(proto, l4)| ip(p.from.ip(), p.to.ip(), proto, l4))
            else {
                left_out += 1;
                continue;
            };
            let ts = epoch + Duration::from_micros(p.at.as_micros());
            writer.write_packet(&PcapPacket::new(ts, frame.len() as u32, &frame))?;
        }
        Ok(left_out)
    }
}

/// The next sequence number of each direction of each TCP flow.
#[derive(Default)]
struct Streams {
    next: HashMap<(SocketAddr, SocketAddr), u32>,
}

impl Streams {
    /// One TCP segment (RFC 9293 §3.1) carrying `payload`, PSH|ACK, acknowledging all the
    /// other direction has sent; its checksum is filled in by [`ip`].
    fn segment(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        payload: &[u8],
    ) -> Option<(u8, Vec<u8>)> {
        let len = u32::try_from(payload.len()).ok()?;
        // Each direction starts at a number of its own, as a real stack's ISN would.
        let start = |a: SocketAddr, b: SocketAddr| u32::from(a.port()) << 16 | u32::from(b.port());
        let seq = *self
            .next
            .entry((from, to))
            .or_insert_with(|| start(from, to));
        let ack = *self
            .next
            .entry((to, from))
            .or_insert_with(|| start(to, from));
        self.next.insert((from, to), seq.wrapping_add(len));
        let mut t = Vec::with_capacity(20 + payload.len());
        t.extend_from_slice(&from.port().to_be_bytes());
        t.extend_from_slice(&to.port().to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&ack.to_be_bytes());
        t.extend_from_slice(&[5 << 4, 0x18]); // data offset 5 words; PSH|ACK
        t.extend_from_slice(&u16::MAX.to_be_bytes()); // window
        t.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        t.extend_from_slice(payload);
        Some((TCP, t))
    }
}

/// A UDP header (RFC 768) and `payload`; the checksum is filled in by [`ip`].
fn udp(from: SocketAddr, to: SocketAddr, payload: &[u8]) -> Option<(u8, Vec<u8>)> {
    let len = u16::try_from(8 + payload.len()).ok()?;
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&from.port().to_be_bytes());
    u.extend_from_slice(&to.port().to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    Some((UDP, u))
}

/// An IPv4 (RFC 791) or IPv6 (RFC 8200) packet around a UDP or TCP segment, with the
/// segment's checksum over the pseudo-header (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1:
/// mandatory for UDP over IPv6).
fn ip(src: IpAddr, dst: IpAddr, proto: u8, mut l4: Vec<u8>) -> Option<Vec<u8>> {
    let l4_len = u16::try_from(l4.len()).ok()?;
    let (mut packet, pseudo) = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + l4.len()).ok()?;
            let mut h = Vec::with_capacity(20 + l4.len());
            h.extend_from_slice(&[0x45, 0]);
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let sum = checksum(&[&h]);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            let mut pseudo = Vec::with_capacity(12);
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&[0, proto]);
            pseudo.extend_from_slice(&l4_len.to_be_bytes());
            (h, pseudo)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = Vec::with_capacity(40 + l4.len());
            h.extend_from_slice(&[0x60, 0, 0, 0]);
            h.extend_from_slice(&l4_len.to_be_bytes());
            h.extend_from_slice(&[proto, 64]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let mut pseudo = Vec::with_capacity(40);
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&u32::from(l4_len).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, proto]);
            (h, pseudo)
        }
        _ => return None,
    };
    let at = if proto == UDP { 6 } else { 16 };
    let mut sum = checksum(&[&pseudo, &l4]);
    if proto == UDP && sum == 0 {
        sum = 0xffff; // 0 means "no checksum" for UDP (RFC 768)
    }
    l4[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    packet.extend_from_slice(&l4);
    Some(packet)
}

/// The Internet checksum (RFC 1071) of the concatenation of `parts`, each of even length
/// but the last.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        for c in part.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
            sum = (sum & 0xffff) + (sum >> 16);
        }
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(cap: &Capture) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        assert_eq!(cap.write_pcap(&mut out, Duration::from_secs(1)).unwrap(), 0);
        let mut reader = pcap_file::pcap::PcapReader::new(&out[..]).unwrap();
        assert_eq!(reader.header().datalink, DataLink::RAW);
        let mut packets = Vec::new();
        while let Some(p) = reader.next_packet() {
            packets.push(p.unwrap().data.into_owned());
        }
        packets
    }

    #[test]
    fn udp_over_ipv4_with_its_time_and_checksums() {
        let mut cap = Capture::default();
        let a: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:5070".parse().unwrap();
        cap.record(
            Time::from_millis(20),
            Transport::Udp,
            a,
            b,
            b"OPTIONS sip:x SIP/2.0\r\n\r\n",
        );
        let mut out = Vec::new();
        cap.write_pcap(&mut out, Duration::from_secs(1_700_000_000))
            .unwrap();
        let mut reader = pcap_file::pcap::PcapReader::new(&out[..]).unwrap();
        let first = reader.next_packet().unwrap().unwrap();
        assert_eq!(
            first.timestamp,
            Duration::from_secs(1_700_000_000) + Duration::from_millis(20)
        );
        let p = first.data;
        assert_eq!((p[0] >> 4, p[9]), (4, UDP));
        assert_eq!(&p[28..], b"OPTIONS sip:x SIP/2.0\r\n\r\n");
        assert_eq!(
            checksum(&[&p[..20]]),
            0,
            "the IPv4 header checksum verifies"
        );
        let mut pseudo = p[12..20].to_vec();
        pseudo.extend_from_slice(&[0, UDP]);
        pseudo.extend_from_slice(&((p.len() - 20) as u16).to_be_bytes());
        assert_eq!(
            checksum(&[&pseudo, &p[20..]]),
            0,
            "the UDP checksum verifies"
        );
    }

    #[test]
    fn ipv6_packets_are_written_with_the_mandatory_udp_checksum() {
        let mut cap = Capture::default();
        let a: SocketAddr = "[::1]:5060".parse().unwrap();
        let b: SocketAddr = "[::1]:7000".parse().unwrap();
        cap.record(Time::ZERO, Transport::Udp, a, b, b"SIP/2.0 200 OK\r\n\r\n");
        let p = &read(&cap)[0];
        assert_eq!((p[0] >> 4, p[6]), (6, UDP));
        assert_eq!(u16::from_be_bytes([p[4], p[5]]) as usize, p.len() - 40);
        assert_eq!(&p[48..], b"SIP/2.0 200 OK\r\n\r\n");
        let mut pseudo = p[8..40].to_vec();
        pseudo.extend_from_slice(&((p.len() - 40) as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, UDP]);
        assert_eq!(checksum(&[&pseudo, &p[40..]]), 0);
    }

    #[test]
    fn stream_messages_are_tcp_segments_whose_sequence_numbers_run_on() {
        let mut cap = Capture::default();
        let phone: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let pbx: SocketAddr = "127.0.0.2:5061".parse().unwrap();
        let (one, two, back) = (
            &b"REGISTER one"[..],
            &b"REGISTER two"[..],
            &b"SIP/2.0 200"[..],
        );
        cap.record(Time::ZERO, Transport::Tls, phone, pbx, one);
        cap.record(Time::ZERO, Transport::Tls, pbx, phone, back);
        cap.record(Time::ZERO, Transport::Tls, phone, pbx, two);
        let packets = read(&cap);
        let seq = |p: &[u8]| u32::from_be_bytes([p[24], p[25], p[26], p[27]]);
        let ack = |p: &[u8]| u32::from_be_bytes([p[28], p[29], p[30], p[31]]);
        assert!(packets.iter().all(|p| p[9] == TCP && p[33] == 0x18));
        assert_eq!(&packets[0][40..], one);
        assert_eq!(seq(&packets[2]), seq(&packets[0]) + one.len() as u32);
        assert_eq!(ack(&packets[1]), seq(&packets[0]) + one.len() as u32);
        assert_eq!(ack(&packets[2]), seq(&packets[1]) + back.len() as u32);
        for p in &packets {
            let mut pseudo = p[12..20].to_vec();
            pseudo.extend_from_slice(&[0, TCP]);
            pseudo.extend_from_slice(&((p.len() - 20) as u16).to_be_bytes());
            assert_eq!(
                checksum(&[&pseudo, &p[20..]]),
                0,
                "the TCP checksum verifies"
            );
        }
    }

    #[test]
    fn a_packet_between_address_families_is_left_out_and_counted() {
        let mut cap = Capture::default();
        let a: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let b: SocketAddr = "[::1]:5060".parse().unwrap();
        cap.record(Time::ZERO, Transport::Udp, a, b, b"x");
        let mut out = Vec::new();
        assert_eq!(cap.write_pcap(&mut out, Duration::ZERO).unwrap(), 1);
    }
}
