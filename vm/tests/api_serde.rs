//! `to_value` / `from_value` (feature `serde`): every shape of serde's data
//! model, both ways, and clear errors for a value of the wrong shape.
#![cfg(feature = "serde")]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use weft_vm::{from_value, to_value, Value, Vm};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Shape {
    Dot,
    Circle(f64),
    Rect(i64, i64),
    Named { name: String, sides: u8 },
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Meters(f64);

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Unit;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Everything {
    flag: bool,
    small: i8,
    big: u32,
    ratio: f32,
    letter: char,
    text: String,
    maybe: Option<i64>,
    nothing: Option<i64>,
    list: Vec<u16>,
    pair: (String, i64),
    shapes: Vec<Shape>,
    length: Meters,
    unit: Unit,
    scores: BTreeMap<String, i64>,
    by_id: BTreeMap<i64, bool>,
}

fn everything() -> Everything {
    Everything {
        flag: true,
        small: -3,
        big: 4_000_000_000,
        ratio: 0.5,
        letter: 'é',
        text: "hi".into(),
        maybe: Some(7),
        nothing: None,
        list: vec![1, 2],
        pair: ("a".into(), 1),
        shapes: vec![
            Shape::Dot,
            Shape::Circle(1.5),
            Shape::Rect(2, 3),
            Shape::Named {
                name: "tri".into(),
                sides: 3,
            },
        ],
        length: Meters(2.5),
        unit: Unit,
        scores: [("ann".to_string(), 3)].into(),
        by_id: [(1, true)].into(),
    }
}

#[test]
fn every_shape_round_trips_and_reads_as_documented() {
    let value = to_value(&everything()).unwrap();
    assert_eq!(
        value.to_string(),
        concat!(
            r#"%{"flag" => true, "small" => -3, "big" => 4000000000, "ratio" => 0.5, "letter" => "é", "#,
            r#""text" => "hi", "maybe" => 7, "nothing" => nil, "list" => [1, 2], "pair" => ("a", 1), "#,
            r#""shapes" => [:Dot, (:Circle, 1.5), (:Rect, 2, 3), (:Named, %{"name" => "tri", "sides" => 3})], "#,
            r#""length" => 2.5, "unit" => nil, "scores" => %{"ann" => 3}, "by_id" => %{1 => true}}"#
        )
    );
    assert_eq!(from_value::<Everything>(value).unwrap(), everything());
}

#[test]
fn a_script_builds_what_the_host_reads() {
    let mut vm = Vm::new();
    vm.load(
        "s.weft",
        r#"
        fn make() {
          # Atom keys are accepted for a struct's fields, and a list for a tuple.
          %{:name => "tri", :sides => 3}
        }
        fn shapes() { [:Dot, (:Circle, 2), (:Rect, 1, 2)] }
    "#,
    )
    .unwrap();
    #[derive(Deserialize, Debug, PartialEq)]
    struct Named {
        name: String,
        sides: u8,
    }
    let named: Named = from_value(vm.call("make", vec![]).unwrap()).unwrap();
    assert_eq!(
        named,
        Named {
            name: "tri".into(),
            sides: 3
        }
    );
    let shapes: Vec<Shape> = from_value(vm.call("shapes", vec![]).unwrap()).unwrap();
    assert_eq!(shapes, [Shape::Dot, Shape::Circle(2.0), Shape::Rect(1, 2)]);
}

#[test]
fn wrong_shapes_are_errors_that_say_where() {
    let error = from_value::<Everything>(Value::from(3)).unwrap_err();
    assert_eq!(error.to_string(), "expected a map, got 3");
    let mut value = to_value(&everything()).unwrap();
    if let Value::Map(map) = &mut value {
        let mut entries = (**map).clone();
        entries.insert(Value::from("small"), Value::from(300));
        value = Value::map(entries);
    }
    let error = from_value::<Everything>(value).unwrap_err().to_string();
    assert!(
        error.contains("\"small\"") && error.contains("300"),
        "{error}"
    );
    let error = from_value::<Shape>(Value::atom("Hexagon"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("Hexagon"), "{error}");
    assert!(to_value(&u64::MAX).is_err());
    assert!(from_value::<i64>(Value::from(1.5)).is_err());
}
