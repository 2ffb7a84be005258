//! Process groups (`pg`, LANGUAGE.md §12): named sets of processes, as
//! Erlang's `pg` default scope keeps them. This layer keeps the local
//! members; the members on other nodes are the distribution's
//! (`Distribution::pg_members`), which also tells the other nodes of every
//! local join and leave.
//!
//! Invariants:
//! - A group lists a local pid at most once, and only while it lives: a
//!   process that ends leaves every group it was in (`Scheduler::finish`
//!   calls `leave_all`), and the other nodes hear of it as of a leave.
//! - `member_count` is the number of (group, pid) entries, so the end of a
//!   process costs nothing while no group has members.
//! - Lock order: `Shared::groups`, then whatever the distribution locks
//!   inside `pg_join`/`pg_leave` (a node's reader thread takes them in the
//!   same order, through `NodeHandle::with_groups`), so a node that learns
//!   of a peer while a process joins tells that peer of the join exactly
//!   once. Hence each change here takes a `tell` that runs with the groups
//!   still locked.
//! - This file knows values only: what is alive and who is told are the
//!   caller's (`runtime/dist.rs`), so it stays out of the runtime's circle
//!   of imports.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

use crate::data::value::{Pid, Value};

/// The local members of every group, in join order.
#[derive(Default)]
pub(crate) struct Groups {
    members: Mutex<FxHashMap<Value, Vec<Pid>>>,
    member_count: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Groups {
    /// Every group with local members, and them (for a node's `sync`),
    /// handed to `f` while the groups are locked.
    pub(crate) fn with_all<R>(&self, f: impl FnOnce(Vec<(Value, Vec<Pid>)>) -> R) -> R {
        let members = lock(&self.members);
        let all = members
            .iter()
            .map(|(group, pids)| (group.clone(), pids.clone()))
            .collect();
        f(all)
    }

    /// Removes `pid` from every group it is in (it ended); `tell` hears of
    /// each group it left.
    pub(crate) fn leave_all(&self, pid: Pid, mut tell: impl FnMut(&Value)) {
        if self.member_count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut members = lock(&self.members);
        let mut left = Vec::new();
        members.retain(|group, pids| {
            let before = pids.len();
            pids.retain(|p| *p != pid);
            if pids.len() < before {
                left.push(group.clone());
            }
            !pids.is_empty()
        });
        self.member_count.fetch_sub(left.len(), Ordering::AcqRel);
        for group in &left {
            tell(group);
        }
    }

    /// `pg.join(group, pids)`: each pid `alive` says lives and not yet in
    /// the group joins it; `tell` hears of those that joined (if any).
    pub(crate) fn join(
        &self,
        group: &Value,
        pids: &[Pid],
        alive: impl Fn(Pid) -> bool,
        tell: impl FnOnce(&[Pid]),
    ) {
        let mut members = lock(&self.members);
        let list = members.entry(group.clone()).or_default();
        let mut joined = Vec::new();
        for pid in pids {
            if !list.contains(pid) && !joined.contains(pid) && alive(*pid) {
                joined.push(*pid);
            }
        }
        list.extend_from_slice(&joined);
        if list.is_empty() {
            members.remove(group);
        }
        self.member_count.fetch_add(joined.len(), Ordering::AcqRel);
        if !joined.is_empty() {
            tell(&joined);
        }
    }

    /// `pg.leave(group, pids)`: whether any of them was in the group;
    /// `tell` hears of those that left (if any).
    pub(crate) fn leave(&self, group: &Value, pids: &[Pid], tell: impl FnOnce(&[Pid])) -> bool {
        let mut members = lock(&self.members);
        let Some(list) = members.get_mut(group) else {
            return false;
        };
        let mut left = Vec::new();
        list.retain(|p| {
            let leaves = pids.contains(p);
            if leaves {
                left.push(*p);
            }
            !leaves
        });
        if list.is_empty() {
            members.remove(group);
        }
        self.member_count.fetch_sub(left.len(), Ordering::AcqRel);
        if !left.is_empty() {
            tell(&left);
        }
        !left.is_empty()
    }

    /// The local members of `group` that `alive` says live, in join order.
    pub(crate) fn members(&self, group: &Value, alive: impl Fn(Pid) -> bool) -> Vec<Value> {
        lock(&self.members)
            .get(group)
            .map(|pids| {
                pids.iter()
                    .filter(|p| alive(**p))
                    .map(|p| Value::Pid(*p))
                    .collect()
            })
            .unwrap_or_default()
    }
}
