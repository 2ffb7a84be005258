//! Fuel: the one measure of work in a slice (piccolo's `Fuel`, BEAM's
//! reductions). The interpreter spends one reduction per call and loop
//! back-edge (LANGUAGE.md §8); natives, walks over values and copies pay
//! for their work from the same `Fuel`, passed to them as `&mut Fuel`.
//!
//! Invariants:
//! - There is one `Fuel` per slice, owned by the interpreter's loop and
//!   lent to every native and continuation it calls: no other counter of
//!   work exists (no thread-local, no field a native writes for later).
//! - Work is counted in units smaller than a reduction (`WORK_PER_REDUCTION`
//!   units make one), and the remainder is kept, so a million small charges
//!   add up exactly as one large one.
//! - `left` may go below zero: work is charged whole, and the process
//!   yields at its next call or back-edge (a native never stops half way
//!   through a charge; a long one splits itself, `process/frames.rs`).

use crate::data::value::Value;
use crate::data::walk;

/// Units of work per reduction: visiting 64 nodes of a value, copying 64
/// elements or 64 bytes of a string costs what one call costs, which keeps
/// a native over a long list near what a Weft loop over it would cost.
pub(crate) const WORK_PER_REDUCTION: u64 = 64;

#[derive(Debug)]
pub(crate) struct Fuel {
    /// Reductions left in the slice.
    pub left: i64,
    /// Work charged that does not yet make a whole reduction.
    work: u64,
}

impl Fuel {
    pub(crate) fn new(reductions: i64) -> Fuel {
        Fuel {
            left: reductions,
            work: 0,
        }
    }

    /// Spends `n` reductions.
    #[inline(always)]
    pub(crate) fn spend(&mut self, n: i64) {
        self.left -= n;
    }

    /// Charges `work` units (elements processed, nodes visited, bytes
    /// copied).
    #[inline]
    pub(crate) fn charge(&mut self, work: usize) {
        let total = self.work.saturating_add(work as u64);
        let whole = total / WORK_PER_REDUCTION;
        self.work = total % WORK_PER_REDUCTION;
        self.left = self.left.saturating_sub(whole.min(i64::MAX as u64) as i64);
    }

    /// Charges for hashing and comparing `key` in a map: nothing for a
    /// scalar or a string (hashed in the time of a call), the nodes of a
    /// container (hashing walks all of them; a lookup compares at most a
    /// few candidates of the same hash).
    #[inline]
    pub(crate) fn charge_key(&mut self, key: &Value) {
        if walk::is_container(key) {
            self.charge_key_walk(key);
        }
    }

    #[cold]
    fn charge_key_walk(&mut self, key: &Value) {
        self.charge(walk::nodes(key) as usize * 2);
    }

    #[inline(always)]
    pub(crate) fn is_spent(&self) -> bool {
        self.left <= 0
    }

    /// Whole reductions' worth of node visits left (at least one), for a
    /// walk that runs on fuel.
    pub(crate) fn visits_left(&self) -> u64 {
        self.left.max(1) as u64 * WORK_PER_REDUCTION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_charges_add_up_like_one_large_one() {
        let mut small = Fuel::new(1000);
        for _ in 0..6400 {
            small.charge(1);
        }
        let mut large = Fuel::new(1000);
        large.charge(6400);
        assert_eq!((small.left, large.left), (900, 900));
    }

    #[test]
    fn a_container_key_costs_its_nodes() {
        let mut fuel = Fuel::new(100);
        fuel.charge_key(&Value::Int(1));
        assert_eq!(fuel.left, 100);
        let key = Value::list((0..6400).map(Value::Int).collect());
        fuel.charge_key(&key);
        assert!(fuel.left < 100, "{}", fuel.left);
    }
}
