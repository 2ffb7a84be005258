use weft_vm::*;
use std::time::Instant;

#[test]
fn probe3() {
    let mut vm = Vm::new();
    vm.load("c.weft", "fn dbl() { let s = \"ab\"; s = s ++ s; s }\nfn dbl2(s) { s ++ s }\nfn dbl3() { let s = \"ab\"; let t = s ++ s; t }").unwrap();
    println!("dbl {:?}", vm.call("dbl", vec![]).map_err(|e| e.to_string()));
    println!("dbl2 {:?}", vm.call("dbl2", vec!["ab".into()]).map_err(|e| e.to_string()));
    println!("dbl3 {:?}", vm.call("dbl3", vec![]).map_err(|e| e.to_string()));
    vm.load("h.weft", "fn heavy(n) { let xs = list.reverse(list.range(0, n)); loop { xs = list.sort(xs) } }\nfn cat() { let s = \"ab\"; loop { s = s ++ s } }\nfn cat2() { let s = \"ab\"; loop { let t = s ++ s; s = t } }").unwrap();
    let p = vm.spawn("heavy", vec![100_000.into()]).unwrap();
    for _ in 0..3 { let t = Instant::now(); let st = vm.run(5000); println!("heavy frame {:?} {:?} reds {:?}", st, t.elapsed(), vm.processes().iter().map(|p| p.reductions).collect::<Vec<_>>()); }
    vm.kill(p); vm.run(10);
    let p = vm.spawn("cat2", vec![]).unwrap();
    for _ in 0..3 { let t = Instant::now(); let st = vm.run(5000); println!("cat frame {:?} {:?} mem {:?}", st, t.elapsed(), vm.processes().iter().map(|p| p.memory).collect::<Vec<_>>()); }
    vm.kill(p); vm.run(10);
    for e in vm.take_events() { let Event::Crash{pid, error} = e; println!("crash {pid} {} {}", error.kind.name(), error.message); }
}
