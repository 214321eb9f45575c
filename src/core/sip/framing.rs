//! Message framing on stream transports (TCP, TLS): RFC 3261 §18.3 says Content-Length
//! MUST be present there, and it is the only way to find where a message ends.
//! Check-then-parse: `frame` only finds the boundary; `Message::parse` reads the frame.

use super::error::ParseError;
use super::header::{is_wsp, names_match};
use super::parse::{find_end_of_head, leading_crlf_len, line_at, parse_decimal};
use super::{Message, Transport};

/// The largest message we accept on a stream (head + body), so a peer cannot make us
/// buffer without bound.
pub const MAX_STREAM_MESSAGE: usize = 64 * 1024;

/// Checks whether `buf` starts with one complete message.
///
/// `Ok(Some(n))`: the first `n` bytes are one message (leading CRLF keep-alives included);
/// `Ok(None)`: need more bytes (also for a buffer of nothing but CRLFs); `Err`: the stream
/// can never become valid (no or bad Content-Length, or larger than [`MAX_STREAM_MESSAGE`])
/// and should be closed.
pub fn frame(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    let prefix = leading_crlf_len(buf);
    if prefix > MAX_STREAM_MESSAGE {
        // Keep-alives come one CRLFCRLF at a time (RFC 5626 §4.4.1); this many is abuse.
        return Err(ParseError::TooLarge {
            size: prefix,
            limit: MAX_STREAM_MESSAGE,
        });
    }
    if prefix >= buf.len() {
        return Ok(None);
    }
    let (head_end, eoh) = find_end_of_head(buf, prefix);
    if eoh.is_none() {
        if buf.len() - prefix > MAX_STREAM_MESSAGE {
            return Err(ParseError::TooLarge {
                size: buf.len() - prefix,
                limit: MAX_STREAM_MESSAGE,
            });
        }
        return Ok(None);
    }
    let len = content_length(&buf[..head_end], prefix)?;
    let size = (head_end - prefix).saturating_add(len);
    if size > MAX_STREAM_MESSAGE {
        return Err(ParseError::TooLarge {
            size,
            limit: MAX_STREAM_MESSAGE,
        });
    }
    let total = head_end + len;
    Ok((buf.len() >= total).then_some(total))
}

/// RFC 3261 §18.3: on a stream, Content-Length is the only way to find where a message
/// ends, so it MUST be there; messages built without one (it is optional on UDP, §20.14)
/// get it before they go on TCP or TLS.
pub(super) fn frame_for(msg: &mut Message, transport: Transport) {
    if transport.is_reliable() && msg.header("Content-Length").is_none() {
        let len = msg.body().len().to_string();
        msg.push_header("Content-Length", &len);
    }
}

/// The Content-Length of a complete header section (folded values unfolded); several
/// headers must agree.
fn content_length(head: &[u8], from: usize) -> Result<usize, ParseError> {
    let mut found: Option<usize> = None;
    let mut line_no = 1 + head[..from].iter().filter(|&&c| c == b'\n').count();
    // skip the start line
    let mut pos = line_at(head, from).map_or(head.len(), |l| l.next);
    while let Some(l) = line_at(head, pos) {
        line_no += 1;
        pos = l.next;
        let line = &head[l.start..l.end];
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        if !names_match(name.trim_end_matches(is_wsp), "Content-Length") {
            continue;
        }
        // collect continuation lines
        let mut value = String::from_utf8_lossy(&line[colon + 1..]).into_owned();
        while let Some(c) = line_at(head, pos) {
            if !matches!(head.get(c.start), Some(b' ' | b'\t')) {
                break;
            }
            value.push(' ');
            value.push_str(&String::from_utf8_lossy(&head[c.start..c.end]));
            pos = c.next;
            line_no += 1;
        }
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        let bad = || ParseError::BadContentLength {
            line: line_no,
            value: value.to_string(),
        };
        let n = parse_decimal(value).ok_or_else(bad)?;
        if found.is_some_and(|f| f != n) {
            return Err(bad());
        }
        found = Some(n);
    }
    found.ok_or(ParseError::MissingContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";

    #[test]
    fn complete_and_incomplete() {
        assert_eq!(frame(MSG), Ok(Some(MSG.len())));
        for cut in 0..MSG.len() {
            assert_eq!(frame(&MSG[..cut]), Ok(None), "cut {cut}");
        }
        let mut two = MSG.to_vec();
        two.extend_from_slice(b"OPTIONS");
        assert_eq!(frame(&two), Ok(Some(MSG.len())));
    }

    #[test]
    fn keepalives_are_counted() {
        let mut b = b"\r\n\r\n".to_vec();
        assert_eq!(frame(&b), Ok(None));
        b.extend_from_slice(MSG);
        assert_eq!(frame(&b), Ok(Some(MSG.len() + 4)));
    }

    #[test]
    fn folded_content_length() {
        let m = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length:\r\n 2\r\n\r\nhi";
        assert_eq!(frame(m), Ok(Some(m.len())));
    }

    #[test]
    fn errors() {
        assert_eq!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"),
            Err(ParseError::MissingContentLength)
        );
        assert_eq!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -5\r\n\r\n"),
            Err(ParseError::BadContentLength {
                line: 2,
                value: "-5".into()
            })
        );
        assert!(matches!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(ParseError::BadContentLength { line: 3, .. })
        ));
        assert!(matches!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: 70000\r\n\r\n"),
            Err(ParseError::TooLarge { .. })
        ));
        let big = vec![b'a'; MAX_STREAM_MESSAGE + 1];
        assert!(matches!(frame(&big), Err(ParseError::TooLarge { .. })));
        let crlfs = b"\r\n".repeat(MAX_STREAM_MESSAGE);
        assert!(matches!(frame(&crlfs), Err(ParseError::TooLarge { .. })));
    }
}
