//! Process images (LANGUAGE.md §13; the format is docs/IMAGES.md): a
//! process's frames, registers and mailbox written as bytes, and a process
//! rebuilt from them.
//!
//! Invariants:
//! - Saving only reads the process: it goes on unchanged.
//! - An image names code by module name and bytecode hash, never by the
//!   VM-wide prototype index (which depends on what was loaded before).
//! - A process rebuilt from an image holds every invariant the
//!   interpreter's unchecked accesses rest on (`unchecked.rs`): each frame
//!   names a loaded prototype and a pc inside its code; the stack is as
//!   long as the largest frame's window, and every return register,
//!   resume register and deadline register lies inside it; each guard
//!   points inside the code and registers of the frame it belongs to;
//!   every closure has the captures its prototype needs. An image that
//!   does not is refused before any process exists.
//! - Time does not travel: a `receive ... after` deadline is written as
//!   the time left, and becomes a deadline again on the restoring VM's
//!   clock.

use std::cell::Cell;
use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use weft_compiler::bytecode::Instr;

use crate::data::atom::Atom;
pub(crate) use crate::data::image::Place;
use crate::data::image::{
    BadImage, EncodeFunction, FoundFunction, Reader, Resolve, RestoreError, Writer,
};
use crate::data::remote::{RemotePid, RemoteRef};
use crate::data::value::{FnKind, Pid, Value};
use crate::interp::code::{Code, LoadedModule, LoadedProto};
use crate::process::frames::{Entry, EntryView, Frame, Frames, Guard};
use crate::process::{Handoff, Process, Status, Wait};

/// The first bytes of every image.
pub(crate) const MAGIC: &[u8; 8] = b"WEFTIMG\0";
/// The format's version: a reader refuses any other.
pub(crate) const VERSION: u64 = 1;
/// The kind byte of an image of one process.
pub(crate) const PROCESS: u8 = b'P';
/// The kind byte of an image of a whole VM.
pub(crate) const VM: u8 = b'V';

const CALL: u8 = 0;
const GUARD: u8 = 1;

/// What the restoring VM says about pids and refs of other nodes (the
/// printed index of a node is the distribution's).
pub(crate) trait Nodes {
    fn remote_pid(&self, pid: RemotePid) -> Value;
    fn remote_ref(&self, reference: RemoteRef) -> Value;
}

/// A process image's code table: the modules its frames and closures use,
/// numbered in the order first met.
pub(crate) struct Modules<'c> {
    code: &'c Code,
    used: Vec<u32>,
    numbers: FxHashMap<u32, u32>,
    /// In a whole-VM image, the channels met (by number): they travel,
    /// since every holder is in the image. `None` in a process image.
    pub channels: Option<FxHashMap<u64, std::sync::Arc<crate::data::channel::Channel>>>,
}

impl<'c> Modules<'c> {
    pub fn new(code: &'c Code, whole_vm: bool) -> Modules<'c> {
        Modules {
            code,
            used: Vec::new(),
            numbers: FxHashMap::default(),
            channels: whole_vm.then(FxHashMap::default),
        }
    }

    /// The image's number for prototype `proto`'s module, and the
    /// prototype's index in its module.
    fn name(&mut self, proto: u32) -> (u32, u32) {
        let loaded = &self.code.protos[proto as usize];
        let module = loaded.module;
        let first = self.code.modules[module as usize].first;
        let used = &mut self.used;
        let number = *self.numbers.entry(module).or_insert_with(|| {
            used.push(module);
            (used.len() - 1) as u32
        });
        (number, proto - first)
    }
}

impl EncodeFunction for Modules<'_> {
    fn function(&mut self, kind: &FnKind, out: &mut Writer) -> Result<(), &'static str> {
        match kind {
            FnKind::Weft { proto, .. } => {
                let (module, index) = self.name(*proto);
                out.byte(0);
                out.uint(module as u64);
                out.uint(index as u64);
            }
            FnKind::Global(slot) => {
                out.byte(1);
                out.text(self.code.global_names[*slot as usize].as_bytes());
            }
        }
        Ok(())
    }

    fn channel(
        &mut self,
        channel: &std::sync::Arc<crate::data::channel::Channel>,
        out: &mut Writer,
    ) -> Result<(), &'static str> {
        let Some(channels) = &mut self.channels else {
            return Err("channel");
        };
        channels
            .entry(channel.id)
            .or_insert_with(|| channel.clone());
        out.uint(channel.id);
        Ok(())
    }
}

