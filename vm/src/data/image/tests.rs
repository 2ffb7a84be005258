//! The value codec alone: round trips, sharing, depth, and hostile input.

use super::*;

/// Functions never appear in these values; pids and refs stay as they are.
struct Plain;

impl EncodeFunction for Plain {
    fn function(&mut self, _: &FnKind, _: &mut Writer) -> Result<(), &'static str> {
        Err("function")
    }
}

impl Resolve for Plain {
    fn function(&self, _: &mut Reader<'_>) -> Result<FoundFunction, BadImage> {
        Err("no functions here".into())
    }
    fn pid(&self, raw: u64) -> Value {
        Value::Pid(crate::data::value::Pid(raw))
    }
    fn reference(&self, raw: u64) -> Value {
        Value::Ref(raw)
    }
    fn remote_pid(&self, pid: RemotePid) -> Value {
        Value::RemotePid(Arc::new(pid))
    }
    fn remote_ref(&self, reference: RemoteRef) -> Value {
        Value::RemoteRef(Arc::new(reference))
    }
}

fn encode(value: &Value) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.value(value, &mut Plain).expect("encodes");
    writer.out
}

fn decode(bytes: &[u8]) -> Result<Value, BadImage> {
    let mut reader = Reader::new(bytes);
    let value = reader.value(&Plain)?;
    if reader.left() != 0 {
        return Err("bytes left".into());
    }
    Ok(value)
}

fn sample() -> Value {
    let mut map = MapItems::new();
    map.insert(Value::atom("hp"), Value::Int(-3));
    map.insert(Value::str("name"), Value::Float(2.5));
    Value::tuple(vec![
        Value::Nil,
        Value::Bool(true),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::atom("ok"),
        Value::atom("ok"),
        Value::str("snow ☃"),
        Value::bytes(vec![0u8, 255, 7]),
        Value::list(vec![Value::Int(1), Value::Int(2)]),
        Value::map(map),
        Value::Ref(99),
        Value::Pid(crate::data::value::Pid::new(3, 9)),
    ])
}

#[test]
fn values_round_trip() {
    let value = sample();
    assert_eq!(decode(&encode(&value)).expect("decodes"), value);
}

#[test]
fn a_list_window_travels_as_what_it_shows() {
    let list = Value::list(vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
    let Value::List { items, .. } = &list else {
        unreachable!()
    };
    let tail = Value::List {
        start: 1,
        items: items.clone(),
    };
    let both = Value::tuple(vec![list.clone(), tail.clone()]);
    let back = decode(&encode(&both)).expect("decodes");
    assert_eq!(back.as_tuple().unwrap()[1], tail);
    assert_eq!(back.as_tuple().unwrap()[0], list);
}

#[test]
fn shared_values_are_written_once_and_stay_shared() {
    let big = Value::list((0..1000).map(Value::Int).collect());
    let once = encode(&Value::tuple(vec![big.clone()]));
    let thrice = encode(&Value::tuple(vec![big.clone(), big.clone(), big.clone()]));
    assert!(
        thrice.len() < once.len() + 8,
        "{} vs {}",
        thrice.len(),
        once.len()
    );
    let back = decode(&thrice).expect("decodes");
    let parts = back.as_tuple().unwrap();
    let (Value::List { items: a, .. }, Value::List { items: b, .. }) = (&parts[0], &parts[2])
    else {
        panic!("lists")
    };
    assert!(Arc::ptr_eq(a, b));
}

#[test]
fn deep_values_need_no_native_recursion() {
    let mut deep = Value::list(vec![]);
    for _ in 0..200_000 {
        deep = Value::list(vec![deep]);
    }
    let bytes = encode(&deep);
    let back = decode(&bytes).expect("decodes");
    assert_eq!(back, deep);
}

#[test]
fn channels_and_files_are_named() {
    let channel = Value::Chan(Arc::new(crate::data::channel::Channel::new(1, 1)));
    let mut writer = Writer::new();
    let held = Value::list(vec![Value::Int(1), channel]);
    assert_eq!(writer.value(&held, &mut Plain), Err("channel"));
}

#[test]
fn every_truncation_and_every_flipped_byte_is_an_error_or_a_value() {
    let bytes = encode(&sample());
    for n in 0..bytes.len() {
        assert!(decode(&bytes[..n]).is_err(), "truncated at {n}");
    }
    for n in 0..bytes.len() {
        for flip in [1u8, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[n] ^= flip;
            let _ = decode(&changed);
        }
    }
}

#[test]
fn huge_counts_allocate_nothing() {
    // A list that claims 2^60 elements in a few bytes.
    let mut writer = Writer::new();
    writer.byte(LIST);
    writer.uint(1 << 60);
    assert!(decode(&writer.out).is_err());
    // A back-reference to a container still being read.
    let mut writer = Writer::new();
    writer.byte(LIST);
    writer.uint(1);
    writer.byte(SHARED);
    writer.uint(0);
    assert!(decode(&writer.out).unwrap_err().contains("holds itself"));
}
