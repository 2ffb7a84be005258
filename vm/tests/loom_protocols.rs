//! Model checks of the VM's lock-free protocols with loom.
//!
//! This test crate compiles the VM's own `signal_queue.rs` and
//! `channel_state.rs` (through `#[path]`) against the `sync` module below,
//! which maps `crate::sync` to loom's model-checked atomics and mutexes, so
//! loom explores the interleavings of the very code the VM runs. It does not
//! link the `weft_vm` library at all.
//!
//! What is checked, each under every interleaving loom explores:
//! - The signal queue delivers every value exactly once, in push order per
//!   producer, while the owner drains concurrently.
//! - No wake-up is lost or doubled: an owner that parks is woken by exactly
//!   the one push that asks for a wake-up after the park, and a value that
//!   asked for a wake-up is never left behind a sleeping owner.
//! - A push racing `close` either comes back as `Pushed::Closed` or is
//!   returned by `close`'s drain, never both and never neither.
//! - `WaitClaim` lets exactly one of several claimants end a wait, and a
//!   stale serial or token never consumes a later wait.
//! - Channel send and receive (unbuffered and buffered), close, and a
//!   two-channel select hand each value over exactly once, wake each parked
//!   process exactly once, and leave no live waiter behind; `lock_in_order`
//!   never deadlocks when two threads name the same locks in opposite order.
//! - Direct delivery (`deliver_directly`: a sender takes a blocked
//!   process's body and puts the message straight into its mailbox) races
//!   the process blocking without losing, doubling or reordering a message,
//!   and wakes it exactly once.
//! - A host waiting for network threads (`external.rs`) is never left asleep
//!   with a wake-up pending: whatever two threads push and notify, it takes
//!   every item (loom's `wait_timeout` never times out, so a lost notice is
//!   a deadlock loom reports).
//!
//! Processes are modelled as `Proc`s: a wait claim, a serial, and an inbox
//! (`SignalQueue<Handoff>`). As in the VM, wake-ups are claimed under the
//! channel lock and pushed to the target's inbox only after unlocking; a push
//! that returns `Pushed::Wake` stands for the scheduler making that process
//! runnable again.
//!
//! The tests run under a plain `cargo test -p weft-vm --release --test
//! loom_protocols`; no `--cfg loom` is needed.

/// The primitives `signal_queue.rs` and `channel_state.rs` name through
/// `crate::data::sync`, here loom's model-checked versions.
mod data {
    pub(crate) mod sync {
        pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
        pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
    }
}

#[allow(dead_code)]
#[path = "../src/process/signal_queue.rs"]
mod signal_queue;

#[allow(dead_code)]
#[path = "../src/data/channel_state.rs"]
mod channel_state;

#[allow(dead_code)]
#[path = "../src/runtime/external.rs"]
mod external;

use channel_state::{lock_in_order, ChanState, Wake};
use loom::sync::{Arc, Mutex};
use loom::thread;
use signal_queue::{Pushed, SignalQueue, WaitClaim};

/// Two producers push two values each while the owner drains once
/// concurrently and once after the joins: every value arrives exactly once,
/// and each producer's values arrive in the order it pushed them.
#[test]
fn signal_queue_fifo_per_producer() {
    loom::model(|| {
        let queue = Arc::new(SignalQueue::<(u8, u8)>::new());
        let producers: Vec<_> = (0..2u8)
            .map(|p| {
                let queue = queue.clone();
                thread::spawn(move || {
                    for i in 0..2u8 {
                        // The owner never parks here, so no push wakes it.
                        assert_eq!(queue.push((p, i), true), Pushed::Queued);
                    }
                })
            })
            .collect();
        let mut got: Vec<(u8, u8)> = queue.take_all().collect();
        for producer in producers {
            producer.join().unwrap();
        }
        got.extend(queue.take_all());
        assert!(queue.is_empty());
        assert_eq!(got.len(), 4, "lost or duplicated values: {got:?}");
        for p in 0..2u8 {
            let mine: Vec<u8> = got.iter().filter(|v| v.0 == p).map(|v| v.1).collect();
            assert_eq!(mine, vec![0, 1], "producer {p} out of order: {got:?}");
        }
    });
}

