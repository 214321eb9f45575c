//! Packet capture of a run: every datagram the scene sent or received from outside, kept
//! in memory with its run time and written as a classic pcap (LINKTYPE_IPV4 with synthetic
//! IPv4/UDP headers) that Wireshark and sngrep open. Recording is sans-IO; only
//! [`Capture::write_pcap`] touches a writer.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

use crate::core::Time;

#[derive(Debug, Clone)]
pub struct CapturedPacket {
    pub at: Time,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct Capture {
    pub packets: Vec<CapturedPacket>,
}

impl Capture {
    pub fn record(&mut self, at: Time, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.packets.push(CapturedPacket {
            at,
            from,
            to,
            data: data.to_vec(),
        });
    }

    /// Writes the capture; `epoch` is the wall-clock time (since 1970) of run time zero.
    /// IPv6 packets are skipped: this build runs on IPv4 loopback.
    pub fn write_pcap(&self, out: impl Write, epoch: Duration) -> Result<(), pcap_file::PcapError> {
        let header = PcapHeader {
            datalink: DataLink::IPV4,
            ..PcapHeader::default()
        };
        let mut writer = PcapWriter::with_header(out, header)?;
        for p in &self.packets {
            let Some(frame) = ipv4_udp(p.from, p.to, &p.data) else {
                continue;
            };
            let ts = epoch + Duration::from_micros(p.at.as_micros());
            writer.write_packet(&PcapPacket::new(ts, frame.len() as u32, &frame))?;
        }
        Ok(())
    }
}

/// An IPv4 header (RFC 791, with checksum) and a UDP header (RFC 768, checksum 0 = none).
fn ipv4_udp(from: SocketAddr, to: SocketAddr, payload: &[u8]) -> Option<Vec<u8>> {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (from.ip(), to.ip()) else {
        return None;
    };
    let udp_len = u16::try_from(8 + payload.len()).ok()?;
    let total = u16::try_from(20 + 8 + payload.len()).ok()?;
    let mut p = Vec::with_capacity(total as usize);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let sum = checksum(&p[..20]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&from.port().to_be_bytes());
    p.extend_from_slice(&to.port().to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    Some(p)
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_readable_pcap() {
        let mut cap = Capture::default();
        let a: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:5070".parse().unwrap();
        cap.record(
            Time::from_millis(20),
            a,
            b,
            b"OPTIONS sip:x SIP/2.0\r\n\r\n",
        );
        cap.record(Time::from_millis(40), b, a, b"SIP/2.0 200 OK\r\n\r\n");
        let mut out = Vec::new();
        cap.write_pcap(&mut out, Duration::from_secs(1_700_000_000))
            .unwrap();
        let mut reader = pcap_file::pcap::PcapReader::new(&out[..]).unwrap();
        let first = reader.next_packet().unwrap().unwrap();
        assert_eq!(
            first.timestamp,
            Duration::from_secs(1_700_000_000) + Duration::from_millis(20)
        );
        assert_eq!(&first.data[28..], b"OPTIONS sip:x SIP/2.0\r\n\r\n");
        assert_eq!(checksum(&first.data[..20]), 0, "header checksum verifies");
        assert!(reader.next_packet().unwrap().is_ok());
        assert!(reader.next_packet().is_none());
    }
}
