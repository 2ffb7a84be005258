//! The syntax tree, allocated in a bumpalo arena.
//!
//! Invariants: every node lives in the arena of one compile and borrows the
//! source text and the arena for `'a`; no node owns heap memory of its own
//! (no `Vec`, `String` or `Box`), because the arena never runs destructors.

use crate::diagnostic::Span;

#[derive(Clone, Copy, Debug)]
pub struct Expr<'a> {
    pub kind: ExprKind<'a>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Concat => "++",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum ExprKind<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// A bytes literal (`b"..."`).
    Bytes(&'a [u8]),
    Atom(&'a str),
    Name(&'a str),
    List(&'a [Expr<'a>]),
    Tuple(&'a [Expr<'a>]),
    Map(&'a [(Expr<'a>, Expr<'a>)]),
    Neg(&'a Expr<'a>),
    Not(&'a Expr<'a>),
    Binary(BinOp, &'a Expr<'a>, &'a Expr<'a>),
    And(&'a Expr<'a>, &'a Expr<'a>),
    Or(&'a Expr<'a>, &'a Expr<'a>),
    Range(&'a Expr<'a>, &'a Expr<'a>),
    Call(&'a Expr<'a>, &'a [Expr<'a>]),
    /// `left.name`: a module member such as `list.map`.
    Member(&'a Expr<'a>, &'a str, Span),
    Index(&'a Expr<'a>, &'a Expr<'a>),
    Lambda(&'a FnDef<'a>),
    Block(&'a Block<'a>),
    If(&'a Expr<'a>, &'a Block<'a>, Option<&'a Expr<'a>>),
    While(&'a Expr<'a>, &'a Block<'a>),
    Loop(&'a Block<'a>),
    For(&'a Pattern<'a>, &'a Expr<'a>, &'a Block<'a>),
    Match(&'a Expr<'a>, &'a [Arm<'a>]),
    Receive(&'a [Arm<'a>], Option<&'a After<'a>>),
    Select(&'a [SelectArm<'a>], Option<&'a After<'a>>),
    /// `spawn call(...)` or `spawn { block }`; the flag is `spawn_link`.
    Spawn(&'a Expr<'a>, bool),
    /// `to ! message`
    Send(&'a Expr<'a>, &'a Expr<'a>),
    /// `channel <- value`
    ChanSend(&'a Expr<'a>, &'a Expr<'a>),
    /// `<-channel`
    ChanRecv(&'a Expr<'a>),
    Break(Option<&'a Expr<'a>>),
    Continue,
    Return(Option<&'a Expr<'a>>),
    /// `name = value`, `name += value`...: its value is the new value.
    Assign {
        name: &'a str,
        name_span: Span,
        op: AssignOp,
        value: &'a Expr<'a>,
    },
    /// `target[i] = v` and friends: parsed so the error can explain itself.
    IndexAssign(&'a Expr<'a>),
    /// `try expr`: `(:ok, value)`, or `(:error, kind, message)` if evaluating
    /// `expr` raised a runtime error.
    Try(&'a Expr<'a>),
}

#[derive(Clone, Copy, Debug)]
pub struct Block<'a> {
    pub stmts: &'a [Stmt<'a>],
    pub span: Span,
}

#[derive(Clone, Copy, Debug)]
pub enum AssignOp {
    Set,
    Update(BinOp),
}

#[derive(Clone, Copy, Debug)]
pub enum Stmt<'a> {
    Let(&'a Pattern<'a>, Expr<'a>),
    Expr(Expr<'a>),
    Fn(&'a FnDef<'a>),
    Import {
        path: &'a str,
        name: &'a str,
        span: Span,
    },
    /// A statement the parser could not read; its error is already reported.
    Error(Span),
}

#[derive(Clone, Copy, Debug)]
pub struct FnDef<'a> {
    pub name: Option<&'a str>,
    pub name_span: Span,
    pub params: &'a [Pattern<'a>],
    pub body: &'a Block<'a>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug)]
pub struct Arm<'a> {
    pub pattern: Pattern<'a>,
    pub guard: Option<Expr<'a>>,
    pub body: Expr<'a>,
}

#[derive(Clone, Copy, Debug)]
pub struct After<'a> {
    pub timeout: Expr<'a>,
    pub body: Expr<'a>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug)]
pub struct SelectArm<'a> {
    /// `<-ch` (a receive arm) or `ch <- v` (a send arm).
    pub op: Expr<'a>,
    /// The pattern after `as`, for receive arms.
    pub binding: Option<Pattern<'a>>,
    pub body: Expr<'a>,
}

#[derive(Clone, Copy, Debug)]
pub struct Pattern<'a> {
    pub kind: PatternKind<'a>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug)]
pub enum PatternKind<'a> {
    Wildcard,
    Bind(&'a str),
    Pin(&'a str),
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// A bytes literal (`b"..."`).
    Bytes(&'a [u8]),
    Atom(&'a str),
    Tuple(&'a [Pattern<'a>]),
    /// Elements, then the pattern for the rest after `..`.
    List(&'a [Pattern<'a>], Option<&'a Pattern<'a>>),
    Map(&'a [(Pattern<'a>, Pattern<'a>)]),
}

/// A whole file.
#[derive(Clone, Copy, Debug)]
pub struct Program<'a> {
    pub stmts: &'a [Stmt<'a>],
}
