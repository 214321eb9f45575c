//! Errors in scenario and target files, each pinned to a file, line and column.
//!
//! A file may hold several mistakes; the compiler collects them all so a user fixes a file in
//! one round instead of one error per run.

use std::fmt;
use std::path::{Path, PathBuf};

/// One error in a user's file, displayed like a compiler error:
/// `path/to/file.yaml:12:5: error: unknown step `tlak` (did you mean `talk`?)`; an error
/// about the whole file has no position: `path/to/file.yaml: error: no such file or folder`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as given by the user (not canonicalised, so messages match what they typed).
    pub file: PathBuf,
    /// 1-based; 0 when the error is about the file as a whole (missing, unreadable).
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub column: usize,
    /// What is wrong, without position or hint.
    pub message: String,
    /// A hint shown in parentheses after the message, e.g. ``did you mean `talk`?``.
    pub suggestion: Option<String>,
}

impl Diagnostic {
    /// An error at `line:column` of `file`.
    pub fn new(file: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            suggestion: None,
        }
    }

    /// An error about the whole file (line and column 0).
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Self::new(file, 0, 0, message)
    }

    /// Appends `more` to the message, e.g. the reason after "… is not supported".
    pub fn amend(mut self, more: &str) -> Self {
        self.message.push_str(more);
        self
    }

    /// Adds a free-form hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.suggestion = Some(hint.into());
        self
    }

    /// Adds ``did you mean `X`?`` if some candidate is close to `wrong`.
    pub fn with_nearest<'a>(
        mut self,
        wrong: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        if let Some(best) = nearest(wrong, candidates) {
            self.suggestion = Some(format!("did you mean `{best}`?"));
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        // Line 0 means "the whole file": `file:0:0:` would send an editor nowhere.
        match (self.line, self.column) {
            (0, _) => {}
            (line, 0) => write!(f, ":{line}")?,
            (line, column) => write!(f, ":{line}:{column}")?,
        }
        write!(f, ": error: {}", self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " ({s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// An I/O error in plain words for a one-line message: `no such file or directory`, not
/// `No such file or directory (os error 2)` (the errno adds nothing for a user).
pub fn io_reason(e: &std::io::Error) -> String {
    plain_os_error(&e.to_string())
}

/// Drops a trailing ` (os error N)` from a message and lower-cases its first letter, so
/// it reads well after a colon.
pub fn plain_os_error(message: &str) -> String {
    let trimmed = match message.rfind(" (os error ") {
        Some(i) if message.ends_with(')') => &message[..i],
        _ => message,
    };
    let mut chars = trimmed.chars();
    match chars.next() {
        // Only a capital followed by lower case (`No such file`), not an acronym (`UTF-8`).
        Some(c) if c.is_uppercase() && chars.clone().next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => trimmed.to_string(),
    }
}

/// Several diagnostics as one error value, for callers that want `?` and `anyhow`.
/// Displays one diagnostic per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(v: Vec<Diagnostic>) -> Self {
        Diagnostics(v)
    }
}

/// The candidate closest to `wrong`, if it is close enough to be a plausible typo.
///
/// Matching ignores case and `-`/`_` (so `Feature-Code` finds `feature_code`), allows one
/// edit per three characters with transpositions as one edit (optimal string alignment:
/// `tlak` → `talk`), and also accepts a candidate that merely extends what was typed
/// (`drop_customer` → `drop_customer_on_flip`). Ties go to the earliest candidate, so
/// callers list names in documentation order.
pub fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let norm = |s: &str| s.to_lowercase().replace('-', "_");
    let w = norm(wrong);
    if w.is_empty() {
        return None;
    }
    let budget = (w.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let n = norm(c);
        let d = strsim::osa_distance(&w, &n);
        let prefix = w.chars().count() >= 3 && (n.starts_with(&w) || w.starts_with(&n));
        if (d <= budget || prefix) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_compiler_style() {
        let d = Diagnostic::new(Path::new("s/a.yaml"), 12, 5, "unknown step `tlak`")
            .with_nearest("tlak", ["register", "call", "talk", "flip", "hangup"]);
        assert_eq!(
            d.to_string(),
            "s/a.yaml:12:5: error: unknown step `tlak` (did you mean `talk`?)"
        );
        let plain = Diagnostic::whole_file(Path::new("x.yaml"), "no such file");
        assert_eq!(plain.to_string(), "x.yaml: error: no such file");
        let line_only = Diagnostic::new(Path::new("x.yaml"), 3, 0, "bad");
        assert_eq!(line_only.to_string(), "x.yaml:3: error: bad");
    }

    #[test]
    fn os_errors_read_as_plain_words() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_reason(&e), "no such file or directory");
        assert_eq!(
            plain_os_error("Address already in use (os error 98)"),
            "address already in use"
        );
        assert_eq!(plain_os_error("UTF-8 expected"), "UTF-8 expected");
        assert_eq!(plain_os_error("fine (really)"), "fine (really)");
    }

    #[test]
    fn nearest_finds_typos_and_rejects_strangers() {
        let steps = ["register", "call", "talk", "flip", "hangup"];
        assert_eq!(nearest("tlak", steps), Some("talk"));
        assert_eq!(nearest("regster", steps), Some("register"));
        assert_eq!(nearest("HANGUP", steps), Some("hangup"));
        assert_eq!(nearest("dance", steps), None);
        assert_eq!(nearest("", steps), None);
        let methods = ["feature_code", "replaces", "refer", "park_pickup"];
        assert_eq!(nearest("feature-code", methods), Some("feature_code"));
        assert_eq!(nearest("featurecode", methods), Some("feature_code"));
        assert_eq!(nearest("refr", methods), Some("refer"));
        assert_eq!(
            nearest(
                "drop_customer",
                ["drop_customer_on_flip", "new_dialog_on_flip"]
            ),
            Some("drop_customer_on_flip")
        );
    }

    #[test]
    fn diagnostics_display_one_per_line() {
        let ds = Diagnostics(vec![
            Diagnostic::new(Path::new("a.yaml"), 1, 2, "one"),
            Diagnostic::new(Path::new("a.yaml"), 3, 4, "two").with_hint("a hint"),
        ]);
        assert_eq!(
            ds.to_string(),
            "a.yaml:1:2: error: one\na.yaml:3:4: error: two (a hint)"
        );
    }
}
