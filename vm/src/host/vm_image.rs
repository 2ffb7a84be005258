//! Whole-VM images (LANGUAGE.md §13, docs/IMAGES.md "VM image"): every
//! process with its pid, links, monitors and registered name; every
//! channel its processes hold (the channels travel here, since every
//! holder is in the image); `send_after` timers and sleeps with the time
//! they had left; the counters that number refs and channels.
//!
//! Invariants:
//! - Saving stops the scheduler threads (`Vm::world`), so every process's
//!   body is in its slot and none moves while the image is written.
//! - Loading is all or nothing: the whole image is read and checked before
//!   the first process exists; it needs a VM with no live process (its pids
//!   are the image's).
//! - A process waiting on its mailbox or a channel is loaded runnable: the
//!   instruction it waited in runs again and waits again (registering on
//!   the channel anew), so no channel's queue of waiters is in the image.
//!   A `receive ... after` keeps its time left (`interp/image.rs`), and a
//!   `sleep` its remaining time.
//! - Links and monitors to other nodes are not in the image: connections
//!   do not travel.

use std::collections::{HashSet, VecDeque};
use std::io::{Read, Write};
use std::sync::atomic::Ordering;

use rustc_hash::FxHashMap;

use crate::data::atom::Atom;
use crate::data::image::{Reader, Writer};
use crate::data::value::{Pid, Value};
use crate::host::image::ImageError;
use crate::host::vm::Vm;
use crate::interp::image::{self as process_image, Modules, Resolver, Restored};
use crate::process::{Process, Status, Wait};
use crate::runtime::dist::DIST_PID;
use crate::runtime::events::Outcome;
use crate::runtime::timer::TimerKind;

/// One process of a whole-VM image, read and checked, not yet started.
struct Loaded {
    pid: Pid,
    name: Option<Atom>,
    /// The time its `sleep` had left.
    sleeping: Option<u64>,
    restored: Restored,
    links: Vec<Pid>,
    monitored_by: Vec<(u64, Pid)>,
    monitoring: Vec<(u64, Pid)>,
    monitor_names: Vec<(u64, Value)>,
}

fn pids(input: &mut Reader<'_>) -> Result<Vec<Pid>, String> {
    (0..input.count(1)?)
        .map(|_| Ok(Pid(input.uint()?)))
        .collect()
}

fn pairs(input: &mut Reader<'_>) -> Result<Vec<(u64, Pid)>, String> {
    (0..input.count(2)?)
        .map(|_| Ok((input.uint()?, Pid(input.uint()?))))
        .collect()
}

