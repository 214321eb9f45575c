//! The validated plan a scenario file compiles into. Every name is resolved (devices are
//! indices, methods are enums), every default is filled in, and every step keeps the line it
//! came from so the runner can point at it in a report.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use crate::report::{Continuity, DialogContinuity, Keyword, Outcome, SessionContinuity};

/// A compiled scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The scenario's `name:`, used in reports.
    pub name: String,
    /// The file it was compiled from, as given (reports print it).
    pub file: PathBuf,
    /// The identity under test; the target maps it to an account.
    pub user: String,
    /// The user's devices in file order; [`DeviceId`] indexes this.
    pub devices: Vec<DevicePlan>,
    /// The far end.
    pub customer: PartyPlan,
    /// Steps in file order.
    pub steps: Vec<StepPlan>,
    /// The scenario-level `expect:` block as written. Each flip step carries its effective
    /// expectations, this block overridden by its own (see [`StepPlan::Flip`]'s `expect`).
    pub expect: Expectations,
}

impl Plan {
    /// The device called `name`, if the scenario declares it.
    pub fn device_id(&self, name: &str) -> Option<DeviceId> {
        self.devices.iter().position(|d| d.name == name)
    }

    /// The effective expectations of each flip step, in step order. The runner zips these
    /// with its flip reports.
    pub fn flip_expectations(&self) -> Vec<Expectations> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                StepPlan::Flip { expect, .. } => Some(expect.clone()),
                _ => None,
            })
            .collect()
    }

    /// `customer` or the device's name, as reports print a party.
    pub fn party_name(&self, party: Party) -> &str {
        match party {
            Party::Customer => "customer",
            Party::Device(id) => self.devices.get(id).map_or("?", |d| d.name.as_str()),
        }
    }
}

/// One of the user's simulated endpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct DevicePlan {
    pub name: String,
    /// Offered in this order of preference.
    pub codecs: Vec<CodecName>,
    pub network: NetworkProfile,
}

/// The far end (customer).
#[derive(Clone, Debug, PartialEq)]
pub struct PartyPlan {
    pub codecs: Vec<CodecName>,
    pub network: NetworkProfile,
    /// How the customer treats an INVITE with `Replaces` (RFC 3891).
    pub replaces: ReplacesSupport,
}

/// Index into [`Plan::devices`].
pub type DeviceId = usize;

/// Someone who can call or hang up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The far end.
    Customer,
    /// One of the user's devices.
    Device(DeviceId),
}

/// Audio codecs a party can offer. Written `PCMU`, `PCMA`, `G722`, `opus` (any case); the
/// compiler refuses `G722` and `opus`, which no party encodes in this version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecName {
    /// G.711 μ-law, 8 kHz (RFC 3551 §4.5.14).
    Pcmu,
    /// G.711 A-law, 8 kHz (RFC 3551 §4.5.14).
    Pcma,
    /// G.722 wideband, 16 kHz audio with an 8 kHz RTP clock (RFC 3551 §4.5.2).
    G722,
    /// Opus, 48 kHz RTP clock (RFC 7587).
    Opus,
}

impl Keyword for CodecName {
    const ALL: &'static [Self] = &[
        CodecName::Pcmu,
        CodecName::Pcma,
        CodecName::G722,
        CodecName::Opus,
    ];
    /// The SDP encoding name (RFC 3551 §6 for PCMU/PCMA/G722, RFC 7587 for opus).
    fn as_str(self) -> &'static str {
        match self {
            CodecName::Pcmu => "PCMU",
            CodecName::Pcma => "PCMA",
            CodecName::G722 => "G722",
            CodecName::Opus => "opus",
        }
    }
    /// SDP encoding names are case-insensitive (RFC 4566 §6, `a=rtpmap`).
    fn from_word(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(word))
    }
}

