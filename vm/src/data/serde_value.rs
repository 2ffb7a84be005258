//! Rust data to and from Weft values through serde (feature `serde`).
//!
//! | Rust (serde data model) | Weft |
//! |---|---|
//! | bool, integers, floats | `true`/`false`, int, float (a `u64` past `i64::MAX` is an error) |
//! | `char`, string | string |
//! | `Option` | `nil` or the value |
//! | unit, unit struct | `nil` |
//! | sequence, bytes | list (bytes: a list of ints) |
//! | tuple, tuple struct | tuple |
//! | map | map |
//! | struct | map with string keys (reading also takes atom keys) |
//! | newtype struct | its one field |
//! | unit enum variant | atom (`Color::Red` is `:Red`) |
//! | newtype, tuple and struct variants | a tuple led by the variant's atom: `(:Move, 3)`, `(:At, 1, 2)`, `(:Hit, %{"hp" => 3})` |
//!
//! [`to_value`] and [`from_value`] show both directions at work. Reading is
//! more lenient than [`FromValue`](crate::FromValue): a `String` field also
//! takes an atom, a struct's map may have atom keys, and a tuple may come
//! as a list.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};
use serde::ser::{self, Serialize};

use crate::data::atom::Atom;
use crate::data::ops::describe_value;
use crate::data::value::{MapItems, Value};

/// Why a value could not be made from Rust data, or read into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerdeError(String);

impl fmt::Display for SerdeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerdeError {}

impl ser::Error for SerdeError {
    fn custom<T: fmt::Display>(message: T) -> SerdeError {
        SerdeError(message.to_string())
    }
}

impl de::Error for SerdeError {
    fn custom<T: fmt::Display>(message: T) -> SerdeError {
        SerdeError(message.to_string())
    }
}

/// Makes a Weft value of any `Serialize` data (see the module's table).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use weft_vm::{from_value, to_value};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// enum Mood { Calm, Angry }
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Npc { name: String, at: (i32, i32), inventory: Vec<String>, mood: Mood }
///
/// let npc = Npc { name: "Ann".into(), at: (3, 4), inventory: vec!["rope".into()], mood: Mood::Calm };
/// let value = to_value(&npc)?;
/// assert_eq!(value.to_string(),
///     r#"%{"name" => "Ann", "at" => (3, 4), "inventory" => ["rope"], "mood" => :Calm}"#);
/// assert_eq!(from_value::<Npc>(value)?, npc);
/// # Ok::<(), weft_vm::SerdeError>(())
/// ```
///
/// It fails only for data a Weft value cannot hold — a `u64` past
/// `i64::MAX`, any `i128` or `u128` — or for a `Serialize` implementation's
/// own error.
pub fn to_value<T: Serialize + ?Sized>(data: &T) -> Result<Value, SerdeError> {
    data.serialize(ValueSerializer)
}

/// Reads any `Deserialize` data from a Weft value (see the module's table).
///
/// A Rust enum makes a good reading of a script's messages: with serde's
/// `rename_all = "snake_case"`, the variant `MoveTo` is the atom `:move_to`.
///
/// ```
/// use serde::Deserialize;
/// use weft_vm::{from_value, Vm};
///
/// /// What an NPC script may ask the host to do.
/// #[derive(Deserialize, Debug, PartialEq)]
/// #[serde(rename_all = "snake_case")]
/// enum Command {
///     Wait,
///     Say(String),
///     MoveTo { x: i32, y: i32 },
/// }
///
/// let mut vm = Vm::new();
/// vm.load("npc.weft", r#"
///     fn think(host) {
///       host ! :wait
///       host ! (:say, "hello")
///       host ! (:move_to, %{:x => 3, :y => 4})
///     }
/// "#)?;
/// vm.spawn("think", vec![vm.host_pid().into()])?;
/// vm.run_until_idle();
/// let mut commands = Vec::new();
/// while let Some(message) = vm.recv() {
///     commands.push(from_value::<Command>(message)?);
/// }
/// assert_eq!(commands, [Command::Wait, Command::Say("hello".into()), Command::MoveTo { x: 3, y: 4 }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from_value<T: de::DeserializeOwned>(value: Value) -> Result<T, SerdeError> {
    T::deserialize(ValueDeserializer(&value))
}