/// The owner's loop before sleeping: drain, then park; a failed park means
/// signals arrived, so it drains again and retries. It returns what it saw.
fn drain_then_park(queue: &SignalQueue<u8>) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        got.extend(queue.take_all());
        if queue.park() {
            return got;
        }
    }
}

/// One producer pushes with a wake-up request while the owner drains and
/// parks. Either the owner saw the value before its final park, or the push
/// found the owner parked and returned `Wake` (and the value waits in the
/// queue for the woken owner): exactly one of the two, never neither.
#[test]
fn signal_queue_no_lost_wakeup() {
    loom::model(|| {
        let queue = Arc::new(SignalQueue::<u8>::new());
        let producer = {
            let queue = queue.clone();
            thread::spawn(move || queue.push(7, true))
        };
        let got = drain_then_park(&queue);
        let pushed = producer.join().unwrap();
        assert_ne!(pushed, Pushed::Closed(7), "the queue was never closed");
        let woken = pushed == Pushed::Wake;
        let saw = got.contains(&7);
        assert!(woken != saw, "woken {woken}, saw before parking {saw}");
        if woken {
            // The woken owner runs and drains; the wake cleared the tag.
            assert!(!queue.is_parked());
            assert_eq!(queue.take_all().collect::<Vec<_>>(), vec![7]);
        } else {
            // The owner sleeps with nothing queued: nothing is stranded.
            assert!(queue.is_parked() && queue.is_empty());
            assert_eq!(got, vec![7]);
        }
    });
}

/// Two producers, one without and one with a wake-up request. The first
/// never wakes the owner (a parked owner stays parked and keeps its tag); the
/// second wakes it exactly when its value arrived after the owner's final
/// park, so there is at most one `Wake`, and no value is lost.
#[test]
fn signal_queue_one_wake_among_two_producers() {
    loom::model(|| {
        let queue = Arc::new(SignalQueue::<u8>::new());
        let quiet = {
            let queue = queue.clone();
            thread::spawn(move || queue.push(0, false))
        };
        let waking = {
            let queue = queue.clone();
            thread::spawn(move || queue.push(1, true))
        };
        let mut got = drain_then_park(&queue);
        assert_eq!(quiet.join().unwrap(), Pushed::Queued);
        let pushed = waking.join().unwrap();
        assert_ne!(pushed, Pushed::Closed(1), "the queue was never closed");
        let woken = pushed == Pushed::Wake;
        assert_eq!(
            woken,
            !got.contains(&1),
            "the waking push and the park disagree"
        );
        if !woken {
            // Still asleep: only a value that asked for no wake-up may wait.
            assert!(queue.is_parked());
        }
        got.extend(queue.take_all());
        got.sort();
        assert_eq!(got, vec![0, 1], "lost or duplicated values");
    });
}

/// A producer pushes two values while the owner closes its queue: each value
/// either comes back as `Pushed::Closed` or is in `close`'s drain, exactly
/// one of the two, and once one push sees the queue closed, the later one
/// does too. A reopened queue (a reused slot) accepts pushes again.
#[test]
fn signal_queue_close_vs_push() {
    loom::model(|| {
        let queue = Arc::new(SignalQueue::<u8>::new());
        let producer = {
            let queue = queue.clone();
            thread::spawn(move || [queue.push(7, true), queue.push(8, false)])
        };
        let drained: Vec<u8> = queue.close().collect();
        let results = producer.join().unwrap();
        assert!(!results.contains(&Pushed::Wake), "the owner never parked");
        let bounced: Vec<u8> = results
            .into_iter()
            .filter_map(|r| {
                if let Pushed::Closed(v) = r {
                    Some(v)
                } else {
                    None
                }
            })
            .collect();
        let mut all = drained.clone();
        all.extend(&bounced);
        all.sort();
        assert_eq!(all, vec![7, 8], "drained {drained:?}, bounced {bounced:?}");
        assert!(bounced != vec![7], "a push after a failed one succeeded");
        assert!(
            drained == vec![7, 8] || drained.len() < 2,
            "drain out of order"
        );
        assert!(queue.is_closed());
        assert_eq!(queue.push(9, true), Pushed::Closed(9));
        assert!(queue.reopen());
        assert_eq!(queue.push(10, true), Pushed::Queued);
        assert_eq!(queue.take_all().collect::<Vec<_>>(), vec![10]);
    });
}