/// Network impairment presets (README "Scenarios"). The compiler refuses all but `lan`: no
/// impairment is simulated in this version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetworkProfile {
    /// Wired office network: negligible latency, jitter and loss.
    Lan,
    /// Home or office Wi-Fi: some jitter, occasional loss bursts.
    Wifi,
    /// 4G cellular: tens of ms latency, moderate jitter.
    Lte,
    /// 3G cellular (`3g` in YAML): high latency and jitter, noticeable loss.
    ThreeG,
    /// A saturated link: queueing delay, bursty loss, reordering.
    Congested,
}

impl Keyword for NetworkProfile {
    const ALL: &'static [Self] = &[
        NetworkProfile::Lan,
        NetworkProfile::Wifi,
        NetworkProfile::Lte,
        NetworkProfile::ThreeG,
        NetworkProfile::Congested,
    ];
    fn as_str(self) -> &'static str {
        match self {
            NetworkProfile::Lan => "lan",
            NetworkProfile::Wifi => "wifi",
            NetworkProfile::Lte => "lte",
            NetworkProfile::ThreeG => "3g",
            NetworkProfile::Congested => "congested",
        }
    }
}

/// How the customer's phone treats `Replaces` (README "Scenarios", customer): real phones
/// in the field do all three, which is why a proxy-based flip can fail or leave two calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ReplacesSupport {
    /// Accept INVITE with `Replaces` and re-INVITE (RFC 3891 §3).
    #[default]
    Accept,
    /// Answer 420 Bad Extension to `Require: replaces` (RFC 3261 §8.2.2.3).
    Reject,
    /// Treat it as a new, unrelated call.
    Ignore,
}

impl Keyword for ReplacesSupport {
    const ALL: &'static [Self] = &[
        ReplacesSupport::Accept,
        ReplacesSupport::Reject,
        ReplacesSupport::Ignore,
    ];
    fn as_str(self) -> &'static str {
        match self {
            ReplacesSupport::Accept => "accept",
            ReplacesSupport::Reject => "reject",
            ReplacesSupport::Ignore => "ignore",
        }
    }
}

/// How a flip is asked for (README "Scenarios", flip method). The compiler refuses all but
/// `feature_code` in this version; the other words are known so that the refusal can say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlipMethod {
    /// The new device dials a code such as `*11`.
    FeatureCode,
    /// The new device sends INVITE with `Replaces` (RFC 3891) after a dialog-event
    /// subscription (RFC 4235).
    Replaces,
    /// The current device sends REFER toward the user's own AOR (RFC 3515).
    Refer,
    /// Park the call from the current device, pick up the slot from the new one.
    ParkPickup,
    /// Cross-extension pickup (admin only).
    DirectedPickup,
    /// The current device keys a code in-call; the platform rings the target (a push).
    DtmfPush,
    /// A vendor command in an in-dialog SIP INFO (RFC 6086).
    Info,
    /// An HTTP call to a cloud platform's API.
    Api,
}

impl Keyword for FlipMethod {
    const ALL: &'static [Self] = &[
        FlipMethod::FeatureCode,
        FlipMethod::Replaces,
        FlipMethod::Refer,
        FlipMethod::ParkPickup,
        FlipMethod::DirectedPickup,
        FlipMethod::DtmfPush,
        FlipMethod::Info,
        FlipMethod::Api,
    ];
    fn as_str(self) -> &'static str {
        match self {
            FlipMethod::FeatureCode => "feature_code",
            FlipMethod::Replaces => "replaces",
            FlipMethod::Refer => "refer",
            FlipMethod::ParkPickup => "park_pickup",
            FlipMethod::DirectedPickup => "directed_pickup",
            FlipMethod::DtmfPush => "dtmf_push",
            FlipMethod::Info => "info",
            FlipMethod::Api => "api",
        }
    }
}

