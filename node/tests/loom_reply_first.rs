//! Model check, with loom, of the order of a call's reply and its end
//! (node/src/reply_first.rs, compiled here as it is): whatever the
//! interleaving of the reader thread that starts a call from another node
//! and queues its `SPAWN_REPLY`, and the scheduler thread on which the
//! started process ends, the connection's queue gets the reply first and
//! the end exactly once, after it.
//!
//! The model follows erpc.rs and lib.rs's `down`: the call's record lives
//! under the node's table lock; the reply is queued with that lock held,
//! then `replied` says so; an end queued by the ending thread is queued
//! after it has released the lock. The queue is the connection's (its own
//! lock, as `Conn::queue` has).
//!
//! Runs under a plain `cargo test -p weft-node --release --test
//! loom_reply_first`.

#[allow(dead_code)]
#[path = "../src/reply_first.rs"]
mod reply_first;

use loom::sync::{Arc, Mutex};
use reply_first::ReplyFirst;

#[test]
fn the_reply_always_goes_before_the_end() {
    loom::model(|| {
        let table = Arc::new(Mutex::new(ReplyFirst::<&'static str>::new()));
        let queue = Arc::new(Mutex::new(Vec::<&'static str>::new()));

        // The scheduler thread: the process ends (lib.rs `down`).
        let ending = {
            let (table, queue) = (table.clone(), queue.clone());
            loom::thread::spawn(move || {
                let now = table.lock().unwrap().end("end");
                if let Some(end) = now {
                    queue.lock().unwrap().push(end);
                }
            })
        };

        // The reader thread: the reply, then an end that came first.
        {
            let mut call = table.lock().unwrap();
            queue.lock().unwrap().push("reply");
            if let Some(end) = call.replied() {
                queue.lock().unwrap().push(end);
            }
        }

        ending.join().unwrap();
        assert_eq!(*queue.lock().unwrap(), ["reply", "end"]);
    });
}
