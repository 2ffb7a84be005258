//! `Module::content_hash`, which process images name code by
//! (docs/IMAGES.md): the same source compiles to the same hash every time
//! (a module's function list once came out in a hash map's random order),
//! comments and layout do not change it, code does; and `portable_name`
//! drops the file path an import adds to a name.

use weft_compiler::bytecode::portable_name;
use weft_compiler::{compile, Environment, NoImports, SourceFile};

fn hash(text: &str) -> u64 {
    let modules = compile(
        SourceFile::new("t.weft", text),
        "main",
        &Environment::default(),
        &mut NoImports,
    )
    .expect("compiles");
    modules.last().unwrap().content_hash()
}

const SOURCE: &str =
    "fn a(x) { x + 1 }\nfn b(y) { a(y) * 2 }\nfn c() { b(1) }\nfn d() { c() }\nfn e() { d() }\n";

#[test]
fn the_same_source_hashes_the_same_every_time() {
    let first = hash(SOURCE);
    for _ in 0..20 {
        assert_eq!(hash(SOURCE), first);
    }
}

#[test]
fn comments_and_layout_do_not_change_it_but_code_does() {
    let laid_out = "# a comment\nfn a(x) {\n  x + 1\n}\nfn b(y) { a(y) * 2 }  # another\nfn c() { b(1) }\nfn d() { c() }\nfn e() { d() }\n";
    assert_eq!(hash(laid_out), hash(SOURCE));
    assert_ne!(hash(&SOURCE.replace("x + 1", "x + 2")), hash(SOURCE));
}

#[test]
fn portable_names_drop_the_path() {
    assert_eq!(
        portable_name("lib@/home/me/game/lib.weft.tick"),
        "lib@.tick"
    );
    assert_eq!(portable_name("lib@/home/me/game/lib.weft"), "lib@");
    assert_eq!(portable_name("main.tick"), "main.tick");
    assert_eq!(portable_name("list.map"), "list.map");
}
