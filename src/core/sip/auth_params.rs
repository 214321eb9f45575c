//! The `auth-param` grammar shared by `WWW-Authenticate`, `Proxy-Authenticate`,
//! `Authorization` and `Proxy-Authorization` (RFC 3261 §25.1, RFC 7235 §2.1):
//! `scheme name=value, name="quoted \" value", ...`, possibly several challenges in one
//! header value. Kept apart from `auth.rs` so the digest arithmetic reads on its own.

/// One challenge or credentials: the scheme and its parameters in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthItem {
    pub scheme: String,
    /// Parameter names as sent (compare case-insensitively) and unescaped values.
    pub params: Vec<(String, String)>,
}

impl AuthItem {
    /// The value of the first parameter called `name` (case-insensitive, RFC 7235 §2.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a header value could not be split into items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LexError {
    /// A quoted string ran to the end of the value without its closing quote.
    UnterminatedQuote,
    /// A parameter appeared before any scheme name.
    NoScheme,
}

/// Splits a header value into its challenges/credentials.
///
/// Lenient on purpose, because real servers differ: spaces around `=`, unquoted values,
/// a missing comma between the scheme and its first parameter, empty list elements.
/// A `token68` (e.g. `Basic QWxhZGRpbg==`) is read as a parameter with an odd name; only
/// Digest items are interpreted by the caller, so that is harmless.
pub(crate) fn split_items(value: &str) -> Result<Vec<AuthItem>, LexError> {
    let bytes = value.as_bytes();
    let mut i = 0;
    let mut items: Vec<AuthItem> = Vec::new();
    loop {
        skip(bytes, &mut i, |b| b == b',' || b.is_ascii_whitespace());
        if i >= bytes.len() {
            return Ok(items);
        }
        let start = i;
        skip(bytes, &mut i, |b| {
            !(b == b',' || b == b'=' || b.is_ascii_whitespace())
        });
        let token = &value[start..i];
        if token.is_empty() {
            // A stray `=`: skip it rather than loop forever.
            i += 1;
            continue;
        }
        let mut j = i;
        skip(bytes, &mut j, |b| b.is_ascii_whitespace());
        if j < bytes.len() && bytes[j] == b'=' {
            i = j + 1;
            skip(bytes, &mut i, |b| b.is_ascii_whitespace());
            let val = read_value(value, &mut i)?;
            let item = items.last_mut().ok_or(LexError::NoScheme)?;
            item.params.push((token.to_string(), val));
        } else {
            items.push(AuthItem {
                scheme: token.to_string(),
                params: Vec::new(),
            });
        }
    }
}

fn skip(bytes: &[u8], i: &mut usize, pred: impl Fn(u8) -> bool) {
    while *i < bytes.len() && pred(bytes[*i]) {
        *i += 1;
    }
}

/// Reads a token or a quoted-string (RFC 3261 §25.1: `\` escapes the next character).
fn read_value(value: &str, i: &mut usize) -> Result<String, LexError> {
    let bytes = value.as_bytes();
    if *i < bytes.len() && bytes[*i] == b'"' {
        let mut out = String::new();
        // Walk chars, not bytes, so multi-byte UTF-8 in a realm survives.
        let mut chars = value[*i + 1..].char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '"' => {
                    *i += 1 + off + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, esc)) => out.push(esc),
                    None => return Err(LexError::UnterminatedQuote),
                },
                _ => out.push(c),
            }
        }
        Err(LexError::UnterminatedQuote)
    } else {
        let start = *i;
        skip(bytes, i, |b| !(b == b',' || b.is_ascii_whitespace()));
        Ok(value[start..*i].to_string())
    }
}

/// Writes `s` as a quoted-string, escaping `"` and `\` (RFC 3261 §25.1).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_several_challenges_and_odd_spacing() {
        let items =
            split_items(r#"Basic realm="a, b", Digest realm = "x\"y" ,nonce=abc,, qop="auth""#)
                .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].scheme, "Basic");
        assert_eq!(items[0].get("REALM"), Some("a, b"));
        assert_eq!(items[1].scheme, "Digest");
        assert_eq!(items[1].get("realm"), Some("x\"y"));
        assert_eq!(items[1].get("nonce"), Some("abc"));
        assert_eq!(items[1].get("qop"), Some("auth"));
    }

    #[test]
    fn token68_does_not_break_the_next_challenge() {
        let items = split_items("Basic QWxhZGRpbg==, Digest realm=r").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].get("realm"), Some("r"));
    }

    #[test]
    fn errors_are_values() {
        assert_eq!(
            split_items(r#"Digest realm="x"#),
            Err(LexError::UnterminatedQuote)
        );
        assert_eq!(
            split_items(r#"Digest realm="x\"#),
            Err(LexError::UnterminatedQuote)
        );
        assert_eq!(split_items("realm=x"), Err(LexError::NoScheme));
        assert_eq!(split_items("").unwrap(), vec![]);
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        let items = split_items(&format!("Digest realm={}", quote(r#"a"b\c é"#))).unwrap();
        assert_eq!(items[0].get("realm"), Some(r#"a"b\c é"#));
    }
}
