//! How every text renderer (console, JUnit, Markdown) writes a value: one spelling of a
//! measurement, a duration and a verdict, so the outputs of one run read alike.

use serde_json::Value;

use super::check::number;
use super::model::Verdict;

/// A measured value in words: a number without spurious decimals, a word as is, and
/// `nothing` for a value that was not observed.
pub fn measured(v: &Value) -> String {
    match v {
        Value::Null => "nothing".to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), number),
        other => other.to_string(),
    }
}

/// Milliseconds to one decimal, without a trailing `.0`: enough for audio frames of 20 ms.
pub fn ms(v: f64) -> String {
    number((v * 10.0).round() / 10.0)
}

/// [`ms`], or `-` for a value that was not measured.
pub fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), ms)
}

/// A verdict as tables show it, in capitals so it stands out among the figures.
pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Error => "ERROR",
        Verdict::NotRun => "NOT RUN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_values_read_naturally() {
        assert_eq!(measured(&Value::Null), "nothing");
        assert_eq!(measured(&serde_json::json!(41.0)), "41");
        assert_eq!(measured(&serde_json::json!("moved")), "moved");
        assert_eq!(measured(&serde_json::json!(true)), "true");
        assert_eq!(ms(41.349), "41.3");
        assert_eq!(opt_ms(None), "-");
    }
}
