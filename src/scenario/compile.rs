//! The one place where a raw scenario becomes a [`Plan`] (parse, then compile once): names are
//! resolved, defaults filled in, references checked, and every problem in the file is
//! collected with its line, column and a suggestion.

use std::path::Path;
use std::time::Duration;

use super::diagnostic::Diagnostic;
use super::expect::ScenarioExpect;
use super::plan::{
    CodecName, DeviceId, DevicePlan, NetworkProfile, Party, PartyPlan, Plan, ReplacesSupport,
    StepPlan,
};
use super::raw::{
    REFUSED_FLIP_FIELDS, RawCall, RawCustomer, RawScenario, RawStep, parse_yaml_hiding,
    top_level_keys, with_nearest_or_list,
};
use super::yaml::Spanned;
use crate::core::rtp::MAX_PARTIES;
use crate::report::Keyword;

/// The user under test when a scenario names none: the first user of the embedded PBX's
/// default directory (README "The embedded PBX as a server").
pub const DEFAULT_USER: &str = "alice";

/// Parses and compiles a scenario held in memory; `file` is used in diagnostics and
/// [`Plan::file`] only.
pub fn compile_scenario(file: &Path, text: &str) -> Result<Plan, Vec<Diagnostic>> {
    let raw: RawScenario =
        parse_yaml_hiding(file, text, REFUSED_FLIP_FIELDS).map_err(|d| vec![d])?;
    let mut c = Compiler {
        file,
        diags: Vec::new(),
    };
    let keys = top_level_keys(text);
    let plan = c.scenario(raw, &keys);
    if c.diags.is_empty() {
        Ok(plan)
    } else {
        // Keep file order, so the first error printed is the first in the file.
        c.diags.sort_by_key(|d| (d.line, d.column));
        Err(c.diags)
    }
}

/// The network profiles this build carries out.
pub(super) const SUPPORTED_NETWORKS: &[NetworkProfile] = &[NetworkProfile::Lan];
/// The codecs the parties of this version encode and decode (G.711, RFC 3551 §4.5.14).
pub(super) const SUPPORTED_CODECS: &[CodecName] = &[CodecName::Pcmu, CodecName::Pcma];

/// Collects diagnostics while building a plan. Methods return `None` (or a placeholder) for
/// a bad node and keep going, so one run reports every mistake.
pub(crate) struct Compiler<'a> {
    pub(crate) file: &'a Path,
    pub(crate) diags: Vec<Diagnostic>,
}

/// Who holds the call, as far as the file alone can tell.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum CallState {
    Idle,
    On(DeviceId),
    /// After a flip expected to drop or fail: the file no longer says where the call is,
    /// so later steps are not checked against it.
    Unknown,
}