/// Two claimants (say a channel and a timer) race to end one armed wait:
/// exactly one wins, and the wait is no longer armed afterwards.
#[test]
fn wait_claim_exactly_one_winner() {
    loom::model(|| {
        let claim = Arc::new(WaitClaim::default());
        claim.arm(3, 5);
        let claimants: Vec<_> = (0..2)
            .map(|_| {
                let claim = claim.clone();
                thread::spawn(move || claim.claim(3, 5))
            })
            .collect();
        let wins: Vec<bool> = claimants.into_iter().map(|c| c.join().unwrap()).collect();
        assert_eq!(wins.iter().filter(|&&w| w).count(), 1);
        assert!(!claim.is_armed(3, 5));
    });
}

/// A claimant left over from an earlier wait races the owner arming a new
/// one, alongside the new wait's rightful claimant: the stale claim never
/// wins, and never consumes the new wait (if the rightful claimant lost, it
/// came too early, and the new wait is still armed).
///
/// The earlier wait is ended before the race starts. Racing a stale claim
/// against the `disarm` store itself trips loom bug tokio-rs/loom#254
/// (loom lets a later load see a successful compare-and-swap's value over a
/// store it must precede), so that order is checked sequentially below.
fn stale_claim_race(ended_by_claim: bool, stale: (u32, u32), fresh: (u32, u32)) {
    loom::model(move || {
        let claim = Arc::new(WaitClaim::default());
        claim.arm(stale.0, stale.1);
        if ended_by_claim {
            // The wait was ended by its winner (say a timer).
            assert!(claim.claim(stale.0, stale.1));
        } else {
            // The process ended; its slot is to be reused.
            claim.disarm();
        }
        let spawn_claim = |(serial, token): (u32, u32)| {
            let claim = claim.clone();
            thread::spawn(move || claim.claim(serial, token))
        };
        let late = spawn_claim(stale);
        let right = spawn_claim(fresh);
        claim.arm(fresh.0, fresh.1);
        assert!(!late.join().unwrap(), "a stale claim won");
        let right_won = right.join().unwrap();
        assert_eq!(
            claim.is_armed(fresh.0, fresh.1),
            !right_won,
            "the new wait was consumed"
        );
        assert!(!claim.is_armed(stale.0, stale.1));
        // Whoever comes after the re-arm: only the right pair wins.
        assert!(!claim.claim(stale.0, stale.1));
        claim.arm(fresh.0, fresh.1);
        assert!(claim.claim(fresh.0, fresh.1));
        claim.disarm();
        assert!(!claim.claim(fresh.0, fresh.1), "a claim won after disarm");
    });
}

/// The same process's next wait (a new token) after a claimed one.
#[test]
fn wait_claim_stale_token_never_wins() {
    stale_claim_race(true, (3, 5), (3, 6));
}

/// A reused slot (a new serial, the same token) after the process ended.
#[test]
fn wait_claim_stale_serial_never_wins() {
    stale_claim_race(false, (3, 5), (4, 5));
}

/// What a waiting process finds in its inbox: a wake-up from a channel,
/// with the wait's token and the arm it ended, then any value received.
#[derive(Debug, PartialEq)]
enum Handoff {
    Received(u32, u32, i64),
    Sent(u32, u32),
    Closed(u32, u32),
}

/// A model process: its wait word, its slot serial, and its inbox.
struct Proc {
    serial: u32,
    claim: WaitClaim,
    inbox: SignalQueue<Handoff>,
}

type Procs = Arc<Vec<Proc>>;
type Chan = Mutex<ChanState<usize, i64>>;

/// The token every model wait uses (each process waits once per model).
const TOKEN: u32 = 1;

fn procs(n: usize) -> Procs {
    Arc::new(
        (0..n)
            .map(|i| Proc {
                serial: 10 + i as u32,
                claim: WaitClaim::default(),
                inbox: SignalQueue::new(),
            })
            .collect(),
    )
}

