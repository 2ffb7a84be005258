//! `weft run --image FILE` and `weft resume FILE` (LANGUAGE.md §13): the
//! file is the script's path and arguments, then the whole-VM image
//! (`Vm::save_image`, docs/IMAGES.md). Resuming loads the script from that
//! path — the image names its code by hash, so a script changed since is
//! refused — and then the image.
//!
//! The signal: SIGINT and SIGTERM set a flag (all a signal handler may
//! safely do); a thread watching it wakes the VM's drive loop, whose step
//! sees the flag and stops so the VM can be saved between slices.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft_vm::{ImageError, Vm, Waker};

/// The first bytes of the file.
const MAGIC: &[u8; 8] = b"WEFTRUN\0";

/// Set by the signal handler.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn note_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// Whether a save was asked for.
pub struct SaveSignal {
    came: Arc<AtomicBool>,
}

impl SaveSignal {
    pub fn came(&self) -> bool {
        self.came.load(Ordering::SeqCst)
    }
}

/// Catches SIGINT and SIGTERM from now on; `waker` wakes the VM when one
/// comes.
pub fn on_signal(waker: Waker) -> SaveSignal {
    let handler = note_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `note_signal` only stores to an atomic, which is
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    let came = Arc::new(AtomicBool::new(false));
    let seen = came.clone();
    // Once a signal came, the VM is woken every 20 ms until the run
    // saves and ends: a save tried while a process was in the middle of a
    // builtin's callback is tried again.
    std::thread::spawn(move || loop {
        if SIGNALLED.load(Ordering::SeqCst) {
            seen.store(true, Ordering::SeqCst);
            waker.wake();
        }
        std::thread::sleep(Duration::from_millis(20));
    });
    SaveSignal { came }
}

/// Whether a save that failed may succeed a moment later: a process was in
/// the middle of something that ends by itself (a builtin calling back into
/// Weft, a long comparison, an asynchronous host call).
pub fn passing(error: &ImageError) -> bool {
    matches!(error, ImageError::Unsaveable(what)
        if matches!(what.as_str(), "native_call" | "comparison" | "host_call" | "held_process"))
}

/// Writes the file: the script's path and arguments, then the image.
/// Returns its size.
pub fn save(vm: &mut Vm, file: &str, script: &str, args: &[String]) -> Result<usize, ImageError> {
    let mut out = MAGIC.to_vec();
    let script = std::fs::canonicalize(script)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| script.to_string());
    put_text(&mut out, &script);
    out.extend_from_slice(&(args.len() as u32).to_le_bytes());
    for arg in args {
        put_text(&mut out, arg);
    }
    vm.save_image(&mut out)?;
    // Written beside and renamed: a crash mid-write leaves the old file.
    let partial = format!("{file}.partial");
    std::fs::write(&partial, &out)?;
    std::fs::rename(&partial, file)?;
    Ok(out.len())
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// The script's path, its arguments and the image, if `bytes` is such a
/// file.
pub fn read(bytes: &[u8]) -> Option<(String, Vec<String>, &[u8])> {
    let mut rest = bytes.strip_prefix(MAGIC)?;
    let number = |rest: &mut &[u8]| -> Option<usize> {
        let (n, tail) = rest.split_first_chunk::<4>()?;
        *rest = tail;
        Some(u32::from_le_bytes(*n) as usize)
    };
    let text = |rest: &mut &[u8]| -> Option<String> {
        let n = number(rest)?;
        if n > rest.len() {
            return None;
        }
        let (text, tail) = rest.split_at(n);
        *rest = tail;
        String::from_utf8(text.to_vec()).ok()
    };
    let path = text(&mut rest)?;
    let count = {
        let (n, tail) = rest.split_first_chunk::<4>()?;
        rest = tail;
        u32::from_le_bytes(*n) as usize
    };
    if count > rest.len() {
        return None;
    }
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        args.push(text(&mut rest)?);
    }
    Some((path, args, rest))
}
