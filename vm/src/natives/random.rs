//! The `random` module (LANGUAGE.md §9).
//!
//! One generator per VM, in `Scheduler::rng`, seeded by the host
//! (`weft run --seed N`, default 0). It is xorshift64*: small, fast, good
//! enough for simulations and tests, and not for cryptography. Because the
//! scheduling order is deterministic too, a program run twice with the same
//! seed draws the same numbers in the same processes.

use super::{badarg, int_arg, native, Ctx, Native, NativeResult};
use crate::data::value::Value;

pub(crate) const NATIVES: &[Native] = &[
    native("random.seed", 1, 1, seed),
    native("random.int", 2, 2, int),
    native("random.float", 0, 0, float),
];

/// `random.seed(n)`: restarts the generator, so the draws after it repeat.
fn seed(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let n = int_arg(args, 0, "random.seed")?;
    ctx.vm.seed_random(n as u64);
    Ok(Value::Nil)
}

/// `random.int(lo, hi)`: an int from lo to hi, both included, each equally
/// likely (Lemire's multiply-and-reject, so there is no modulo bias).
fn int(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let lo = int_arg(args, 0, "random.int")?;
    let hi = int_arg(args, 1, "random.int")?;
    if lo > hi {
        return Err(badarg(format!(
            "random.int needs lo <= hi, got {lo} and {hi}"
        )));
    }
    // The number of possible results, minus one; computed in u64 so the
    // full range of i64 does not overflow.
    let span = (hi as u64).wrapping_sub(lo as u64);
    if span == u64::MAX {
        return Ok(Value::Int(ctx.vm.random() as i64));
    }
    let range = span + 1;
    let threshold = range.wrapping_neg() % range;
    loop {
        let product = ctx.vm.random() as u128 * range as u128;
        if (product as u64) >= threshold {
            let offset = (product >> 64) as u64;
            return Ok(Value::Int((lo as u64).wrapping_add(offset) as i64));
        }
    }
}

/// `random.float()`: a float in [0, 1), from the top 53 bits.
fn float(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    let bits = ctx.vm.random() >> 11;
    Ok(Value::Float(bits as f64 * (1.0 / (1u64 << 53) as f64)))
}
