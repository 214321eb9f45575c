//! A SIP message that remembers how it was written.
//!
//! A parsed message keeps its header section as one string plus, per header, the byte range
//! of its original line(s). `to_bytes` re-emits those ranges, so an untouched message comes
//! out byte for byte as it came in (folding, compact names, odd whitespace and all), and an
//! edited one changes only the lines that were edited. Values are served unfolded and
//! trimmed (RFC 3261 §7.3.1) from the same string, allocating only for folded headers.

use super::header::{find_top_level, is_list_header, is_wsp, names_match, split_list};

/// The first line of a message (RFC 3261 §7.1 Request-Line, §7.2 Status-Line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    Request {
        method: String,
        uri: String,
        version: String,
    },
    Response {
        version: String,
        code: u16,
        reason: String,
    },
}

impl std::fmt::Display for StartLine {
    /// The canonical line without CRLF: `INVITE sip:a@b SIP/2.0`, `SIP/2.0 200 OK`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartLine::Request {
                method,
                uri,
                version,
            } => write!(f, "{method} {uri} {version}"),
            StartLine::Response {
                version,
                code,
                reason,
            } => write!(f, "{version} {code} {reason}"),
        }
    }
}

/// Text that lives either in the parsed header section or in its own allocation.
#[derive(Clone, Debug)]
pub(crate) enum Span {
    /// Byte range into `Message::head`.
    Head(usize, usize),
    Own(Box<str>),
}

impl Span {
    pub(crate) fn get<'a>(&'a self, head: &'a str) -> &'a str {
        match self {
            // Ranges are made by the parser on ASCII delimiters of this very string, so
            // they are in bounds and on char boundaries; `get` keeps that a non-panic.
            Span::Head(a, b) => head.get(*a..*b).unwrap_or(""),
            Span::Own(s) => s,
        }
    }
}

/// One header field as received or as added.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    /// Name as written (trimmed).
    pub(crate) name: Span,
    /// Value unfolded and trimmed.
    pub(crate) value: Span,
    /// Original line(s) including line terminators, as a range of `Message::head`; `None`
    /// for a header added or rewritten by the caller (emitted canonically).
    pub(crate) raw: Option<(usize, usize)>,
    /// 1-based line number in the received message (0 when built).
    pub(crate) line: usize,
    /// A line that is not `name: value` (no colon, or a name with whitespace, or a
    /// continuation before any header). Kept for re-emission, hidden from accessors.
    pub(crate) malformed: bool,
}

impl Header {
    fn built(name: &str, value: &str) -> Header {
        Header {
            name: Span::Own(name.into()),
            value: Span::Own(value.into()),
            raw: None,
            line: 0,
            malformed: false,
        }
    }
}

/// How the header section ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EndOfHead {
    /// The empty line as received (`\r\n`, or a bare `\n`), as a range of `head`.
    Raw(usize, usize),
    /// The input ended inside the header section (no empty line): kept that way so the
    /// message re-emits exactly; `validate` reports it.
    Missing,
    /// Emit `\r\n` (built or edited messages).
    Canonical,
}

/// A SIP request or response (RFC 3261 §7).
///
/// Parsed with [`Message::parse`] or built with [`Message::request`] /
/// [`Message::response`]. Header lookups are case-insensitive and treat compact forms
/// (`i`, `v`, `m`, ...) as their long names.
#[derive(Clone, Debug)]
pub struct Message {
    pub(crate) start: StartLine,
    /// The received header section (leading CRLFs, start line, header lines, empty line).
    /// Bytes that were not UTF-8 are replaced by `?` here, byte for byte, so offsets match
    /// `head_raw`.
    pub(crate) head: String,
    /// The original header-section bytes, only when they were not UTF-8.
    pub(crate) head_raw: Option<Vec<u8>>,
    /// Length of CRLFs before the start line (RFC 3261 §7.5 keep-alives).
    pub(crate) prefix: usize,
    /// The original start line including its terminator; `None` once rebuilt.
    pub(crate) start_raw: Option<(usize, usize)>,
    pub(crate) headers: Vec<Header>,
    pub(crate) end_of_head: EndOfHead,
    pub(crate) body: Vec<u8>,
    /// Octets after the Content-Length body (RFC 4475 §3.1.1.8); never re-emitted.
    pub(crate) trailing: Vec<u8>,
}

fn matches(head: &str, h: &Header, name: &str) -> bool {
    !h.malformed && names_match(h.name.get(head), name)
}

