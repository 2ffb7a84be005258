//! Snapshots of rendered diagnostics and of the disassembly, so a change to
//! either shows up in review as a readable diff (`cargo insta review`).

use weft_compiler::{compile, disasm, render, Environment, NoImports, SourceFile};

fn environment() -> Environment {
    Environment::new(["print", "len", "list.map", "list.push", "self"].map(String::from))
}

fn diagnostics(name: &str, text: &str) -> String {
    match compile(
        SourceFile::new(name, text),
        "main",
        &environment(),
        &mut NoImports,
    ) {
        Ok(_) => "compiled without errors".to_string(),
        Err(diagnostics) => render(&diagnostics, false),
    }
}

#[test]
fn unknown_name_with_hint() {
    insta::assert_snapshot!(diagnostics(
        "hint.weft",
        "let count = 1\nprint(cuont + 1)\n"
    ));
}

#[test]
fn several_syntax_errors_in_one_file() {
    insta::assert_snapshot!(diagnostics(
        "several.weft",
        "let x = (1 +\nprint(x)))\nlet = 5\nfn f( { }\nprint(\"ok\" 2)\n"
    ));
}

#[test]
fn lexical_errors() {
    insta::assert_snapshot!(diagnostics(
        "lex.weft",
        "let s = \"bad \\q escape\"\nlet t = \"open\nlet n = 99999999999999999999\n"
    ));
}

#[test]
fn unknown_module_member() {
    insta::assert_snapshot!(diagnostics("member.weft", "print(list.mapp([1], len))\n"));
}

#[test]
fn assignment_errors() {
    insta::assert_snapshot!(diagnostics(
        "assign.weft",
        "let xs = [1]\nxs[0] = 2\nundeclared = 3\nlet c = 1\nlet f = fn() { c = 2 }\n"
    ));
}

#[test]
fn disassembly() {
    let source =
        "fn fib(n) {\n  if n < 2 { n } else { fib(n - 1) + fib(n - 2) }\n}\nprint(fib(10))\n";
    let modules = compile(
        SourceFile::new("fib.weft", source),
        "main",
        &environment(),
        &mut NoImports,
    )
    .expect("fib compiles");
    insta::assert_snapshot!(disasm::module_text(&modules));
}

#[test]
fn disassembly_of_receive_and_closures() {
    let source = "fn serve(state) {\n  receive {\n    (:add, n) if n > 0 => serve(state + n),\n    (:get, from) => { from ! state; serve(state) },\n    after 100 => state,\n  }\n}\nlet k = 2\nlet f = fn(x) { x * k }\nprint(f(serve(0)))\n";
    let modules = compile(
        SourceFile::new("serve.weft", source),
        "main",
        &environment(),
        &mut NoImports,
    )
    .expect("serve compiles");
    insta::assert_snapshot!(disasm::module_text(&modules));
}
