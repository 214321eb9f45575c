//! The scenario's steps as a sans-IO state machine: each step issues commands to the user
//! agents and then waits for a condition (registered, answered, a flip settled, a time) or
//! its timeout. The scene calls [`Script::advance`] after every input, so the same script
//! runs in virtual time and live.
//!
//! A flip step waits as a person would, until the flip has settled by the rule of
//! [`crate::measure::progress`] — the same rule the report is computed with — and marks the
//! timeline with the request and the settle, so measurement knows which flip is which.

use std::time::Duration;

use super::scene::Scene;
use super::words;
use crate::core::Time;
use crate::measure::{Progress, progress};
use crate::report::{Keyword, Outcome};
use crate::roles::ua::{CallIdx, CallState};
use crate::scenario::{DEFAULT_TIMEOUTS, FlipMethod, Party, Plan, StepPlan, Timeouts};
use crate::timeline::{FlipSpec, Mark, PartyId};

/// After the audio settled, how long the old device may take to be released.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);
/// Time for a BYE and its 200 to cross the network before the next step.
const HANGUP_SETTLE: Duration = Duration::from_millis(500);
/// Longest we wait for unregistration and last transactions at the end of a run.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// The same when the target never answered anything.
const UNREACHABLE_GRACE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone)]
enum Wait {
    /// Start the step at `pos`.
    Start,
    Registered(Vec<usize>),
    /// The customer called; the named device must ring, then we answer.
    Ringing {
        device: usize,
        customer_call: CallIdx,
    },
    /// We answered; the customer's side must see the 200.
    Answered {
        device: usize,
        device_call: CallIdx,
        customer_call: CallIdx,
    },
    Until(Time),
    /// Flip `spec` is under way.
    Flip(Box<FlipSpec>),
    Shutdown,
}

#[derive(Default)]
pub struct Script {
    steps: Vec<StepPlan>,
    /// What the customer dials to reach the user.
    dial: String,
    feature_code: String,
    pos: usize,
    wait: Option<Wait>,
    deadline: Time,
    done: bool,
    /// The device holding the call and its call index there.
    holder: Option<(usize, CallIdx)>,
    customer_call: Option<CallIdx>,
    flips: u32,
    /// Why the scenario could not run to the end (an error verdict), if it could not.
    pub error: Option<String>,
    /// Set when the target did not answer at all: the rest of a run need not wait for it.
    pub unreachable: Option<String>,
    /// How long to wait for the target (the profile's `timeouts:`, else the defaults).
    timeouts: Timeouts,
    pub finished_at: Option<Time>,
}

/// Devices are parties 1.. in the timeline; the customer is party 0.
fn party_of(device: usize) -> PartyId {
    device + 1
}

impl Script {
    pub fn new(plan: &Plan, dial: String, feature_code: String) -> Script {
        Script {
            steps: plan.steps.clone(),
            dial,
            feature_code,
            wait: Some(Wait::Start),
            deadline: Time::ZERO,
            timeouts: DEFAULT_TIMEOUTS,
            ..Script::default()
        }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// How long to wait for the target, from its profile.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
    }

    pub fn poll_timeout(&self) -> Time {
        if self.done {
            return Time::NEVER;
        }
        match self.wait {
            Some(Wait::Start) => Time::ZERO,
            _ => self.deadline,
        }
    }

    /// Stops the run (Ctrl-C or an error): mark it, then shut down cleanly. A flip under
    /// way is reported as unsettled, never measured as if it had settled.
    pub fn abort(&mut self, now: Time, scene: &mut Scene, why: &str) {
        if self.error.is_none() {
            self.error = Some(why.to_string());
        }
        if scene.timeline.aborted().is_none() {
            scene.timeline.marks.push(Mark::Aborted {
                at: now,
                why: why.to_string(),
            });
        }
        self.begin_shutdown(now, scene);
    }

    /// Moves through as many steps as the state allows at `now`.
    pub fn advance(&mut self, now: Time, scene: &mut Scene) {
        // Bounded: each pass either returns or moves to the next step.
        for _ in 0..=self.steps.len() + 2 {
            if self.done {
                return;
            }
            let Some(wait) = self.wait.clone() else {
                return;
            };
            match self.check(now, scene, wait) {
                Ok(true) => {}
                Ok(false) => return,
                Err(msg) => {
                    let line = self.steps.get(self.pos).map(StepPlan::line).unwrap_or(0);
                    self.abort(now, scene, &format!("step at line {line}: {msg}"));
                    return;
                }
            }
        }
    }

