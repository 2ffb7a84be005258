//! The compiler's limits, read from the one place every tool reads them
//! (`weft_compiler::{MAX_ERRORS, MAX_NESTING, KEYWORDS}`): a test that
//! hard-coded the numbers would pass on after they changed.

use weft_compiler::{
    compile, Environment, NoImports, SourceFile, KEYWORDS, MAX_ERRORS, MAX_NESTING,
};

fn errors(text: &str) -> Vec<String> {
    let source = SourceFile::new("limits.weft", text);
    match compile(source, "main", &Environment::default(), &mut NoImports) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.iter().map(|d| d.message.clone()).collect(),
    }
}

#[test]
fn nesting_up_to_the_limit_compiles_and_one_more_does_not() {
    let nested = |depth: usize| format!("let x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
    // The `let` and its expression take levels of their own: find the
    // deepest that compiles, which must be within a few of the limit.
    let deepest = (MAX_NESTING - 8..=MAX_NESTING)
        .rev()
        .find(|&depth| errors(&nested(depth)).is_empty())
        .expect("brackets nested near the limit compile");
    assert!(deepest + 8 >= MAX_NESTING, "only {deepest} levels compiled");
    let refused = errors(&nested(MAX_NESTING + 1));
    assert!(
        refused.iter().any(|m| m.contains("nested too deeply")),
        "{refused:?}"
    );
}

#[test]
fn a_compile_reports_at_most_max_errors() {
    let text: String = (0..2 * MAX_ERRORS)
        .map(|i| format!("fn f{i}() {{ undefined_{i} }}\n"))
        .collect();
    let reported = errors(&text);
    // The errors themselves, plus the line that says how many were left out.
    assert!(
        reported.len() <= MAX_ERRORS + 1 && reported.len() >= MAX_ERRORS,
        "{} reported",
        reported.len()
    );
}

#[test]
fn every_keyword_is_one_and_nothing_else_is() {
    for keyword in KEYWORDS {
        // A keyword cannot name a function.
        assert!(
            !errors(&format!("fn {keyword}() {{ 1 }}\n")).is_empty(),
            "`{keyword}` was accepted as a name"
        );
        // The same letters with a suffix are an ordinary name.
        assert!(
            errors(&format!("fn {keyword}_x() {{ 1 }}\n")).is_empty(),
            "`{keyword}_x` was refused"
        );
    }
}
