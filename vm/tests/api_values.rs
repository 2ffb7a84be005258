//! `Value` from the host's side: conversions, accessors, equality and the
//! print forms of LANGUAGE.md.

use weft_vm::{Value, Vm};

#[test]
fn conversions_from_rust() {
    assert_eq!(Value::from(7i64).as_int(), Some(7));
    assert_eq!(Value::from(7i32).as_int(), Some(7));
    assert_eq!(Value::from(2.5).as_float(), Some(2.5));
    assert_eq!(Value::from(true).as_bool(), Some(true));
    assert_eq!(Value::from("hi").as_str(), Some("hi"));
    assert_eq!(Value::from(String::from("hi")).as_str(), Some("hi"));
    assert_eq!(Value::atom("ok").as_atom(), Some("ok"));
    let list = Value::from(vec![Value::from(1), Value::from(2)]);
    assert_eq!(list, Value::list(vec![Value::from(1), Value::from(2)]));
    assert_eq!(list.as_list().map(|items| items.len()), Some(2));
    let pair = Value::tuple(vec![Value::atom("hp"), Value::from(80)]);
    assert_eq!(pair.as_tuple().unwrap()[1].as_int(), Some(80));
    assert_eq!(Value::nil(), Value::default());
}

#[test]
fn accessors_return_none_for_other_types() {
    let s = Value::from("5");
    assert_eq!(s.as_int(), None);
    assert_eq!(s.as_float(), None);
    assert_eq!(s.as_bool(), None);
    assert_eq!(s.as_atom(), None);
    assert_eq!(s.as_pid(), None);
    assert_eq!(s.as_list(), None);
    assert_eq!(s.as_tuple(), None);
    assert_eq!(Value::from(1.5).as_int(), None);
    // An int reads as a float: Weft mixes them freely.
    assert_eq!(Value::from(3).as_float(), Some(3.0));
    assert_eq!(Value::atom("ok").as_str(), None);
    assert_eq!(Value::from("ok").as_atom(), None);
    assert_eq!(Value::tuple(vec![]).as_list(), None);
}

#[test]
fn display_is_the_print_form() {
    assert_eq!(
        Value::tuple(vec![Value::atom("hp"), Value::from(80)]).to_string(),
        "(:hp, 80)"
    );
    assert_eq!(format!("{}", Value::from("raw")), "raw");
    assert_eq!(
        Value::list(vec![Value::from("a"), Value::from(1.5)]).to_string(),
        r#"["a", 1.5]"#
    );
    assert_eq!(Value::tuple(vec![Value::from(1)]).to_string(), "(1,)");
    assert_eq!(Value::tuple(vec![]).to_string(), "()");
    assert_eq!(Value::nil().to_string(), "nil");
    assert_eq!(Value::from(false).to_string(), "false");
    assert_eq!(Value::from(2.0).to_string(), "2.0");
    assert_eq!(Value::from(1e20).to_string(), "1e20");
    assert_eq!(Value::from(-7).to_string(), "-7");
    assert_eq!(Value::list(vec![]).to_string(), "[]");
    assert_eq!(
        Value::list(vec![Value::from("a\"b\n")]).to_string(),
        r#"["a\"b\n"]"#
    );
}

#[test]
fn inspect_is_the_quoted_form() {
    assert_eq!(Value::from("hi").inspect(), r#""hi""#);
    assert_eq!(Value::from(1).inspect(), "1");
    assert_eq!(Value::atom("ok").inspect(), ":ok");
}

#[test]
fn display_matches_weft_print_for_values_made_by_scripts() {
    let mut vm = Vm::new();
    vm.load(
        "v.weft",
        r#"fn make() { (%{"a" => 1, :b => [2.0, nil]}, "s", (1,), fn(x) { x }, self()) }
           fn printed(v) { str(v) }"#,
    )
    .unwrap();
    let value = vm.call("make", vec![]).unwrap();
    let text = value.to_string();
    assert!(
        text.starts_with(r#"(%{"a" => 1, :b => [2.0, nil]}, "s", (1,), <fn/1>, <0."#),
        "{text}"
    );
    // Weft's own `str` agrees with Rust's Display.
    assert_eq!(
        vm.call("printed", vec![value.clone()]).unwrap().as_str(),
        Some(text.as_str())
    );
}

#[test]
fn equality_is_structural_and_numbers_compare_across_types() {
    assert_eq!(Value::from(1), Value::from(1.0));
    assert_ne!(Value::from(1), Value::from(1.5));
    assert_ne!(Value::from(1), Value::from("1"));
    assert_ne!(Value::atom("a"), Value::from("a"));
    assert_eq!(
        Value::tuple(vec![Value::from("x"), Value::list(vec![Value::from(1)])]),
        Value::tuple(vec![Value::from("x"), Value::list(vec![Value::from(1.0)])]),
    );
    assert_ne!(
        Value::tuple(vec![Value::from(1)]),
        Value::list(vec![Value::from(1)])
    );
    assert_ne!(Value::from(f64::NAN), Value::from(f64::NAN));
}

#[test]
fn pids_print_as_in_weft() {
    let mut vm = Vm::new();
    vm.load("p.weft", "fn idle() { receive { _ => nil } }")
        .unwrap();
    let pid = vm.spawn("idle", vec![]).unwrap();
    assert_eq!(pid.to_string(), format!("<0.{}>", pid.serial()));
    assert_eq!(Value::from(pid).to_string(), pid.to_string());
    assert_eq!(Value::from(pid).as_pid(), Some(pid));
    assert_ne!(pid, vm.host_pid());
}

#[test]
fn values_from_a_script_are_readable_by_the_host() {
    let mut vm = Vm::new();
    vm.load(
        "v.weft",
        r#"fn stats() { (:ok, [1, 2, 3], "name", 2.5, true) }"#,
    )
    .unwrap();
    let value = vm.call("stats", vec![]).unwrap();
    let [status, list, name, ratio, flag] = value.as_tuple().unwrap() else {
        panic!("expected five fields: {value}");
    };
    assert_eq!(status.as_atom(), Some("ok"));
    let total: i64 = list
        .as_list()
        .unwrap()
        .iter()
        .filter_map(Value::as_int)
        .sum();
    assert_eq!(total, 6);
    assert_eq!(name.as_str(), Some("name"));
    assert_eq!(ratio.as_float(), Some(2.5));
    assert_eq!(flag.as_bool(), Some(true));
}

/// `{:?}` of a pid reads as `{}` does (`<0.3>`), not as the raw word a
/// derived `Debug` printed (`Pid(12884901890)`).
#[test]
fn a_pid_debugs_as_it_displays() {
    let mut vm = Vm::new();
    vm.load("idle.weft", "fn idle() { receive { _ => nil } }")
        .unwrap();
    let pid = vm.spawn("idle", vec![]).unwrap();
    assert_eq!(format!("{pid:?}"), format!("{pid}"));
    assert_eq!(format!("{:?}", Some(pid)), format!("Some({pid})"));
    assert!(format!("{pid:?}").starts_with("<0."));
}
