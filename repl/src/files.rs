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

pub fn read_source(path: &str) -> Result<Arc<SourceFile>, ReadError> {
    let bytes =
        std::fs::read(path).map_err(|e| ReadError::Io(format!("cannot read {path}: {e}")))?;
    decode_source(path, bytes).map_err(ReadError::NotText)
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
        let name = full.to_string_lossy().into_owned();
        match read_source(&name) {
            Ok(source) => Ok(LoadedFile { key, source }),
            Err(ReadError::Io(message)) => Err(message),
            Err(ReadError::NotText(d)) => Err(d.message),
        }
    }
}
