//! Reading an external target's CDR file after a scenario, as the evidence `analytics` is
//! judged from. A PBX writes its record when the call ends, often a moment after the BYE,
//! so the file is read again, briefly, until it names the customer's call.

use std::time::{Duration, Instant};

use crate::measure::{CdrSource, Evidence};
use crate::runner::Scene;
use crate::scenario::CdrFile;
use crate::timeline::{CUSTOMER, Observation};

/// How long to wait for the target to write the record of a call that has ended.
const CDR_WAIT: Duration = Duration::from_secs(2);
const CDR_POLL: Duration = Duration::from_millis(100);

/// The CDR file's text once it names the customer's call (by Call-ID or Session-ID), or
/// as it is after [`CDR_WAIT`]; a file that cannot be read is no source, with the reason.
pub fn read(cdr: &CdrFile, scene: &Scene) -> Result<Evidence, String> {
    let ids = customer_ids(scene);
    let deadline = Instant::now() + CDR_WAIT;
    loop {
        let text = std::fs::read_to_string(&cdr.path).map_err(|e| {
            format!(
                "the CDR file {} cannot be read: {}",
                cdr.path.display(),
                crate::scenario::io_reason(&e)
            )
        })?;
        let named = ids.iter().any(|id| text.contains(id.as_str()));
        if named || Instant::now() >= deadline {
            return Ok(Evidence {
                cdr: Some(CdrSource {
                    origin: cdr.path.display().to_string(),
                    text,
                    format: cdr.format,
                    fields: cdr.fields.clone(),
                }),
            });
        }
        std::thread::sleep(CDR_POLL);
    }
}

/// The Call-IDs of the customer's calls and the Session-IDs it was sent.
fn customer_ids(scene: &Scene) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for e in scene.timeline.events_of(CUSTOMER) {
        let id = match &e.what {
            Observation::Call(c) => Some(c.call_id.clone()),
            Observation::Sip(s) => s.session_id.clone(),
            _ => None,
        };
        if let Some(id) = id.filter(|i| !i.is_empty())
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}
