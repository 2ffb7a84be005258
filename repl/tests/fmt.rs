//! `weft fmt` on every Weft file in the repository: formatting is a fixed
//! point (formatting twice changes nothing), keeps the token stream (so the
//! program means the same), and a formatted script prints exactly what the
//! original prints.

use std::path::{Path, PathBuf};
use std::process::Command;

use weft_compiler::format::{format, same_tokens};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn weft_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            weft_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "weft") {
            out.push(path);
        }
    }
}

fn repository_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tests", "examples", "bench"] {
        weft_files(&root().join(dir), &mut files);
    }
    files
}

#[test]
fn formatting_is_a_fixed_point_and_keeps_the_tokens() {
    let mut formatted = 0;
    for path in repository_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        // Files that test syntax errors are left alone by `weft fmt`.
        let Ok(once) = format(&text) else { continue };
        formatted += 1;
        let twice = format(&once).expect("formatted output parses");
        assert_eq!(
            once,
            twice,
            "formatting {} twice changed it",
            path.display()
        );
        if let Err(span) = same_tokens(&text, &once) {
            panic!(
                "formatting {} changed the tokens at {span:?}",
                path.display()
            );
        }
    }
    assert!(formatted > 100, "only {formatted} files formatted");
}

fn run(weft_file: &Path, dir: &Path) -> (String, Option<i32>) {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg(weft_file)
        .current_dir(dir)
        .env("WEFT_SCHEDULERS", "1")
        .env("NO_COLOR", "1")
        .output()
        .expect("run weft");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        output.status.code(),
    )
}

/// Copies the Weft files (imports resolve within the copy) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    let mut files = Vec::new();
    weft_files(from, &mut files);
    for file in files {
        let target = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
}

#[test]
fn formatted_scripts_print_what_the_originals_print() {
    let copy = std::env::temp_dir().join(format!("weft-fmt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&copy);
    for dir in ["tests", "examples"] {
        copy_tree(&root().join(dir), &copy.join(dir));
    }
    // Format the copy through the command, then check it is formatted.
    let status = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("fmt")
        .arg(copy.join("tests"))
        .arg(copy.join("examples"))
        .output()
        .unwrap();
    // Some test files are syntax errors on purpose: fmt reports them (65).
    assert!(
        matches!(status.status.code(), Some(0 | 65)),
        "{:?}",
        status.status
    );
    let check = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["fmt", "--check"])
        .arg(copy.join("tests"))
        .arg(copy.join("examples"))
        .output()
        .unwrap();
    assert!(
        check.stdout.is_empty(),
        "not a fixed point: {}",
        String::from_utf8_lossy(&check.stdout)
    );

    let mut compared = 0;
    let work = copy.join("work");
    std::fs::create_dir_all(&work).unwrap();
    for original in repository_files() {
        let relative = original.strip_prefix(root()).unwrap().to_path_buf();
        let formatted = copy.join(&relative);
        let text = std::fs::read_to_string(&original).unwrap();
        // Scripts run with arguments, through another subcommand, or that
        // are imported by others are covered by the token check above.
        // A server that runs until stopped says so (`# weft: serves until
        // stopped`); it is formatted and token-checked above, not run.
        if !formatted.exists()
            || text.contains("# weft: serves until stopped")
            || text.contains("# args:")
            || text.contains("# command:")
            || relative.components().any(|c| c.as_os_str() == "modules")
            || format(&text).is_err()
        {
            continue;
        }
        let before = run(&original, &work);
        let after = run(&formatted, &work);
        assert_eq!(
            before,
            after,
            "{} prints differently once formatted",
            relative.display()
        );
        compared += 1;
    }
    let _ = std::fs::remove_dir_all(&copy);
    assert!(compared > 100, "only {compared} scripts compared");
}
