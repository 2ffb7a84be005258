//! Typed values across the host boundary: [`IntoValue`] turns Rust data
//! into a [`Value`], [`FromValue`] reads one back, checking its type.
//!
//! These are what typed host functions ([`Vm::register`](crate::Vm::register))
//! use for their arguments and results, and what a host uses to read
//! messages: `i64::from_value(&v)?` rather than matching variants by hand.
//!
//! The mapping (LANGUAGE.md §2):
//!
//! | Rust | Weft |
//! |---|---|
//! | `i64`, `i32`, `i16`, `i8`, `u32`, `u16`, `u8`, `u64`, `usize`, `isize` | int (reading checks the range) |
//! | `f64`, `f32` | float (reading also takes an int) |
//! | `bool` | `true` / `false` |
//! | `String` (and `&str`, `char` into) | string |
//! | `Vec<T>` (and `&[T]` into) | list (`Vec<u8>` also reads bytes) |
//! | `bytes::Bytes` | bytes (no copy) |
//! | `Option<T>` | `nil` or the value |
//! | `(A,)` … `(A, B, C, D, E, F)` | tuple of that length |
//! | `HashMap<K, V>`, `BTreeMap<K, V>` | map |
//! | `Pid` | pid |
//! | [`Atom`](crate::Atom) | atom |
//! | `()` | `nil` |
//! | `Value` | itself |
//!
//! An integer too large for an `i64` (a `u64` above `i64::MAX`) becomes a
//! float, as Lua does; it never wraps.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::data::atom::Atom;
use crate::data::ops::describe_value;
use crate::data::value::{MapItems, Pid, Value};

/// Rust data that becomes a Weft value.
pub trait IntoValue {
    fn into_value(self) -> Value;
}

/// Rust data read from a Weft value, checking its type.
///
/// ```
/// use weft_vm::{FromValue, IntoValue, Value};
///
/// let v = (3, "three", vec![1.5, 2.0]).into_value();
/// assert_eq!(v.to_string(), "(3, \"three\", [1.5, 2.0])");
/// let (n, s, xs): (i64, String, Vec<f64>) = FromValue::from_value(&v).unwrap();
/// assert_eq!((n, s.as_str(), xs), (3, "three", vec![1.5, 2.0]));
///
/// let error = u8::from_value(&Value::from(300)).unwrap_err();
/// assert_eq!(error.to_string(), "expected an int from 0 to 255, got 300");
/// let error = Vec::<i64>::from_value(&Value::list(vec![Value::from(1), Value::atom("x")])).unwrap_err();
/// assert_eq!(error.to_string(), "element 1: expected an int, got :x");
/// ```
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self, FromValueError>;
}

/// Why a value could not be read as a Rust type: what was expected, what
/// came, and where inside the value (`element 2`, `key :hp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromValueError {
    expected: String,
    got: String,
    path: Vec<String>,
}

impl FromValueError {
    /// `value` is not `expected` (`"an int"`, `"a list"`).
    pub fn new(expected: impl Into<String>, value: &Value) -> FromValueError {
        FromValueError {
            expected: expected.into(),
            got: describe_value(value),
            path: Vec::new(),
        }
    }

    /// The error, found inside `place` of a bigger value.
    pub fn inside(mut self, place: impl Into<String>) -> FromValueError {
        self.path.insert(0, place.into());
        self
    }

    /// What was expected (`"an int"`).
    pub fn expected(&self) -> &str {
        &self.expected
    }
}

impl fmt::Display for FromValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for place in &self.path {
            write!(f, "{place}: ")?;
        }
        write!(f, "expected {}, got {}", self.expected, self.got)
    }
}

impl std::error::Error for FromValueError {}

/// Reads argument `index` (from 0) of the function `name` as `T`, or says
/// why not (`:badarg`). The one conversion of arguments: host functions
/// read theirs through it, and builtins word their errors with
/// `bad_argument` too.
#[inline(always)]
pub(crate) fn argument<T: FromValue>(
    name: &str,
    args: &[Value],
    index: usize,
) -> Result<T, (Atom, String)> {
    match T::from_value(&args[index]) {
        Ok(value) => Ok(value),
        Err(error) => Err(bad_argument(name, index, error)),
    }
}

