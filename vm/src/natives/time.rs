//! The `time` module (LANGUAGE.md §9). The global `now()` is the monotonic
//! clock, for measuring; `time.now()` is the wall clock, for timestamps.

use super::{native, Ctx, Native, NativeResult};
use crate::data::value::Value;

pub(crate) const NATIVES: &[Native] = &[native("time.now", 0, 0, now)];

/// Milliseconds since the Unix epoch, as an int (negative if the system
/// clock is set before 1970).
fn now(_: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    let ms = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    };
    Ok(Value::Int(ms))
}
