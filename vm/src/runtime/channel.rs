//! Channels (LANGUAGE.md §7): the `Channel` value and the operations the
//! scheduler runs on it. The state and its invariants are in
//! `channel_state.rs`; here a waiter is a pid, a claim is the process's
//! `WaitClaim`, and a wake-up is a hand-off signal pushed after unlocking.

use std::sync::Arc;

use weft_compiler::bytecode::{SelectArm, SelectTable};

use crate::data::atom::Atom;
use crate::data::channel::{ChanOutcome, Channel};
use crate::data::channel_state::{lock_in_order, ChanState, Wake};
use crate::data::ops::describe_value;
use crate::data::sync::Mutex;
use crate::data::value::{Pid, Value};
use crate::process::signal::SignalKind;
use crate::process::{Handoff, Process, Wait};
use crate::runtime::scheduler::{OpError, Scheduler, Shared};

impl Scheduler {
    /// Delivers the wake-ups claimed under a channel lock (now released).
    fn deliver_wakes(&mut self) {
        let wakes = std::mem::take(&mut self.wakes);
        for wake in wakes {
            let (who, token, handoff) = match wake {
                Wake::Received {
                    who,
                    token,
                    arm,
                    value,
                } => (who, token, Handoff::Received { arm, value }),
                Wake::Sent { who, token, arm } => (who, token, Handoff::Sent { arm }),
                Wake::Closed { who, token, arm } => (who, token, Handoff::Closed { arm }),
            };
            self.send_signal(who, SignalKind::Handoff { token, handoff });
        }
    }

    /// Runs `operation` on the channel's state under its lock, with the
    /// claim closure and the wake-up list, then delivers the wake-ups it
    /// claimed once the lock is released.
    fn locked<R>(
        &mut self,
        channel: &Channel,
        operation: impl FnOnce(
            &mut ChanState<Pid, Value>,
            &mut dyn FnMut(Pid, u32) -> bool,
            &mut Vec<Wake<Pid, Value>>,
            &Shared,
        ) -> R,
    ) -> R {
        let mut wakes = std::mem::take(&mut self.wakes);
        let result = {
            let shared = &*self.shared;
            let mut claim = |p: Pid, t: u32| shared.claim(p, t);
            let mut state = channel.lock();
            operation(&mut state, &mut claim, &mut wakes, shared)
        };
        self.wakes = wakes;
        self.deliver_wakes();
        result
    }

    pub fn chan_send(
        &mut self,
        process: &mut Process,
        channel: &Arc<Channel>,
        value: Value,
    ) -> ChanOutcome {
        self.locked(channel, |state, claim, wakes, claims| {
            match state.try_send(value, claim, wakes) {
                Ok(()) => ChanOutcome::Done(Value::Nil),
                Err(None) => ChanOutcome::Closed,
                Err(Some(value)) => {
                    block_claimable(claims, process, Wait::ChanSend(channel.id));
                    state.wait_to_send(process.pid, process.wait_token, 0, value);
                    ChanOutcome::Blocked
                }
            }
        })
    }

    pub fn chan_recv(&mut self, process: &mut Process, channel: &Arc<Channel>) -> ChanOutcome {
        self.locked(channel, |state, claim, wakes, claims| {
            match state.try_recv(claim, wakes) {
                Ok(value) => ChanOutcome::Done(value),
                Err(true) => ChanOutcome::Closed,
                Err(false) => {
                    block_claimable(claims, process, Wait::ChanRecv(channel.id));
                    state.wait_to_receive(process.pid, process.wait_token, 0);
                    ChanOutcome::Blocked
                }
            }
        })
    }

    /// Receives without waiting: `Err(true)` closed and drained,
    /// `Err(false)` nothing there yet.
    pub fn try_recv(&mut self, channel: &Arc<Channel>) -> Result<Value, bool> {
        self.locked(channel, |state, claim, wakes, _| {
            state.try_recv(claim, wakes)
        })
    }

    /// `close(ch)`: wakes every waiter; receivers get nil, senders fail.
    pub fn close(&mut self, channel: &Arc<Channel>) -> Result<(), OpError> {
        let closed = self.locked(channel, |state, claim, wakes, _| state.close(claim, wakes));
        if closed {
            Ok(())
        } else {
            Err((
                Atom::CLOSED,
                "close of a channel that is already closed".to_string(),
            ))
        }
    }

    /// Stackless' balance: senders waiting minus receivers waiting.
    pub fn balance(&self, channel: &Channel) -> i64 {
        let table = &self.shared.table;
        channel.lock().balance(&|p: Pid, t| {
            table
                .slot(p.slot())
                .is_some_and(|slot| slot.claim.is_armed(p.serial(), t))
        })
    }