macro_rules! display_keyword {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_keyword!(CodecName, NetworkProfile, ReplacesSupport, FlipMethod);

/// A flip's `settle` when the file gives none: 25 frames of 20 ms, long enough for a
/// jitter buffer to have filled and for a relay that flaps between devices to show it.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(500);
/// The `settle` values a file may give: from five frames to ten seconds.
pub const SETTLE_RANGE: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(10);
/// A flip's `timeout` when the file gives none: longer than the embedded PBX's 18 s ring
/// timeout, so that the target's own verdict comes first.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// The `timeout` values a file may give.
pub const TIMEOUT_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(300);

/// One step of a scenario, with the line of the step in its file.
// `Flip` carries its expectations inline: a plan holds a handful of steps, built once, so
// the size of the other variants does not matter and a box would only add noise to matches.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum StepPlan {
    /// Register these devices (REGISTER, RFC 3261 §10).
    Register {
        devices: Vec<DeviceId>,
        line: usize,
    },
    /// `from` calls the user; `answer` is the device that picks up.
    Call {
        from: Party,
        answer: DeviceId,
        line: usize,
    },
    /// Let audio flow for this long.
    Talk {
        duration: Duration,
        line: usize,
    },
    /// Move the call to `to`.
    Flip {
        /// `None`: whichever device holds the call at that point.
        from: Option<DeviceId>,
        to: DeviceId,
        method: FlipMethod,
        /// `settle:` in the file: how long the customer must hear the new device steadily
        /// before the flip counts as settled. [`SETTLE_RANGE`], default [`DEFAULT_SETTLE`].
        settle: Duration,
        /// `timeout:` in the file: how long the script waits for the flip to be answered
        /// before it ends as timed out; `None` when the file gives none (the target's
        /// `timeouts.flip`, else [`DEFAULT_TIMEOUT`]). Within [`TIMEOUT_RANGE`].
        timeout: Option<Duration>,
        /// This flip's effective expectations: the scenario's `expect:` overridden field by
        /// field by the step's own ([`Expectations::merged_with`]), with `flip` set to
        /// `moved` when neither names an outcome. The compiler has checked that each one can
        /// apply to the expected outcome.
        expect: Expectations,
        line: usize,
    },
    Hangup {
        party: Party,
        line: usize,
    },
}

impl StepPlan {
    /// The line of the step in its scenario file.
    pub fn line(&self) -> usize {
        match self {
            StepPlan::Register { line, .. }
            | StepPlan::Call { line, .. }
            | StepPlan::Talk { line, .. }
            | StepPlan::Flip { line, .. }
            | StepPlan::Hangup { line, .. } => *line,
        }
    }
}

/// What must hold for a flip. `None` fields are not checked. `other_audio_ms` and
/// `max_hole_ms` apply to a flip of any outcome; which of the others can apply to which
/// outcome the compiler checks (`conflicts` in `scenario/expect.rs`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectations {
    pub flip: Option<Outcome>,
    pub customer_gap_ms: Option<Bound>,
    pub other_audio_ms: Option<Bound>,
    pub flip_latency_ms: Option<Bound>,
    pub device_gap_ms: Option<Bound>,
    pub customer_dialog: Option<DialogContinuity>,
    pub caller_id: Option<Continuity>,
    pub session_id: Option<SessionContinuity>,
    pub old_device_released: Option<bool>,
    pub one_way_audio: Option<bool>,
    /// Longest stretch in the flip's window in which the customer heard neither device.
    pub max_hole_ms: Option<Bound>,
}

impl Expectations {
    /// Scenario-level expectations overridden field by field by a step's own.
    pub fn merged_with(&self, step: &Expectations) -> Expectations {
        Expectations {
            flip: step.flip.or(self.flip),
            customer_gap_ms: step.customer_gap_ms.or(self.customer_gap_ms),
            other_audio_ms: step.other_audio_ms.or(self.other_audio_ms),
            flip_latency_ms: step.flip_latency_ms.or(self.flip_latency_ms),
            device_gap_ms: step.device_gap_ms.or(self.device_gap_ms),
            customer_dialog: step.customer_dialog.or(self.customer_dialog),
            caller_id: step.caller_id.or(self.caller_id),
            session_id: step.session_id.or(self.session_id),
            old_device_released: step.old_device_released.or(self.old_device_released),
            one_way_audio: step.one_way_audio.or(self.one_way_audio),
            max_hole_ms: step.max_hole_ms.or(self.max_hole_ms),
        }
    }

