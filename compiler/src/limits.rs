//! The numbers and words every tool that reads Weft source agrees on: the
//! lexer, parser and code generator, the REPL's completion and highlighting,
//! the language server and the tests all read them from here.

/// The most diagnostics one compile reports; past it the compiler counts the
/// rest and says how many it left out (as rustc and Gleam stop too).
pub const MAX_ERRORS: usize = 20;

/// How deeply brackets, blocks and expressions may nest (Python's parser
/// allows 200 nested brackets, Go's about 100,000 expressions; 1,000 is
/// far past hand-written code and keeps every compiler pass quick).
pub const MAX_NESTING: usize = 1_000;