impl Vm {
    /// Writes the whole VM — every process, channel, timer, registered
    /// name, link and monitor — to `writer`: a game's save file. Load it
    /// with [`Vm::load_image`] into a VM that has loaded the same code.
    /// Sockets, open files and host calls under way cannot be saved
    /// ([`ImageError::Unsaveable`] names the first); links and monitors to
    /// other nodes are left out.
    ///
    /// ```
    /// use weft_vm::Vm;
    ///
    /// let code = "fn counter(n) { receive { (:add, x) => counter(n + x), (:get, p) => p ! n } }";
    /// let mut vm = Vm::new();
    /// vm.load("game.weft", code)?;
    /// let pid = vm.spawn("counter", vec![1.into()])?;
    /// vm.send(pid, weft_vm::Value::tuple(vec![weft_vm::Value::atom("add"), 41.into()]));
    /// let _ = vm.run(10_000);
    /// let mut file = Vec::new();
    /// vm.save_image(&mut file)?;
    ///
    /// let mut loaded = Vm::new();
    /// loaded.load("game.weft", code)?;
    /// loaded.load_image(&file[..])?;
    /// assert!(loaded.processes().iter().any(|p| p.pid == pid));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_image(&mut self, mut writer: impl Write) -> Result<(), ImageError> {
        let bytes = self.image_bytes()?;
        writer.write_all(&bytes)?;
        Ok(())
    }

    fn image_bytes(&mut self) -> Result<Vec<u8>, ImageError> {
        let code = crate::host::vm::world(&self.shared, &self.code);
        // Signals still in inboxes (a monitor, a link, a message not yet
        // taken in) are applied first, as each process would on its next
        // slice: the image then holds every link and monitor both ends
        // agreed on. Applying them can end a process, whose end signals
        // others: a few passes settle it.
        for _ in 0..4 {
            let mut applied = false;
            for pid in self.shared.pids() {
                if !self.scheduler.has_signals(pid) {
                    continue;
                }
                let Some(slot) = self.shared.table.get(pid) else {
                    continue;
                };
                let Some(mut process) = slot.take_body(pid) else {
                    continue;
                };
                applied = true;
                match self.scheduler.absorb(&mut process) {
                    Err(reason) => self.scheduler.finish(process, Outcome::Exited(reason)),
                    Ok(_) => slot.put_body(process),
                }
            }
            if !applied {
                break;
            }
        }
        let (now, place) = (self.scheduler.now(), self.scheduler.place());
        // Sleeping processes: the deadline of the timer that ends each sleep.
        let mut sleeps: FxHashMap<(Pid, u32), u64> = FxHashMap::default();
        let mut sends: Vec<(u64, Pid, Value)> = Vec::new();
        self.shared.timers.each(|deadline, kind| match kind {
            TimerKind::Wake { pid, token, .. } => {
                sleeps.insert((*pid, *token), deadline);
            }
            TimerKind::Send { to, message } => sends.push((deadline, *to, message.clone())),
        });
        let mut modules = Modules::new(&code, true);
        let mut body = Writer::new();
        let pids = self.shared.pids();
        body.uint(pids.len() as u64);
        for pid in pids {
            let slot = self.shared.table.get(pid).ok_or(ImageError::NoProcess)?;
            let name = self.shared.name_of(pid);
            let written = slot.peek_body(pid, |process| {
                body.uint(pid.slot() as u64);
                body.uint(pid.serial() as u64);
                body.value(&name.map_or(Value::Nil, Value::Atom), &mut modules)?;
                match &process.status {
                    Status::Waiting(Wait::Sleep) => {
                        let deadline = sleeps.get(&(pid, process.wait_token));
                        body.byte(2);
                        body.uint(deadline.map_or(0, |d| d.saturating_sub(now)));
                    }
                    Status::Waiting(_) => body.byte(1),
                    Status::Runnable => body.byte(0),
                }
                process_image::write_process(process, None, now, &mut modules, &mut body)?;
                write_extra(process, &mut body, &mut modules)
            });
            match written {
                Some(Ok(())) => {}
                Some(Err(what)) => return Err(ImageError::Unsaveable(what.to_string())),
                // Ended since the list was made.
                None => return Err(ImageError::Bad("a process ended while saving".into())),
            }
        }
        body.uint(sends.len() as u64);
        for (deadline, to, message) in &sends {
            body.uint(deadline.saturating_sub(now));
            body.uint(to.0);
            body.value(message, &mut modules)
                .map_err(|what| ImageError::Unsaveable(what.to_string()))?;
        }
        // Channels, as met in the values above (and in channels' own
        // buffers, which can hold channels): each written once.
        let mut written: HashSet<u64> = HashSet::new();
        loop {
            let pending: Vec<_> = modules
                .channels
                .iter()
                .flatten()
                .filter(|(id, _)| !written.contains(*id))
                .map(|(id, channel)| (*id, channel.clone()))
                .collect();
            if pending.is_empty() {
                break;
            }
            for (id, channel) in pending {
                written.insert(id);
                let (capacity, closed, buffer): (usize, bool, Vec<Value>) = {
                    let state = channel.lock();
                    (
                        state.capacity,
                        state.closed,
                        state.buffer.iter().cloned().collect(),
                    )
                };
                body.byte(1);
                body.uint(id);
                body.uint(capacity as u64);
                body.byte(closed as u8);
                body.uint(buffer.len() as u64);
                for value in &buffer {
                    body.value(value, &mut modules)
                        .map_err(|what| ImageError::Unsaveable(what.to_string()))?;
                }
            }
        }
        body.byte(0);
        body.uint(self.shared.next_ref.load(Ordering::Relaxed));
        body.uint(self.shared.next_chan.load(Ordering::Relaxed));
        body.uint(self.main.map_or(0, |pid| pid.0 + 1));
        Ok(process_image::finish(
            process_image::VM,
            place,
            &modules,
            body,
        ))
    }

    /// Loads a whole-VM image written by [`Vm::save_image`] into this VM,
    /// which must have loaded the same code and have no live process: every
    /// process comes back under its own pid and runs on from where it was.
    /// The image is checked as untrusted input, and nothing is loaded
    /// unless all of it is good.
    pub fn load_image(&mut self, mut reader: impl Read) -> Result<(), ImageError> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        if self.shared.table.live.load(Ordering::Relaxed) != 0 {
            return Err(ImageError::Bad(
                "a VM image loads into a VM with no live process".into(),
            ));
        }
        for name in process_image::module_names(&bytes) {
            let mut code = self.code_mut();
            if code.lazy.iter().any(|(m, _)| *m == name) {
                Vm::load_library(&mut code, &name);
            }
        }
        let code = self.world();
        let now = self.scheduler.now();
        let nodes = process_image::DistNodes(self.shared.dist.get().cloned());
        let mut input = Reader::new(&bytes);
        let resolver = Resolver::new(
            &code,
            &mut input,
            process_image::VM,
            self.scheduler.place(),
            &nodes,
        )?;
        let read = read_image(&code, &mut input, &resolver, now);
        let (processes, sends, next_ref, next_chan, main) =
            read.map_err(|why| ImageError::from(resolver.error(why)))?;
        if processes.len() > self.scheduler.limits.max_processes {
            return Err(ImageError::Limit(format!(
                "the image holds {} processes; this VM allows {}",
                processes.len(),
                self.scheduler.limits.max_processes
            )));
        }
        let taken: Vec<(u32, u32)> = processes
            .iter()
            .map(|p| (p.pid.slot() as u32, p.pid.serial()))
            .collect();
        let next_serial = taken
            .iter()
            .map(|(_, serial)| serial + 1)
            .max()
            .unwrap_or(1);
        let slots = self
            .shared
            .table
            .lay_out(&taken, next_serial)
            .ok_or_else(|| ImageError::Limit("the image's pids do not fit this VM".into()))?;
        let resolver_max_ref = resolver.max_ref.get();
        drop(resolver);
        drop(code);
        let max_ref = resolver_max_ref;
        self.shared
            .next_ref
            .fetch_max(next_ref.max(max_ref.saturating_add(1)), Ordering::Relaxed);
        self.shared
            .next_chan
            .fetch_max(next_chan, Ordering::Relaxed);
        for (loaded, slot) in processes.into_iter().zip(slots) {
            let pid = loaded.pid;
            slot.initial
                .store(loaded.restored.initial, Ordering::Relaxed);
            let mut process = Box::new(process_image::into_process(
                loaded.restored,
                pid,
                &Value::Nil,
            ));
            let extra_needed = !(loaded.links.is_empty()
                && loaded.monitored_by.is_empty()
                && loaded.monitoring.is_empty()
                && loaded.monitor_names.is_empty());
            if extra_needed {
                let extra = process.extra();
                extra.links.extend(loaded.links);
                extra.monitored_by.extend(loaded.monitored_by);
                extra.monitoring.extend(loaded.monitoring);
                extra.monitor_names = loaded.monitor_names;
            }
            if let Some(name) = loaded.name {
                // Names were checked unique when read.
                let _ = self.scheduler.register(name, pid);
            }
            match loaded.sleeping {
                Some(left) => {
                    let deadline = now.saturating_add(left);
                    self.scheduler
                        .block(&mut process, Wait::Sleep, Some(deadline));
                    self.scheduler.park(process);
                }
                None => {
                    slot.put_body(process);
                    self.scheduler.make_runnable(pid);
                }
            }
        }
        for (left, to, message) in sends {
            self.shared
                .timers
                .add(now.saturating_add(left), TimerKind::Send { to, message });
        }
        if let Some(main) = main {
            if self.shared.table.get(main).is_some() {
                self.main = Some(main);
            }
        }
        self.shared.external.notify();
        Ok(())
    }
}

