use super::super::sdp_answer::{answer_direction, make_answer, make_offer, negotiated};
use super::*;

const ASTERISK: &str = "v=0\r\n\
o=- 1712000000 1712000000 IN IP4 192.168.1.10\r\n\
s=Asterisk\r\n\
c=IN IP4 192.168.1.10\r\n\
t=0 0\r\n\
m=audio 10000 RTP/AVP 8 0 3 101\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:3 GSM/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=sendrecv\r\n";

const FREESWITCH: &str = "v=0\r\n\
o=FreeSWITCH 1712345678 1712345679 IN IP4 10.0.0.5\r\n\
s=FreeSWITCH\r\n\
c=IN IP4 10.0.0.5\r\n\
t=0 0\r\n\
m=audio 24580 RTP/AVP 9 102 0 8 101 100 13\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:102 opus/48000/2\r\n\
a=fmtp:102 useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=rtpmap:100 telephone-event/48000\r\n\
a=fmtp:100 0-16\r\n\
a=rtpmap:13 CN/8000\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=rtcp:24581 IN IP4 10.0.0.5\r\n";

/// SIPp's stock uac scenario: LF line ends, static payload type without rtpmap.
const SIPP: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
";

fn parse(s: &str) -> SessionDescription {
    SessionDescription::parse(s).unwrap()
}

#[test]
fn parses_asterisk_offer() {
    let sd = parse(ASTERISK);
    assert_eq!(
        (sd.origin_username.as_str(), sd.session_id, sd.version),
        ("-", 1712000000, 1712000000)
    );
    assert_eq!(sd.session_name, "Asterisk");
    let a = sd.audio().unwrap();
    let names: Vec<_> = a
        .codecs
        .iter()
        .map(|c| (c.payload_type, c.rtpmap_name()))
        .collect();
    assert_eq!(
        names,
        [
            (8, "PCMA/8000".to_string()),
            (0, "PCMU/8000".into()),
            (3, "GSM/8000".into()),
            (101, "telephone-event/8000".into())
        ]
    );
    assert_eq!(a.codecs[3].fmtp.as_deref(), Some("0-16"));
    assert_eq!(a.other_attributes, ["ptime:20", "maxptime:150"]);
    assert_eq!(a.direction, Direction::SendRecv);
    assert_eq!(sd.rtp_address(), Some(("192.168.1.10".into(), 10000)));
    assert!(!sd.is_hold());
}

#[test]
fn parses_freeswitch_offer() {
    let sd = parse(FREESWITCH);
    let a = sd.audio().unwrap();
    assert_eq!(a.codecs.len(), 7);
    assert_eq!(a.codecs[1].rtpmap_name(), "opus/48000");
    assert!(
        a.codecs[1]
            .fmtp
            .as_deref()
            .unwrap()
            .starts_with("useinbandfec=1;")
    );
    assert_eq!(
        a.other_attributes,
        ["ptime:20", "rtcp:24581 IN IP4 10.0.0.5"]
    );
    // G.722 first, which we do not support: PCMU is the first common codec, and the
    // 8 kHz telephone-event (not the 48 kHz one) goes with it.
    let ans = make_answer(
        &sd,
        "10.0.0.9",
        4000,
        &[pcma(), pcmu(), telephone_event(101)],
        Direction::SendRecv,
        1,
        1,
    )
    .unwrap();
    assert_eq!(ans.codec, pcmu());
    assert_eq!(
        ans.telephone_event.as_ref().map(|c| c.payload_type),
        Some(101)
    );
    assert_eq!(ans.remote, Some(("10.0.0.5".into(), 24580)));
}

#[test]
fn parses_sipp_offer_with_static_payload_type_only() {
    let sd = parse(SIPP);
    assert_eq!(sd.audio().unwrap().codecs, [pcmu()]);
    assert_eq!(sd.session_name, "-");
    let ans = make_answer(
        &sd,
        "127.0.0.2",
        7000,
        &[pcmu(), telephone_event(101)],
        Direction::SendRecv,
        5,
        6,
    )
    .unwrap();
    assert_eq!(ans.codec.payload_type, 0);
    assert_eq!(ans.telephone_event, None);
    assert_eq!(
        ans.sdp.to_string(),
        "v=0\r\no=flipcheck 5 6 IN IP4 127.0.0.2\r\ns=flipcheck\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
         m=audio 7000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
    );
}