fn chan(capacity: usize) -> Chan {
    Mutex::new(ChanState::new(capacity))
}

/// The claim the channel code calls under its lock, as the VM's does.
fn claimer(procs: &[Proc]) -> impl FnMut(usize, u32) -> bool + '_ {
    move |who, token| procs[who].claim.claim(procs[who].serial, token)
}

/// Delivers wake-ups after the channel lock is released, by pushing each to
/// its target's inbox; returns the processes that must be made runnable.
fn deliver(procs: &[Proc], wakes: Vec<Wake<usize, i64>>) -> Vec<usize> {
    let mut woken = Vec::new();
    for wake in wakes {
        let (who, handoff) = match wake {
            Wake::Received {
                who,
                token,
                arm,
                value,
            } => (who, Handoff::Received(token, arm, value)),
            Wake::Sent { who, token, arm } => (who, Handoff::Sent(token, arm)),
            Wake::Closed { who, token, arm } => (who, Handoff::Closed(token, arm)),
        };
        match procs[who].inbox.push(handoff, true) {
            Pushed::Wake => woken.push(who),
            Pushed::Queued => {}
            Pushed::Closed(h) => panic!("inbox of {who} closed, {h:?} bounced"),
        }
    }
    woken
}

/// How a channel operation went: done at once, or the process waited (and
/// either parked, or found its hand-off already there when parking failed).
enum Outcome<T> {
    Now(T),
    Waited { parked: bool, early: Vec<Handoff> },
}

/// The owner's protocol for going to sleep on its inbox.
fn block<T>(me: &Proc) -> Outcome<T> {
    let parked = me.inbox.park();
    let early = if parked {
        Vec::new()
    } else {
        me.inbox.take_all().collect()
    };
    Outcome::Waited { parked, early }
}

/// A receive on `chan` by process `me`; waits (arm, register, unlock, park)
/// when nothing is there.
fn receive(procs: &[Proc], me: usize, chan: &Chan) -> (Outcome<Result<i64, bool>>, Vec<usize>) {
    let mut wakes = Vec::new();
    let mut guard = chan.lock().unwrap();
    let result = guard.try_recv(&mut claimer(procs), &mut wakes);
    if result == Err(false) {
        procs[me].claim.arm(procs[me].serial, TOKEN);
        guard.wait_to_receive(me, TOKEN, 0);
        drop(guard);
        let woken = deliver(procs, wakes);
        return (block(&procs[me]), woken);
    }
    drop(guard);
    (Outcome::Now(result), deliver(procs, wakes))
}

/// A send of `value` on `chan` by process `me`; waits with the value offered
/// when there is neither a receiver nor room. `Now(false)`: closed.
fn send(procs: &[Proc], me: usize, chan: &Chan, value: i64) -> (Outcome<bool>, Vec<usize>) {
    let mut wakes = Vec::new();
    let mut guard = chan.lock().unwrap();
    let result = guard.try_send(value, &mut claimer(procs), &mut wakes);
    if let Err(Some(value)) = result {
        procs[me].claim.arm(procs[me].serial, TOKEN);
        guard.wait_to_send(me, TOKEN, 0, value);
        drop(guard);
        let woken = deliver(procs, wakes);
        return (block(&procs[me]), woken);
    }
    drop(guard);
    (Outcome::Now(result.is_ok()), deliver(procs, wakes))
}

/// After the joins: a process that finished at once was never woken and got
/// no hand-off; one that waited got exactly one hand-off, had its wait
/// claimed, and was made runnable exactly once if it had parked, and never
/// if it had not.
fn settle<T>(
    procs: &[Proc],
    me: usize,
    outcome: Outcome<T>,
    woken: &[usize],
) -> Result<T, Handoff> {
    let wakes = woken.iter().filter(|&&w| w == me).count();
    match outcome {
        Outcome::Now(t) => {
            assert_eq!(wakes, 0, "process {me} was woken but never waited");
            assert!(
                procs[me].inbox.is_empty(),
                "process {me} got a stray hand-off"
            );
            Ok(t)
        }
        Outcome::Waited { parked, mut early } => {
            assert_eq!(
                wakes, parked as usize,
                "process {me}: parked {parked}, woken {wakes} times"
            );
            // Whoever woke the process must have claimed its wait.
            let serial = procs[me].serial;
            assert!(
                !procs[me].claim.is_armed(serial, TOKEN),
                "process {me} got a hand-off but its wait was never claimed"
            );
            early.extend(procs[me].inbox.take_all());
            assert_eq!(early.len(), 1, "process {me} got hand-offs {early:?}");
            Err(early.pop().unwrap())
        }
    }
}

