//! The host layer: the embedding API — loading, spawning, messages both
//! ways, host functions, the drive loop.

pub(crate) mod api;
pub(crate) mod drive;
pub(crate) mod host_fn;
pub(crate) mod image;
pub(crate) mod vm;
pub(crate) mod vm_image;