#[test]
fn round_trips() {
    for text in [ASTERISK, FREESWITCH, SIPP, T38, IPV6_HOLD] {
        let sd = parse(text);
        let printed = sd.to_string();
        assert_eq!(parse(&printed), sd, "{printed}");
        assert_eq!(parse(&printed).to_string(), printed);
    }
    // Our own lines come back byte for byte.
    assert_eq!(parse(ASTERISK).to_string(), ASTERISK);
}

#[test]
fn offer_text_is_exact() {
    let o = make_offer(
        "192.0.2.1",
        40000,
        &[pcmu(), pcma(), telephone_event(101)],
        Direction::SendRecv,
        42,
        1,
    );
    assert_eq!(
        o.to_string(),
        "v=0\r\no=flipcheck 42 1 IN IP4 192.0.2.1\r\ns=flipcheck\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    assert_eq!(parse(&o.to_string()), o);
}

/// RFC 3264 §6.1, every offered direction against every local wish.
#[test]
fn answer_direction_rules() {
    use Direction::*;
    let table = [
        (SendRecv, SendRecv, SendRecv),
        (SendRecv, SendOnly, SendOnly),
        (SendRecv, RecvOnly, RecvOnly),
        (SendRecv, Inactive, Inactive),
        (SendOnly, SendRecv, RecvOnly),
        (SendOnly, SendOnly, Inactive),
        (SendOnly, RecvOnly, RecvOnly),
        (SendOnly, Inactive, Inactive),
        (RecvOnly, SendRecv, SendOnly),
        (RecvOnly, SendOnly, SendOnly),
        (RecvOnly, RecvOnly, Inactive),
        (RecvOnly, Inactive, Inactive),
        (Inactive, SendRecv, Inactive),
        (Inactive, SendOnly, Inactive),
        (Inactive, RecvOnly, Inactive),
        (Inactive, Inactive, Inactive),
    ];
    for (offered, local, expected) in table {
        assert_eq!(
            answer_direction(offered, local),
            expected,
            "{offered} / {local}"
        );
        let offer = make_offer("192.0.2.1", 4000, &[pcmu()], offered, 1, 1);
        let ans = make_answer(&offer, "192.0.2.2", 5000, &[pcmu()], local, 2, 1).unwrap();
        assert_eq!(ans.direction, expected);
        assert_eq!(ans.sdp.audio().unwrap().direction, expected);
    }
    assert_eq!(Direction::SendOnly.reverse(), Direction::RecvOnly);
    assert_eq!(Direction::RecvOnly.reverse(), Direction::SendOnly);
    assert_eq!(Direction::Inactive.reverse(), Direction::Inactive);
    assert_eq!(Direction::SendRecv.reverse(), Direction::SendRecv);
}

#[test]
fn first_common_codec_in_offerers_order_with_offerers_payload_type() {
    let dyn_te = telephone_event(96);
    let offer = make_offer(
        "192.0.2.1",
        4000,
        &[pcma(), pcmu(), dyn_te],
        Direction::SendRecv,
        1,
        1,
    );
    let ans = make_answer(
        &offer,
        "192.0.2.2",
        5000,
        &[pcmu(), pcma(), telephone_event(101)],
        Direction::SendRecv,
        2,
        1,
    )
    .unwrap();
    assert_eq!(ans.codec, pcma());
    assert_eq!(ans.telephone_event.as_ref().unwrap().payload_type, 96);
    let pts: Vec<u8> = ans
        .sdp
        .audio()
        .unwrap()
        .codecs
        .iter()
        .map(|c| c.payload_type)
        .collect();
    assert_eq!(pts, [8, 96]);
    assert_eq!(negotiated(&offer, &ans.sdp), Ok(pcma()));
}

#[test]
fn no_common_codec_and_no_audio() {
    let offer = make_offer(
        "192.0.2.1",
        4000,
        &[SdpCodec::from_static(18), telephone_event(101)],
        Direction::SendRecv,
        1,
        1,
    );
    assert_eq!(
        make_answer(
            &offer,
            "h",
            1,
            &[pcmu(), telephone_event(101)],
            Direction::SendRecv,
            1,
            1
        ),
        Err(SdpError::NoCommonCodec)
    );
    let mut rejected = make_offer("192.0.2.1", 0, &[pcmu()], Direction::SendRecv, 1, 1);
    assert_eq!(rejected.rtp_address(), None, "port 0 is a rejected stream");
    assert_eq!(
        make_answer(&rejected, "h", 1, &[pcmu()], Direction::SendRecv, 1, 1),
        Err(SdpError::NoAudio)
    );
    rejected.media[0].port = 4000;
    rejected.media[0].proto = "RTP/SAVP".into();
    assert_eq!(
        make_answer(&rejected, "h", 1, &[pcmu()], Direction::SendRecv, 1, 1),
        Err(SdpError::NoAudio)
    );
}

#[test]
fn other_streams_are_rejected_with_port_zero() {
    let text = "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n\
        m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
        m=audio 5000 RTP/AVP 0\r\n";
    let offer = parse(text);
    let ans = make_answer(
        &offer,
        "10.2.2.2",
        6000,
        &[pcmu()],
        Direction::SendRecv,
        3,
        1,
    )
    .unwrap();
    assert_eq!(ans.sdp.media.len(), 2);
    assert_eq!(
        (ans.sdp.media[0].media.as_str(), ans.sdp.media[0].port),
        ("video", 0)
    );
    assert_eq!(ans.sdp.media[0].codecs[0].payload_type, 96);
    assert_eq!(
        (ans.sdp.media[1].media.as_str(), ans.sdp.media[1].port),
        ("audio", 6000)
    );
    assert_eq!(ans.remote, Some(("10.1.1.1".into(), 5000)));
    // The offerer's view: the audio stream it offered was accepted.
    assert_eq!(negotiated(&offer, &ans.sdp), Ok(pcmu()));
}

#[test]
fn negotiated_errors() {
    let offer = make_offer(
        "192.0.2.1",
        4000,
        &[pcmu(), telephone_event(101)],
        Direction::SendRecv,
        1,
        1,
    );
    let mut ans = make_offer("192.0.2.2", 0, &[pcmu()], Direction::SendRecv, 1, 1);
    assert_eq!(negotiated(&offer, &ans), Err(SdpError::Rejected));
    ans.media[0].port = 5000;
    ans.media[0].codecs = vec![pcma(), telephone_event(101)];
    assert_eq!(negotiated(&offer, &ans), Err(SdpError::NoCommonCodec));
}

const T38: &str = "v=0\r\n\
o=- 7 8 IN IP4 10.0.0.5\r\n\
s=-\r\n\
c=IN IP4 10.0.0.5\r\n\
t=0 0\r\n\
m=image 4000 udptl t38\r\n\
a=T38FaxVersion:0\r\n\
a=T38FaxRateManagement:transferredTCF\r\n\
a=sendrecv\r\n";

#[test]
fn non_rtp_formats_are_kept() {
    let sd = parse(T38);
    let m = &sd.media[0];
    assert_eq!(
        (m.codecs.len(), m.other_formats.as_slice()),
        (0, &["t38".to_string()][..])
    );
    assert_eq!(sd.to_string(), T38);
    assert_eq!(sd.audio(), None);
    assert_eq!(sd.rtp_address(), None);
}

const IPV6_HOLD: &str = "v=0\r\n\
o=- 9 10 IN IP6 2001:db8::1\r\n\
s=-\r\n\
t=0 0\r\n\
a=sendonly\r\n\
m=audio 30000 RTP/AVP 0 101\r\n\
c=IN IP6 2001:db8::1\r\n\
b=AS:64\r\n\
a=rtpmap:101 telephone-event/8000\r\n";

#[test]
fn ipv6_session_level_direction_and_media_connection() {
    let sd = parse(IPV6_HOLD);
    let m = sd.audio().unwrap();
    assert_eq!(
        m.direction,
        Direction::SendOnly,
        "inherited from the session level"
    );
    assert_eq!(m.other_lines, ["b=AS:64"]);
    assert_eq!(sd.rtp_address(), Some(("2001:db8::1".into(), 30000)));
    assert!(sd.is_hold());
    assert!(sd.to_string().contains("c=IN IP6 2001:db8::1\r\n"));
}

#[test]
fn hold_detection() {
    let base = make_offer("192.0.2.1", 4000, &[pcmu()], Direction::SendRecv, 1, 2);
    assert!(!is_hold(base.audio().unwrap()));
    for d in [Direction::SendOnly, Direction::Inactive] {
        let h = make_offer("192.0.2.1", 4000, &[pcmu()], d, 1, 2);
        assert!(is_hold(h.audio().unwrap()) && h.is_hold());
    }
    assert!(!make_offer("192.0.2.1", 4000, &[pcmu()], Direction::RecvOnly, 1, 2).is_hold());
    // RFC 2543 style: c=0.0.0.0 at session level, and at media level.
    let old = make_offer("0.0.0.0", 4000, &[pcmu()], Direction::SendRecv, 1, 2);
    assert!(!is_hold(old.audio().unwrap()) && old.is_hold());
    let mut m = base.media[0].clone();
    m.connection = Some("0.0.0.0".into());
    assert!(is_hold(&m));
}

#[test]
fn parse_errors_are_values() {
    let e = |s: &str| SessionDescription::parse(s).unwrap_err();
    assert_eq!(e("v=0\r\ns=-\r\n"), SdpError::MissingOrigin);
    assert_eq!(e(""), SdpError::MissingOrigin);
    assert_eq!(
        e("v=0\r\nhello\r\n"),
        SdpError::Malformed {
            line: 2,
            reason: "not a `x=value` line"
        }
    );
    assert_eq!(
        e("v=0\r\no=- 1 IN IP4 x\r\n"),
        SdpError::Malformed {
            line: 2,
            reason: "o= needs 6 fields"
        }
    );
    assert_eq!(
        e("o=- x 1 IN IP4 h\r\n"),
        SdpError::Malformed {
            line: 1,
            reason: "o= session id is not a u64"
        }
    );
    assert_eq!(
        e("o=- 1 1 IN IP4 h\r\nc=IN IP4\r\n"),
        SdpError::Malformed {
            line: 2,
            reason: "bad c= line"
        }
    );
    assert_eq!(
        e("o=- 1 1 IN IP4 h\r\nm=audio 70000 RTP/AVP 0\r\n"),
        SdpError::Malformed {
            line: 2,
            reason: "bad m= line"
        }
    );
    assert_eq!(
        e("o=- 1 1 IN IP4 h\r\nm=audio\r\n"),
        SdpError::Malformed {
            line: 2,
            reason: "bad m= line"
        }
    );
    // Unknown attribute forms and rtpmap for absent formats are kept, not errors.
    let sd = parse(
        "o=- 1 1 IN IP4 h\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:99 X/1\r\na=fmtp:zz\r\na=rtpmap:0\r\n",
    );
    assert_eq!(
        sd.media[0].other_attributes,
        ["rtpmap:99 X/1", "fmtp:zz", "rtpmap:0"]
    );
    assert_eq!(sd.media[0].codecs, [pcmu()]);
}

#[test]
fn static_payload_types_without_rtpmap() {
    let sd = parse("o=- 1 1 IN IP4 h\r\nm=audio 1 RTP/AVP 8 0 18\r\n");
    assert_eq!(sd.media[0].codecs[..2], [pcma(), pcmu()]);
    assert_eq!(sd.media[0].codecs[2].rtpmap_name(), "G729/8000");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = SessionDescription::parse(&s);
        }

        #[test]
        fn parsed_sdp_round_trips(lines in proptest::collection::vec(prop_oneof![
            "[a-z]=[ -~]{0,30}",
            prop::sample::select(vec![
                "a=sendonly", "a=inactive", "a=recvonly", "a=rtpmap:101 telephone-event/8000",
                "a=fmtp:101 0-15", "a=fmtp:0 x=1", "m=video 0 RTP/AVP 96", "m=image 4 udptl t38",
                "c=IN IP6 ::1", "c=IN IP4 0.0.0.0", "b=AS:64", "a=ptime:20", "s=x", "t=1 2",
                "i=info", "k=prompt", "o=- 3 4 IN IP6 ::2", "a=rtpmap:96 H264/90000",
            ]).prop_map(str::to_string),
        ], 0..14)) {
            let text = format!("o=- 1 2 IN IP4 h\r\nm=audio 5 RTP/AVP 0 101\r\n{}", lines.join("\r\n"));
            if let Ok(sd) = SessionDescription::parse(&text) {
                let printed = sd.to_string();
                prop_assert_eq!(SessionDescription::parse(&printed).unwrap(), sd);
            }
        }
    }
}