/// The links and monitors of a process (those with other nodes left out).
fn write_extra(
    process: &Process,
    body: &mut Writer,
    modules: &mut Modules<'_>,
) -> Result<(), &'static str> {
    let Some(extra) = &process.extra else {
        for _ in 0..4 {
            body.uint(0);
        }
        return Ok(());
    };
    let links: Vec<&Pid> = extra.links.iter().filter(|p| **p != DIST_PID).collect();
    body.uint(links.len() as u64);
    for pid in links {
        body.uint(pid.0);
    }
    for map in [&extra.monitored_by, &extra.monitoring] {
        let local: Vec<(&u64, &Pid)> = map.iter().filter(|(_, p)| **p != DIST_PID).collect();
        body.uint(local.len() as u64);
        for (reference, pid) in local {
            body.uint(*reference);
            body.uint(pid.0);
        }
    }
    // Only the names of the monitors kept (those of this node).
    let names: Vec<&(u64, Value)> = extra
        .monitor_names
        .iter()
        .filter(|(reference, _)| {
            extra
                .monitoring
                .get(reference)
                .is_some_and(|p| *p != DIST_PID)
        })
        .collect();
    body.uint(names.len() as u64);
    for (reference, name) in names {
        body.uint(*reference);
        body.value(name, modules)?;
    }
    Ok(())
}

