//! Evidence a target writes about its calls, read back as files are: its CDR (one JSON
//! record per line, the format `flipcheck pbx --cdr` writes). Analytics continuity is
//! judged from the records alone: one record carries the conversation across the flip
//! (`same`), several split it (`split`), none knows it (`absent`). Without a source the
//! answer is `not_checked`, never a default.

use serde::Deserialize;

use super::calls::CallView;
use crate::report::Evidence as Verdict;

/// Where a run's evidence comes from.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// CDR lines the target wrote during the run, and where they were read.
    pub cdr: Option<CdrSource>,
}

#[derive(Debug, Clone)]
pub struct CdrSource {
    /// Where the lines were read (a file path, or "the embedded PBX's CDR output").
    pub origin: String,
    /// The text of the records, one JSON object per line.
    pub text: String,
}

/// The fields of a CDR record the judgement needs; others are ignored.
#[derive(Debug, Deserialize)]
struct Record {
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    call_id: Option<String>,
    #[serde(default)]
    segments: Vec<Segment>,
}

#[derive(Debug, Deserialize)]
struct Segment {
    #[serde(default)]
    device: String,
}

/// Analytics continuity for the customer's call `before` (Call-ID, and the Session-ID the
/// customer saw), with the reason when it is not a verdict from records. `moved_to` is the
/// new device's Contact when the call moved: its record must then carry that device.
pub fn analytics(
    evidence: &Evidence,
    before: &CallView,
    session_id: &Option<String>,
    moved_to: Option<&str>,
) -> (Verdict, Option<String>) {
    let Some(cdr) = &evidence.cdr else {
        return (
            Verdict::NotChecked,
            Some("no CDR source for this target".into()),
        );
    };
    let mut bad = 0usize;
    let records: Vec<Record> = cdr
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(r) => Some(r),
            Err(_) => {
                bad += 1;
                None
            }
        })
        .collect();
    let ours: Vec<&Record> = records
        .iter()
        .filter(|r| {
            r.call_id.as_deref() == Some(before.call_id.as_str())
                || (session_id.is_some() && r.session_id == *session_id)
        })
        .collect();
    let note = (bad > 0).then(|| format!("{bad} line(s) of {} are not JSON", cdr.origin));
    match ours.len() {
        0 => (
            Verdict::Absent,
            Some(format!(
                "no record in {} names the customer's call {}",
                cdr.origin, before.call_id
            ))
            .map(|w| match &note {
                Some(n) => format!("{w}; {n}"),
                None => w,
            }),
        ),
        1 => {
            // One record; it should name the new device among its segments when it
            // names devices at all.
            let r = ours[0];
            let names_devices = r.segments.iter().any(|s| !s.device.is_empty());
            match moved_to {
                Some(new) if names_devices && !r.segments.iter().any(|s| s.device == new) => (
                    Verdict::Split,
                    Some(format!(
                        "the one record in {} does not carry the new device {new}",
                        cdr.origin
                    )),
                ),
                _ => (Verdict::Same, note),
            }
        }
        _ => (Verdict::Split, note),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> CallView {
        CallView {
            call_id: "c1".into(),
            ..CallView::default()
        }
    }

    fn judge(text: &str, sid: Option<&str>) -> (Verdict, Option<String>) {
        let ev = Evidence {
            cdr: Some(CdrSource {
                origin: "cdr.jsonl".into(),
                text: text.into(),
            }),
        };
        analytics(
            &ev,
            &call(),
            &sid.map(str::to_string),
            Some("sip:alice@1.2.3.4:5"),
        )
    }

    #[test]
    fn one_record_with_both_devices_is_same() {
        let line = r#"{"session_id":"s","call_id":"c1","segments":[{"device":"sip:alice@1.2.3.4:4"},{"device":"sip:alice@1.2.3.4:5"}]}"#;
        assert_eq!(judge(line, None), (Verdict::Same, None));
        let other = r#"{"session_id":"x","call_id":"zz","segments":[]}"#;
        assert_eq!(judge(&format!("{other}\n{line}\n"), None).0, Verdict::Same);
    }

    #[test]
    fn two_records_are_split_and_none_is_absent() {
        let a =
            r#"{"session_id":"s1","call_id":"c1","segments":[{"device":"sip:alice@1.2.3.4:4"}]}"#;
        let b =
            r#"{"session_id":"s2","call_id":"c1","segments":[{"device":"sip:alice@1.2.3.4:5"}]}"#;
        assert_eq!(judge(&format!("{a}\n{b}"), None).0, Verdict::Split);
        // Joined by Session-ID when the Call-ID differs (a new leg).
        let c = r#"{"session_id":"s1","call_id":"other","segments":[]}"#;
        assert_eq!(judge(&format!("{a}\n{c}"), Some("s1")).0, Verdict::Split);
        let (v, why) = judge("", None);
        assert_eq!(v, Verdict::Absent);
        assert!(why.unwrap().contains("c1"));
        // A record that lost the new device is not continuity either.
        assert_eq!(judge(a, None).0, Verdict::Split);
    }

    #[test]
    fn no_source_is_not_checked_and_garbage_is_named() {
        let (v, why) = analytics(&Evidence::default(), &call(), &None, None);
        assert_eq!(v, Verdict::NotChecked);
        assert!(why.is_some());
        let line = r#"{"call_id":"c1","segments":[]}"#;
        let (v, why) = judge(&format!("not json\n{line}"), None);
        assert_eq!(v, Verdict::Same);
        assert!(why.unwrap().contains("1 line(s)"));
    }
}