/// No live waiter is left on a channel, and its buffer holds `buffered`.
fn assert_settled(procs: &[Proc], chan: &Chan, buffered: &[i64]) {
    let state = chan.lock().unwrap();
    let live = |who: usize, token| procs[who].claim.is_armed(procs[who].serial, token);
    assert_eq!(state.balance(&live), 0, "a live waiter is left: {state:?}");
    assert_eq!(state.buffer.iter().copied().collect::<Vec<_>>(), buffered);
}

/// A receiver (process 0) and a sender (process 1) meet on a channel: the
/// value passes exactly once, directly or by hand-off, and every process that
/// parked is woken exactly once.
fn send_recv_handoff(capacity: usize) {
    loom::model(move || {
        let procs = procs(2);
        let chan = Arc::new(chan(capacity));
        let receiver = {
            let (procs, chan) = (procs.clone(), chan.clone());
            thread::spawn(move || receive(&procs, 0, &chan))
        };
        let (sent, mut woken) = send(&procs, 1, &chan, 42);
        let (received, more) = receiver.join().unwrap();
        woken.extend(more);
        let receiver_waited = matches!(received, Outcome::Waited { .. });
        let sender_waited = matches!(sent, Outcome::Waited { .. });
        let got = settle(&procs, 0, received, &woken);
        let handed = Handoff::Received(TOKEN, 0, 42);
        assert!(
            got == Ok(Ok(42)) || got == Err(handed),
            "receiver got {got:?}"
        );
        let got = settle(&procs, 1, sent, &woken);
        let handed = Handoff::Sent(TOKEN, 0);
        assert!(got == Ok(true) || got == Err(handed), "sender got {got:?}");
        if capacity == 0 {
            assert!(receiver_waited != sender_waited, "exactly one side waits");
        } else {
            assert!(!sender_waited, "a buffered send with room waited");
        }
        assert_settled(&procs, &chan, &[]);
    });
}

#[test]
fn channel_unbuffered_handoff() {
    send_recv_handoff(0);
}

#[test]
fn channel_buffered_handoff() {
    send_recv_handoff(1);
}

/// A receiver (process 0) races a close: it sees the channel closed
/// directly, or it waited and gets exactly one `Closed` hand-off.
#[test]
fn channel_close_wakes_receiver_once() {
    loom::model(|| {
        let procs = procs(1);
        let chan = Arc::new(chan(0));
        let receiver = {
            let (procs, chan) = (procs.clone(), chan.clone());
            thread::spawn(move || receive(&procs, 0, &chan))
        };
        let woken = {
            let mut wakes = Vec::new();
            let mut guard = chan.lock().unwrap();
            assert!(guard.close(&mut claimer(&procs), &mut wakes));
            drop(guard);
            deliver(&procs, wakes)
        };
        let (received, mut more) = receiver.join().unwrap();
        more.extend(woken);
        let got = settle(&procs, 0, received, &more);
        let handed = Handoff::Closed(TOKEN, 0);
        assert!(
            got == Ok(Err(true)) || got == Err(handed),
            "receiver got {got:?}"
        );
        // A closed channel stays closed and refuses sends.
        assert!(matches!(send(&procs, 0, &chan, 1).0, Outcome::Now(false)));
        assert_settled(&procs, &chan, &[]);
    });
}