    /// `select`: the first ready arm in source order, else wait on all.
    /// `Ok(None)` means the process blocked. Every channel is locked (in
    /// address order) before deciding, so the choice is atomic.
    pub fn select(
        &mut self,
        process: &mut Process,
        base: usize,
        table: &SelectTable,
    ) -> Result<Option<u32>, OpError> {
        let arm_count = table.arms.len() as u32;
        match process.handoff.take() {
            Some(Handoff::Received { arm, value }) => {
                if let Some(SelectArm::Recv {
                    value: register, ..
                }) = table.arms.get(arm as usize)
                {
                    process.stack[base + register.index()] = value;
                }
                return Ok(Some(arm));
            }
            Some(Handoff::Sent { arm }) => return Ok(Some(arm)),
            Some(Handoff::Closed { arm }) => {
                return match table.arms.get(arm as usize) {
                    Some(SelectArm::Recv { value, .. }) => {
                        process.stack[base + value.index()] = Value::Nil;
                        Ok(Some(arm))
                    }
                    _ => Err((Atom::CLOSED, "send on a closed channel".to_string())),
                };
            }
            Some(Handoff::TimedOut) => return Ok(Some(arm_count)),
            // Only a host call fails this way; a select never waits on one.
            Some(Handoff::Failed(_)) | None => {}
        }
        let mut channels = Vec::with_capacity(table.arms.len());
        for arm in &table.arms {
            let (SelectArm::Recv { chan, .. } | SelectArm::Send { chan, .. }) = arm;
            match &process.stack[base + chan.index()] {
                Value::Chan(c) => channels.push(c.clone()),
                other => {
                    return Err((
                        Atom::BADARG,
                        format!(
                            "a select arm needs a channel, got {}",
                            describe_value(other)
                        ),
                    ))
                }
            }
        }
        let deadline = match table.timeout {
            None => None,
            Some(register) => match &process.stack[base + register.index()] {
                Value::Int(ms) if *ms <= 0 => Some(None),
                Value::Float(ms) if *ms <= 0.0 => Some(None),
                Value::Int(ms) => Some(Some(self.deadline(*ms as f64))),
                Value::Float(ms) => Some(Some(self.deadline(*ms))),
                other => {
                    return Err((
                        Atom::BADARG,
                        format!(
                            "`after` needs a number of milliseconds, got {}",
                            describe_value(other)
                        ),
                    ))
                }
            },
        };
        let locks: Vec<&Mutex<ChanState<Pid, Value>>> = channels.iter().map(|c| &c.state).collect();
        let mut wakes = std::mem::take(&mut self.wakes);
        let (mut guards, guard_of) = lock_in_order(&locks);
        let mut chosen = None;
        for (i, arm) in table.arms.iter().enumerate() {
            let state = &mut guards[guard_of[i]];
            match arm {
                SelectArm::Recv { value, .. } => {
                    match state.try_recv(&mut |p, t| self.shared.claim(p, t), &mut wakes) {
                        Ok(v) => {
                            process.stack[base + value.index()] = v;
                            chosen = Some(Ok(Some(i as u32)));
                        }
                        Err(true) => {
                            process.stack[base + value.index()] = Value::Nil;
                            chosen = Some(Ok(Some(i as u32)));
                        }
                        Err(false) => {}
                    }
                }
                SelectArm::Send { value, .. } => {
                    let v = process.stack[base + value.index()].clone();
                    match state.try_send(v, &mut |p, t| self.shared.claim(p, t), &mut wakes) {
                        Ok(()) => chosen = Some(Ok(Some(i as u32))),
                        Err(None) => {
                            chosen =
                                Some(Err((Atom::CLOSED, "send on a closed channel".to_string())))
                        }
                        Err(Some(_)) => {}
                    }
                }
            }
            if chosen.is_some() {
                break;
            }
        }
        if chosen.is_none() {
            match deadline {
                // `after 0` (or less) polls.
                Some(None) => chosen = Some(Ok(Some(arm_count))),
                _ => {
                    let waits = table
                        .arms
                        .iter()
                        .zip(&channels)
                        .map(|(arm, c)| (matches!(arm, SelectArm::Send { .. }), c.id))
                        .collect();
                    // Arm the claim before joining any queue: from the first
                    // join on, any of the channels (or the timer) may end it.
                    self.block(process, Wait::Select(waits), deadline.flatten());
                    for (i, arm) in table.arms.iter().enumerate() {
                        let state = &mut guards[guard_of[i]];
                        match arm {
                            SelectArm::Recv { .. } => {
                                state.wait_to_receive(process.pid, process.wait_token, i as u32)
                            }
                            SelectArm::Send { value, .. } => state.wait_to_send(
                                process.pid,
                                process.wait_token,
                                i as u32,
                                process.stack[base + value.index()].clone(),
                            ),
                        }
                    }
                }
            }
        }
        drop(guards);
        self.wakes = wakes;
        self.deliver_wakes();
        chosen.unwrap_or(Ok(None))
    }
}

/// Blocks the running process in a wait that channels may claim: from the
/// first queue it joins on, any of them may end it.
fn block_claimable(shared: &Shared, process: &mut Process, wait: Wait) {
    process.set_waiting(wait);
    shared.arm_claim(process);
}