impl Message {
    fn new(start: StartLine) -> Message {
        Message {
            start,
            head: String::new(),
            head_raw: None,
            prefix: 0,
            start_raw: None,
            headers: Vec::new(),
            end_of_head: EndOfHead::Canonical,
            body: Vec::new(),
            trailing: Vec::new(),
        }
    }

    /// A new request line `METHOD uri SIP/2.0` with no headers and no body. Nothing is added
    /// implicitly (not even Content-Length); [`Message::set_body`] sets Content-Length.
    pub fn request(method: &str, uri: &str) -> Message {
        Message::new(StartLine::Request {
            method: method.to_string(),
            uri: uri.to_string(),
            version: "SIP/2.0".to_string(),
        })
    }

    /// A new status line `SIP/2.0 code reason` with no headers and no body.
    pub fn response(code: u16, reason: &str) -> Message {
        Message::new(StartLine::Response {
            version: "SIP/2.0".to_string(),
            code,
            reason: reason.to_string(),
        })
    }

    /// Parses one message from a datagram (or a frame cut by [`super::frame`]).
    ///
    /// The body is Content-Length octets; without a usable Content-Length (absent, invalid,
    /// or several that disagree) it is the rest of the input. Octets beyond Content-Length
    /// are kept in [`Message::trailing`] and are not re-emitted by `to_bytes`. Leading CRLFs
    /// are kept and re-emitted. Bare LF line ends, missing empty line, malformed header
    /// lines and non-UTF-8 bytes are accepted (and reported by [`super::validate`]); only an
    /// unreadable start line is an error.
    pub fn parse(datagram: &[u8]) -> Result<Message, super::ParseError> {
        super::parse::parse(datagram)
    }