/// Process 0 selects on two channels (capacity 1) while processes 1 and 2
/// each send one value on a different one. The selector locks both channels
/// in order, takes a ready value if there is one, and otherwise arms one
/// claim and registers on both (arms 0 and 1). It gets exactly one value,
/// from the right arm, directly or by exactly one hand-off; the other value
/// stays buffered in its channel; no live waiter is left behind.
#[test]
fn select_on_two_channels() {
    loom::model(|| {
        let procs = procs(3);
        // One allocation holds both channels, so their address order (the
        // order `lock_in_order` takes them in) is the same in every
        // execution: loom needs each execution to be deterministic.
        let chans = Arc::new([chan(1), chan(1)]);
        let senders: Vec<_> = (0..2)
            .map(|k| {
                let (procs, chans) = (procs.clone(), chans.clone());
                thread::spawn(move || {
                    let (sent, woken) = send(&procs, 1 + k, &chans[k], 100 + k as i64);
                    assert!(
                        matches!(sent, Outcome::Now(true)),
                        "a send with room waited"
                    );
                    woken
                })
            })
            .collect();

        let selected = {
            let mut wakes = Vec::new();
            // Arm 0 is the channel at the higher address, so the guards come
            // back in the other order and `guard_of` must map them.
            let (mut guards, guard_of) = lock_in_order(&[&chans[1], &chans[0]]);
            let mut ready = None;
            for arm in 0..2 {
                let state = &mut guards[guard_of[arm]];
                if let Ok(value) = state.try_recv(&mut claimer(&procs), &mut wakes) {
                    ready = Some((arm as u32, value));
                    break;
                }
            }
            if ready.is_none() {
                procs[0].claim.arm(procs[0].serial, TOKEN);
                for arm in 0..2 {
                    guards[guard_of[arm]].wait_to_receive(0, TOKEN, arm as u32);
                }
            }
            drop(guards);
            assert!(
                deliver(&procs, wakes).is_empty(),
                "no sender ever waits here"
            );
            match ready {
                Some(got) => Outcome::Now(got),
                None => block(&procs[0]),
            }
        };

        let mut woken = Vec::new();
        for sender in senders {
            woken.extend(sender.join().unwrap());
        }
        let (arm, value) = match settle(&procs, 0, selected, &woken) {
            Ok(got) => got,
            Err(Handoff::Received(TOKEN, arm, value)) => (arm, value),
            Err(other) => panic!("selector got {other:?}"),
        };
        let (taken, other) = (1 - arm as usize, arm as usize);
        assert_eq!(value, 100 + taken as i64, "value from the wrong arm");
        assert_settled(&procs, &chans[taken], &[]);
        assert_settled(&procs, &chans[other], &[100 + other as i64]);
    });
}

/// Two threads lock the same two mutexes through `lock_in_order`, naming
/// them in opposite order: loom would report the deadlock of a naive
/// in-argument-order locking. Each guard maps back to its argument, and a
/// lock named twice is locked once.
#[test]
fn lock_in_order_never_deadlocks() {
    loom::model(|| {
        let locks = Arc::new([Mutex::new(0u32), Mutex::new(0u32)]);
        let lock_pair = |first: usize, second: usize, add: [u32; 2]| {
            let locks = locks.clone();
            thread::spawn(move || {
                let (mut guards, guard_of) = lock_in_order(&[&locks[first], &locks[second]]);
                *guards[guard_of[0]] += add[0];
                *guards[guard_of[1]] += add[1];
            })
        };
        let a = lock_pair(0, 1, [1, 10]);
        let b = lock_pair(1, 0, [100, 1000]);
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(*locks[0].lock().unwrap(), 1 + 1000);
        assert_eq!(*locks[1].lock().unwrap(), 10 + 100);
        let (guards, guard_of) = lock_in_order(&[&locks[0], &locks[0]]);
        assert_eq!((guards.len(), guard_of), (1, vec![0, 0]));
    });
}

/// Two network threads push a process each (one also sends a plain notice
/// after) while the host takes and waits: the host is woken, and takes
/// both, whatever the interleaving.
#[test]
fn external_wake_ups_are_never_lost() {
    loom::model(|| {
        let external = Arc::new(external::External::<u8>::default());
        let threads: Vec<_> = (0..2u8)
            .map(|i| {
                let external = external.clone();
                thread::spawn(move || {
                    external.push(i);
                    if i == 0 {
                        external.notify();
                    }
                })
            })
            .collect();
        let mut taken = Vec::new();
        while taken.len() < 2 {
            taken.extend(external.take());
            if taken.len() < 2 {
                external.wait(std::time::Duration::from_secs(1));
            }
        }
        for t in threads {
            t.join().unwrap();
        }
        taken.sort();
        assert_eq!(taken, vec![0, 1]);
        assert!(external.take().is_empty());
    });
}