/// The registers of `frame` that hold a `receive ... after` deadline: the
/// frame's pc lies after a `ReceiveStart` with a timeout and no later than
/// the `ReceiveWait` that closes it (the receive's cursor window is held
/// for all of that stretch, arms included).
fn deadline_registers(proto: &LoadedProto, pc: usize) -> Vec<u32> {
    let code = &proto.code;
    let mut registers = Vec::new();
    for (start, instr) in code.iter().enumerate().take(pc) {
        let Instr::ReceiveStart {
            cursor,
            timeout: true,
        } = instr
        else {
            continue;
        };
        let closes = code[start + 1..]
            .iter()
            .position(|later| matches!(later, Instr::ReceiveWait { cursor: c, .. } if c == cursor));
        if closes.is_some_and(|offset| pc <= start + 1 + offset) {
            registers.push(cursor.index() as u32 + 1);
        }
    }
    registers
}

/// Why a process cannot be saved as it stands, if it cannot. In a
/// whole-VM image a process may wait on a channel (the channel travels
/// too): it tries again when loaded.
fn unsaveable_state(process: &Process, whole_vm: bool) -> Option<&'static str> {
    if let Status::Waiting(wait) = &process.status {
        match wait {
            Wait::Mailbox | Wait::Sleep => {}
            Wait::ChanRecv(_) | Wait::ChanSend(_) | Wait::Select(_) if whole_vm => {}
            Wait::ChanRecv(_) | Wait::ChanSend(_) | Wait::Select(_) => return Some("channel"),
            Wait::Node => return Some("node_connect"),
            Wait::Host(_) => return Some("host_call"),
            Wait::Net(_) => return Some("socket"),
        }
    }
    match &process.handoff {
        None | Some(Handoff::TimedOut) => {}
        Some(Handoff::Failed(_)) => return Some("host_call"),
        Some(_) if whole_vm => {}
        Some(_) => return Some("channel"),
    }
    if let Some(extra) = &process.extra {
        if extra.request.is_some() {
            return Some("native_call");
        }
        if !extra.held.is_empty() {
            return Some("held_process");
        }
        if extra.files.iter().any(|file| !file.is_closed()) {
            return Some("file");
        }
    }
    None
}

/// What a process that saved itself finds in its resume register when
/// its image is restored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Resume {
    /// `(:ok, image)`: what `process.save(self())` returned.
    Saved = 1,
    /// `(:moved, nil)`: it was moved (`process.image_for_move`).
    Moved = 2,
}

/// Writes `process` as an image. `resume` names the register that gets the
/// save's own result when the image is restored (saving `self()`).
pub(crate) fn save(
    code: &Code,
    process: &Process,
    resume: Option<(u32, Resume)>,
    now: u64,
    place: Place,
) -> Result<Vec<u8>, &'static str> {
    let mut modules = Modules::new(code, false);
    let mut body = Writer::new();
    write_process(process, resume, now, &mut modules, &mut body)?;
    Ok(finish(PROCESS, place, &modules, body))
}

/// The image: its header (magic, version, kind, the node it was saved on,
/// the code table `modules` filled while `body` was written), then `body`.
pub(crate) fn finish(kind: u8, place: Place, modules: &Modules<'_>, body: Writer) -> Vec<u8> {
    let mut image = Writer::new();
    image.out.extend_from_slice(MAGIC);
    image.uint(VERSION);
    image.byte(kind);
    image.text(place.node.name().as_bytes());
    image.uint(place.creation as u64);
    image.uint(modules.used.len() as u64);
    for module in &modules.used {
        let module = &modules.code.modules[*module as usize];
        image.text(module.name.as_bytes());
        image.out.extend_from_slice(&module.hash.to_le_bytes());
    }
    image.out.extend_from_slice(&body.out);
    image.out
}

