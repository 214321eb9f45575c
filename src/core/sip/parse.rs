//! Turning bytes into a [`Message`]: line scanning, the start line, header lines with
//! folding, and the Content-Length body.

use super::error::ParseError;
use super::header::{is_wsp, names_match, starts_with_ci};
use super::message::{EndOfHead, Header, Message, Span, StartLine};

/// One line of input: `start..end` is its content, `next` is where the following line
/// starts (after `\r\n` or a bare `\n`; equal to `end` for an unterminated last line).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) next: usize,
}

/// The line starting at `pos`, or `None` at the end of input.
pub(crate) fn line_at(b: &[u8], pos: usize) -> Option<Line> {
    if pos >= b.len() {
        return None;
    }
    let rest = &b[pos..];
    Some(match rest.iter().position(|&c| c == b'\n') {
        Some(i) => {
            let end = if i > 0 && rest[i - 1] == b'\r' {
                pos + i - 1
            } else {
                pos + i
            };
            Line {
                start: pos,
                end,
                next: pos + i + 1,
            }
        }
        None => Line {
            start: pos,
            end: b.len(),
            next: b.len(),
        },
    })
}

/// Length of the CRLFs (or bare LFs) before the start line; RFC 3261 §7.5 says to ignore
/// them on streams, and they are harmless in a datagram.
pub(crate) fn leading_crlf_len(b: &[u8]) -> usize {
    let mut i = 0;
    loop {
        match b.get(i..) {
            Some([b'\r', b'\n', ..]) => i += 2,
            Some([b'\n', ..]) => i += 1,
            _ => return i,
        }
    }
}

/// Where the header section ends: `(end of head, range of the empty line)`; the range is
/// `None` when the input ends first. `from` is the start of the start line.
pub(crate) fn find_end_of_head(b: &[u8], from: usize) -> (usize, Option<(usize, usize)>) {
    let mut pos = from;
    let mut first = true;
    while let Some(l) = line_at(b, pos) {
        if !first && l.start == l.end && l.next > l.end {
            return (l.next, Some((l.start, l.next)));
        }
        first = false;
        pos = l.next;
    }
    (b.len(), None)
}

/// The header section as a string: valid UTF-8 is taken as is; otherwise every byte of an
/// invalid sequence becomes `?`, so offsets stay those of the raw bytes.
fn head_text(bytes: &[u8]) -> (String, Option<Vec<u8>>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(_) => {
            let mut fixed = bytes.to_vec();
            let mut pos = 0;
            while let Err(e) = std::str::from_utf8(&fixed[pos..]) {
                let bad_at = pos + e.valid_up_to();
                let bad_len = e.error_len().unwrap_or(fixed.len() - bad_at);
                for c in &mut fixed[bad_at..bad_at + bad_len] {
                    *c = b'?';
                }
                pos = bad_at + bad_len;
            }
            // Every invalid sequence was replaced by ASCII above, so this cannot fail; the
            // lossy fallback only exists to avoid a panic path.
            let text = String::from_utf8(fixed)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            (text, Some(bytes.to_vec()))
        }
    }
}

