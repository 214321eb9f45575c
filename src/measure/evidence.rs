//! Evidence a target writes about its calls, read back as files are: its CDR, one JSON
//! object per line (the format `flipcheck pbx --cdr` writes, or a target's own with a
//! field mapping) or CSV with a header row. Analytics continuity is judged from the
//! records alone: one record carries the conversation across the flip (`same`), several
//! split it (`split`), none knows it (`absent`). Without a source the answer is
//! `not_checked`, never a default.

use crate::report::Evidence as Verdict;
pub use crate::scenario::{CdrFields, CdrFormat};

use super::calls::CallView;

/// Where a run's evidence comes from.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// CDR records the target wrote during the run, and where they were read.
    pub cdr: Option<CdrSource>,
}

#[derive(Debug, Clone)]
pub struct CdrSource {
    /// Where the records were read (a file path, or "the embedded PBX's CDR").
    pub origin: String,
    /// The file's text.
    pub text: String,
    pub format: CdrFormat,
    /// Which field holds what.
    pub fields: CdrFields,
}

impl CdrSource {
    /// The embedded PBX's own records: JSON lines with its field names.
    pub fn flipcheck(origin: &str, text: String) -> CdrSource {
        CdrSource {
            origin: origin.to_string(),
            text,
            format: CdrFormat::Jsonl,
            fields: CdrFields::default(),
        }
    }
}

/// What the judgement needs of one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub call_id: Option<String>,
    pub session_id: Option<String>,
    /// The devices the record names: its `device` field, or for flipcheck's own format
    /// each of its `segments[].device`.
    pub devices: Vec<String>,
}

/// The records of `source` and the number of lines or rows that could not be read.
pub fn records(source: &CdrSource) -> (Vec<Record>, usize) {
    match source.format {
        CdrFormat::Jsonl => jsonl(&source.text, &source.fields),
        CdrFormat::Csv => csv(&source.text, &source.fields),
    }
}

fn jsonl(text: &str, fields: &CdrFields) -> (Vec<Record>, usize) {
    let (mut out, mut bad) = (Vec::new(), 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(line)
        else {
            bad += 1;
            continue;
        };
        let text_of = |k: &str| match o.get(k) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let devices = match &fields.device {
            Some(k) => text_of(k).into_iter().collect(),
            None => o
                .get("segments")
                .and_then(|s| s.as_array())
                .map(|segs| {
                    segs.iter()
                        .filter_map(|g| g.get("device")?.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        };
        out.push(Record {
            call_id: text_of(&fields.call_id),
            session_id: text_of(&fields.session_id),
            devices,
        });
    }
    (out, bad)
}

/// One CSV row (RFC 4180): commas, fields in double quotes with `""` for a quote.
fn csv_row(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = fields.last_mut() {
                    f.push('"');
                }
            }
            ('"', q) => quoted = !q,
            (',', false) => fields.push(String::new()),
            (c, _) => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

fn csv(text: &str, fields: &CdrFields) -> (Vec<Record>, usize) {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return (Vec::new(), 0);
    };
    let names = csv_row(header);
    let col = |k: &str| names.iter().position(|n| n.trim() == k);
    let (call_id, session_id) = (col(&fields.call_id), col(&fields.session_id));
    let device = fields.device.as_deref().and_then(col);
    let (mut out, mut bad) = (Vec::new(), 0);
    for line in lines {
        let row = csv_row(line);
        if row.len() != names.len() {
            bad += 1;
            continue;
        }
        let get = |i: Option<usize>| i.map(|i| row[i].clone()).filter(|v| !v.is_empty());
        out.push(Record {
            call_id: get(call_id),
            session_id: get(session_id),
            devices: get(device).into_iter().collect(),
        });
    }
    (out, bad)
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
    let (records, bad) = records(cdr);
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
            let names_devices = r.devices.iter().any(|d| !d.is_empty());
            match moved_to {
                Some(new) if names_devices && !r.devices.iter().any(|d| d == new) => (
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
            cdr: Some(CdrSource::flipcheck("cdr.jsonl", text.into())),
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

#[cfg(test)]
mod format_tests {
    use super::*;

    fn source(format: CdrFormat, fields: CdrFields, text: &str) -> CdrSource {
        CdrSource {
            origin: "f".into(),
            text: text.into(),
            format,
            fields,
        }
    }

    #[test]
    fn csv_with_a_field_mapping() {
        let fields = CdrFields {
            call_id: "sip_call_id".into(),
            session_id: "linkedid".into(),
            device: Some("channel".into()),
        };
        let text = "start,sip_call_id,linkedid,channel\n\
                    2026-01-01,\"abc@x\",L1,\"SIP/desk-1\"\n\
                    2026-01-01,abc@x,L1,\"SIP/mobile, 2\"\n\
                    broken,row\n";
        let (records, bad) = records(&source(CdrFormat::Csv, fields, text));
        assert_eq!(bad, 1);
        assert_eq!(
            records,
            [
                Record {
                    call_id: Some("abc@x".into()),
                    session_id: Some("L1".into()),
                    devices: vec!["SIP/desk-1".into()],
                },
                Record {
                    call_id: Some("abc@x".into()),
                    session_id: Some("L1".into()),
                    devices: vec!["SIP/mobile, 2".into()],
                },
            ]
        );
        assert_eq!(csv_row(r#"a,"b ""q"" c",,d"#), ["a", "b \"q\" c", "", "d"]);
    }

    #[test]
    fn jsonl_with_a_field_mapping_and_numbers() {
        let fields = CdrFields {
            call_id: "callid".into(),
            session_id: "uniqueid".into(),
            device: Some("dstchannel".into()),
        };
        let text = "{\"callid\":\"c1\",\"uniqueid\":1712.5,\"dstchannel\":\"PJSIP/1001\"}\n";
        let (records, bad) = records(&source(CdrFormat::Jsonl, fields, text));
        assert_eq!(bad, 0);
        assert_eq!(records[0].call_id.as_deref(), Some("c1"));
        assert_eq!(records[0].session_id.as_deref(), Some("1712.5"));
        assert_eq!(records[0].devices, ["PJSIP/1001"]);
    }
}
