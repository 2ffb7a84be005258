//! Pattern matching (LANGUAGE.md §4): tests that jump away on mismatch,
//! and moves that bind names.

use super::{deep, pattern_names, Compiler, Site};
use crate::ast::{Pattern, PatternKind};
use crate::bytecode::{Constant, Count, FailKind, Instr, Jump, Reg};
use crate::diagnostic::{Diagnostic, Span};

/// A name a pattern binds, the register it binds to, and where it is.
pub(super) type Var<'a> = (&'a str, Reg, Span);

impl<'a> Compiler<'a, '_, '_> {
    /// Matches `pattern` against R[src] and declares its names in the
    /// current scope, visible from offset `from` on; a mismatch raises
    /// `fail`.
    pub(super) fn bind_pattern(
        &mut self,
        pattern: &Pattern<'a>,
        src: Reg,
        fail: FailKind,
        from: u32,
    ) {
        let vars = self.pattern_registers(pattern);
        let mut fails = Vec::new();
        self.match_pattern(pattern, src, &vars, &mut fails);
        if !fails.is_empty() {
            let done = self.jump();
            for at in fails {
                self.patch(at);
            }
            self.emit(Instr::Fail {
                kind: fail as u8,
                src,
            });
            self.patch(done);
        }
        for (name, register, span) in vars {
            self.declare(name, register, Site::new(span, from));
        }
    }

