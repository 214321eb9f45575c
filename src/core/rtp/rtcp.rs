//! RTCP sender and receiver reports (RFC 3550 §6.4), built and parsed with `rtcp-types`.
//! Only SR and RR matter to flipcheck (loss and jitter as the far end saw them); SDES, BYE,
//! APP, feedback and XR packets in a compound packet are skipped.

use super::error::RtpError;
use crate::core::Time;
use rtcp_types::{
    Compound, Packet, ReceiverReport, ReportBlock, RtcpPacketWriter, RtcpPacketWriterExt,
    SenderReport,
};

/// One report block (RFC 3550 §6.4.1): what a receiver says about one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReportBlockData {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Packets lost since the previous report, as a fraction of 256.
    pub fraction_lost: u8,
    /// Packets lost since the start, a signed 24-bit value on the wire (clamped to it).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | highest).
    pub ext_highest_seq: u32,
    /// Interarrival jitter in timestamp units (RFC 3550 §6.4.1, A.8).
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received, 0 if none.
    pub lsr: u32,
    /// Delay since that SR in 1/65536 s, 0 if none.
    pub dlsr: u32,
}

/// Which report an [`RtcpSummary`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RtcpKind {
    /// Sender report (packet type 200).
    SenderReport,
    /// Receiver report (packet type 201).
    ReceiverReport,
}

/// The sender-info section of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp of the report.
    pub ntp: u64,
    /// The same instant on the RTP clock.
    pub rtp_ts: u32,
    /// Packets sent since the start.
    pub packets: u32,
    /// Payload octets sent since the start.
    pub octets: u32,
}

/// One SR or RR out of a compound packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpSummary {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// SR or RR.
    pub kind: RtcpKind,
    /// The sender info, for SRs only.
    pub sender: Option<SenderInfo>,
    /// The report blocks, one per source the reporter hears.
    pub reports: Vec<ReportBlockData>,
}

const MAX_CUMULATIVE_LOST: i32 = 0x7f_ffff;
const MIN_CUMULATIVE_LOST: i32 = -0x80_0000;

fn block_builder(r: &ReportBlockData) -> rtcp_types::ReportBlockBuilder {
    // RFC 3550 §6.4.1: cumulative lost is a signed 24-bit count that saturates.
    let lost = r
        .cumulative_lost
        .clamp(MIN_CUMULATIVE_LOST, MAX_CUMULATIVE_LOST) as u32
        & 0xff_ffff;
    ReportBlock::builder(r.ssrc)
        .fraction_lost(r.fraction_lost)
        .cumulative_lost(lost)
        .extended_sequence_number(r.ext_highest_seq)
        .interarrival_jitter(r.jitter)
        .last_sender_report_timestamp(r.lsr)
        .delay_since_last_sender_report_timestamp(r.dlsr)
}

fn block_data(b: &ReportBlock<'_>) -> ReportBlockData {
    // Sign-extend the 24-bit field.
    let lost = ((b.cumulative_lost() << 8) as i32) >> 8;
    ReportBlockData {
        ssrc: b.ssrc(),
        fraction_lost: b.fraction_lost(),
        cumulative_lost: lost,
        ext_highest_seq: b.extended_sequence_number(),
        jitter: b.interarrival_jitter(),
        lsr: b.last_sender_report_timestamp(),
        dlsr: b.delay_since_last_sender_report_timestamp(),
    }
}

fn write(packet: &impl RtcpPacketWriter) -> Vec<u8> {
    // The only size errors are a cumulative loss beyond 24 bits (clamped in block_builder),
    // more than 31 report blocks (we add at most one) and bad padding (never set).
    let size = packet.calculate_size().unwrap_or(0);
    let mut buf = vec![0; size];
    match packet.write_into(&mut buf) {
        Ok(n) => buf.truncate(n),
        Err(_) => buf.clear(),
    }
    buf
}