    /// The message as bytes: a parsed message exactly as received (minus trailing octets);
    /// edited or added parts as `Name: value\r\n`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.head.len() + self.body.len() + 64);
        self.write_to(&mut out);
        out
    }

    /// Appends [`Message::to_bytes`] to `out` (no intermediate allocation).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let src: &[u8] = self.head_raw.as_deref().unwrap_or(self.head.as_bytes());
        let raw = |a: usize, b: usize| src.get(a..b).unwrap_or(b"");
        out.extend_from_slice(raw(0, self.prefix));
        match self.start_raw {
            Some((a, b)) => out.extend_from_slice(raw(a, b)),
            None => {
                out.extend_from_slice(self.start.to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        for h in &self.headers {
            // A raw last line may lack its terminator (input ended there); when something
            // follows it now, terminate it so the next line does not run into it.
            if !out.is_empty() && out.last() != Some(&b'\n') {
                out.extend_from_slice(b"\r\n");
            }
            match h.raw {
                Some((a, b)) => out.extend_from_slice(raw(a, b)),
                None => {
                    out.extend_from_slice(h.name.get(&self.head).as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(h.value.get(&self.head).as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
        match self.end_of_head {
            EndOfHead::Raw(a, b) => out.extend_from_slice(raw(a, b)),
            EndOfHead::Missing => {}
            EndOfHead::Canonical => {
                if out.last() != Some(&b'\n') {
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(&self.body);
    }

    /// The start line.
    pub fn start_line(&self) -> &StartLine {
        &self.start
    }

    /// Replaces the start line (it is then emitted canonically).
    pub fn set_start_line(&mut self, start: StartLine) {
        self.start = start;
        self.start_raw = None;
    }

    /// Replaces the Request-URI of a request (no effect on a response).
    pub fn set_request_uri(&mut self, new_uri: &str) {
        if let StartLine::Request { uri, .. } = &mut self.start {
            *uri = new_uri.to_string();
            self.start_raw = None;
        }
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI of a request, as written.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response (may be empty).
    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    /// The first value of the first header called `name` (compact forms both ways,
    /// case-insensitive). For list headers (Via, Contact, ...) that is the first element of
    /// the comma list; otherwise the whole unfolded, trimmed value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let h = self.headers.iter().find(|h| matches(&self.head, h, name))?;
        let v = h.value.get(&self.head);
        if is_list_header(name) {
            Some(split_list(v).next().unwrap_or(""))
        } else {
            Some(v)
        }
    }

    /// Every value of every header called `name`, in order; comma lists of list headers are
    /// split (never inside quotes or `<...>`), other headers give one value per line.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let list = is_list_header(name);
        self.headers
            .iter()
            .filter(move |h| matches(&self.head, h, name))
            .flat_map(move |h| {
                let v = h.value.get(&self.head);
                let (split, whole) = if list {
                    (Some(split_list(v)), None)
                } else {
                    (None, Some(v))
                };
                split.into_iter().flatten().chain(whole)
            })
    }

    /// Like [`Message::values`], as owned strings.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.values(name).map(str::to_string).collect()
    }

    /// Number of header lines called `name` (not values).
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|h| matches(&self.head, h, name))
            .count()
    }

    /// All headers in order: (name as written, unfolded value). Malformed lines are skipped.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .filter(|h| !h.malformed)
            .map(|h| (h.name.get(&self.head), h.value.get(&self.head)))
    }

    /// Called before any change to the header list.
    fn edited(&mut self) {
        if self.end_of_head == EndOfHead::Missing {
            self.end_of_head = EndOfHead::Canonical;
        }
        // A continuation line with no header before it (kept as malformed) would fold into
        // whatever header comes to precede it after an edit, changing that header's value;
        // it has no meaning of its own, so it goes.
        let head = &self.head;
        self.headers.retain(|h| {
            !(h.malformed
                && h.raw
                    .and_then(|(a, _)| head.as_bytes().get(a))
                    .is_some_and(|c| *c == b' ' || *c == b'\t'))
        });
    }

    /// Appends a header line (after all others, before the body). The value is written
    /// verbatim, so a test can inject odd syntax on purpose.
    pub fn push_header(&mut self, name: &str, value: &str) {
        self.edited();
        self.headers.push(Header::built(name, value));
    }

    /// Inserts a header line before all others (e.g. a new top Via, RFC 3261 §16.6 step 8).
    pub fn insert_header_first(&mut self, name: &str, value: &str) {
        self.edited();
        self.headers.insert(0, Header::built(name, value));
    }

    /// Replaces every occurrence of `name` (compact or long) by one line `name: value` at
    /// the position of the first occurrence, or appends it if there is none.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.edited();
        let head = &self.head;
        match self.headers.iter().position(|h| matches(head, h, name)) {
            None => self.headers.push(Header::built(name, value)),
            Some(first) => {
                let mut i = 0;
                self.headers.retain(|h| {
                    i += 1;
                    i - 1 == first || !matches(head, h, name)
                });
                // retain kept index `first` and everything before it, so it is in bounds
                self.headers[first] = Header::built(name, value);
            }
        }
    }

    /// Removes every occurrence of `name` (compact or long).
    pub fn remove_header(&mut self, name: &str) {
        self.edited();
        let head = &self.head;
        self.headers.retain(|h| !matches(head, h, name));
    }

    /// Removes the first value of `name`: for a list header on a shared line (`Via: a, b`)
    /// the line is rewritten without `a` (keeping the name as written); otherwise the
    /// first line is removed.
    pub fn remove_first_value(&mut self, name: &str) {
        self.edited();
        let head = &self.head;
        let Some(p) = self.headers.iter().position(|h| matches(head, h, name)) else {
            return;
        };
        let h = &self.headers[p];
        if is_list_header(name) {
            let v = h.value.get(head);
            // skip empty leading elements (`, a, b`), then the first real one
            let mut rest = v;
            let mut seen_value = false;
            while let Some(c) = find_top_level(rest, b',') {
                let elem_empty = rest[..c].trim_matches(is_wsp).is_empty();
                rest = &rest[c + 1..];
                if !elem_empty {
                    seen_value = true;
                    break;
                }
            }
            let rest = rest.trim_matches(is_wsp);
            if seen_value && split_list(rest).next().is_some() {
                let new = Header {
                    name: Span::Own(h.name.get(head).into()),
                    value: Span::Own(rest.into()),
                    raw: None,
                    line: h.line,
                    malformed: false,
                };
                self.headers[p] = new;
                return;
            }
        }
        self.headers.remove(p);
    }

    /// The body (exactly Content-Length octets when that header was usable).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Octets that followed the Content-Length body in the datagram (RFC 4475 §3.1.1.8);
    /// they are not part of the message and `to_bytes` does not emit them.
    pub fn trailing(&self) -> &[u8] {
        &self.trailing
    }

    /// Sets the body, Content-Type (removed when `content_type` is empty) and
    /// Content-Length (RFC 3261 §20.14).
    pub fn set_body(&mut self, content_type: &str, body: &[u8]) {
        self.body = body.to_vec();
        self.trailing.clear();
        if content_type.is_empty() {
            self.remove_header("Content-Type");
        } else {
            self.set_header("Content-Type", content_type);
        }
        self.set_header("Content-Length", &body.len().to_string());
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
