//! `weft fmt [--check] FILE|DIR...`: rewrites Weft files in the canonical
//! layout (`weft_compiler::format`); with `--check`, changes nothing and
//! lists the files that are not formatted (exit 1 if any, as `gofmt -l`
//! and `cargo fmt --check` do). A file that does not parse is reported
//! and left alone (exit 65).

use std::path::PathBuf;
use std::process::ExitCode;

use weft_compiler::{render, SourceFile};

use crate::files::{read_source, ReadError};
use crate::{EXIT_COMPILE, EXIT_NO_INPUT, EXIT_USAGE};

pub fn main(args: &[String]) -> ExitCode {
    let check = args.iter().any(|a| a == "--check");
    let paths: Vec<&String> = args.iter().filter(|a| *a != "--check").collect();
    if let Some(option) = paths.iter().find(|p| p.starts_with('-')) {
        eprintln!("weft: unknown option {option}\nusage: weft fmt [--check] FILE|DIR...");
        return ExitCode::from(EXIT_USAGE);
    }
    if paths.is_empty() {
        eprintln!("usage: weft fmt [--check] FILE|DIR...");
        return ExitCode::from(EXIT_USAGE);
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        let path = PathBuf::from(path);
        if path.is_dir() {
            crate::test_cmd::collect(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    let color = crate::run::color();
    let mut status = 0u8;
    let mut unformatted = 0;
    for file in &files {
        let name = file.display().to_string();
        let source = match read_source(&name) {
            Ok(source) => source,
            Err(ReadError::Io(message)) => {
                eprintln!("weft: {message}");
                status = status.max(EXIT_NO_INPUT);
                continue;
            }
            Err(ReadError::NotText(diagnostic)) => {
                eprint!("{}", render(&[*diagnostic], color));
                status = status.max(EXIT_COMPILE);
                continue;
            }
        };
        let formatted = match weft_compiler::format::format(&source.text) {
            Ok(text) => text,
            Err(diagnostics) => {
                let file = SourceFile::new(name.clone(), source.text.clone());
                let diagnostics: Vec<_> =
                    diagnostics.into_iter().map(|d| d.in_file(&file)).collect();
                eprint!("{}", render(&diagnostics, color));
                status = status.max(EXIT_COMPILE);
                continue;
            }
        };
        if formatted == source.text {
            continue;
        }
        if check {
            println!("{name}");
            unformatted += 1;
        } else if let Err(error) = std::fs::write(file, formatted) {
            eprintln!("weft: cannot write {name}: {error}");
            status = status.max(EXIT_NO_INPUT);
        }
    }
    if status == 0 && unformatted > 0 {
        status = 1;
    }
    ExitCode::from(status)
}