/// Writes one process: its settings, frames, deadlines, registers and
/// mailbox (docs/IMAGES.md, "Process").
pub(crate) fn write_process(
    process: &Process,
    resume: Option<(u32, Resume)>,
    now: u64,
    modules: &mut Modules<'_>,
    body: &mut Writer,
) -> Result<(), &'static str> {
    let code = modules.code;
    let whole_vm = modules.channels.is_some();
    if let Some(what) = unsaveable_state(process, whole_vm) {
        return Err(what);
    }
    let trap_exits = process.trap_exits();
    body.uint(trap_exits as u64);
    match resume {
        None => body.byte(0),
        Some((register, kind)) => {
            body.byte(kind as u8);
            body.uint(register as u64);
        }
    }
    match &process.handoff {
        None => body.byte(0),
        Some(Handoff::TimedOut) => body.byte(1),
        Some(Handoff::Received { arm, value }) => {
            body.byte(2);
            body.uint(*arm as u64);
            body.value(value, modules)?;
        }
        Some(Handoff::Sent { arm }) => {
            body.byte(3);
            body.uint(*arm as u64);
        }
        Some(Handoff::Closed { arm }) => {
            body.byte(4);
            body.uint(*arm as u64);
        }
        Some(Handoff::Failed(_)) => return Err("host_call"),
    }
    // The frames, one walk, and the deadlines their receives hold.
    let entries: Vec<EntryView<'_>> = process.frames.entries().collect();
    let mut deadlines = Vec::new();
    let mut window = 0usize;
    body.uint(entries.len() as u64);
    for entry in &entries {
        match entry {
            EntryView::Call(frame) => {
                let proto = &code.protos[frame.proto as usize];
                let (module, index) = modules.name(frame.proto);
                body.byte(CALL);
                body.uint(module as u64);
                body.uint(index as u64);
                body.uint(frame.pc as u64);
                body.uint(frame.base as u64);
                body.uint(frame.ret as u64);
                window = window.max(frame.base as usize + proto.registers as usize);
                for register in deadline_registers(proto, frame.pc as usize) {
                    let at = frame.base as usize + register as usize;
                    if let Some(Value::Int(deadline)) = process.stack.get(at) {
                        deadlines.push((at, (*deadline as u64).saturating_sub(now)));
                    }
                }
            }
            EntryView::Guard(guard) => {
                body.byte(GUARD);
                body.uint(guard.pc as u64);
                body.uint(guard.dst.map_or(0, |dst| dst as u64 + 1));
            }
            EntryView::Native => return Err("native_call"),
            EntryView::Compare => return Err("comparison"),
        }
    }
    body.uint(deadlines.len() as u64);
    for (register, left) in &deadlines {
        body.uint(*register as u64);
        body.uint(*left);
    }
    let registers = &process.stack[..window.min(process.stack.len())];
    body.uint(registers.len() as u64);
    for (at, value) in registers.iter().enumerate() {
        // A deadline is written as the time left (above), its register nil.
        if deadlines.iter().any(|(register, _)| *register == at) {
            body.value(&Value::Nil, modules)?;
        } else {
            body.value(value, modules)?;
        }
    }
    body.uint(process.mailbox.len() as u64);
    for message in &process.mailbox {
        body.value(message, modules)?;
    }
    Ok(())
}

/// A process read from an image, not yet started.
pub(crate) struct Restored {
    pub stack: Vec<Value>,
    pub frames: Frames,
    pub mailbox: VecDeque<Value>,
    pub trap_exits: bool,
    /// How its last wait ended, if it has not run since.
    pub handoff: Option<Handoff>,
    /// The prototype of its outermost frame (the process list shows it).
    pub initial: u32,
    /// The register that gets the save's own result: the image saved its
    /// own process.
    pub resume: Option<(usize, Resume)>,
    /// The largest local ref the image holds (0 if none).
    pub max_ref: u64,
}