// ------------------------------------------------------- direct delivery

/// A process's body for the direct-delivery model: its mailbox and whether
/// it waits for a message. The VM keeps the body in an `AtomicCell` that
/// whoever runs or delivers to the process takes and puts back (a swap); a
/// mutex held only for the swap is the same linearizable cell here.
struct Body {
    mailbox: Vec<u8>,
    waiting: bool,
}

struct Receiver {
    body: Mutex<Option<Body>>,
    inbox: SignalQueue<u8>,
}

impl Receiver {
    fn take_body(&self) -> Option<Body> {
        self.body.lock().unwrap().take()
    }

    fn put_body(&self, body: Body) {
        *self.body.lock().unwrap() = Some(body);
    }
}

/// `deliver_directly` in `runtime/scheduler.rs`, step for step: give up
/// when signals are queued; take the body (none while the process runs);
/// look at the inbox again now that it is held; enqueue; if the process
/// waited for a message, mark it runnable and unpark (winning the right to
/// queue it); put the body back. On giving up the message goes through the
/// inbox as any signal (`send_signal`). Returns whether this sender made
/// the process runnable.
fn deliver_message(receiver: &Receiver, message: u8) -> bool {
    if receiver.inbox.is_empty() {
        if let Some(mut body) = receiver.take_body() {
            if receiver.inbox.is_empty() {
                body.mailbox.push(message);
                let woke = body.waiting && {
                    body.waiting = false;
                    receiver.inbox.unpark()
                };
                receiver.put_body(body);
                return woke;
            }
            receiver.put_body(body);
        }
    }
    receiver.inbox.push(message, true) == Pushed::Wake
}

/// The receiver's scheduler: the process found its mailbox empty and
/// blocks (`Scheduler::park`: park first, then put the body back; a park
/// that fails means signals came, and the process runs again at once).
/// Returns whether it stayed runnable.
fn block_receiver(receiver: &Receiver, mut body: Body) -> bool {
    body.waiting = true;
    let parked = receiver.inbox.park();
    if !parked {
        body.waiting = false;
    }
    receiver.put_body(body);
    !parked
}

/// A sender delivers two messages while the receiver's scheduler blocks it
/// (it holds the body, found nothing, and parks). Under every interleaving:
/// each message lands exactly once (in the mailbox, or in the inbox for the
/// receiver to take), in the order sent; and the process is made runnable
/// exactly once if anything arrived after it parked — never zero times (a
/// lost wake-up: it would sleep with a message waiting) and never twice (it
/// would be queued twice and run on two threads).
#[test]
fn direct_delivery_wakes_once_and_keeps_order() {
    loom::model(|| {
        let receiver = Arc::new(Receiver {
            body: Mutex::new(None),
            inbox: SignalQueue::new(),
        });
        // The receiver is running: its scheduler holds the body.
        let running = Body {
            mailbox: Vec::new(),
            waiting: false,
        };
        let sender = {
            let receiver = receiver.clone();
            thread::spawn(move || [deliver_message(&receiver, 1), deliver_message(&receiver, 2)])
        };
        let stayed_runnable = block_receiver(&receiver, running);
        let woke = sender.join().unwrap();
        let wake_ups = woke.iter().filter(|w| **w).count() + stayed_runnable as usize;
        assert_eq!(wake_ups, 1, "made runnable exactly once");
        // Woken, it is not parked (whoever woke it took the parked bit).
        assert!(!receiver.inbox.is_parked(), "runnable but parked");
        let mut body = receiver.take_body().expect("the body is back");
        // What the process sees when it runs: its mailbox, then its inbox.
        let mut seen = std::mem::take(&mut body.mailbox);
        seen.extend(receiver.inbox.take_all());
        assert_eq!(seen, vec![1, 2], "each message once, in order");
    });
}