// ------------------------------------------------------------ serializing

struct ValueSerializer;

fn variant_tuple(variant: &str, mut rest: Vec<Value>) -> Value {
    rest.insert(0, Value::Atom(Atom::new(variant)));
    Value::tuple(rest)
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = SerdeError;
    type SerializeSeq = Sequence;
    type SerializeTuple = Sequence;
    type SerializeTupleStruct = Sequence;
    type SerializeTupleVariant = Sequence;
    type SerializeMap = Mapping;
    type SerializeStruct = Mapping;
    type SerializeStructVariant = Mapping;

    fn serialize_bool(self, v: bool) -> Result<Value, SerdeError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, SerdeError> {
        Ok(Value::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, SerdeError> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| SerdeError(format!("{v} does not fit in a Weft int")))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, SerdeError> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, SerdeError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, SerdeError> {
        Ok(Value::str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, SerdeError> {
        Ok(Value::str(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, SerdeError> {
        Ok(Value::bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, SerdeError> {
        Ok(Value::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, SerdeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerdeError> {
        Ok(Value::Nil)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, SerdeError> {
        Ok(Value::Nil)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, SerdeError> {
        Ok(Value::Atom(Atom::new(variant)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, SerdeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, SerdeError> {
        Ok(variant_tuple(variant, vec![to_value(value)?]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Sequence, SerdeError> {
        Ok(Sequence::new(len.unwrap_or(0), Shape::List))
    }
    fn serialize_tuple(self, len: usize) -> Result<Sequence, SerdeError> {
        Ok(Sequence::new(len, Shape::Tuple))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Sequence, SerdeError> {
        Ok(Sequence::new(len, Shape::Tuple))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Sequence, SerdeError> {
        Ok(Sequence::new(len, Shape::Variant(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Mapping, SerdeError> {
        Ok(Mapping::new(None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Mapping, SerdeError> {
        Ok(Mapping::new(None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Mapping, SerdeError> {
        Ok(Mapping::new(Some(variant)))
    }
}

enum Shape {
    List,
    Tuple,
    Variant(&'static str),
}

struct Sequence {
    items: Vec<Value>,
    shape: Shape,
}

impl Sequence {
    fn new(len: usize, shape: Shape) -> Sequence {
        Sequence {
            items: Vec::with_capacity(len),
            shape,
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.items.push(to_value(value)?);
        Ok(())
    }

    fn finish(self) -> Result<Value, SerdeError> {
        Ok(match self.shape {
            Shape::List => Value::list(self.items),
            Shape::Tuple => Value::tuple(self.items),
            Shape::Variant(variant) => variant_tuple(variant, self.items),
        })
    }
}

impl ser::SerializeSeq for Sequence {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeTuple for Sequence {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Sequence {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Sequence {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        self.finish()
    }
}

struct Mapping {
    map: MapItems,
    key: Option<Value>,
    variant: Option<&'static str>,
}

impl Mapping {
    fn new(variant: Option<&'static str>) -> Mapping {
        Mapping {
            map: MapItems::new(),
            key: None,
            variant,
        }
    }

    fn finish(self) -> Result<Value, SerdeError> {
        let map = Value::map(self.map);
        Ok(match self.variant {
            Some(variant) => variant_tuple(variant, vec![map]),
            None => map,
        })
    }
}

impl ser::SerializeMap for Mapping {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerdeError> {
        self.key = Some(to_value(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerdeError("a map value came before its key".into()))?;
        self.map.insert(key, to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeStruct for Mapping {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerdeError> {
        self.map.insert(Value::str(key), to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerdeError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Mapping {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerdeError> {
        self.map.insert(Value::str(key), to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerdeError> {
        self.finish()
    }
}

// ---------------------------------------------------------- deserializing

struct ValueDeserializer<'v>(&'v Value);

fn wrong(expected: &str, value: &Value) -> SerdeError {
    SerdeError(format!(
        "expected {expected}, got {}",
        describe_value(value)
    ))
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = SerdeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.0 {
            Value::Nil => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(n) => visitor.visit_i64(*n),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Atom(a) => visitor.visit_str(a.name()),
            Value::Str(s) => visitor.visit_str(s),
            Value::Bytes(b) => visitor.visit_bytes(b),
            Value::List { .. } => visitor.visit_seq(Elements::new(self.0.as_list().unwrap_or(&[]))),
            Value::Tuple(items) => visitor.visit_seq(Elements::new(items)),
            Value::Map(map) => visitor.visit_map(Entries::new(map)),
            other => Err(wrong("data (not a process, function or channel)", other)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.0 {
            Value::Nil => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.0 {
            Value::Nil => visitor.visit_unit(),
            other => Err(wrong("nil", other)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.0 {
            Value::List { .. } => visitor.visit_seq(Elements::new(self.0.as_list().unwrap_or(&[]))),
            Value::Tuple(items) => visitor.visit_seq(Elements::new(items)),
            other => Err(wrong("a list", other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.0 {
            Value::Map(map) => visitor.visit_map(Entries::new(map)),
            other => Err(wrong("a map", other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self.0 {
            Value::Atom(variant) => visitor.visit_enum(Variant {
                name: variant.name(),
                rest: &[],
            }),
            Value::Str(variant) => visitor.visit_enum(Variant {
                name: variant.as_str(),
                rest: &[],
            }),
            Value::Tuple(items) => match items.split_first() {
                Some((Value::Atom(variant), rest)) => visitor.visit_enum(Variant {
                    name: variant.name(),
                    rest,
                }),
                _ => Err(wrong("a variant: an atom or a tuple led by one", self.0)),
            },
            other => Err(wrong("a variant: an atom or a tuple led by one", other)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.0 {
            Value::Str(s) => visitor.visit_str(s),
            Value::Atom(a) => visitor.visit_str(a.name()),
            other => Err(wrong("a field name", other)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
    }
}

struct Elements<'v> {
    items: std::slice::Iter<'v, Value>,
}

impl<'v> Elements<'v> {
    fn new(items: &'v [Value]) -> Elements<'v> {
        Elements {
            items: items.iter(),
        }
    }
}

impl<'de> SeqAccess<'de> for Elements<'_> {
    type Error = SerdeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, SerdeError> {
        match self.items.next() {
            Some(item) => seed.deserialize(ValueDeserializer(item)).map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Entries<'v> {
    map: &'v MapItems,
    next: usize,
}

impl<'v> Entries<'v> {
    fn new(map: &'v MapItems) -> Entries<'v> {
        Entries { map, next: 0 }
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = SerdeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, SerdeError> {
        match self.map.get_index(self.next) {
            Some((key, _)) => seed.deserialize(ValueDeserializer(key)).map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, SerdeError> {
        let (key, value) = self
            .map
            .get_index(self.next)
            .ok_or_else(|| SerdeError("a map value was asked for past the end".into()))?;
        self.next += 1;
        seed.deserialize(ValueDeserializer(value))
            .map_err(|e| SerdeError(format!("{}: {e}", describe_value(key))))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.map.len() - self.next)
    }
}

/// An enum variant: its name and what follows it in the tuple.
struct Variant<'v> {
    name: &'v str,
    rest: &'v [Value],
}

impl<'de> EnumAccess<'de> for Variant<'_> {
    type Error = SerdeError;
    type Variant = Self;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self), SerdeError> {
        let name: de::value::StrDeserializer<'_, SerdeError> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_> {
    type Error = SerdeError;
    fn unit_variant(self) -> Result<(), SerdeError> {
        match self.rest {
            [] => Ok(()),
            _ => Err(SerdeError(format!("variant {} takes no data", self.name))),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, SerdeError> {
        match self.rest {
            [value] => seed.deserialize(ValueDeserializer(value)),
            _ => Err(SerdeError(format!(
                "variant {} takes one value: (:{}, value)",
                self.name, self.name
            ))),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_seq(Elements::new(self.rest))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self.rest {
            [Value::Map(map)] => visitor.visit_map(Entries::new(map)),
            _ => Err(SerdeError(format!(
                "variant {} takes a map: (:{}, %{{...}})",
                self.name, self.name
            ))),
        }
    }
}
