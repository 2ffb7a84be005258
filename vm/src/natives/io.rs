//! The `io` module (LANGUAGE.md §9), present only when the host allows it.

use super::Native;
use crate::resource::{FileState, Resource};
use std::io::Write;

pub(crate) const NATIVES: &[Native] = &[];

/// Closes a file, flushing what was written. Closing twice does nothing.
pub(crate) fn close_resource(resource: &Resource) {
    let mut file = resource.file.lock().unwrap_or_else(|e| e.into_inner());
    if let FileState::Writer(writer) = &mut *file {
        let _ = writer.flush();
    }
    *file = FileState::Closed;
}
