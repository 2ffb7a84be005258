//! The `list` module (LANGUAGE.md §9); `map`, `filter` and `fold` are in
//! Weft (stdlib/src/list.weft).

use super::{expected, native, Ctx, Native, NativeResult};
use crate::value::Value;

pub(crate) const NATIVES: &[Native] = &[native("list.push", 2, 2, push)];

/// Appends in place when the caller handed over the only reference.
fn push(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let item = std::mem::take(&mut args[1]);
    match std::mem::take(&mut args[0]) {
        Value::List { mut start, mut items } => {
            Value::list_make_mut(&mut items, &mut start).push(item);
            Ok(Value::List { start, items })
        }
        other => Err(expected("a list", "list.push", &other)),
    }
}
