//! The Weft grammar for tree-sitter.
//!
//! `src/parser.c` is generated from `grammar.js` by `tree-sitter generate`
//! (run it in this directory after changing the grammar, and commit both);
//! `queries/highlights.scm` names what editors colour.
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser.set_language(&tree_sitter_weft::LANGUAGE.into()).unwrap();
//! let tree = parser.parse("fn double(x) { x * 2 }\n", None).unwrap();
//! assert!(!tree.root_node().has_error());
//! ```

use tree_sitter_language::LanguageFn;

extern "C" {
    fn tree_sitter_weft() -> *const ();
}

/// The tree-sitter language of Weft.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_weft) };

/// The highlight queries.
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");
