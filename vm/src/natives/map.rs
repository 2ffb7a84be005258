//! The `map` module (LANGUAGE.md §9).
//!
//! Maps keep insertion order. Functions that return a changed map take it
//! out of the argument slot (`std::mem::take`) and update it through
//! `Arc::make_mut`, so when the caller handed over the only reference
//! (`m = map.put(m, k, v)`) the map is changed in place, not copied.

use std::sync::Arc;

use super::{bad_element, expected, list_arg, native, Ctx, Native, NativeResult, Trap};
use crate::data::value::{Value, WeftMap};

pub(crate) const NATIVES: &[Native] = &[
    native("map.get", 3, 3, get),
    native("map.put", 3, 3, put),
    native("map.remove", 2, 2, remove),
    native("map.has?", 2, 2, has),
    native("map.keys", 1, 1, keys),
    native("map.values", 1, 1, values),
    native("map.to_list", 1, 1, to_list),
    native("map.from_list", 1, 1, from_list),
    native("map.merge", 2, 2, merge),
];

fn map_arg<'v>(args: &'v [Value], i: usize, name: &str) -> Result<&'v WeftMap, Trap> {
    match &args[i] {
        Value::Map(map) => Ok(&map.0),
        other => Err(expected("a map", name, i, other)),
    }
}

/// Takes the map argument out of its slot, keeping the only reference if
/// the caller gave it up.
fn take_map(
    args: &mut [Value],
    i: usize,
    name: &str,
) -> Result<Arc<crate::data::value::MapItems>, Trap> {
    match std::mem::take(&mut args[i]) {
        Value::Map(map) => Ok(map),
        other => Err(expected("a map", name, i, &other)),
    }
}

/// The value under `k`, or `default` when the key is missing.
fn get(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.fuel.charge_key(&args[1]);
    let map = map_arg(args, 0, "map.get")?;
    match map.get(&args[1]) {
        Some(value) => Ok(value.clone()),
        None => Ok(std::mem::take(&mut args[2])),
    }
}

/// A map with `k` set to `v`. A new key goes last; an existing key keeps
/// its place (as in Python's dict).
fn put(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let mut map = take_map(args, 0, "map.put")?;
    let key = std::mem::take(&mut args[1]);
    let value = std::mem::take(&mut args[2]);
    ctx.fuel.charge_key(&key);
    Value::map_make_mut(&mut map, ctx.fuel).insert(key, value);
    Ok(Value::Map(map))
}

/// A map without `k`; the other keys keep their order, which costs O(n)
/// for a key that is not last. A missing key returns the map unchanged.
fn remove(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let mut map = take_map(args, 0, "map.remove")?;
    ctx.fuel.charge_key(&args[1]);
    if map.contains_key(&args[1]) {
        // Keeping the order moves the entries after the key.
        ctx.charge(map.len());
        Value::map_make_mut(&mut map, ctx.fuel)
            .entries_mut()
            .shift_remove(&args[1]);
    }
    Ok(Value::Map(map))
}

fn has(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.fuel.charge_key(&args[1]);
    let map = map_arg(args, 0, "map.has?")?;
    Ok(Value::Bool(map.contains_key(&args[1])))
}

/// The keys, in insertion order.
fn keys(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let map = map_arg(args, 0, "map.keys")?;
    ctx.charge(map.len());
    Ok(Value::list(map.keys().cloned().collect()))
}

/// The values, in the order of their keys.
fn values(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let map = map_arg(args, 0, "map.values")?;
    ctx.charge(map.len());
    Ok(Value::list(map.values().cloned().collect()))
}

/// The entries as `(k, v)` tuples, in insertion order.
fn to_list(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let map = map_arg(args, 0, "map.to_list")?;
    ctx.charge(map.len());
    Ok(Value::list(
        map.iter()
            .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
            .collect(),
    ))
}

/// A map from a list of `(k, v)` tuples; a repeated key keeps its first
/// place and its last value, as `map.put` would.
fn from_list(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let pairs = list_arg(args, 0, "map.from_list")?;
    let n = pairs.len();
    ctx.admit(n.saturating_mul(ENTRY_BYTES), "map.from_list")?;
    let work = FromList {
        pairs: std::mem::take(&mut args[0]),
        next: 0,
        map: WeftMap::with_capacity_and_hasher(n, Default::default()),
    };
    super::chunked(ctx, work)
}

/// What an entry of a new map costs: its key and value, and the table's
/// index and hash.
const ENTRY_BYTES: usize = 48;

/// A map from a list of pairs, a slice's worth of entries at a time (a
/// million keys take a good part of a second to hash and insert).
struct FromList {
    pairs: Value,
    next: usize,
    map: WeftMap,
}

impl super::Chunked for FromList {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        let pairs = self.pairs.as_list().unwrap_or(&[]);
        while self.next < pairs.len() {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let end = (self.next + 1024).min(pairs.len());
            for (at, pair) in pairs.iter().enumerate().take(end).skip(self.next) {
                let Some([key, value]) = pair.as_tuple() else {
                    return Err(bad_element(
                        "a (key, value) tuple",
                        "map.from_list",
                        0,
                        at,
                        pair,
                    ));
                };
                ctx.fuel.charge_key(key);
                self.map.insert(key.clone(), value.clone());
            }
            // Hashing and inserting costs about 16 elements' work.
            ctx.charge((end - self.next) * 16);
            self.next = end;
        }
        let map = std::mem::take(&mut self.map);
        Ok(Some(Value::map(crate::data::value::MapItems(map))))
    }
}

/// The entries of `a` then those of `b`; where both have a key, `b`'s
/// value wins and the key keeps its place in `a`. Adds to `a` in place
/// when it is not shared, so the cost is O(len(b)).
fn merge(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[1]));
    map_arg(args, 0, "map.merge")?;
    let b = take_map(args, 1, "map.merge")?;
    let mut a = take_map(args, 0, "map.merge")?;
    if a.is_empty() {
        return Ok(Value::Map(b));
    }
    if !b.is_empty() {
        let target = Value::map_make_mut(&mut a, ctx.fuel);
        target.entries_mut().reserve(b.len());
        for (key, value) in b.iter() {
            ctx.fuel.charge_key(key);
            target.insert(key.clone(), value.clone());
        }
    }
    Ok(Value::Map(a))
}
