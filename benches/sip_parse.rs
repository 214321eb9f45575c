//! Parse and accessor cost of the SIP codec on typical messages: an INVITE with SDP and a
//! REGISTER with Authorization. `cargo bench --bench sip_parse`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flipcheck::core::sip::{Message, validate};

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice Liddell\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"\r\n\
Allow: INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS, UPDATE\r\n\
Supported: replaces, timer, 100rel\r\n\
Session-Expires: 1800;refresher=uac\r\n\
User-Agent: flipcheck-bench/1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 224\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=sendrecv\r\n";

const REGISTER: &[u8] = b"REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1827 REGISTER\r\n\
Contact: <sip:bob@192.0.2.4;transport=tcp>;expires=7200\r\n\
Authorization: Digest username=\"bob\", realm=\"biloxi.example.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:registrar.biloxi.example.com\", response=\"245f23415f11432b3434341c022\", algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n\
Expires: 7200\r\n\
Content-Length: 0\r\n\
\r\n";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sip");
    for (name, raw) in [("invite_sdp", INVITE), ("register_auth", REGISTER)] {
        // Keep the fixtures honest: both must be clean messages.
        let m = Message::parse(raw).expect("bench fixture parses");
        assert!(validate(&m).is_empty(), "{name}: {:?}", validate(&m));
        assert_eq!(m.body().len(), m.content_length().unwrap_or(0));

        g.throughput(Throughput::Bytes(raw.len() as u64));
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| Message::parse(black_box(raw)))
        });
        g.bench_function(format!("to_bytes/{name}"), |b| {
            b.iter(|| black_box(&m).to_bytes())
        });
        g.bench_function(format!("typed/{name}"), |b| {
            b.iter(|| {
                let m = black_box(&m);
                (
                    m.call_id(),
                    m.cseq(),
                    m.from_addr(),
                    m.to_addr(),
                    m.top_via(),
                    m.contact(),
                    m.max_forwards(),
                    m.content_length(),
                    m.header("Authorization"),
                )
            })
        });
        g.bench_function(format!("parse_and_typed/{name}"), |b| {
            b.iter(|| {
                let m = Message::parse(black_box(raw)).expect("parses");
                (
                    m.call_id().map(str::len),
                    m.cseq(),
                    m.top_via(),
                    m.from_addr(),
                )
            })
        });
        g.bench_function(format!("validate/{name}"), |b| {
            b.iter(|| validate(black_box(&m)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