/// Pids and refs of other nodes in an image, as the distribution prints
/// them.
pub(crate) struct DistNodes(pub Option<std::sync::Arc<dyn crate::runtime::dist::Distribution>>);

impl Nodes for DistNodes {
    fn remote_pid(&self, mut pid: RemotePid) -> Value {
        pid.index = self.0.as_ref().map_or(0, |dist| dist.node_index(pid.node));
        Value::RemotePid(std::sync::Arc::new(pid))
    }

    fn remote_ref(&self, mut reference: RemoteRef) -> Value {
        reference.index = self
            .0
            .as_ref()
            .map_or(0, |dist| dist.node_index(reference.node));
        Value::RemoteRef(std::sync::Arc::new(reference))
    }
}

/// Restores the process image `image` (a bytes value) and starts it: the
/// one way a process image becomes a process, for scripts
/// (`process.restore`), hosts (`Vm::restore_process`) and other nodes
/// (`process.migrate`).
pub(crate) fn start(
    code: &Code,
    scheduler: &mut crate::runtime::scheduler::Scheduler,
    image: &Value,
) -> Result<Pid, RestoreError> {
    let Value::Bytes(bytes) = image else {
        return Err(RestoreError::Bad("an image is bytes".into()));
    };
    let nodes = DistNodes(scheduler.shared.dist.get().cloned());
    let restored = restore(code, bytes, scheduler.now(), scheduler.place(), &nodes)?;
    // New refs are made above the image's, so none is equal to one of them.
    scheduler.shared.next_ref.fetch_max(
        restored.max_ref.saturating_add(1),
        std::sync::atomic::Ordering::Relaxed,
    );
    scheduler
        .start_body(
            restored.initial,
            |pid| into_process(restored, pid, image),
            crate::process::Watcher::Nobody,
        )
        .map_err(RestoreError::Refused)
}

/// The process a restored image becomes, with pid `pid`; `image` is the
/// image as a value (its own `process.save` returns it again there).
pub(crate) fn into_process(restored: Restored, pid: Pid, image: &Value) -> Process {
    let Restored {
        mut stack,
        frames,
        mailbox,
        trap_exits,
        handoff,
        resume,
        ..
    } = restored;
    match resume {
        Some((register, Resume::Saved)) => {
            stack[register] = Value::tuple(vec![Value::Atom(Atom::OK), image.clone()]);
        }
        Some((register, Resume::Moved)) => {
            stack[register] = Value::tuple(vec![Value::atom("moved"), Value::Nil]);
        }
        None => {}
    }
    let mut process = Process::new(pid, stack, *frames.top());
    process.frames = frames;
    process.mailbox = mailbox;
    if trap_exits {
        process.extra().trap_exits = true;
    }
    process.handoff = handoff;
    process
}

/// Finds what an image names, and translates pids and refs of the node it
/// was saved on.
pub(crate) struct Resolver<'c> {
    code: &'c Code,
    modules: Vec<&'c LoadedModule>,
    from: Place,
    here: Place,
    nodes: &'c dyn Nodes,
    code_changed: Cell<bool>,
    /// The largest local ref read: the restoring VM makes new refs above
    /// it, so a ref from the image is never equal to a new one.
    pub max_ref: Cell<u64>,
    /// In a whole-VM image, its channels by number, made when first met
    /// (their state comes at the image's end). `None` in a process image.
    pub channels:
        Option<std::cell::RefCell<FxHashMap<u64, std::sync::Arc<crate::data::channel::Channel>>>>,
}