    /// Checks the current wait; `Ok(true)` when the script moved on and should look again.
    fn check(&mut self, now: Time, scene: &mut Scene, wait: Wait) -> Result<bool, String> {
        let timed_out = now >= self.deadline;
        match wait {
            Wait::Start => {
                if self.pos >= self.steps.len() {
                    self.begin_shutdown(now, scene);
                    return Ok(false);
                }
                self.start_step(now, scene)?;
                Ok(true)
            }
            Wait::Registered(devices) => {
                if devices.iter().all(|&d| scene.devices[d].is_registered()) {
                    return Ok(self.next());
                }
                let user = scene.plan.user.clone();
                for &d in &devices {
                    let ua = &scene.devices[d];
                    if let Some(failure) = ua.register_error() {
                        return Err(words::register_failed(&user, ua, failure, &scene.labels));
                    }
                }
                if !timed_out {
                    return Ok(false);
                }
                let d = *devices
                    .iter()
                    .find(|&&d| !scene.devices[d].is_registered())
                    .ok_or("registration state lost")?;
                let waiting = &scene.devices[d];
                // Devices are parties 1.. of the timeline.
                let heard = scene.timeline.events_of(party_of(d)).any(|e| {
                    matches!(&e.what, crate::timeline::Observation::Sip(s)
                        if s.dir == crate::timeline::SipDir::Received)
                });
                let who = words::account(&user, waiting);
                if heard {
                    Err(format!(
                        "the REGISTER of {who} got no final answer from {} within {} s",
                        scene.labels.target,
                        self.timeouts.register.as_secs_f64()
                    ))
                } else {
                    // Nothing at all: the target is down or not where the profile says.
                    let garbage = waiting
                        .findings()
                        .iter()
                        .any(|f| f.rule == "unparseable" && f.peer == waiting.config().proxy);
                    let msg = words::no_response(
                        waiting,
                        "REGISTER",
                        &who,
                        Some(self.timeouts.register),
                        garbage,
                    );
                    self.unreachable = Some(msg.clone());
                    Err(msg)
                }
            }
            Wait::Ringing {
                device,
                customer_call,
            } => {
                if let Some(call) = scene.devices[device].ringing_call() {
                    scene.devices[device].answer(now, call);
                    self.wait = Some(Wait::Answered {
                        device,
                        device_call: call,
                        customer_call,
                    });
                    return Ok(true);
                }
                self.call_failed(scene, customer_call)?;
                if timed_out {
                    Err(self
                        .unanswered(scene, customer_call)
                        .unwrap_or_else(|| "the device never rang".into()))
                } else {
                    Ok(false)
                }
            }
            Wait::Answered {
                device,
                device_call,
                customer_call,
            } => {
                if scene.customer.calls[customer_call].state == CallState::Confirmed {
                    self.holder = Some((device, device_call));
                    self.customer_call = Some(customer_call);
                    return Ok(self.next());
                }
                self.call_failed(scene, customer_call)?;
                if timed_out {
                    Err("the call was not answered".into())
                } else {
                    Ok(false)
                }
            }
            Wait::Until(t) => Ok(now >= t && self.next()),
            Wait::Flip(spec) => match progress(&scene.timeline, &spec, now) {
                Progress::Pending { next } => {
                    self.deadline = next.max(now);
                    Ok(false)
                }
                Progress::Settled(s) => {
                    let events = scene.timeline.events.len();
                    scene.timeline.marks.push(Mark::FlipSettled {
                        index: spec.index,
                        at: now,
                        events,
                    });
                    self.after_flip(now, scene, &spec, s.outcome);
                    Ok(self.next())
                }
            },
            Wait::Shutdown => {
                let idle = scene.customer.is_idle() && scene.devices.iter().all(|d| d.is_idle());
                if idle || timed_out {
                    self.done = true;
                    self.finished_at = Some(now);
                }
                Ok(false)
            }
        }
    }

    /// Where the call is once a flip settled: on the new device if it holds it now, else
    /// where it was. A flip request still unanswered (timed out) is given up: CANCEL.
    fn after_flip(&mut self, now: Time, scene: &mut Scene, spec: &FlipSpec, outcome: Outcome) {
        let new = (spec.to - 1, spec.request_call);
        if scene.devices[new.0].calls[new.1].state == CallState::Calling {
            scene.devices[new.0].hangup(now, new.1);
        }
        let new_holds = scene.devices[new.0].calls[new.1].state == CallState::Confirmed;
        let old_holds =
            scene.devices[spec.from - 1].calls[spec.old_call].state == CallState::Confirmed;
        self.holder = match (outcome, new_holds, old_holds) {
            (Outcome::Dropped, _, _) => None,
            (_, true, _) => Some(new),
            (_, false, true) => self.holder,
            _ => None,
        };
        self.customer_call = scene.customer.active_call();
    }

    fn call_failed(&self, scene: &Scene, customer_call: CallIdx) -> Result<(), String> {
        let call = &scene.customer.calls[customer_call];
        if call.state == CallState::Terminated {
            let dialled = if self.dial == scene.plan.user {
                String::new()
            } else {
                format!(" (dialled {})", self.dial)
            };
            return Err(format!(
                "the customer's call to {}{dialled} failed: {}",
                scene.plan.user,
                words::call_failure(&scene.plan.user, call, &scene.labels)
            ));
        }
        Ok(())
    }

