//! The JSON report, a contract scripts parse: the model serialised as pretty JSON, described
//! by `reports/schema.json`.

use std::io::{self, Write};

use super::model::Report;

/// Writes `report` as pretty-printed JSON followed by a newline.
pub fn render(report: &Report, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_fixtures::sample_report;

    #[test]
    fn json_snapshot() {
        let mut out = Vec::new();
        render(&sample_report(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn json_round_trips_through_the_model() {
        let report = sample_report();
        let mut out = Vec::new();
        render(&report, &mut out).unwrap();
        let back: Report = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, report);
    }
}
