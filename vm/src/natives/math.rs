//! The `math` module (LANGUAGE.md §9).

use super::Native;

pub(crate) const NATIVES: &[Native] = &[];