type Image = (Vec<Loaded>, Vec<(u64, Pid, Value)>, u64, u64, Option<Pid>);

/// Reads the body of a whole-VM image (after its header), checking it.
fn read_image(
    code: &crate::interp::code::Code,
    input: &mut Reader<'_>,
    resolver: &Resolver<'_>,
    now: u64,
) -> Result<Image, String> {
    let count = input.count(8)?;
    let mut processes = Vec::with_capacity(count);
    let mut slots_seen: HashSet<usize> = HashSet::new();
    let mut names_seen: HashSet<Atom> = HashSet::new();
    for _ in 0..count {
        let (slot, serial) = (input.u32()?, input.u32()?);
        if serial == 0 || slot as usize >= crate::runtime::dist::RESERVED_SLOT {
            return Err(format!("pid ({slot}, {serial}) is not a process's"));
        }
        if !slots_seen.insert(slot as usize) {
            return Err(format!("two processes in slot {slot}"));
        }
        let name = match input.value(resolver)? {
            Value::Nil => None,
            Value::Atom(name) if names_seen.insert(name) => Some(name),
            other => return Err(format!("{} is no name for one process", other.inspect())),
        };
        let sleeping = match input.byte()? {
            0 | 1 => None,
            2 => Some(input.uint()?),
            tag => return Err(format!("unknown process status {tag}")),
        };
        let restored = process_image::read_process(code, input, resolver, now)?;
        let links = pids(input)?;
        let monitored_by = pairs(input)?;
        let monitoring = pairs(input)?;
        let monitor_names = (0..input.count(2)?)
            .map(|_| Ok((input.uint()?, input.value(resolver)?)))
            .collect::<Result<Vec<_>, String>>()?;
        processes.push(Loaded {
            pid: Pid::new(slot, serial),
            name,
            sleeping,
            restored,
            links,
            monitored_by,
            monitoring,
            monitor_names,
        });
    }
    let mut sends = Vec::new();
    for _ in 0..input.count(3)? {
        let (left, to) = (input.uint()?, Pid(input.uint()?));
        sends.push((left, to, input.value(resolver)?));
    }
    let mut channels_seen: HashSet<u64> = HashSet::new();
    loop {
        match input.byte()? {
            0 => break,
            1 => {}
            tag => return Err(format!("unknown channel-section tag {tag}")),
        }
        let id = input.uint()?;
        if !channels_seen.insert(id) {
            return Err(format!("channel {id} twice"));
        }
        let capacity = input.uint()?;
        if capacity > 1 << 30 {
            return Err(format!("a channel of capacity {capacity}"));
        }
        let closed = match input.byte()? {
            0 => false,
            1 => true,
            flag => return Err(format!("unknown channel flag {flag}")),
        };
        let held = input.count(1)?;
        if held as u64 > capacity {
            return Err(format!(
                "channel {id} holds {held} values, more than its capacity"
            ));
        }
        let mut buffer = VecDeque::new();
        for _ in 0..held {
            buffer.push_back(input.value(resolver)?);
        }
        let Value::Chan(channel) = crate::data::image::Resolve::channel(resolver, id)? else {
            return Err("a channel that is not one".into());
        };
        let mut state = channel.lock();
        state.capacity = capacity as usize;
        state.closed = closed;
        state.buffer = buffer;
    }
    if let Some(channels) = &resolver.channels {
        if let Some(id) = channels
            .borrow()
            .keys()
            .find(|id| !channels_seen.contains(id))
        {
            return Err(format!("channel {id} is held but not described"));
        }
    }
    let next_ref = input.uint()?;
    let next_chan = input.uint()?;
    let main = match input.uint()? {
        0 => None,
        n => Some(Pid(n - 1)),
    };
    if input.left() != 0 {
        return Err(format!("{} bytes after the end of the image", input.left()));
    }
    Ok((processes, sends, next_ref, next_chan, main))
}
