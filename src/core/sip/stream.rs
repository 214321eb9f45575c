//! Reassembly of a TCP or TLS byte stream into SIP messages and keep-alives, sans-IO: the
//! driver pushes whatever one read returned and takes out complete items. A read may hold
//! several messages, or part of one; [`frame`] finds each boundary (RFC 3261 §18.3).
//!
//! Keep-alives are RFC 5626 §4.4.1's: a client pings with a double CRLF and the server
//! answers with a single CRLF (a pong). They are told apart from messages here so the
//! driver can answer a ping without the SIP layer seeing anything.

use super::error::ParseError;
use super::framing::frame;

/// One thing read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// One whole SIP message, as bytes for [`super::Message::parse`].
    Message(Vec<u8>),
    /// A client's CRLFCRLF: answer it with a CRLF.
    Ping,
    /// A server's CRLF answering our ping.
    Pong,
}

const CRLF: &[u8] = b"\r\n";

/// The bytes of one stream connection not yet taken out as items.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    buf: Vec<u8>,
    /// We opened the connection, so a lone CRLF is the answer to our ping. On a connection
    /// we accepted it may be the first half of the client's ping.
    client: bool,
    failed: Option<ParseError>,
}

impl StreamDecoder {
    /// A decoder for a connection we opened (`client`) or accepted.
    pub fn new(client: bool) -> Self {
        StreamDecoder {
            client,
            ..Default::default()
        }
    }

    /// Appends what one read returned.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next complete item; `Ok(None)` until more bytes come. An error means the stream
    /// can never be read again (no or bad Content-Length, or a message too large): the
    /// connection must be closed, and every later call returns the same error.
    pub fn next_item(&mut self) -> Result<Option<StreamItem>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if let Some(item) = self.keepalive() {
            return Ok(Some(item));
        }
        if self.buf.is_empty() || self.buf == CRLF || self.buf == b"\r\n\r" {
            // Nothing, or the start of a keep-alive: wait for the rest.
            return Ok(None);
        }
        match frame(&self.buf) {
            Ok(Some(n)) => Ok(Some(StreamItem::Message(self.buf.drain(..n).collect()))),
            Ok(None) => Ok(None),
            Err(e) => {
                self.buf = Vec::new();
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Bytes held that are not a whole item yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// A keep-alive at the front of the buffer, taken out.
    fn keepalive(&mut self) -> Option<StreamItem> {
        if self.buf.starts_with(b"\r\n\r\n") {
            self.buf.drain(..4);
            return Some(StreamItem::Ping);
        }
        // A CRLF not followed by another: a pong (or a stray CRLF between messages, which
        // RFC 3261 §7.5 says to ignore all the same).
        let lone = self.buf.starts_with(CRLF)
            && (self.client || self.buf.get(2).is_some_and(|&b| b != b'\r'));
        if lone {
            self.buf.drain(..2);
            return Some(StreamItem::Pong);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[u8] = b"OPTIONS sip:a@h SIP/2.0\r\nCall-ID: a\r\nContent-Length: 5\r\n\r\nhello";
    const B: &[u8] = b"SIP/2.0 200 OK\r\nCall-ID: b\r\nl: 0\r\n\r\n";

    fn drain(d: &mut StreamDecoder) -> Vec<StreamItem> {
        std::iter::from_fn(|| d.next_item().unwrap()).collect()
    }

    #[test]
    fn several_messages_and_a_ping_in_one_read() {
        let mut d = StreamDecoder::new(false);
        d.push(&[A, b"\r\n\r\n", B, A].concat());
        assert_eq!(
            drain(&mut d),
            [
                StreamItem::Message(A.to_vec()),
                StreamItem::Ping,
                StreamItem::Message(B.to_vec()),
                StreamItem::Message(A.to_vec()),
            ]
        );
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn one_message_split_across_reads() {
        let whole = [A, B].concat();
        for cut in 0..whole.len() {
            let mut d = StreamDecoder::new(false);
            d.push(&whole[..cut]);
            let mut got = drain(&mut d);
            d.push(&whole[cut..]);
            got.extend(drain(&mut d));
            assert_eq!(
                got,
                [
                    StreamItem::Message(A.to_vec()),
                    StreamItem::Message(B.to_vec())
                ],
                "cut at {cut}"
            );
        }
        // A byte at a time, a ping split in two included.
        let mut d = StreamDecoder::new(false);
        let mut got = Vec::new();
        for b in [b"\r\n\r\n", A].concat() {
            d.push(&[b]);
            got.extend(drain(&mut d));
        }
        assert_eq!(got, [StreamItem::Ping, StreamItem::Message(A.to_vec())]);
    }

    #[test]
    fn a_client_hears_a_pong() {
        let mut d = StreamDecoder::new(true);
        d.push(b"\r\n");
        assert_eq!(drain(&mut d), [StreamItem::Pong]);
        // On an accepted connection the same CRLF waits to see whether a ping follows.
        let mut d = StreamDecoder::new(false);
        d.push(b"\r\n");
        assert_eq!(drain(&mut d), []);
        d.push(B);
        assert_eq!(
            drain(&mut d),
            [StreamItem::Pong, StreamItem::Message(B.to_vec())]
        );
    }

    #[test]
    fn a_framing_error_is_final() {
        let mut d = StreamDecoder::new(false);
        d.push(b"OPTIONS sip:a@h SIP/2.0\r\nCall-ID: x\r\n\r\n");
        assert_eq!(d.next_item(), Err(ParseError::MissingContentLength));
        d.push(A);
        assert_eq!(d.next_item(), Err(ParseError::MissingContentLength));
        assert_eq!(d.pending(), 0, "nothing more is kept");
    }
}