pub(crate) fn parse(data: &[u8]) -> Result<Message, ParseError> {
    let prefix = leading_crlf_len(data);
    if prefix >= data.len() {
        return Err(ParseError::Empty);
    }
    let (head_end, eoh) = find_end_of_head(data, prefix);
    let (head, head_raw) = head_text(&data[..head_end]);
    let hb = head.as_bytes();
    let mut line_no = 1 + data[..prefix].iter().filter(|&&c| c == b'\n').count();

    // line_at cannot return None here: prefix < data.len() and head_end > prefix.
    let Some(sl) = line_at(hb, prefix) else {
        return Err(ParseError::Empty);
    };
    let start = parse_start_line(head.get(sl.start..sl.end).unwrap_or(""), line_no)?;

    // One allocation for the header list: there are at most as many headers as lines.
    let mut headers: Vec<Header> =
        Vec::with_capacity(hb[sl.next..].iter().filter(|&&c| c == b'\n').count());
    // The header being collected: (header, value start, content end of its last line).
    let mut cur: Option<(Header, usize, usize, bool)> = None;
    let body_start = eoh.map_or(head_end, |(a, _)| a);
    let mut pos = sl.next;
    while pos < body_start {
        let Some(l) = line_at(hb, pos) else { break };
        line_no += 1;
        let first = hb.get(l.start).copied();
        if matches!(first, Some(b' ' | b'\t'))
            && let Some((h, _, end, folded)) = &mut cur
        {
            // RFC 3261 §7.3.1: a line starting with whitespace continues the previous one.
            *end = l.end;
            *folded = true;
            h.raw = h.raw.map(|(a, _)| (a, l.next));
            pos = l.next;
            continue;
        }
        if let Some(c) = cur.take() {
            headers.push(finish(&head, c));
        }
        cur = Some(start_header(&head, l, line_no));
        pos = l.next;
    }
    if let Some(c) = cur.take() {
        headers.push(finish(&head, c));
    }

    let mut msg = Message {
        start,
        head,
        head_raw,
        prefix,
        start_raw: Some((prefix, sl.next)),
        headers,
        end_of_head: match eoh {
            Some((a, b)) => EndOfHead::Raw(a, b),
            None => EndOfHead::Missing,
        },
        body: Vec::new(),
        trailing: Vec::new(),
    };
    let rest = &data[head_end..];
    let len = if eoh.is_some() {
        body_length(&msg).unwrap_or(rest.len())
    } else {
        0
    };
    let cut = len.min(rest.len());
    msg.body = rest[..cut].to_vec();
    msg.trailing = rest[cut..].to_vec();
    Ok(msg)
}

/// The one Content-Length all Content-Length headers agree on, if any.
fn body_length(msg: &Message) -> Option<usize> {
    let mut found = None;
    for h in msg.headers.iter().filter(|h| !h.malformed) {
        if names_match(h.name.get(&msg.head), "Content-Length") {
            let n = parse_decimal(h.value.get(&msg.head))?;
            if found.is_some_and(|f| f != n) {
                return None;
            }
            found = Some(n);
        }
    }
    found
}

