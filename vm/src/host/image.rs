//! Process and VM images for hosts (LANGUAGE.md §13, docs/IMAGES.md):
//! `Vm::save_process` / `Vm::restore_process`, the host's `process.save`
//! and `process.restore`; and `Vm::save_image` / `Vm::load_image`, a whole
//! VM (`vm_image.rs`).

use std::fmt;
use std::sync::RwLock;

use crate::data::image::RestoreError;
use crate::data::value::{Pid, Value};
use crate::host::vm::Vm;
use crate::interp::code::Code;
use crate::runtime::scheduler::Scheduler;

/// Why an image was not made or not used.
#[derive(Debug)]
pub enum ImageError {
    /// Something that cannot travel: `"channel"`, `"socket"`, `"file"`,
    /// `"host_call"`, `"native_call"`... (`(:unsaveable, what)` in Weft).
    Unsaveable(String),
    /// The image names code this VM does not hold as it was.
    CodeChanged,
    /// The image is malformed (`(:bad_image, why)` in Weft).
    Bad(String),
    /// No such process.
    NoProcess,
    /// A limit of the VM (its process limit) refused it.
    Limit(String),
    /// Reading or writing the image failed.
    Io(std::io::Error),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Unsaveable(what) => write!(f, "cannot save a process holding a {what}"),
            ImageError::CodeChanged => f.write_str("the image's code is not loaded here as it was"),
            ImageError::Bad(why) => write!(f, "bad image: {why}"),
            ImageError::NoProcess => f.write_str("no such process"),
            ImageError::Limit(message) => f.write_str(message),
            ImageError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ImageError {}

impl From<RestoreError> for ImageError {
    fn from(error: RestoreError) -> ImageError {
        match error {
            RestoreError::CodeChanged => ImageError::CodeChanged,
            RestoreError::Bad(why) => ImageError::Bad(why),
            RestoreError::Refused((_, message)) => ImageError::Limit(message),
        }
    }
}

impl From<std::io::Error> for ImageError {
    fn from(error: std::io::Error) -> ImageError {
        ImageError::Io(error)
    }
}

/// Restores a process image (bytes) in the VM whose code and scheduler
/// these are: the one way in for the host, for other nodes
/// (`process.migrate`) and, through the same checks, for scripts. Library
/// modules the image's code comes from are loaded first, as for a script
/// that calls them.
pub(crate) fn restore(
    code: &RwLock<Code>,
    scheduler: &mut Scheduler,
    image: &Value,
) -> Result<Pid, RestoreError> {
    let Value::Bytes(bytes) = image else {
        return Err(RestoreError::Bad("an image is bytes".into()));
    };
    for name in crate::interp::image::module_names(bytes) {
        let lazy = |code: &Code| code.lazy.iter().any(|(m, _)| *m == name);
        if lazy(&code.read().unwrap_or_else(|e| e.into_inner())) {
            Vm::load_library(&mut code.write().unwrap_or_else(|e| e.into_inner()), &name);
        }
    }
    let code = code.read().unwrap_or_else(|e| e.into_inner());
    crate::interp::image::start(&code, scheduler, image)
}

impl Vm {
    /// Saves process `pid` as an image (bytes), as `process.save(pid)` does
    /// in Weft: the process goes on unchanged. Restore it with
    /// [`Vm::restore_process`], here or in another VM that loaded the same
    /// code.
    ///
    /// ```
    /// use weft_vm::Vm;
    ///
    /// let mut vm = Vm::new();
    /// vm.load("counter.weft", "fn counter(n) { receive { (:add, x) => counter(n + x) } }")?;
    /// let pid = vm.spawn("counter", vec![5.into()])?;
    /// let _ = vm.run(10_000);
    /// let image = vm.save_process(pid)?;
    ///
    /// let mut other = Vm::new();
    /// other.load("counter.weft", "fn counter(n) { receive { (:add, x) => counter(n + x) } }")?;
    /// let copy = other.restore_process(&image)?;
    /// assert!(other.processes().iter().any(|p| p.pid == copy));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_process(&mut self, pid: Pid) -> Result<Vec<u8>, ImageError> {
        let code = self.world();
        let slot = self.shared.table.get(pid).ok_or(ImageError::NoProcess)?;
        let (now, place) = (self.scheduler.now(), self.scheduler.place());
        slot.peek_body(pid, |process| {
            crate::interp::image::save(&code, process, None, now, place)
        })
        .ok_or(ImageError::NoProcess)?
        .map_err(|what| ImageError::Unsaveable(what.to_string()))
    }

    /// Starts a process from an image made by [`Vm::save_process`] or
    /// `process.save`: it runs on from where it was saved, under a new pid,
    /// with no links or monitors. The image is checked as untrusted input.
    pub fn restore_process(&mut self, image: &[u8]) -> Result<Pid, ImageError> {
        let image = Value::bytes(image.to_vec());
        let pid = restore(&self.code, &mut self.scheduler, &image)?;
        self.shared.external.notify();
        Ok(pid)
    }
}