    /// True if no expectation is set.
    pub fn is_empty(&self) -> bool {
        *self == Expectations::default()
    }
}

/// A numeric range; either end may be open. YAML `{ max: 300 }`, `{ min: 0, max: 300 }`, or
/// a bare number meaning exactly that value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bound {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Bound {
    /// Exactly `v`.
    pub fn exact(v: f64) -> Self {
        Bound {
            min: Some(v),
            max: Some(v),
        }
    }
    /// At most `v`.
    pub fn at_most(v: f64) -> Self {
        Bound {
            min: None,
            max: Some(v),
        }
    }
    /// Whether `v` lies within the bound (ends included).
    pub fn contains(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_expectations_override_per_field() {
        let scenario = Expectations {
            flip: Some(Outcome::Moved),
            customer_gap_ms: Some(Bound::at_most(300.0)),
            caller_id: Some(Continuity::Same),
            ..Expectations::default()
        };
        let step = Expectations {
            flip: Some(Outcome::Blocked),
            old_device_released: Some(false),
            ..Expectations::default()
        };
        let merged = scenario.merged_with(&step);
        assert_eq!(
            merged,
            Expectations {
                flip: Some(Outcome::Blocked),
                customer_gap_ms: Some(Bound::at_most(300.0)),
                caller_id: Some(Continuity::Same),
                old_device_released: Some(false),
                ..Expectations::default()
            }
        );
        assert_eq!(scenario.merged_with(&Expectations::default()), scenario);
        assert!(Expectations::default().is_empty());
        assert!(!merged.is_empty());
    }

    #[test]
    fn bound_contains_its_ends() {
        let b = Bound {
            min: Some(10.0),
            max: Some(20.0),
        };
        assert!(b.contains(10.0) && b.contains(20.0) && b.contains(15.0));
        assert!(!b.contains(9.99) && !b.contains(20.01));
        assert!(Bound::exact(0.0).contains(0.0));
        assert!(!Bound::exact(0.0).contains(0.5));
        assert!(Bound::default().contains(-1e9));
    }

    #[test]
    fn codec_names_are_case_insensitive() {
        assert_eq!(CodecName::from_word("pcmu"), Some(CodecName::Pcmu));
        assert_eq!(CodecName::from_word("OPUS"), Some(CodecName::Opus));
        assert_eq!(CodecName::from_word("g722"), Some(CodecName::G722));
        assert_eq!(CodecName::from_word("G729"), None);
        assert_eq!(
            NetworkProfile::from_word("3g"),
            Some(NetworkProfile::ThreeG)
        );
    }

    #[test]
    fn parties_print_by_name() {
        let plan = Plan {
            name: "p".into(),
            file: PathBuf::from("p.yaml"),
            user: "alice".into(),
            devices: vec![DevicePlan {
                name: "desk".into(),
                codecs: vec![CodecName::Pcmu],
                network: NetworkProfile::Lan,
            }],
            customer: PartyPlan {
                codecs: vec![CodecName::Pcmu],
                network: NetworkProfile::Lan,
                replaces: ReplacesSupport::Accept,
            },
            steps: vec![],
            expect: Expectations::default(),
        };
        assert_eq!(plan.party_name(Party::Customer), "customer");
        assert_eq!(plan.party_name(Party::Device(0)), "desk");
        assert_eq!(plan.party_name(Party::Device(7)), "?");
        assert_eq!(plan.device_id("desk"), Some(0));
        assert_eq!(plan.device_id("mobile"), None);
    }
}