impl<'c> Resolver<'c> {
    /// Reads an image's header (it must be of `kind`) and finds its code.
    pub fn new(
        code: &'c Code,
        input: &mut Reader<'_>,
        kind: u8,
        here: Place,
        nodes: &'c dyn Nodes,
    ) -> Result<Resolver<'c>, RestoreError> {
        let (from, modules) = header(code, input, kind)?;
        Ok(Resolver {
            code,
            modules,
            from,
            here,
            nodes,
            code_changed: Cell::new(false),
            max_ref: Cell::new(0),
            channels: (kind == VM).then(Default::default),
        })
    }

    fn whole_vm(&self) -> bool {
        self.channels.is_some()
    }

    /// What a reading error means: changed code, or a bad image.
    pub fn error(&self, why: BadImage) -> RestoreError {
        if self.code_changed.get() {
            RestoreError::CodeChanged
        } else {
            RestoreError::Bad(why)
        }
    }

    /// The VM-wide prototype of module number `module`'s prototype `index`.
    fn proto(&self, module: u64, index: u64) -> Result<u32, BadImage> {
        let loaded = self
            .modules
            .get(module as usize)
            .ok_or_else(|| format!("module {module} is not in the image's code table"))?;
        if index >= loaded.count as u64 {
            return Err(format!("{} has no function {index}", loaded.name));
        }
        Ok(loaded.first + index as u32)
    }

    fn same_node(&self) -> bool {
        self.from.node == self.here.node
    }
}

impl Resolve for Resolver<'_> {
    fn function(&self, input: &mut Reader<'_>) -> Result<FoundFunction, BadImage> {
        match input.byte()? {
            0 => {
                let (module, index) = (input.uint()?, input.uint()?);
                let proto = self.proto(module, index)?;
                let loaded = &self.code.protos[proto as usize];
                Ok(FoundFunction::Weft {
                    name: loaded.name.clone(),
                    arity: loaded.arity,
                    proto,
                    captures: loaded.captures as usize,
                })
            }
            1 => {
                let name = input.string()?;
                let defined = self.code.global_index.get(name).filter(|slot| {
                    !matches!(
                        self.code.globals[**slot as usize],
                        crate::interp::code::Global::Undefined
                    )
                });
                match defined {
                    Some(&slot) => Ok(FoundFunction::Value(crate::interp::function_value(
                        self.code, slot,
                    ))),
                    None => {
                        self.code_changed.set(true);
                        Err(format!("{name} is not defined here"))
                    }
                }
            }
            tag => Err(format!("unknown function tag {tag}")),
        }
    }

    fn pid(&self, raw: u64) -> Value {
        let pid = Pid(raw);
        // A whole VM comes back with its own pids, whatever the node is
        // called now.
        if self.same_node() || self.whole_vm() {
            return Value::Pid(pid);
        }
        let (id, serial) = pid.erlang_parts();
        self.nodes.remote_pid(RemotePid {
            node: self.from.node,
            id,
            serial,
            creation: self.from.creation,
            index: 0,
        })
    }

    fn reference(&self, raw: u64) -> Value {
        self.max_ref.set(self.max_ref.get().max(raw));
        Value::Ref(raw)
    }

    fn remote_pid(&self, pid: RemotePid) -> Value {
        if pid.node == self.here.node {
            if let Some(local) = Pid::from_erlang_parts(pid.id, pid.serial) {
                return Value::Pid(local);
            }
        }
        self.nodes.remote_pid(pid)
    }

    fn remote_ref(&self, reference: RemoteRef) -> Value {
        self.nodes.remote_ref(reference)
    }

    fn channel(&self, id: u64) -> Result<Value, BadImage> {
        let Some(channels) = &self.channels else {
            return Err("a channel in a process image".into());
        };
        let mut channels = channels.borrow_mut();
        let channel = channels
            .entry(id)
            .or_insert_with(|| std::sync::Arc::new(crate::data::channel::Channel::new(id, 0)));
        Ok(Value::Chan(channel.clone()))
    }
}

/// The names of the modules an image's code table names, read from its
/// header alone (empty if it has none): a host loads the library modules
/// among them before restoring it.
pub(crate) fn module_names(image: &[u8]) -> Vec<String> {
    let mut input = Reader::new(image);
    let mut names = Vec::new();
    let read = |input: &mut Reader<'_>, names: &mut Vec<String>| -> Result<(), BadImage> {
        if input.bytes(MAGIC.len())? != &MAGIC[..] {
            return Ok(());
        }
        input.uint()?;
        input.byte()?;
        input.string()?;
        input.uint()?;
        for _ in 0..input.count(9)? {
            names.push(input.string()?.to_string());
            input.bytes(8)?;
        }
        Ok(())
    };
    let _ = read(&mut input, &mut names);
    names
}