    /// Allocates a register for each name the pattern binds (not declared yet).
    pub(super) fn pattern_registers(&mut self, pattern: &Pattern<'a>) -> Vec<Var<'a>> {
        let names = pattern_names(pattern);
        let first = self.alloc_n(names.len());
        names
            .into_iter()
            .enumerate()
            .map(|(i, (n, span))| (n, first.at(i), span))
            .collect()
    }

    /// Emits the tests of `pattern` against R[src]; each mismatch is a jump
    /// appended to `fails`. Names bind into the registers of `vars`.
    pub(super) fn match_pattern(
        &mut self,
        pattern: &Pattern<'a>,
        src: Reg,
        vars: &[Var<'a>],
        fails: &mut Vec<usize>,
    ) {
        let mut bound = Vec::new();
        self.pattern_into(pattern, src, vars, &mut bound, fails);
    }

    fn pattern_into(
        &mut self,
        pattern: &Pattern<'a>,
        src: Reg,
        vars: &[Var<'a>],
        bound: &mut Vec<&'a str>,
        fails: &mut Vec<usize>,
    ) {
        deep(|| self.pattern_here(pattern, src, vars, bound, fails))
    }

    fn pattern_here(
        &mut self,
        pattern: &Pattern<'a>,
        src: Reg,
        vars: &[Var<'a>],
        bound: &mut Vec<&'a str>,
        fails: &mut Vec<usize>,
    ) {
        self.span = pattern.span;
        let mark = self.mark();
        match pattern.kind {
            PatternKind::Wildcard => {}
            PatternKind::Bind(name) => {
                let register = vars
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .map_or(src, |(_, r, _)| *r);
                if bound.contains(&name) {
                    // A name used twice in one pattern must match equal values.
                    fails.push(self.emit(Instr::JumpIfNe {
                        a: src,
                        b: register,
                        offset: Jump::default(),
                    }));
                } else {
                    bound.push(name);
                    if register != src {
                        self.emit(Instr::Move { dst: register, src });
                    }
                }
            }
            PatternKind::Pin(name) => {
                let Some(local) = self.local_use(name, pattern.span) else {
                    self.error(
                        Diagnostic::error(
                            format!("`^{name}` pins a variable, but `{name}` is not one here"),
                            pattern.span,
                        )
                        .with_help("`^name` matches the current value of a variable bound earlier"),
                    );
                    return;
                };
                fails.push(self.emit(Instr::JumpIfNe {
                    a: src,
                    b: local.register,
                    offset: Jump::default(),
                }));
            }
            PatternKind::Nil
            | PatternKind::Bool(_)
            | PatternKind::Int(_)
            | PatternKind::Float(_)
            | PatternKind::Str(_)
            | PatternKind::Bytes(_)
            | PatternKind::Atom(_) => {
                let literal = self.alloc();
                self.pattern_literal(pattern, literal);
                fails.push(self.emit(Instr::JumpIfNe {
                    a: src,
                    b: literal,
                    offset: Jump::default(),
                }));
            }
            PatternKind::Tuple(items) => {
                let Some(len) = self.small_len(items.len(), pattern) else {
                    return;
                };
                fails.push(self.emit(Instr::JumpIfNotTuple {
                    src,
                    len,
                    offset: Jump::default(),
                }));
                self.elements(items, src, vars, bound, fails);
            }
            PatternKind::List(items, rest) => {
                let Some(len) = self.small_len(items.len(), pattern) else {
                    return;
                };
                if rest.is_some() {
                    fails.push(self.emit(Instr::JumpIfNotListFrom {
                        src,
                        len,
                        offset: Jump::default(),
                    }));
                } else {
                    fails.push(self.emit(Instr::JumpIfNotList {
                        src,
                        len,
                        offset: Jump::default(),
                    }));
                }
                self.elements(items, src, vars, bound, fails);
                if let Some(rest) = rest {
                    if !matches!(rest.kind, PatternKind::Wildcard) {
                        let tail = self.alloc();
                        self.span = rest.span;
                        self.emit(Instr::Rest {
                            dst: tail,
                            src,
                            from: len,
                        });
                        self.pattern_into(rest, tail, vars, bound, fails);
                    }
                }
            }
            PatternKind::Map(entries) => {
                if entries.is_empty() {
                    fails.push(self.emit(Instr::JumpIfNotMap {
                        src,
                        offset: Jump::default(),
                    }));
                }
                for (key, value) in entries {
                    // The key goes where the value found under it will be.
                    let key_register = self.alloc();
                    match key.kind {
                        PatternKind::Pin(name) => match self.local_use(name, key.span) {
                            Some(local) => {
                                self.emit(Instr::Move {
                                    dst: key_register,
                                    src: local.register,
                                });
                            }
                            None => {
                                self.error(Diagnostic::error(
                                    format!("`{name}` is not a variable here"),
                                    key.span,
                                ));
                            }
                        },
                        PatternKind::Nil
                        | PatternKind::Bool(_)
                        | PatternKind::Int(_)
                        | PatternKind::Float(_)
                        | PatternKind::Str(_)
                        | PatternKind::Bytes(_)
                        | PatternKind::Atom(_) => self.pattern_literal(key, key_register),
                        _ => {
                            self.error(
                                Diagnostic::error(
                                    "a map pattern's key must be a literal or a pinned variable",
                                    key.span,
                                )
                                .with_help("write `%{:key => pattern}` or `%{^k => pattern}`"),
                            );
                            continue;
                        }
                    }
                    self.span = key.span.to(value.span);
                    fails.push(self.emit(Instr::JumpIfNoKey {
                        dst: key_register,
                        map: src,
                        offset: Jump::default(),
                    }));
                    self.pattern_into(value, key_register, vars, bound, fails);
                }
            }
        }
        self.release(mark);
    }

    fn elements(
        &mut self,
        items: &[Pattern<'a>],
        src: Reg,
        vars: &[Var<'a>],
        bound: &mut Vec<&'a str>,
        fails: &mut Vec<usize>,
    ) {
        for (i, item) in items.iter().enumerate() {
            if matches!(item.kind, PatternKind::Wildcard) {
                continue;
            }
            // A name binds straight from the element; anything else tests a
            // temporary copy.
            if let PatternKind::Bind(name) = item.kind {
                if !bound.contains(&name) {
                    if let Some((_, register, _)) = vars.iter().find(|(n, _, _)| *n == name) {
                        bound.push(name);
                        self.span = item.span;
                        self.emit(Instr::Element {
                            dst: *register,
                            src,
                            index: Count::of(i),
                        });
                        continue;
                    }
                }
            }
            let mark = self.mark();
            let element = self.alloc();
            self.span = item.span;
            self.emit(Instr::Element {
                dst: element,
                src,
                index: Count::of(i),
            });
            self.pattern_into(item, element, vars, bound, fails);
            self.release(mark);
        }
    }

    fn small_len(&mut self, len: usize, pattern: &Pattern<'a>) -> Option<Count> {
        match u16::try_from(len) {
            Ok(len) => Some(Count::of(len as usize)),
            Err(_) => {
                self.error(Diagnostic::error(
                    "a pattern may list at most 65535 elements",
                    pattern.span,
                ));
                None
            }
        }
    }

    /// Loads a literal pattern's value into R[dst].
    fn pattern_literal(&mut self, pattern: &Pattern<'a>, dst: Reg) {
        match pattern.kind {
            PatternKind::Nil => {
                self.emit(Instr::Nil { dst });
            }
            PatternKind::Bool(value) => {
                self.emit(Instr::Bool { dst, value });
            }
            PatternKind::Int(n) => self.load_int(dst, n),
            PatternKind::Float(f) => {
                let index = self.constant(Constant::Float(f));
                self.emit(Instr::Const { dst, index });
            }
            PatternKind::Str(s) => {
                let index = self.constant(Constant::Str(s.into()));
                self.emit(Instr::Const { dst, index });
            }
            PatternKind::Bytes(b) => {
                let index = self.constant(Constant::Bytes(b.into()));
                self.emit(Instr::Const { dst, index });
            }
            PatternKind::Atom(a) => {
                let index = self.constant(Constant::Atom(a.into()));
                self.emit(Instr::Const { dst, index });
            }
            _ => {}
        }
    }
}
