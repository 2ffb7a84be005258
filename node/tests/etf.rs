//! The external term format codec: Weft values round-trip, Erlang's own
//! encodings decode to what LANGUAGE.md §12 says, and no input — random,
//! forged or nested a million deep — panics, overflows the stack or
//! allocates more than it holds.

use proptest::prelude::*;
use weft_node::etf::{self, DecodeError, NodeContext};
use weft_vm::{Atom, MapItems, Pid, Value};

struct Here;

impl NodeContext for Here {
    fn local_node(&self) -> Atom {
        Atom::new("here@localhost")
    }
    fn creation(&self) -> u32 {
        7
    }
    fn index_of(&self, node: Atom) -> u32 {
        if node == self.local_node() {
            0
        } else {
            5
        }
    }
}

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    etf::encode(&mut out, value, &Here);
    out
}

fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    etf::decode(bytes, &Here).map(|(value, used)| {
        assert_eq!(used, bytes.len(), "the whole input is one term");
        value
    })
}

fn round_trip(value: Value) {
    let bytes = encode(&value);
    assert_eq!(decode(&bytes).unwrap(), value, "{value} round-trips");
}

#[test]
fn every_weft_value_round_trips() {
    let mut map = MapItems::new();
    map.insert(Value::from("k"), Value::from(1));
    map.insert(Value::from(2), Value::list(vec![Value::atom("x")]));
    for value in [
        Value::Nil,
        Value::Bool(true),
        Value::Bool(false),
        Value::from(0),
        Value::from(255),
        Value::from(256),
        Value::from(-1),
        Value::from(i32::MAX as i64 + 1),
        Value::from(i64::MAX),
        Value::from(i64::MIN),
        Value::from(1.5),
        Value::from(-0.0),
        Value::atom("ok"),
        Value::atom("snow ☃"),
        Value::from(""),
        Value::from("hello ☃"),
        Value::list(vec![]),
        Value::list(vec![Value::from(1), Value::from("a"), Value::list(vec![])]),
        Value::tuple(vec![]),
        Value::tuple((0..300).map(Value::from).collect()),
        Value::map(map),
        Value::Pid(Pid::from_erlang_parts(42, 3).unwrap()),
        Value::Ref(0x1234_5678_9abc),
    ] {
        round_trip(value);
    }
}