/// "name: argument 2: expected an int, got :x" (`index` counts from 0).
#[cold]
#[inline(never)]
pub(crate) fn bad_argument(name: &str, index: usize, error: FromValueError) -> (Atom, String) {
    (
        Atom::BADARG,
        format!("{name}: argument {}: {error}", index + 1),
    )
}

// ------------------------------------------------------------- scalars

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Value, FromValueError> {
        Ok(value.clone())
    }
}

impl IntoValue for &Value {
    fn into_value(self) -> Value {
        self.clone()
    }
}

impl IntoValue for () {
    fn into_value(self) -> Value {
        Value::Nil
    }
}

impl FromValue for () {
    fn from_value(value: &Value) -> Result<(), FromValueError> {
        match value {
            Value::Nil => Ok(()),
            other => Err(FromValueError::new("nil", other)),
        }
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<bool, FromValueError> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(FromValueError::new("true or false", other)),
        }
    }
}

impl IntoValue for i64 {
    #[inline]
    fn into_value(self) -> Value {
        Value::Int(self)
    }
}

impl FromValue for i64 {
    #[inline]
    fn from_value(value: &Value) -> Result<i64, FromValueError> {
        match value {
            Value::Int(n) => Ok(*n),
            other => Err(FromValueError::new("an int", other)),
        }
    }
}

/// Integer types that fit in an `i64` both ways: range-checked reading.
macro_rules! small_int {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Int(self as i64)
            }
        }

        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<$t, FromValueError> {
                match value {
                    Value::Int(n) => <$t>::try_from(*n).map_err(|_| {
                        FromValueError::new(
                            format!("an int from {} to {}", <$t>::MIN, <$t>::MAX),
                            value,
                        )
                    }),
                    other => Err(FromValueError::new("an int", other)),
                }
            }
        }
    )*};
}
small_int!(i8, i16, i32, u8, u16, u32);

/// Integer types wider than an `i64` on one side: values past `i64::MAX`
/// become floats; reading checks the range.
macro_rules! wide_int {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                match i64::try_from(self) {
                    Ok(n) => Value::Int(n),
                    Err(_) => Value::Float(self as f64),
                }
            }
        }

        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<$t, FromValueError> {
                match value {
                    Value::Int(n) => <$t>::try_from(*n).map_err(|_| {
                        FromValueError::new(format!("an int from {} up", <$t>::MIN), value)
                    }),
                    other => Err(FromValueError::new("an int", other)),
                }
            }
        }
    )*};
}
wide_int!(u64, usize, isize);

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<f64, FromValueError> {
        match value {
            Value::Float(f) => Ok(*f),
            Value::Int(n) => Ok(*n as f64),
            other => Err(FromValueError::new("a number", other)),
        }
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::Float(self as f64)
    }
}

impl FromValue for f32 {
    fn from_value(value: &Value) -> Result<f32, FromValueError> {
        f64::from_value(value).map(|f| f as f32)
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::str(self)
    }
}

impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::str(self)
    }
}