/// Reads the header of an image: the node it was saved on and its code
/// table, each module found in `code` by name and hash.
fn header<'c>(
    code: &'c Code,
    input: &mut Reader<'_>,
    kind: u8,
) -> Result<(Place, Vec<&'c LoadedModule>), RestoreError> {
    let bad = RestoreError::Bad;
    if input.bytes(MAGIC.len()).ok() != Some(&MAGIC[..]) {
        return Err(bad("not a Weft image (wrong magic)".into()));
    }
    let version = input.uint().map_err(bad)?;
    if version != VERSION {
        return Err(bad(format!(
            "format version {version}; this VM reads version {VERSION}"
        )));
    }
    if input.byte().map_err(bad)? != kind {
        return Err(bad(if kind == PROCESS {
            "not an image of one process".into()
        } else {
            "not an image of a whole VM".into()
        }));
    }
    let node = input.string().map_err(bad)?;
    let node = Atom::try_new(node).ok_or_else(|| bad("too many atoms".into()))?;
    let creation = input.u32().map_err(bad)?;
    let count = input.count(9).map_err(bad)?;
    let mut modules = Vec::with_capacity(count);
    let mut changed = false;
    for _ in 0..count {
        let name = input.string().map_err(bad)?;
        let hash = input.bytes(8).map_err(bad)?;
        let hash = u64::from_le_bytes(hash.try_into().unwrap_or_default());
        match code.module_with(name, hash) {
            Ok(module) => modules.push(module),
            Err(_) => changed = true,
        }
    }
    if changed {
        return Err(RestoreError::CodeChanged);
    }
    Ok((Place { node, creation }, modules))
}

/// Reads and checks a process image (see the invariants above). `now` is
/// the restoring VM's clock; `here` where it stands.
pub(crate) fn restore(
    code: &Code,
    image: &[u8],
    now: u64,
    here: Place,
    nodes: &dyn Nodes,
) -> Result<Restored, RestoreError> {
    let mut input = Reader::new(image);
    let resolver = Resolver::new(code, &mut input, PROCESS, here, nodes)?;
    let read = read_process(code, &mut input, &resolver, now).and_then(|mut restored| {
        if input.left() != 0 {
            return Err(format!("{} bytes after the end of the image", input.left()));
        }
        restored.max_ref = resolver.max_ref.get();
        Ok(restored)
    });
    read.map_err(|why| resolver.error(why))
}