#[test]
fn erlangs_encodings_decode_as_the_contract_says() {
    // term_to_binary([1,2,3]): a list of small ints in the string form.
    assert_eq!(
        decode(&[131, 107, 0, 3, 1, 2, 3]).unwrap(),
        Value::list(vec![Value::from(1), Value::from(2), Value::from(3)])
    );
    // <<"hi">> is a string; <<255>> is not UTF-8.
    assert_eq!(
        decode(&[131, 109, 0, 0, 0, 2, b'h', b'i']).unwrap(),
        Value::from("hi")
    );
    assert_eq!(
        decode(&[131, 109, 0, 0, 0, 1, 255]).unwrap(),
        Value::bytes(vec![255])
    );
    // 2^64 is a bignum; -2^63 fits.
    assert_eq!(
        decode(&[131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
            .unwrap()
            .to_string(),
        "18446744073709551616"
    );
    assert_eq!(
        decode(&[131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128]).unwrap(),
        Value::from(i64::MIN)
    );
    // The atoms nil, true and false are Weft's nil, true and false.
    assert_eq!(
        decode(&[131, 119, 3, b'n', b'i', b'l']).unwrap(),
        Value::Nil
    );
    assert_eq!(
        decode(&[131, 100, 0, 4, b't', b'r', b'u', b'e']).unwrap(),
        Value::Bool(true)
    );
    // [1 | 2] is improper.
    assert_eq!(
        decode(&[131, 108, 0, 0, 0, 1, 97, 1, 97, 2])
            .unwrap()
            .to_string(),
        "[1 | 2]"
    );
    // A pid of another node.
    let mut pid = vec![131, 88, 119, 8];
    pid.extend_from_slice(b"a@remote");
    pid.extend_from_slice(&[0, 0, 0, 87, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(decode(&pid).unwrap().to_string(), "<5.87.0>");
}

#[test]
fn forged_lengths_are_not_trusted() {
    // A tuple of 2^32-1 elements, a list and a map as large, a binary of
    // 4 GiB: each header is a few bytes, and each is an error, not an
    // allocation.
    for bytes in [
        vec![131, 105, 255, 255, 255, 255],
        vec![131, 108, 255, 255, 255, 255],
        vec![131, 116, 255, 255, 255, 255],
        vec![131, 109, 255, 255, 255, 255, 1],
        vec![131, 111, 255, 255, 255, 255, 0],
    ] {
        assert_eq!(decode(&bytes), Err(DecodeError::Truncated), "{bytes:?}");
    }
    assert_eq!(decode(&[130, 97, 1]), Err(DecodeError::BadVersion(130)));
    assert_eq!(decode(&[131, 82, 0]), Err(DecodeError::UnknownTag(82)));
}

/// Runs `f` on a thread with a small stack, as a connection's reader has.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn a_term_nested_a_million_deep_is_refused_without_recursion() {
    let depth = 1_000_000;
    let mut bytes = vec![131];
    for _ in 0..depth {
        bytes.extend_from_slice(&[108, 0, 0, 0, 1]);
    }
    bytes.push(106);
    bytes.extend(std::iter::repeat_n(106, depth));
    let result = on_small_stack(move || decode(&bytes).err());
    assert_eq!(result, Some(DecodeError::TooDeep));
}

#[test]
fn a_deep_weft_value_encodes_without_recursion() {
    let encoded = on_small_stack(|| {
        let mut value = Value::list(vec![]);
        for _ in 0..200_000 {
            value = Value::list(vec![value]);
        }
        let bytes = encode(&value);
        (bytes.len(), decode(&bytes).err())
    });
    assert_eq!(encoded, (1 + 200_000 * 6 + 1, Some(DecodeError::TooDeep)));
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |x| !x.is_nan())
            .prop_map(Value::from),
        // `:nil`, `:true` and `:false` cross as nil, true and false (Erlang
        // has only the atoms), so they do not round-trip as atoms.
        "[a-z☃]{0,8}"
            .prop_filter("atoms that are Erlang's nil and booleans", |s| !matches!(
                s.as_str(),
                "nil" | "true" | "false"
            ))
            .prop_map(|s| Value::atom(&s)),
        ".{0,12}".prop_map(Value::from),
        (1u32..1000, 0u32..100)
            .prop_map(|(id, serial)| Value::Pid(Pid::from_erlang_parts(id, serial).unwrap())),
        any::<u64>().prop_map(Value::Ref),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::list),
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::tuple),
            prop::collection::vec((inner.clone(), inner), 0..6).prop_map(|pairs| {
                let mut map = MapItems::new();
                for (k, v) in pairs {
                    map.insert(k, v);
                }
                Value::map(map)
            }),
        ]
    })
}

