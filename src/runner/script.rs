//! The scenario's steps as a sans-IO state machine: each step issues commands to the
//! user agents and then waits for a condition (registered, answered, a time) or its
//! timeout. The scene calls [`Script::advance`] after every input, so the same script runs
//! in virtual time and live.

use std::time::Duration;

use super::scene::Scene;
use crate::core::Time;
use crate::measure::{FlipRecord, measure_flip};
use crate::report::FlipReport;
use crate::report::Keyword;
use crate::roles::ua::{CallIdx, CallState};
use crate::scenario::{Expectations, FlipMethod, Party, Plan, StepPlan};

const REGISTER_TIMEOUT: Duration = Duration::from_secs(5);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than the PBX's default ring timeout (18 s), so the target's verdict comes first.
const FLIP_TIMEOUT: Duration = Duration::from_secs(20);
/// Time for a BYE and its 200 to cross the network before the next step.
const HANGUP_SETTLE: Duration = Duration::from_millis(500);
/// Longest we wait for unregistration and last transactions at the end of a run.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

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
    Flip {
        flip: usize,
    },
    Shutdown,
}

#[derive(Default)]
pub struct Script {
    steps: Vec<StepPlan>,
    feature_code: String,
    pos: usize,
    wait: Option<Wait>,
    deadline: Time,
    done: bool,
    /// The device holding the call and its call index there.
    holder: Option<(usize, CallIdx)>,
    customer_call: Option<CallIdx>,
    records: Vec<FlipRecord>,
    /// Measured flips, in order.
    pub flips: Vec<(FlipReport, Expectations)>,
    /// Why the scenario could not run to the end (an error verdict), if it could not.
    pub error: Option<String>,
    pub finished_at: Option<Time>,
}

impl Script {
    pub fn new(plan: &Plan, feature_code: String) -> Script {
        Script {
            steps: plan.steps.clone(),
            feature_code,
            wait: Some(Wait::Start),
            deadline: Time::ZERO,
            ..Script::default()
        }
    }

    pub fn is_done(&self) -> bool {
        self.done
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

    /// Stops the run (Ctrl-C or an error): measure what is open, then shut down cleanly.
    pub fn abort(&mut self, now: Time, scene: &mut Scene, why: &str) {
        if self.error.is_none() {
            self.error = Some(why.to_string());
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
                    let line = self.steps.get(self.pos).map(step_line).unwrap_or(0);
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
                    return Ok(self.next(now));
                }
                if let Some(ua) = devices
                    .iter()
                    .map(|&d| &scene.devices[d])
                    .find(|d| d.register_error().is_some())
                {
                    let status = ua.register_error().unwrap_or(0);
                    let why = if status == 408 {
                        "no answer".to_string()
                    } else {
                        format!("status {status}")
                    };
                    return Err(format!(
                        "registration of {} as {} failed: {why}",
                        ua.name(),
                        ua.config().username
                    ));
                }
                if timed_out {
                    Err("registration did not succeed within 5 s".into())
                } else {
                    Ok(false)
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
                    Err("the device never rang".into())
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
                    return Ok(self.next(now));
                }
                self.call_failed(scene, customer_call)?;
                if timed_out {
                    Err("the call was not answered".into())
                } else {
                    Ok(false)
                }
            }
            Wait::Until(t) => Ok(now >= t && self.next(now)),
            Wait::Flip { flip } => {
                let rec = &self.records[flip];
                let new_state = scene.devices[rec.to].calls[rec.new_call].state;
                let customer_gone = scene.customer.calls[rec.customer_call].state
                    == CallState::Terminated
                    && scene.customer.active_call().is_none();
                if new_state == CallState::Confirmed {
                    self.holder = Some((rec.to, rec.new_call));
                }
                if new_state != CallState::Calling || customer_gone || timed_out {
                    return Ok(self.next(now));
                }
                Ok(false)
            }
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

    fn call_failed(&self, scene: &Scene, customer_call: CallIdx) -> Result<(), String> {
        let call = &scene.customer.calls[customer_call];
        if call.state == CallState::Terminated {
            return Err(format!("the customer's call failed: {:?}", call.end_cause));
        }
        Ok(())
    }

    fn next(&mut self, _now: Time) -> bool {
        self.pos += 1;
        self.wait = Some(Wait::Start);
        true
    }

    fn start_step(&mut self, now: Time, scene: &mut Scene) -> Result<(), String> {
        let step = self.steps[self.pos].clone();
        match step {
            StepPlan::Register { devices, .. } => {
                for &d in &devices {
                    scene.devices[d].register(now);
                }
                self.deadline = now + REGISTER_TIMEOUT;
                self.wait = Some(Wait::Registered(devices));
            }
            StepPlan::Call { answer, .. } => {
                // The account the target knows the user by (e.g. extension 1001 for alice).
                let user = scene
                    .devices
                    .first()
                    .map_or_else(|| scene.plan.user.clone(), |d| d.config().username.clone());
                let customer_call = scene.customer.call(now, &user);
                self.deadline = now + ANSWER_TIMEOUT;
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
                expect,
                ..
            } => {
                self.close_flips(now, scene);
                if method != FlipMethod::FeatureCode {
                    return Err(format!(
                        "flip method `{}` is not supported yet",
                        method.as_str()
                    ));
                }
                let (holder, old_call) = self.holder.ok_or("there is no call to flip")?;
                // The plan checked `from` against where it expected the call; the target
                // may have put it elsewhere (a flip expected to be refused that moved).
                // `old_call` indexes the holder's calls, so it must be the holder.
                if let Some(f) = from.filter(|&f| f != holder) {
                    return Err(format!(
                        "`from: {}` but the call is on `{}`",
                        scene.devices[f].name(),
                        scene.devices[holder].name()
                    ));
                }
                let from = holder;
                let customer_call = scene
                    .customer
                    .active_call()
                    .or(self.customer_call)
                    .ok_or("the customer has no call")?;
                let new_call = scene.devices[to].call(now, &self.feature_code);
                let rec = FlipRecord::start(
                    now,
                    scene,
                    from,
                    to,
                    method,
                    old_call,
                    new_call,
                    customer_call,
                    expect,
                );
                self.records.push(rec);
                self.deadline = now + FLIP_TIMEOUT;
                self.wait = Some(Wait::Flip {
                    flip: self.records.len() - 1,
                });
            }
            StepPlan::Hangup { party, .. } => {
                self.close_flips(now, scene);
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

    /// Measures every flip not yet measured, as of `now`.
    fn close_flips(&mut self, now: Time, scene: &Scene) {
        for rec in self.records.drain(..) {
            let report = measure_flip(&rec, scene, now);
            self.flips.push((report, rec.expect.clone()));
        }
    }

    fn begin_shutdown(&mut self, now: Time, scene: &mut Scene) {
        if matches!(self.wait, Some(Wait::Shutdown)) {
            return;
        }
        self.close_flips(now, scene);
        scene.customer.shutdown(now);
        for d in scene.devices.iter_mut() {
            d.shutdown(now);
        }
        self.deadline = now + SHUTDOWN_GRACE;
        self.wait = Some(Wait::Shutdown);
    }
}

fn step_line(step: &StepPlan) -> usize {
    match step {
        StepPlan::Register { line, .. }
        | StepPlan::Call { line, .. }
        | StepPlan::Talk { line, .. }
        | StepPlan::Flip { line, .. }
        | StepPlan::Hangup { line, .. } => *line,
    }
}
