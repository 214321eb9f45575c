//! The one error type of the SIP codec.

/// Why bytes or a header value could not be parsed. Line numbers are 1-based and count
/// the lines of the message as received (a folded header spans several).
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but (optional) CRLFs.
    #[error("empty message")]
    Empty,
    /// The first line is neither a Request-Line nor a Status-Line (RFC 3261 §7.1, §7.2).
    #[error("line {line}: bad start line: {detail}")]
    BadStartLine { line: usize, detail: String },
    /// The status code is not a number that fits 16 bits (RFC 3261 §7.2 allows 3 digits).
    #[error("line {line}: bad status code {text:?}")]
    BadStatusCode { line: usize, text: String },
    /// A header line that cannot be read at all.
    #[error("line {line}: bad header: {detail}")]
    BadHeader { line: usize, detail: String },
    /// On a stream transport every message needs Content-Length (RFC 3261 §18.3).
    #[error("no Content-Length on a stream transport (RFC 3261 §18.3)")]
    MissingContentLength,
    /// Content-Length that is not a non-negative number, or several that disagree.
    #[error("line {line}: bad Content-Length {value:?}")]
    BadContentLength { line: usize, value: String },
    /// A message (or its header section) larger than the framing limit.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// A header value or URI that does not match its grammar.
    #[error("bad {what}: {detail}")]
    BadValue { what: &'static str, detail: String },
}

impl ParseError {
    pub(crate) fn value(what: &'static str, detail: impl Into<String>) -> ParseError {
        ParseError::BadValue {
            what,
            detail: detail.into(),
        }
    }
}