proptest! {
    #[test]
    fn random_values_round_trip(value in value_strategy()) {
        let bytes = encode(&value);
        prop_assert_eq!(decode(&bytes).unwrap(), value);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut input = vec![131];
        input.extend_from_slice(&bytes);
        let _ = etf::decode(&input, &Here);
    }

    #[test]
    fn mutated_terms_never_panic(value in value_strategy(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = encode(&value);
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = etf::decode(&bytes, &Here);
        bytes.truncate(i);
        let _ = etf::decode(&bytes, &Here);
    }
}

/// A term Weft has no value for is an opaque value that goes back exactly
/// as it came (LANGUAGE.md §12): an improper list such as gen_server's
/// `[alias | Ref]` tag, a bignum, a bit string, a fun — alone or inside a
/// tuple — and a binary that is not UTF-8 is bytes.
#[test]
fn terms_weft_cannot_represent_go_back_byte_for_byte() {
    let improper: &[u8] = &[
        131, 108, 0, 0, 0, 1, 100, 0, 5, b'a', b'l', b'i', b'a', b's', 97, 7,
    ];
    let bignum: &[u8] = &[131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let bits: &[u8] = &[131, 77, 0, 0, 0, 1, 3, 0b1010_0000];
    let export: &[u8] = &[
        131, 113, 100, 0, 5, b'l', b'i', b's', b't', b's', 100, 0, 3, b'm', b'a', b'p', 97, 2,
    ];
    // {reply, [alias | 7], <<255>>}, its atom as Weft writes atoms
    // (SMALL_ATOM_UTF8_EXT): only the opaque part keeps Erlang's bytes.
    let mut tuple = vec![131, 104, 3, 119, 5, b'r', b'e', b'p', b'l', b'y'];
    tuple.extend_from_slice(&improper[1..]);
    tuple.extend_from_slice(&[109, 0, 0, 0, 1, 255]);
    for (input, printed, kind) in [
        (improper, "[:alias | 7]", "opaque"),
        (bignum, "18446744073709551616", "opaque"),
        (bits, "<<5:3>>", "opaque"),
        (export, "fun lists:map/2", "opaque"),
        (&tuple[..], "(:reply, [:alias | 7], b\"\\xff\")", "tuple"),
    ] {
        let value = decode(input).unwrap();
        assert_eq!(value.to_string(), printed);
        assert_eq!(value.type_atom().name(), kind);
        assert_eq!(encode(&value), input, "{printed} goes back as it came");
        assert_eq!(value, decode(input).unwrap(), "equal to itself");
    }
    assert_ne!(decode(improper).unwrap(), decode(bignum).unwrap());
    assert_eq!(
        decode(&[131, 109, 0, 0, 0, 2, 0, 255]).unwrap(),
        Value::bytes(vec![0, 255])
    );
    round_trip(Value::bytes(vec![0, 1, 255]));
}

/// What the `etf` fuzz target checks, on the inputs that once failed it
/// (fuzz/regressions/etf/): decoding never panics, and a decoded term
/// encodes to bytes that decode to a term encoding the same.
#[test]
fn the_etf_fuzz_regressions_hold() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/etf");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        seen += 1;
        let Ok((value, _)) = etf::decode(&input, &Here) else {
            continue;
        };
        let once = encode(&value);
        let (again, _) = etf::decode(&once, &Here).expect("what the encoder writes decodes");
        assert_eq!(encode(&again), once);
    }
    assert!(seen >= 2);
}

/// An atom longer than Erlang allows (255 characters) is refused, as
/// Erlang refuses it: it could not go back as an atom (a pid's node name
/// above all).
#[test]
fn atoms_over_255_characters_are_refused() {
    let mut input = vec![131, 100, 1, 0];
    input.extend(std::iter::repeat_n(b'a', 256));
    assert_eq!(decode(&input), Err(DecodeError::BadAtom));
    let mut fits = vec![131, 100, 0, 255];
    fits.extend(std::iter::repeat_n(b'a', 255));
    assert!(decode(&fits).is_ok());
}

/// A peer's non-canonical nest of improper lists (each the tail of the
/// last), 100,000 deep, decodes in linear time: each level's bytes are a
/// slice of the message, not a copy, and its printed form is capped.
#[test]
fn a_deep_nest_of_improper_lists_decodes_quickly() {
    let depth = 100_000;
    let mut input = vec![131];
    for _ in 0..depth {
        input.extend_from_slice(&[108, 0, 0, 0, 1, 97, 1]);
    }
    input.extend_from_slice(&[97, 2]);
    let started = std::time::Instant::now();
    let value = decode(&input).unwrap();
    assert!(value.to_string().len() < 2_000);
    assert_eq!(encode(&value), input);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
