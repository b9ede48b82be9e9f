//! Reading a reply field whose absence may be written `null` or `""`: both mean "none", for a
//! field of any type (a string, a list, an object, a flag), as `API.md` asks.
//!
//! The value is looked at once (serde's `deserialize_any`) and handed on as it is to the
//! field's own type, so a list of a hundred thousand organizations is not copied on the way.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, Visitor};

/// A field that is `null` or `""` reads as `None`; any other value as the field's type reads
/// it.
pub(super) fn none_if_empty<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(NoneIfEmpty(PhantomData))
}

/// A field that is `null` or `""` reads as its type's default (empty).
pub(super) fn default_if_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(none_if_empty(d)?.unwrap_or_default())
}

struct NoneIfEmpty<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for NoneIfEmpty<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value, null or \"\"")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() {
            return Ok(None);
        }
        T::deserialize(v.into_deserializer()).map(Some)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        if v.is_empty() {
            return Ok(None);
        }
        T::deserialize(de::value::BorrowedStrDeserializer::new(v)).map(Some)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        if v.is_empty() {
            return Ok(None);
        }
        T::deserialize(v.into_deserializer()).map(Some)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Some)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Some)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Some)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Some)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::deserialize(SeqAccessDeserializer::new(seq)).map(Some)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Map, Value, json};

    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    struct Reply {
        #[serde(default, deserialize_with = "none_if_empty")]
        text: Option<String>,
        #[serde(default, deserialize_with = "default_if_empty")]
        list: Vec<String>,
        #[serde(default, deserialize_with = "default_if_empty")]
        object: Map<String, Value>,
        #[serde(default, deserialize_with = "default_if_empty")]
        flag: bool,
        #[serde(default, deserialize_with = "none_if_empty")]
        any: Option<Value>,
    }

    fn read(json: Value) -> Reply {
        serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn null_and_the_empty_string_are_none_for_a_field_of_any_type() {
        let empty = Reply::default();
        assert_eq!(read(json!({})), empty);
        for none in [json!(null), json!("")] {
            let reply = read(json!({"text": none, "list": none, "object": none,
                                    "flag": none, "any": none}));
            assert_eq!(reply, empty, "{none}");
        }
        // Read from text too, where strings may be borrowed.
        let from_text: Reply =
            serde_json::from_str(r#"{"text":"","list":"","object":"","flag":"","any":""}"#)
                .unwrap();
        assert_eq!(from_text, empty);
    }

    #[test]
    fn any_other_value_is_read_as_the_fields_type_reads_it() {
        let reply = read(json!({"text": "x", "list": ["a", ""], "object": {"k": 1},
                                "flag": true, "any": 3}));
        assert_eq!(reply.text.as_deref(), Some("x"));
        assert_eq!(reply.list, ["a", ""]);
        assert_eq!(reply.object["k"], json!(1));
        assert!(reply.flag);
        assert_eq!(reply.any, Some(json!(3)));
        let from_text: Reply = serde_json::from_str(r#"{"text":"p\"q","any":{"a":[1]}}"#).unwrap();
        assert_eq!(from_text.text.as_deref(), Some("p\"q"));
        assert_eq!(from_text.any, Some(json!({"a": [1]})));
        // A value of the wrong type is still refused.
        assert!(serde_json::from_value::<Reply>(json!({"list": "a.com"})).is_err());
        assert!(serde_json::from_value::<Reply>(json!({"flag": 1})).is_err());
    }
}