    /// Words for a customer's call that got nothing that is SIP back within the answer
    /// timeout, naming the peer and what it did send, if anything; `None` once something
    /// came back: then the target took the call and the device is what never rang.
    fn unanswered(&self, scene: &Scene, customer_call: CallIdx) -> Option<String> {
        let customer = &scene.customer;
        let invite = customer.calls[customer_call].invite.as_ref()?;
        let call_id = invite.call_id()?;
        // The customer is party 0 of the timeline.
        let heard = scene
            .timeline
            .sip_of(0, call_id)
            .any(|(_, s)| s.dir == crate::timeline::SipDir::Received);
        if heard {
            return None;
        }
        let cfg = customer.config();
        let garbage = customer
            .findings()
            .iter()
            .any(|f| f.rule == "unparseable" && f.peer == cfg.proxy);
        let who = match cfg.username.as_str() {
            "customer" => "the customer".to_string(),
            username => format!("the customer (username {username})"),
        };
        let within = Some(self.timeouts.answer);
        Some(words::no_response(
            customer, "INVITE", &who, within, garbage,
        ))
    }

    fn next(&mut self) -> bool {
        self.pos += 1;
        self.wait = Some(Wait::Start);
        true
    }

    fn start_step(&mut self, now: Time, scene: &mut Scene) -> Result<(), String> {
        let step = self.steps[self.pos].clone();
        match step {
            StepPlan::Register { devices, .. } => {
                for &d in &devices {
                    scene.devices[d].register_within(now, self.timeouts.register);
                }
                self.deadline = now + self.timeouts.register;
                self.wait = Some(Wait::Registered(devices));
            }
            StepPlan::Call { answer, .. } => {
                // What the target knows the user by (e.g. extension 1001 for alice).
                let customer_call = scene.customer.call(now, &self.dial);
                self.deadline = now + self.timeouts.answer;
                self.wait = Some(Wait::Ringing {
                    device: answer,
                    customer_call,
                });
            }
            StepPlan::Talk { duration, .. } => {
                self.deadline = now + duration;
                self.wait = Some(Wait::Until(now + duration));
            }
            StepPlan::Flip {
                from,
                to,
                method,
                settle,
                timeout,
                line,
                ..
            } => {
                if method != FlipMethod::FeatureCode {
                    return Err(format!(
                        "flip method `{}` is not supported in this version",
                        method.as_str()
                    ));
                }
                let (holder, old_call) = self.holder.ok_or("there is no call to flip")?;
                // The plan checked `from` against where it expected the call; the target
                // may have put it elsewhere (a flip expected to be refused that moved).
                if let Some(f) = from.filter(|&f| f != holder) {
                    return Err(format!(
                        "`from: {}` but the call is on `{}`",
                        scene.devices[f].name(),
                        scene.devices[holder].name()
                    ));
                }
                let customer_call = scene
                    .customer
                    .active_call()
                    .or(self.customer_call)
                    .ok_or("the customer has no call")?;
                let request_call = scene.devices[to].call(now, &self.feature_code);
                self.flips += 1;
                let spec = FlipSpec {
                    index: self.flips,
                    line,
                    method: method.as_str().to_string(),
                    requested_at: now,
                    from: party_of(holder),
                    old_call,
                    to: party_of(to),
                    request_call,
                    dialled: self.feature_code.clone(),
                    customer_call,
                    settle,
                    timeout: timeout.unwrap_or(self.timeouts.flip),
                    release_timeout: RELEASE_TIMEOUT,
                };
                scene.timeline.marks.push(Mark::FlipRequested(spec.clone()));
                self.deadline = now;
                self.wait = Some(Wait::Flip(Box::new(spec)));
            }
            StepPlan::Hangup { party, .. } => {
                match party {
                    Party::Customer => {
                        if let Some(c) = scene.customer.active_call() {
                            scene.customer.hangup(now, c);
                        }
                    }
                    Party::Device(d) => {
                        if let Some(c) = scene.devices[d].active_call() {
                            scene.devices[d].hangup(now, c);
                        }
                    }
                }
                self.deadline = now + HANGUP_SETTLE;
                self.wait = Some(Wait::Until(now + HANGUP_SETTLE));
            }
        }
        Ok(())
    }

    fn begin_shutdown(&mut self, now: Time, scene: &mut Scene) {
        if matches!(self.wait, Some(Wait::Shutdown)) {
            return;
        }
        scene.customer.shutdown(now);
        for d in scene.devices.iter_mut() {
            d.shutdown(now);
        }
        // A target that never answered will not answer the unregistration either.
        let grace = if self.unreachable.is_some() {
            UNREACHABLE_GRACE
        } else {
            SHUTDOWN_GRACE
        };
        self.deadline = now + grace;
        self.wait = Some(Wait::Shutdown);
    }
}