pub(crate) fn read_process(
    code: &Code,
    input: &mut Reader<'_>,
    resolver: &Resolver<'_>,
    now: u64,
) -> Result<Restored, BadImage> {
    let trap_exits = match input.uint()? {
        0 => false,
        1 => true,
        flags => return Err(format!("unknown process flags {flags}")),
    };
    let resume = match input.byte()? {
        0 => None,
        // A whole VM is saved between slices: no process is in a call.
        1 if !resolver.whole_vm() => Some((input.uint()?, Resume::Saved)),
        2 if !resolver.whole_vm() => Some((input.uint()?, Resume::Moved)),
        tag => return Err(format!("unknown resume tag {tag}")),
    };
    let handoff = match input.byte()? {
        0 => None,
        1 => Some(Handoff::TimedOut),
        2 if resolver.whole_vm() => Some(Handoff::Received {
            arm: input.u32()?,
            value: input.value(resolver)?,
        }),
        3 if resolver.whole_vm() => Some(Handoff::Sent { arm: input.u32()? }),
        4 if resolver.whole_vm() => Some(Handoff::Closed { arm: input.u32()? }),
        tag => return Err(format!("unknown wake-up tag {tag}")),
    };
    // Frames: each checked against its prototype as it is read.
    let count = input.count(2)?;
    if count > 2 * crate::interp::MAX_FRAMES {
        return Err(format!("{count} frames is more than a process may have"));
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(count);
    let mut window: usize = 0;
    for _ in 0..count {
        match input.byte()? {
            CALL => {
                let proto = resolver.proto(input.uint()?, input.uint()?)?;
                let (pc, base, ret) = (input.u32()?, input.u32()?, input.u32()?);
                let loaded = &code.protos[proto as usize];
                if pc as usize >= loaded.code.len() {
                    return Err(format!("pc {pc} is outside {}", loaded.name));
                }
                let end = base as usize + loaded.registers as usize;
                if end > crate::interp::MAX_STACK_SLOTS {
                    return Err(format!("a frame at {base} is past the stack's limit"));
                }
                window = window.max(end);
                entries.push(Entry::Call(Frame {
                    proto,
                    pc,
                    base,
                    ret,
                }));
            }
            GUARD => {
                let pc = input.u32()?;
                let dst = match input.uint()? {
                    0 => None,
                    n if n <= u16::MAX as u64 + 1 => Some((n - 1) as u16),
                    n => return Err(format!("guard register {n} is out of range")),
                };
                entries.push(Entry::Guard(Guard { pc, dst }));
            }
            tag => return Err(format!("unknown frame tag {tag}")),
        }
    }
    // Each guard belongs to the frame above it: its pc and register must be
    // that frame's. The last entry is the running frame.
    let mut owner: Option<&LoadedProto> = None;
    for entry in entries.iter().rev() {
        match entry {
            Entry::Call(frame) => {
                owner = Some(&code.protos[frame.proto as usize]);
                if frame.ret as usize >= window.max(1) {
                    return Err(format!("return register {} is past the stack", frame.ret));
                }
            }
            Entry::Guard(guard) => {
                let Some(owner) = owner else {
                    return Err("the innermost entry is not a frame".into());
                };
                if guard.pc as usize >= owner.code.len()
                    || guard.dst.is_some_and(|dst| dst >= owner.registers)
                {
                    return Err(format!("a guard outside {}", owner.name));
                }
            }
            Entry::Native(_) | Entry::Compare(_) => {}
        }
    }
    let Some(Entry::Call(top)) = entries.pop() else {
        return Err("an image without a frame".into());
    };
    let initial = match entries.first() {
        Some(Entry::Call(first)) => first.proto,
        _ => entries
            .iter()
            .find_map(|entry| match entry {
                Entry::Call(frame) => Some(frame.proto),
                _ => None,
            })
            .unwrap_or(top.proto),
    };
    let window = window.max(1);
    let mut deadlines = Vec::new();
    for _ in 0..input.count(2)? {
        let (register, left) = (input.uint()?, input.uint()?);
        if register as usize >= window {
            return Err(format!("deadline register {register} is past the stack"));
        }
        deadlines.push((register as usize, left));
    }
    let registers = input.count(1)?;
    if registers > window {
        return Err(format!(
            "{registers} registers where the frames need {window}"
        ));
    }
    let mut stack = Vec::with_capacity(window);
    for _ in 0..registers {
        stack.push(input.value(resolver)?);
    }
    stack.resize(window, Value::Nil);
    for (register, left) in deadlines {
        stack[register] = Value::Int(now.saturating_add(left).min(i64::MAX as u64) as i64);
    }
    if let Some((register, _)) = resume {
        if register as usize >= window {
            return Err(format!("resume register {register} is past the stack"));
        }
    }
    let messages = input.count(1)?;
    let mut mailbox = VecDeque::with_capacity(messages);
    for _ in 0..messages {
        mailbox.push_back(input.value(resolver)?);
    }
    let mut restored = Restored {
        stack,
        frames: Frames::rebuilt(entries, top),
        mailbox,
        trap_exits,
        handoff,
        initial,
        resume: None,
        max_ref: 0,
    };
    if let Some((register, kind)) = resume {
        // Filled in by the caller, who holds the image as a value.
        restored.stack[register as usize] = Value::Nil;
        restored.resume = Some((register as usize, kind));
    }
    Ok(restored)
}