/// `1*DIGIT` as usize; `None` for anything else (sign, spaces inside, overflow).
pub(crate) fn parse_decimal(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn start_header(head: &str, l: Line, line: usize) -> (Header, usize, usize, bool) {
    let text = head.get(l.start..l.end).unwrap_or("");
    let mut h = Header {
        name: Span::Head(l.start, l.start),
        value: Span::Head(l.end, l.end),
        raw: Some((l.start, l.next)),
        line,
        malformed: true,
    };
    let mut vstart = l.end;
    if let Some(colon) = text.find(':') {
        let name = text[..colon].trim_end_matches(is_wsp);
        if !name.is_empty() && !name.contains([' ', '\t']) {
            h.name = Span::Head(l.start, l.start + name.len());
            h.malformed = false;
            vstart = l.start + colon + 1;
        }
    }
    (h, vstart, l.end, false)
}

fn finish(head: &str, (mut h, vstart, vend, folded): (Header, usize, usize, bool)) -> Header {
    if h.malformed {
        return h;
    }
    let raw = head.get(vstart..vend).unwrap_or("");
    h.value = if folded {
        Span::Own(unfold(raw).into())
    } else {
        let lead = raw.len() - raw.trim_start_matches(is_wsp).len();
        let trimmed = raw.trim_matches(is_wsp);
        Span::Head(vstart + lead, vstart + lead + trimmed.len())
    };
    h
}

/// RFC 3261 §7.3.1: `*WSP CRLF 1*WSP` is equivalent to one SP.
fn unfold(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for seg in v.split('\n') {
        let seg = seg.trim_end_matches('\r').trim_matches(is_wsp);
        if seg.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(seg);
    }
    out
}

/// Reads a Request-Line or Status-Line leniently: extra whitespace between elements is
/// tolerated here and reported by `validate` (RFC 4475 §3.1.2.9, §3.1.2.10).
fn parse_start_line(line: &str, line_no: usize) -> Result<StartLine, ParseError> {
    let bad = |detail: &str| ParseError::BadStartLine {
        line: line_no,
        detail: format!("{detail}: {line:?}"),
    };
    let t = line.trim_start_matches(is_wsp);
    let first_end = t.find([' ', '\t']).unwrap_or(t.len());
    let first = &t[..first_end];
    if starts_with_ci(first, "SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let rest = t[first_end..].trim_start_matches(is_wsp);
        let code_end = rest.find([' ', '\t']).unwrap_or(rest.len());
        let code_text = &rest[..code_end];
        if code_text.is_empty() {
            return Err(bad("no status code"));
        }
        let code = if code_text.bytes().all(|c| c.is_ascii_digit()) {
            code_text.parse::<u16>().ok()
        } else {
            None
        };
        let Some(code) = code else {
            return Err(ParseError::BadStatusCode {
                line: line_no,
                text: code_text.to_string(),
            });
        };
        let after = &rest[code_end..];
        let reason = after
            .strip_prefix(' ')
            .or_else(|| after.strip_prefix('\t'))
            .unwrap_or(after);
        return Ok(StartLine::Response {
            version: first.to_string(),
            code,
            reason: reason.to_string(),
        });
    }
    // Request-Line = Method SP Request-URI SP SIP-Version
    let t = t.trim_end_matches(is_wsp);
    let (Some(m_end), Some(v_start)) = (t.find([' ', '\t']), t.rfind([' ', '\t'])) else {
        return Err(bad("expected 'METHOD uri SIP/2.0'"));
    };
    let version = &t[v_start + 1..];
    let uri = t[m_end..=v_start].trim_matches(is_wsp);
    if uri.is_empty() {
        return Err(bad("no Request-URI"));
    }
    if !starts_with_ci(version, "SIP/") {
        return Err(bad("no SIP version at the end"));
    }
    Ok(StartLine::Request {
        method: t[..m_end].to_string(),
        uri: uri.to_string(),
        version: version.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let b = b"a\r\nb\nc";
        let l = line_at(b, 0).unwrap();
        assert_eq!((l.start, l.end, l.next), (0, 1, 3));
        let l = line_at(b, 3).unwrap();
        assert_eq!((l.start, l.end, l.next), (3, 4, 5));
        let l = line_at(b, 5).unwrap();
        assert_eq!((l.start, l.end, l.next), (5, 6, 6));
        assert!(line_at(b, 6).is_none());
        assert_eq!(leading_crlf_len(b"\r\n\n\r\nX"), 5);
        assert_eq!(leading_crlf_len(b"\r"), 0);
    }

    #[test]
    fn end_of_head() {
        assert_eq!(
            find_end_of_head(b"A\r\nB: c\r\n\r\nbody", 0),
            (11, Some((9, 11)))
        );
        assert_eq!(find_end_of_head(b"A\nB: c\n\nbody", 0), (8, Some((7, 8))));
        assert_eq!(find_end_of_head(b"A\r\nB: c\r\n", 0), (9, None));
    }

    #[test]
    fn start_lines() {
        assert_eq!(
            parse_start_line("SIP/2.0 100 ", 1).unwrap(),
            StartLine::Response {
                version: "SIP/2.0".into(),
                code: 100,
                reason: "".into()
            }
        );
        assert_eq!(
            parse_start_line("SIP/2.0 183 Session Progress", 1).unwrap(),
            StartLine::Response {
                version: "SIP/2.0".into(),
                code: 183,
                reason: "Session Progress".into()
            }
        );
        assert_eq!(
            parse_start_line("SIP/2.0 4294967301 better not", 3),
            Err(ParseError::BadStatusCode {
                line: 3,
                text: "4294967301".into()
            })
        );
        assert_eq!(
            parse_start_line("INVITE  sip:a@b  SIP/2.0 ", 1).unwrap(),
            StartLine::Request {
                method: "INVITE".into(),
                uri: "sip:a@b".into(),
                version: "SIP/2.0".into()
            }
        );
        assert!(matches!(
            parse_start_line("Via: SIP/2.0/UDP host", 1),
            Err(ParseError::BadStartLine { line: 1, .. })
        ));
        assert!(parse_start_line("INVITE", 1).is_err());
        assert!(parse_start_line("INVITE SIP/2.0", 1).is_err());
        assert!(parse_start_line("SIP/2.0", 1).is_err());
    }

    #[test]
    fn unfolding() {
        assert_eq!(unfold(" 0009\r\n  INVITE"), "0009 INVITE");
        assert_eq!(unfold("\r\n <sip:x>"), "<sip:x>");
        assert_eq!(unfold("a  b\r\n\t c"), "a  b c");
    }

    #[test]
    fn non_utf8_head_keeps_offsets() {
        let (t, raw) = head_text(b"ab\xff\xfecd\xe2\x82");
        assert_eq!(t, "ab??cd??");
        assert_eq!(raw.unwrap(), b"ab\xff\xfecd\xe2\x82");
    }
}