/// Run time as a 64-bit NTP timestamp (RFC 3550 §4: seconds in the high word, fraction in
/// the low). Our parties all share the run clock, so a sender report's NTP field *is* run
/// time, and a receiver can turn any RTP timestamp back into its capture instant.
pub fn ntp_from_time(t: Time) -> u64 {
    let us = t.as_micros();
    let secs = us / 1_000_000;
    let frac = ((us % 1_000_000) << 32) / 1_000_000;
    (secs << 32) | frac
}

/// The inverse of [`ntp_from_time`]; None for a wall-clock NTP timestamp (a real system's
/// own sender report), which is not on the run clock and must not be mixed with it.
pub fn time_from_ntp(ntp: u64) -> Option<Time> {
    /// More than 100 days of run time: certainly a wall clock (NTP seconds since 1900).
    const MAX_RUN_SECS: u64 = 100 * 24 * 3600;
    let secs = ntp >> 32;
    if secs > MAX_RUN_SECS {
        return None;
    }
    let frac_us = ((ntp & 0xffff_ffff) * 1_000_000) >> 32;
    Some(Time::from_micros(secs * 1_000_000 + frac_us))
}

/// Builds a sender report (RFC 3550 §6.4.1) with at most one report block.
pub fn build_sender_report(
    ssrc: u32,
    ntp: u64,
    rtp_ts: u32,
    packets: u32,
    octets: u32,
    report: Option<ReportBlockData>,
) -> Vec<u8> {
    let mut b = SenderReport::builder(ssrc)
        .ntp_timestamp(ntp)
        .rtp_timestamp(rtp_ts)
        .packet_count(packets)
        .octet_count(octets);
    if let Some(r) = report {
        b = b.add_report_block(block_builder(&r));
    }
    write(&b)
}

/// Builds a receiver report (RFC 3550 §6.4.2) with one report block.
pub fn build_receiver_report(ssrc: u32, report: ReportBlockData) -> Vec<u8> {
    write(&ReceiverReport::builder(ssrc).add_report_block(block_builder(&report)))
}

