//! The runtime layer: schedulers and their run queues, signals between
//! processes, timers, channels as processes use them, the distribution's
//! boundary, traces.

pub(crate) mod channel;
pub(crate) mod dist;
pub(crate) mod events;
pub(crate) mod external;
pub(crate) mod groups;
pub(crate) mod pool;
pub(crate) mod scheduler;
pub(crate) mod timer;
pub(crate) mod trace;