impl IntoValue for char {
    fn into_value(self) -> Value {
        Value::str(self.to_string())
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<String, FromValueError> {
        match value {
            Value::Str(s) => Ok(s.as_ref().clone()),
            other => Err(FromValueError::new("a string", other)),
        }
    }
}

impl IntoValue for Atom {
    fn into_value(self) -> Value {
        Value::Atom(self)
    }
}

impl FromValue for Atom {
    fn from_value(value: &Value) -> Result<Atom, FromValueError> {
        match value {
            Value::Atom(atom) => Ok(*atom),
            other => Err(FromValueError::new("an atom", other)),
        }
    }
}

impl IntoValue for Pid {
    fn into_value(self) -> Value {
        Value::Pid(self)
    }
}

impl FromValue for Pid {
    fn from_value(value: &Value) -> Result<Pid, FromValueError> {
        match value {
            Value::Pid(pid) => Ok(*pid),
            other => Err(FromValueError::new("a pid", other)),
        }
    }
}

// ---------------------------------------------------------- containers

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        match self {
            Some(v) => v.into_value(),
            None => Value::Nil,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Option<T>, FromValueError> {
        match value {
            Value::Nil => Ok(None),
            other => T::from_value(other).map(Some).map_err(|mut error| {
                error.expected = format!("nil or {}", error.expected);
                error
            }),
        }
    }
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::list(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: IntoValue + Clone> IntoValue for &[T] {
    fn into_value(self) -> Value {
        Value::list(self.iter().cloned().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: &Value) -> Result<Vec<T>, FromValueError> {
        // Bytes read as a list of ints, so `Vec<u8>` takes a bytes value
        // (and a list of ints).
        if let Value::Bytes(b) = value {
            return b
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    T::from_value(&Value::Int(x as i64)).map_err(|e| e.inside(format!("byte {i}")))
                })
                .collect();
        }
        let items = value
            .as_list()
            .ok_or_else(|| FromValueError::new("a list", value))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| T::from_value(item).map_err(|e| e.inside(format!("element {i}"))))
            .collect()
    }
}

impl IntoValue for bytes::Bytes {
    fn into_value(self) -> Value {
        Value::bytes(self)
    }
}

impl FromValue for bytes::Bytes {
    fn from_value(value: &Value) -> Result<bytes::Bytes, FromValueError> {
        match value {
            Value::Bytes(b) => Ok(bytes::Bytes::clone(b)),
            other => Err(FromValueError::new("bytes", other)),
        }
    }
}

/// Tuples of one to six elements.
macro_rules! tuple {
    ($len:literal; $($name:ident $index:tt),+) => {
        impl<$($name: IntoValue),+> IntoValue for ($($name,)+) {
            fn into_value(self) -> Value {
                Value::tuple(vec![$(self.$index.into_value()),+])
            }
        }

        impl<$($name: FromValue),+> FromValue for ($($name,)+) {
            fn from_value(value: &Value) -> Result<Self, FromValueError> {
                match value.as_tuple() {
                    Some(items) if items.len() == $len => Ok(($(
                        $name::from_value(&items[$index])
                            .map_err(|e| e.inside(format!("element {}", $index)))?,
                    )+)),
                    _ => Err(FromValueError::new(
                        concat!("a tuple of ", stringify!($len)),
                        value,
                    )),
                }
            }
        }
    };
}
tuple!(1; A 0);
tuple!(2; A 0, B 1);
tuple!(3; A 0, B 1, C 2);
tuple!(4; A 0, B 1, C 2, D 3);
tuple!(5; A 0, B 1, C 2, D 3, E 4);
tuple!(6; A 0, B 1, C 2, D 3, E 4, F 5);

/// Reads a map's entries with `K` and `V`, naming the key of a bad entry.
fn entries<K: FromValue, V: FromValue>(
    value: &Value,
) -> Result<impl Iterator<Item = Result<(K, V), FromValueError>> + '_, FromValueError> {
    let map = value
        .as_map()
        .ok_or_else(|| FromValueError::new("a map", value))?;
    Ok(map.iter().map(|(k, v)| {
        let key = K::from_value(k).map_err(|e| e.inside(format!("key {}", describe_value(k))))?;
        let value =
            V::from_value(v).map_err(|e| e.inside(format!("value of {}", describe_value(k))))?;
        Ok((key, value))
    }))
}

impl<K: IntoValue, V: IntoValue, S> IntoValue for HashMap<K, V, S> {
    fn into_value(self) -> Value {
        Value::map(
            self.into_iter()
                .map(|(k, v)| (k.into_value(), v.into_value()))
                .collect::<MapItems>(),
        )
    }
}

impl<K, V, S> FromValue for HashMap<K, V, S>
where
    K: FromValue + Eq + Hash,
    V: FromValue,
    S: BuildHasher + Default,
{
    fn from_value(value: &Value) -> Result<Self, FromValueError> {
        entries(value)?.collect()
    }
}

impl<K: IntoValue, V: IntoValue> IntoValue for BTreeMap<K, V> {
    fn into_value(self) -> Value {
        Value::map(
            self.into_iter()
                .map(|(k, v)| (k.into_value(), v.into_value()))
                .collect::<MapItems>(),
        )
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(value: &Value) -> Result<Self, FromValueError> {
        entries(value)?.collect()
    }
}