impl Compiler<'_> {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub(crate) fn at<T>(&self, node: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.file, node.line, node.column, message)
    }

    /// Resolves a vocabulary word; `what` names it in the error (`unknown flip method …`).
    pub(crate) fn keyword<K: Keyword>(&mut self, node: &Spanned<String>, what: &str) -> Option<K> {
        if let Some(k) = K::from_word(&node.value) {
            return Some(k);
        }
        let names: Vec<&str> = K::ALL.iter().map(|k| k.as_str()).collect();
        let d = self.at(node, format!("unknown {what} `{}`", node.value));
        self.push(with_nearest_or_list(d, &node.value, &names));
        None
    }

    /// Resolves a word of which this build carries out only `supported`: a known word
    /// outside it is refused with the diagnostic `refuse` builds (product rule: nothing is
    /// accepted that does not run). An unknown word is matched against the supported words
    /// only, since suggesting one that is then refused would cost the user a second round.
    pub(crate) fn supported_keyword<K: Keyword + PartialEq>(
        &mut self,
        node: &Spanned<String>,
        what: &str,
        supported: &[K],
        refuse: impl FnOnce(Diagnostic) -> Diagnostic,
    ) -> Option<K> {
        match K::from_word(&node.value) {
            Some(k) if supported.contains(&k) => Some(k),
            Some(_) => {
                let d = self.at(
                    node,
                    format!("{what} `{}` is not supported in this version", node.value),
                );
                self.push(refuse(d));
                None
            }
            None => {
                let names: Vec<&str> = supported.iter().map(|k| k.as_str()).collect();
                let d = self.at(node, format!("unknown {what} `{}`", node.value));
                self.push(with_nearest_or_list(d, &node.value, &names));
                None
            }
        }
    }

    /// An error at top-level key `name`; at the start of the file if the key pass did not
    /// find it (it always does when the strict parse succeeded).
    fn at_key(
        &self,
        keys: &[Spanned<String>],
        name: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = keys
            .iter()
            .find(|k| k.value == name)
            .map_or((1, 1), |k| (k.line, k.column));
        Diagnostic::new(self.file, line, column, message)
    }

    fn scenario(&mut self, raw: RawScenario, keys: &[Spanned<String>]) -> Plan {
        if raw.name.value.trim().is_empty() {
            self.push(self.at(&raw.name, "the scenario needs a non-empty `name`"));
        }
        let user = match &raw.user {
            Some(u) if u.value.trim().is_empty() => {
                self.push(self.at(u, "`user` must not be empty"));
                String::new()
            }
            Some(u) => u.value.clone(),
            None => DEFAULT_USER.to_string(),
        };
        let devices = self.devices(&raw.devices);
        // Every party sends its own tone pair so that the customer's audio can be told
        // apart by who sent it; the table has MAX_PARTIES of them.
        let max_devices = MAX_PARTIES - 1;
        if devices.len() > max_devices {
            self.push(
                self.at_key(
                    keys,
                    "devices",
                    format!(
                        "`devices` declares {} devices, more than the {max_devices} a scenario \
                         can have",
                        devices.len()
                    ),
                )
                .with_hint(format!(
                    "a scenario has at most {MAX_PARTIES} parties, the customer and \
                     {max_devices} devices, because each needs its own audio signature"
                )),
            );
        }
        let customer = self.customer(raw.customer.as_ref());
        let expect = raw
            .expect
            .as_ref()
            .map(|e| self.expectations(e))
            .unwrap_or_default();
        let has_flip = raw
            .steps
            .value
            .iter()
            .any(|s| matches!(s.value, RawStep::Flip(_)));
        // An expectation is checked on a flip's measurements; with no flip it would be
        // silently never checked and the scenario would pass on it.
        if keys.iter().any(|k| k.value == "expect") && !has_flip {
            self.push(
                self.at_key(
                    keys,
                    "expect",
                    "expectations apply to flips, and this scenario has no `flip` step",
                )
                .with_hint("add a `flip` step, or remove `expect:`"),
            );
        }
        let scenario_expect = ScenarioExpect {
            plan: &expect,
            raw: raw.expect.as_ref(),
        };
        let steps = self.steps(&raw.steps, &devices, &scenario_expect);
        Plan {
            name: raw.name.value,
            file: self.file.to_path_buf(),
            user,
            devices,
            customer,
            steps,
            expect,
        }
    }

    fn devices(
        &mut self,
        raw: &Spanned<super::raw::RawMap<super::raw::RawDevice>>,
    ) -> Vec<DevicePlan> {
        if raw.value.0.is_empty() {
            self.push(self.at(raw, "`devices` must name at least one device"));
        }
        raw.value
            .0
            .iter()
            .map(|(name, dev)| {
                if name.value == "customer" {
                    self.push(
                        self.at(name, "`customer` is the far end, not a device name")
                            .with_hint("rename the device, e.g. `desk` or `mobile`"),
                    );
                } else if name.value.trim().is_empty() {
                    self.push(self.at(name, "a device name must not be empty"));
                }
                DevicePlan {
                    name: name.value.clone(),
                    codecs: self.codecs(dev.codecs.as_ref()),
                    network: self.network(dev.network.as_ref()),
                }
            })
            .collect()
    }

    fn customer(&mut self, raw: Option<&RawCustomer>) -> PartyPlan {
        let Some(raw) = raw else {
            return PartyPlan {
                codecs: vec![CodecName::Pcmu],
                network: NetworkProfile::Lan,
                replaces: ReplacesSupport::Accept,
            };
        };
        PartyPlan {
            codecs: self.codecs(raw.codecs.as_ref()),
            network: self.network(raw.network.as_ref()),
            replaces: raw
                .replaces
                .as_ref()
                .and_then(|r| self.keyword(r, "`replaces` behaviour"))
                .unwrap_or_default(),
        }
    }

    /// Default `[PCMU]`: G.711 μ-law is the one codec every SIP phone offers.
    fn codecs(&mut self, raw: Option<&Spanned<Vec<Spanned<String>>>>) -> Vec<CodecName> {
        let Some(list) = raw else {
            return vec![CodecName::Pcmu];
        };
        if list.value.is_empty() {
            self.push(self.at(list, "`codecs` must list at least one codec"));
        }
        let mut out = Vec::new();
        for c in &list.value {
            // G.722 and Opus parse, but no party encodes or decodes them in this version.
            let codec = self.supported_keyword(c, "codec", SUPPORTED_CODECS, |d| {
                d.amend(": only PCMU and PCMA are carried out")
                    .with_hint("use `PCMU` or `PCMA`")
            });
            if let Some(codec) = codec {
                if out.contains(&codec) {
                    self.push(self.at(c, format!("codec `{}` is listed twice", c.value)));
                } else {
                    out.push(codec);
                }
            }
        }
        out
    }

    /// Only `lan`: no link impairment is simulated in this version, so an `lte` device
    /// would be tested as if it were wired.
    fn network(&mut self, raw: Option<&Spanned<String>>) -> NetworkProfile {
        raw.and_then(|n| {
            self.supported_keyword(n, "network profile", SUPPORTED_NETWORKS, |d| {
                d.amend(": every link is a LAN")
                    .with_hint("use `lan` or leave `network` out")
            })
        })
        .unwrap_or(NetworkProfile::Lan)
    }

    /// Resolves a device name among the scenario's devices.
    pub(super) fn device(
        &mut self,
        node: &Spanned<String>,
        devices: &[DevicePlan],
    ) -> Option<DeviceId> {
        if let Some(id) = devices.iter().position(|d| d.name == node.value) {
            return Some(id);
        }
        let d = if node.value == "customer" {
            self.at(node, "the customer is not one of the user's devices")
        } else {
            let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
            let d = self.at(node, format!("unknown device `{}`", node.value));
            with_nearest_or_list(d, &node.value, &names)
                .with_hint_if_none("declare it under `devices:`")
        };
        self.push(d);
        None
    }

    /// `customer` or a device name.
    fn party(&mut self, node: &Spanned<String>, devices: &[DevicePlan]) -> Option<Party> {
        if node.value == "customer" {
            return Some(Party::Customer);
        }
        if let Some(id) = devices.iter().position(|d| d.name == node.value) {
            return Some(Party::Device(id));
        }
        let mut names = vec!["customer"];
        names.extend(devices.iter().map(|d| d.name.as_str()));
        let d = self.at(node, format!("unknown party `{}`", node.value));
        self.push(with_nearest_or_list(d, &node.value, &names));
        None
    }

    fn steps(
        &mut self,
        raw: &Spanned<Vec<Spanned<RawStep>>>,
        devices: &[DevicePlan],
        scenario_expect: &ScenarioExpect<'_>,
    ) -> Vec<StepPlan> {
        if raw.value.is_empty() {
            self.push(self.at(raw, "`steps` must list at least one step"));
        }
        let mut registered = vec![false; devices.len()];
        let mut state = CallState::Idle;
        let mut out = Vec::new();
        for step in &raw.value {
            let line = step.line;
            let plan = match &step.value {
                RawStep::Register(names) => {
                    if names.is_empty() {
                        self.push(self.at(step, "`register` needs at least one device"));
                    }
                    let ids: Vec<DeviceId> = names
                        .iter()
                        .filter_map(|n| self.device(n, devices))
                        .collect();
                    for &id in &ids {
                        registered[id] = true;
                    }
                    Some(StepPlan::Register { devices: ids, line })
                }
                RawStep::Call(call) => self.call(step, call, devices, &registered, &mut state),
                RawStep::Talk(d) => self
                    .duration(d)
                    .map(|duration| StepPlan::Talk { duration, line }),
                RawStep::Flip(flip) => self.flip(
                    step,
                    flip,
                    devices,
                    &registered,
                    scenario_expect,
                    &mut state,
                ),
                RawStep::Hangup(who) => self.hangup(step, who, devices, &mut state),
            };
            out.extend(plan);
        }
        out
    }

    fn call(
        &mut self,
        step: &Spanned<RawStep>,
        call: &RawCall,
        devices: &[DevicePlan],
        registered: &[bool],
        state: &mut CallState,
    ) -> Option<StepPlan> {
        let from = match self.party(&call.from, devices) {
            Some(Party::Device(_)) => {
                self.push(
                    self.at(&call.from, "calls from a device are not supported yet")
                        .with_hint("use `from: customer`; the customer calls the user"),
                );
                None
            }
            other => other,
        };
        let answer = self.device(&call.answer, devices);
        if let Some(id) = answer
            && !registered[id]
        {
            self.push(
                self.at(
                    &call.answer,
                    format!(
                        "device `{}` answers before it is registered",
                        call.answer.value
                    ),
                )
                .with_hint(format!(
                    "add `- register: [{}]` before this step",
                    call.answer.value
                )),
            );
        }
        if *state != CallState::Idle {
            self.push(
                self.at(step, "a call is already up")
                    .with_hint("hang up first; one call per scenario at a time"),
            );
        }
        // A call with an unknown answering device is still a call: later steps are checked
        // as if it were up, so one typo does not cascade into "no call up" errors.
        *state = answer.map_or(CallState::Unknown, CallState::On);
        let (from, answer) = (from?, answer?);
        Some(StepPlan::Call {
            from,
            answer,
            line: step.line,
        })
    }

    fn hangup(
        &mut self,
        step: &Spanned<RawStep>,
        who: &Spanned<String>,
        devices: &[DevicePlan],
        state: &mut CallState,
    ) -> Option<StepPlan> {
        let party = self.party(who, devices)?;
        match (*state, party) {
            (CallState::Idle, _) => self.push(self.at(step, "hangup with no call up")),
            (CallState::On(holder), Party::Device(d)) if d != holder => self.push(self.at(
                who,
                format!(
                    "`{}` does not hold the call (it is on `{}` at this point)",
                    who.value, devices[holder].name
                ),
            )),
            _ => {}
        }
        *state = CallState::Idle;
        Some(StepPlan::Hangup {
            party,
            line: step.line,
        })
    }

    /// `2s`, `500ms`, `1m`, `1m 30s` (humantime syntax); must be positive.
    pub(super) fn duration(&mut self, node: &Spanned<String>) -> Option<Duration> {
        let text = node.value.trim();
        match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() => {
                self.push(self.at(node, "duration must be longer than zero"));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                let d = self.at(node, format!("bad duration `{}`", node.value));
                let d = if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
                    d.with_hint(format!("did you mean `{text}s`?"))
                } else {
                    d.with_hint("write a number and a unit, e.g. `2s`, `500ms`, `1m`")
                };
                self.push(d);
                None
            }
        }
    }
}

trait HintIfNone {
    fn with_hint_if_none(self, hint: &str) -> Self;
}

impl HintIfNone for Diagnostic {
    /// Adds `hint` only when no better suggestion was found.
    fn with_hint_if_none(self, hint: &str) -> Self {
        if self.suggestion.is_some() {
            self
        } else {
            self.with_hint(hint)
        }
    }
}
