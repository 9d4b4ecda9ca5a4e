//! Reading and writing a modifier: `{"name": ..., "type": ..., "data": ...}`.
//!
//! What `data` holds depends on `type`, which may come after it in the object, so `data` is
//! buffered and read once the type is known. Problems inside `data` (or an unknown `type`) are
//! reported with their path below the modifier, e.g. `modifiers[3].data.hi_data[1]`. The shapes
//! of histosys's and normsys's `data` are in their files in `model/modifiers/`.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::error::{join_path, nested_error, path_string};
use super::workspace::{Modifier, ModifierKind, ModifierType};
use crate::model::modifiers::histosys::HistosysData;
use crate::model::modifiers::normsys::NormsysData;

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Name,
    Type,
    Data,
}

impl<'de> Deserialize<'de> for Modifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ModifierVisitor)
    }
}

struct ModifierVisitor;

impl<'de> Visitor<'de> for ModifierVisitor {
    type Value = Modifier;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a modifier: an object with name, type and data")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Modifier, A::Error> {
        let mut name: Option<String> = None;
        let mut kind: Option<String> = None;
        let mut data: Option<serde_json::Value> = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Name if name.is_some() => return Err(de::Error::duplicate_field("name")),
                Field::Type if kind.is_some() => return Err(de::Error::duplicate_field("type")),
                Field::Data if data.is_some() => return Err(de::Error::duplicate_field("data")),
                Field::Name => name = Some(map.next_value()?),
                Field::Type => kind = Some(map.next_value()?),
                Field::Data => data = Some(map.next_value()?),
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        let data = data.ok_or_else(|| de::Error::missing_field("data"))?;
        let kind = modifier_kind(&kind, &data).map_err(de::Error::custom)?;
        Ok(Modifier { name, kind })
    }
}

/// The modifier's kind from its `type` and `data`; the error is a [`nested_error`] message.
fn modifier_kind(type_name: &str, data: &serde_json::Value) -> Result<ModifierKind, String> {
    let null = |kind: ModifierKind| {
        if data.is_null() {
            Ok(kind)
        } else {
            Err(nested_error("data", format!("a {type_name} modifier takes null data, not {}", json_kind(data))))
        }
    };
    let Some(modifier_type) = ModifierType::from_name(type_name) else {
        return Err(nested_error(
            "type",
            format!(
                "unknown modifier type {type_name:?} (expected one of {})",
                ModifierType::ALL.map(ModifierType::as_str).join(", ")
            ),
        ));
    };
    match modifier_type {
        ModifierType::Histosys => {
            let d: HistosysData<Vec<f64>> = read_data(data)?;
            Ok(ModifierKind::Histosys { lo_data: d.lo_data, hi_data: d.hi_data })
        }
        ModifierType::Normsys => {
            let d: NormsysData = read_data(data)?;
            Ok(ModifierKind::Normsys { lo: d.lo, hi: d.hi })
        }
        ModifierType::Shapesys => Ok(ModifierKind::Shapesys { data: read_data(data)? }),
        ModifierType::Staterror => Ok(ModifierKind::Staterror { data: read_data(data)? }),
        ModifierType::Lumi => null(ModifierKind::Lumi),
        ModifierType::Normfactor => null(ModifierKind::Normfactor),
        ModifierType::Shapefactor => null(ModifierKind::Shapefactor),
    }
}

/// Reads the buffered `data`, keeping the path of any problem below `data`.
fn read_data<T: de::DeserializeOwned>(data: &serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(data).map_err(|e| {
        let path = join_path("data", &path_string(e.path()));
        nested_error(&path, e.into_inner())
    })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl Serialize for Modifier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Modifier", 3)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field("type", self.kind.type_name())?;
        match &self.kind {
            ModifierKind::Histosys { lo_data, hi_data } => {
                s.serialize_field("data", &HistosysData { lo_data, hi_data })?
            }
            ModifierKind::Normsys { lo, hi } => s.serialize_field("data", &NormsysData { lo: *lo, hi: *hi })?,
            ModifierKind::Shapesys { data } | ModifierKind::Staterror { data } => s.serialize_field("data", data)?,
            ModifierKind::Lumi | ModifierKind::Normfactor | ModifierKind::Shapefactor => {
                s.serialize_field("data", &())?
            }
        }
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: serde_json::Value) -> Result<Modifier, String> {
        serde_path_to_error::deserialize::<_, Modifier>(&v).map_err(|e| e.inner().to_string())
    }

    #[test]
    fn reads_every_type_whatever_the_key_order() {
        let m = read(json!({"data": {"hi_data": [2.0], "lo_data": [1.0]}, "type": "histosys", "name": "h"})).unwrap();
        assert_eq!(m.kind, ModifierKind::Histosys { lo_data: vec![1.0], hi_data: vec![2.0] });
        let m = read(json!({"name": "n", "type": "normsys", "data": {"lo": 0.9, "hi": 1.1}})).unwrap();
        assert_eq!(m.kind, ModifierKind::Normsys { lo: 0.9, hi: 1.1 });
        for t in ["lumi", "normfactor", "shapefactor"] {
            let m = read(json!({"name": "x", "type": t, "data": null})).unwrap();
            assert_eq!(m.kind.type_name(), t);
        }
        let m = read(json!({"name": "s", "type": "staterror", "data": [1, 2]})).unwrap();
        assert_eq!(m.kind, ModifierKind::Staterror { data: vec![1.0, 2.0] });
    }

    #[test]
    fn round_trips_through_json() {
        let v = json!({"name": "h", "type": "histosys", "data": {"lo_data": [1.0], "hi_data": [2.0]}});
        let m = read(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), v);
        let v = json!({"name": "mu", "type": "normfactor", "data": null});
        assert_eq!(serde_json::to_value(read(v.clone()).unwrap()).unwrap(), v);
    }

    #[test]
    fn problems_inside_data_carry_their_path() {
        let e = read(json!({"name": "h", "type": "histosys", "data": {"lo_data": [1.0], "hi_data": [1.0, "x"]}}))
            .unwrap_err();
        assert!(e.contains("data.hi_data[1]\u{1}invalid type: string"), "{e:?}");
        let e = read(json!({"name": "h", "type": "magic", "data": null})).unwrap_err();
        assert!(e.contains("type\u{1}unknown modifier type \"magic\""), "{e:?}");
        let e = read(json!({"name": "l", "type": "lumi", "data": [1.0]})).unwrap_err();
        assert!(e.contains("a lumi modifier takes null data, not an array"), "{e:?}");
    }

    #[test]
    fn missing_and_unknown_fields_are_errors() {
        let e = read(json!({"name": "h", "type": "normfactor"})).unwrap_err();
        assert!(e.contains("missing field `data`"), "{e}");
        let e = read(json!({"name": "h", "type": "normfactor", "data": null, "extra": 1})).unwrap_err();
        assert!(e.contains("unknown field `extra`"), "{e}");
    }
}
