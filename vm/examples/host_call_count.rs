//! One kind of host call, 100,000 times, for `bench/host_calls.sh` to count
//! under callgrind: `empty` (the loop alone), `raw` (`register_fn`) or
//! `typed` (`register`), each adding two ints.
use weft_vm::{Value, Vm};
fn main() {
    let which = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "typed".to_string());
    let mut vm = Vm::new();
    vm.register_fn("h.raw", 2, |args: &[Value]| {
        match (args[0].as_int(), args[1].as_int()) {
            (Some(a), Some(b)) => Ok(Value::from(a.wrapping_add(b))),
            _ => Err("h.raw takes two ints".to_string()),
        }
    });
    vm.register("h.typed", |a: i64, b: i64| a.wrapping_add(b));
    vm.load(
        "h.weft",
        r#"
fn empty(n) { let acc = 0; for i in 0..n { acc = acc + i }; acc }
fn raw(n) { let acc = 0; for i in 0..n { acc = h.raw(acc, i) }; acc }
fn typed(n) { let acc = 0; for i in 0..n { acc = h.typed(acc, i) }; acc }
"#,
    )
    .unwrap();
    let total = vm
        .call(&which, vec![Value::from(100_000)])
        .expect("empty, raw or typed");
    println!("{total}");
}