/// Parses a compound RTCP packet and returns its SRs and RRs in order; other packet types
/// are skipped. Fails if any packet in the compound is malformed.
pub fn parse_rtcp(bytes: &[u8]) -> Result<Vec<RtcpSummary>, RtpError> {
    let mut out = Vec::new();
    for packet in Compound::parse(bytes)? {
        match packet? {
            Packet::Sr(sr) => out.push(RtcpSummary {
                ssrc: sr.ssrc(),
                kind: RtcpKind::SenderReport,
                sender: Some(SenderInfo {
                    ntp: sr.ntp_timestamp(),
                    rtp_ts: sr.rtp_timestamp(),
                    packets: sr.packet_count(),
                    octets: sr.octet_count(),
                }),
                reports: sr.report_blocks().map(|b| block_data(&b)).collect(),
            }),
            Packet::Rr(rr) => out.push(RtcpSummary {
                ssrc: rr.ssrc(),
                kind: RtcpKind::ReceiverReport,
                sender: None,
                reports: rr.report_blocks().map(|b| block_data(&b)).collect(),
            }),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod ntp_tests {
    use super::*;

    #[test]
    fn ntp_round_trips_run_time_and_refuses_wall_clocks() {
        for us in [0u64, 1, 20_000, 1_500_000, 86_400_000_000] {
            let t = Time::from_micros(us);
            let back = time_from_ntp(ntp_from_time(t)).unwrap();
            assert!(back.as_micros().abs_diff(us) <= 1, "{us} -> {back:?}");
        }
        // 2026 on the NTP clock (seconds since 1900).
        assert_eq!(time_from_ntp(3_973_000_000u64 << 32), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rtp::is_rtcp;
    use proptest::prelude::*;

    fn block() -> ReportBlockData {
        ReportBlockData {
            ssrc: 0xabcd_0001,
            fraction_lost: 25,
            cumulative_lost: 1234,
            ext_highest_seq: 0x0001_0005,
            jitter: 80,
            lsr: 0x1234_5678,
            dlsr: 65536,
        }
    }

    #[test]
    fn sender_report_round_trip() {
        let bytes = build_sender_report(7, 0x1122_3344_5566_7788, 160_000, 50, 8000, Some(block()));
        // Header + sender info + one block: (1 + 6 + 6) words.
        assert_eq!(bytes.len(), 52);
        assert_eq!(&bytes[..4], &[0x81, 200, 0, 12]);
        assert!(is_rtcp(&bytes));
        let got = parse_rtcp(&bytes).unwrap();
        assert_eq!(
            got,
            vec![RtcpSummary {
                ssrc: 7,
                kind: RtcpKind::SenderReport,
                sender: Some(SenderInfo {
                    ntp: 0x1122_3344_5566_7788,
                    rtp_ts: 160_000,
                    packets: 50,
                    octets: 8000
                }),
                reports: vec![block()],
            }]
        );
        let bare = build_sender_report(7, 1, 2, 3, 4, None);
        assert_eq!(bare.len(), 28);
        assert!(parse_rtcp(&bare).unwrap()[0].reports.is_empty());
    }

    #[test]
    fn receiver_report_round_trip_with_negative_loss() {
        let mut b = block();
        b.cumulative_lost = -3;
        let bytes = build_receiver_report(9, b);
        assert_eq!(&bytes[..4], &[0x81, 201, 0, 7]);
        let got = parse_rtcp(&bytes).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, RtcpKind::ReceiverReport);
        assert_eq!(got[0].sender, None);
        assert_eq!(got[0].reports, vec![b]);
    }

    #[test]
    fn cumulative_loss_saturates_at_24_bits() {
        for (given, wire) in [(i32::MAX, 0x7f_ffff), (i32::MIN, -0x80_0000), (-1, -1)] {
            let mut b = block();
            b.cumulative_lost = given;
            let got = parse_rtcp(&build_receiver_report(1, b)).unwrap();
            assert_eq!(got[0].reports[0].cumulative_lost, wire);
        }
    }

    #[test]
    fn compound_skips_other_packets() {
        let mut bytes = build_receiver_report(9, block());
        // An SDES packet with one empty chunk (RFC 3550 §6.5): header + SSRC + end + pad.
        bytes.extend_from_slice(&[0x81, 202, 0, 2, 0, 0, 0, 9, 0, 0, 0, 0]);
        bytes.extend_from_slice(&build_sender_report(10, 0, 0, 0, 0, None));
        let got = parse_rtcp(&bytes).unwrap();
        assert_eq!(
            got.iter().map(|s| (s.ssrc, s.kind)).collect::<Vec<_>>(),
            vec![(9, RtcpKind::ReceiverReport), (10, RtcpKind::SenderReport)]
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_rtcp(&[]).is_err());
        assert!(parse_rtcp(&[0x80, 200]).is_err());
        // Length says 7 words, only 2 present.
        assert!(parse_rtcp(&[0x81, 201, 0, 7, 0, 0, 0, 1]).is_err());
        assert!(parse_rtcp(&[0x40, 201, 0, 1, 0, 0, 0, 1]).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_rtcp(&bytes);
        }

        #[test]
        fn parse_never_panics_on_plausible_headers(
            pt in 192u8..=223, count in 0u8..32, words in 0u16..20,
            body in proptest::collection::vec(any::<u8>(), 0..120)) {
            let mut bytes = vec![0x80 | count, pt];
            bytes.extend_from_slice(&words.to_be_bytes());
            bytes.extend_from_slice(&body);
            let _ = parse_rtcp(&bytes);
        }

        #[test]
        fn any_block_round_trips(ssrc: u32, fl: u8, lost in -0x80_0000i32..=0x7f_ffff, ext: u32,
                                 jitter: u32, lsr: u32, dlsr: u32) {
            let b = ReportBlockData { ssrc, fraction_lost: fl, cumulative_lost: lost,
                                      ext_highest_seq: ext, jitter, lsr, dlsr };
            let got = parse_rtcp(&build_receiver_report(1, b)).unwrap();
            prop_assert_eq!(&got[0].reports, &vec![b]);
        }
    }
}
