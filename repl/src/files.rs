//! Reading source files for the command line and for `import`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use weft_compiler::{decode_source, Diagnostic, LoadedFile, Loader, SourceFile};

/// Why a file could not become source text.
pub enum ReadError {
    /// The OS refused (exit 66).
    Io(String),
    /// The bytes are not UTF-8 text (exit 65).
    NotText(Box<Diagnostic>),
}

/// The largest source file `weft` reads (docs/LANGUAGE.md, limits). Real
/// scripts are kilobytes; the cap keeps `import "/dev/zero"` or a stray
/// multi-gigabyte file from eating the machine.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a regular file of at most [`MAX_SOURCE_BYTES`] as source text.
/// Devices, FIFOs and directories are refused before a byte is read, since
/// reading one may never end.
pub fn read_source(path: &str) -> Result<Arc<SourceFile>, ReadError> {
    use std::io::Read;
    let cannot = |e: &dyn std::fmt::Display| ReadError::Io(format!("cannot read {path}: {e}"));
    // Opened without blocking: opening a FIFO for reading otherwise waits
    // for a writer, before the check below could refuse it.
    let file = open_nonblocking(path).map_err(|e| cannot(&e))?;
    let metadata = file.metadata().map_err(|e| cannot(&e))?;
    if !metadata.is_file() {
        return Err(cannot(&"not a regular file"));
    }
    let mut bytes = Vec::new();
    // Read one byte past the cap so a file that grew after `metadata` is
    // still caught.
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(&e))?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(cannot(&format_args!(
            "larger than the {} MiB limit for source files",
            MAX_SOURCE_BYTES >> 20
        )));
    }
    decode_source(path, bytes).map_err(ReadError::NotText)
}

/// Opens a file for reading without waiting on it (`O_NONBLOCK` where
/// there is such a thing); reads of a regular file never block anyway.
fn open_nonblocking(path: &str) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Imports are read from disk, relative to the importing file.
pub struct FileLoader;

impl Loader for FileLoader {
    fn load(&mut self, from: &SourceFile, path: &str) -> Result<LoadedFile, String> {
        let base = Path::new(&from.name).parent().unwrap_or(Path::new(""));
        let full: PathBuf = base.join(path);
        let key = std::fs::canonicalize(&full)
            .map_err(|e| format!("{}: {e}", full.display()))?
            .to_string_lossy()
            .into_owned();
        // The name reports show: the path as written, with `.` and `dir/..`
        // taken out (`tests/../pool.weft` is `pool.weft`).
        let name = normalize(&full).to_string_lossy().into_owned();
        match read_source(&name) {
            Ok(source) => Ok(LoadedFile { key, source }),
            Err(ReadError::Io(message)) => Err(message),
            Err(ReadError::NotText(d)) => Err(d.message),
        }
    }
}

/// `path` without `.` components and with each `name/..` pair removed,
/// decided on the text alone (as Go's `filepath.Clean`): a `..` at the
/// start of a relative path stays, and one after the root is dropped.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(component),
            },
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    parts.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn paths_are_cleaned_as_written() {
        for (path, clean) in [
            ("tests/../pool.weft", "pool.weft"),
            ("tests/./a/../b.weft", "tests/b.weft"),
            ("../x.weft", "../x.weft"),
            ("a/../../x.weft", "../x.weft"),
            ("/../x.weft", "/x.weft"),
            ("./x.weft", "x.weft"),
            ("a/..", "."),
        ] {
            assert_eq!(normalize(Path::new(path)), Path::new(clean), "{path}");
        }
    }
}
