//! `names`: what the resolver decided about locals, as tools read it. The
//! cases are the ones where a walk of the syntax tree that guesses scopes
//! goes wrong; the last test checks, over every `.weft` file of the
//! repository, that each binding's recorded scope agrees with the name
//! the resolver actually chose at every use.

use weft_compiler::{names, Binding, Names};

/// The offset of the `nth` (from 0) occurrence of `needle` in `text`, plus
/// `extra`.
fn at(text: &str, needle: &str, nth: usize, extra: usize) -> usize {
    text.match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle:?} #{nth} not in the text"))
        .0
        + extra
}

/// The offset where the binding the name at `offset` resolves to is
/// declared (None: not a local). Checks that the recorded use and the
/// scopes say the same.
fn declared_at(names: &Names, text: &str, offset: usize) -> Option<usize> {
    let name: String = text[offset..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let by_use = names.local(&name, offset);
    let by_scope = names.visible(offset).filter(|b| b.name == name).last();
    assert_eq!(by_use, by_scope, "use and scope disagree at {offset}");
    by_use.map(|b| b.span.start as usize)
}

#[test]
fn a_let_that_shadows_in_its_block_is_not_visible_in_its_initialiser() {
    // The second `let` reuses the first one's register: the compiler never
    // declares a second local, yet `x` after it is a new binding.
    let text = "let x = 1\nlet x = x + 1\nprint(x)\n";
    let names = names(text);
    assert_eq!(names.bindings.len(), 2, "{names:?}");
    let first = at(text, "x", 0, 0);
    let second = at(text, "x", 1, 0);
    assert_eq!(
        declared_at(&names, text, at(text, "x + 1", 0, 0)),
        Some(first)
    );
    assert_eq!(
        declared_at(&names, text, at(text, "(x)", 0, 1)),
        Some(second)
    );
}

#[test]
fn a_let_in_an_inner_block_is_not_visible_in_its_initialiser() {
    let text = "fn f(x) {\n  if x > 0 { let x = x * 2; x } else { x }\n}\n";
    let names = names(text);
    let param = at(text, "x", 0, 0);
    let inner = at(text, "let x", 0, 4);
    assert_eq!(
        declared_at(&names, text, at(text, "x * 2", 0, 0)),
        Some(param)
    );
    assert_eq!(
        declared_at(&names, text, at(text, "; x", 0, 2)),
        Some(inner)
    );
    assert_eq!(
        declared_at(&names, text, at(text, "{ x }", 0, 2)),
        Some(param)
    );
}

#[test]
fn arm_bindings_and_pins() {
    let text = "\
fn serve(state) {
  receive {
    (:set, state) => serve(state),
    (:check, ^state) => serve(state),
  }
}
";
    let names = names(text);
    let param = at(text, "state", 0, 0);
    let arm = at(text, "state", 1, 0);
    assert_eq!(
        declared_at(&names, text, at(text, "state", 2, 0)),
        Some(arm)
    );
    // A pin means the variable from before the pattern.
    assert_eq!(
        declared_at(&names, text, at(text, "^state", 0, 1)),
        Some(param)
    );
    assert_eq!(
        declared_at(&names, text, at(text, "state", 4, 0)),
        Some(param)
    );
}

#[test]
fn a_closure_parameter_shadows_the_outer_name() {
    let text = "let x = 1\nlet f = fn(x) { x + 1 }\nprint(f(x))\n";
    let names = names(text);
    let outer = at(text, "x", 0, 0);
    let param = at(text, "fn(x)", 0, 3);
    assert_eq!(
        declared_at(&names, text, at(text, "x + 1", 0, 0)),
        Some(param)
    );
    assert_eq!(
        declared_at(&names, text, at(text, "f(x)", 0, 2)),
        Some(outer)
    );
}

#[test]
fn top_level_functions_see_no_script_locals() {
    let text = "let y = 1\nprint(y)\nfn g() { y }\nprint(y)\n";
    let names = names(text);
    let inside = at(text, "{ y }", 0, 2);
    assert_eq!(declared_at(&names, text, inside), None);
    assert_eq!(declared_at(&names, text, at(text, "(y)", 0, 1)), Some(4));
    assert_eq!(declared_at(&names, text, at(text, "(y)", 1, 1)), Some(4));
    let y = &names.bindings[0];
    assert_eq!(y.visible.len(), 2, "{y:?}");
    assert!(!y.in_scope(inside));
}

#[test]
fn an_inner_function_sees_itself_and_a_for_variable_is_not_in_its_iterable() {
    let text = "\
fn outer(xs) {
  fn count(n) { if n == 0 { 0 } else { count(n - 1) } }
  for xs in xs { count(xs) }
}
";
    let names = names(text);
    let count = at(text, "count", 0, 0);
    assert_eq!(
        declared_at(&names, text, at(text, "count", 1, 0)),
        Some(count)
    );
    assert_eq!(
        declared_at(&names, text, at(text, "count", 2, 0)),
        Some(count)
    );
    let param = at(text, "xs", 0, 0);
    let variable = at(text, "xs", 1, 0);
    assert_eq!(declared_at(&names, text, at(text, "xs", 2, 0)), Some(param));
    assert_eq!(
        declared_at(&names, text, at(text, "xs", 3, 0)),
        Some(variable)
    );
}

#[test]
fn broken_code_still_yields_its_names() {
    let text = "fn main() {\n  let value = 1\n  print(value +)\n  let other = value\n  other\n}\n";
    let names = names(text);
    let value = at(text, "value", 0, 0);
    assert_eq!(
        declared_at(&names, text, at(text, "value", 2, 0)),
        Some(value)
    );
    let other: Vec<&Binding> = names
        .bindings
        .iter()
        .filter(|b| b.name == "other")
        .collect();
    assert_eq!(other.len(), 1, "{names:?}");
}

/// Every `.weft` file of the repository: at each name the resolver took for
/// a local, the recorded scopes name the same binding, and the binding has
/// the name written there.
#[test]
fn scopes_agree_with_the_resolver_on_every_weft_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if path.is_dir() && !name.starts_with('.') && name != "target" {
                dirs.push(path);
            } else if name.ends_with(".weft") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 100, "found only {} files", files.len());
    let mut uses = 0;
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let names = names(&text);
        for u in &names.uses {
            let binding = &names.bindings[u.binding];
            let written = &text[u.span.start as usize..u.span.end as usize];
            assert_eq!(
                written.trim_start_matches('^'),
                binding.name,
                "{}: {u:?}",
                path.display()
            );
            for offset in [u.span.start, u.span.end] {
                let by_scope = names
                    .visible(offset as usize)
                    .filter(|b| b.name == binding.name)
                    .last();
                assert!(
                    by_scope.is_some_and(|b| std::ptr::eq(b, binding)),
                    "{}: the use at {:?} resolved to {binding:?}, the scopes say {by_scope:?}",
                    path.display(),
                    u.span
                );
            }
            uses += 1;
        }
    }
    assert!(uses > 1000, "only {uses} uses");
}
