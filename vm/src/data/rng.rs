//! The random number generator every scheduler draws from (`random`):
//! seeded, so a run with one scheduler repeats for a given seed.

/// The generator's state for a seed (splitmix64 of the seed, never zero).
pub(crate) fn seed_state(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) | 1
}

/// The next 64 random bits (xorshift64*). The state is never zero, and
/// xorshift keeps a non-zero state non-zero.
pub(crate) fn next(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}
