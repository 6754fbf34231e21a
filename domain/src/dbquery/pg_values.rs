//! PostgreSQL values both ways: a [`BindValue`] encoded in the binary format of the type the
//! server expects for a parameter, and a result value decoded into faithful JSON.
//!
//! Parameters with a precise JSON Schema type are prepared with that type (integer as
//! `int8`, number as `float8`, boolean, date-time as `timestamptz`, base64 as `bytea`,
//! object as `jsonb`); plain strings and arrays are left for the server to infer from
//! context, so `WHERE id = :id` works for a `uuid`, `date`, `numeric` or enum column alike
//! and an array binds to an `int4[]` or a `jsonb` column.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sea_orm::sqlx::encode::IsNull;
use sea_orm::sqlx::error::BoxDynError;
use sea_orm::sqlx::postgres::types::Oid;
use sea_orm::sqlx::postgres::{PgArgumentBuffer, PgArguments, PgTypeInfo, PgValueRef, Postgres};
use sea_orm::sqlx::types::Json;
use sea_orm::sqlx::{Arguments, Decode, Encode, Type, TypeInfo, ValueRef};
use serde_json::{Number, Value};

use super::ParamDecl;
use super::bind::BindValue;

/// The type a parameter is prepared with: precise where the schema is, else left to the
/// server (oid 0).
pub fn declared_type(decl: &ParamDecl) -> PgTypeInfo {
    let schema = &decl.schema;
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => vec![],
    };
    let oid = match types.as_slice() {
        ["integer"] => 20,
        ["number"] => 701,
        ["boolean"] => 16,
        ["object"] => 3802,
        // An array may be a PostgreSQL array (`int4[]`) or JSON: the server's context decides.
        ["string"] if schema.get("contentEncoding").and_then(Value::as_str) == Some("base64") => 17,
        ["string"] if schema.get("format").and_then(Value::as_str) == Some("date-time") => 1184,
        _ => 0,
    };
    PgTypeInfo::with_oid(Oid(oid))
}

/// Adds `value` to `args` in the binary format of `ty`, the server's type for the parameter.
pub fn encode(
    args: &mut PgArguments,
    name: &str,
    value: &BindValue,
    ty: &PgTypeInfo,
) -> Result<(), String> {
    let mismatch = || {
        format!(
            "parameter `{name}`: a {} cannot be bound to a {} parameter",
            value.kind(),
            ty.name().to_lowercase()
        )
    };
    let bad = |e: String| format!("parameter `{name}`: {e}");
    let added = match (ty.name(), value) {
        (_, BindValue::Null) => args.add(None::<String>),
        ("INT2", _) => args.add(
            int_value(value)
                .and_then(|i| i16::try_from(i).ok())
                .ok_or_else(mismatch)?,
        ),
        ("INT4", _) => args.add(
            int_value(value)
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(mismatch)?,
        ),
        ("INT8", _) => args.add(int_value(value).ok_or_else(mismatch)?),
        ("OID", _) => args.add(Oid(int_value(value)
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(mismatch)?)),
        ("FLOAT4", _) => args.add(float_value(value).ok_or_else(mismatch)? as f32),
        ("FLOAT8", _) => args.add(float_value(value).ok_or_else(mismatch)?),
        ("NUMERIC", _) => {
            let digits = match value {
                BindValue::Int(i) => i.to_string(),
                BindValue::Float(f) if f.is_finite() => f.to_string(),
                BindValue::Text(s) => s.trim().to_owned(),
                _ => return Err(mismatch()),
            };
            args.add(Raw(encode_numeric(&digits).map_err(bad)?, 1700))
        }
        ("BOOL", BindValue::Bool(b)) => args.add(*b),
        ("UUID", BindValue::Text(s)) => {
            args.add(uuid::Uuid::parse_str(s).map_err(|e| bad(format!("not a UUID: {e}")))?)
        }
        ("DATE", _) => args.add(match value {
            BindValue::Timestamp(t) => t.date_naive(),
            BindValue::Text(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|e| bad(format!("not a date (YYYY-MM-DD): {e}")))?,
            _ => return Err(mismatch()),
        }),
        ("TIME", BindValue::Text(s)) => args.add(
            NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
                .map_err(|e| bad(format!("not a time (HH:MM:SS): {e}")))?,
        ),
        ("TIMESTAMP", _) => args.add(match value {
            BindValue::Timestamp(t) => t.naive_utc(),
            BindValue::Text(s) => parse_timestamp(s).map_err(bad)?.naive_utc(),
            _ => return Err(mismatch()),
        }),
        ("TIMESTAMPTZ", _) => args.add(match value {
            BindValue::Timestamp(t) => *t,
            BindValue::Text(s) => parse_timestamp(s).map_err(bad)?,
            _ => return Err(mismatch()),
        }),
        ("JSON" | "JSONB", _) => args.add(Json(json_value(value))),
        ("BYTEA", _) => args.add(match value {
            BindValue::Bytes(b) => b.clone(),
            BindValue::Text(s) => BASE64
                .decode(s.as_bytes())
                .map_err(|e| bad(format!("a bytea parameter takes base64: {e}")))?,
            _ => return Err(mismatch()),
        }),
        (array, BindValue::Json(Value::Array(items))) if array.ends_with("[]") => {
            encode_array(args, &array[..array.len() - 2], items)
                .map_err(|e| e.unwrap_or_else(mismatch))?
        }
        ("TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" | "CITEXT" | "CHAR", _) => {
            args.add(match value {
                BindValue::Text(s) => s.clone(),
                BindValue::Int(i) => i.to_string(),
                BindValue::Float(f) => f.to_string(),
                BindValue::Bool(b) => b.to_string(),
                BindValue::Timestamp(t) => t.to_rfc3339(),
                BindValue::Json(v) => v.to_string(),
                BindValue::Bytes(_) | BindValue::Null => return Err(mismatch()),
            })
        }
        (_, BindValue::Text(s)) if is_enum(ty) => args.add(s.clone()),
        (other, _) => {
            return Err(format!(
                "parameter `{name}`: the server expects a {}, which Weft cannot bind directly; \
                 cast it in the query, e.g. `CAST(:{name} AS text)::{}`",
                other.to_lowercase(),
                other.to_lowercase()
            ));
        }
    };
    added.map_err(|e| bad(e.to_string()))
}

/// User-defined enums travel as their label, plain UTF-8, in the binary format too.
fn is_enum(ty: &PgTypeInfo) -> bool {
    matches!(ty.kind(), sea_orm::sqlx::postgres::PgTypeKind::Enum(_))
}

fn encode_array(
    args: &mut PgArguments,
    element: &str,
    items: &[Value],
) -> Result<Result<(), BoxDynError>, Option<String>> {
    fn collect<T>(
        items: &[Value],
        f: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<Option<T>>, Option<String>> {
        items
            .iter()
            .map(|v| {
                if v.is_null() {
                    Ok(None)
                } else {
                    f(v).map(Some).ok_or(None)
                }
            })
            .collect()
    }
    Ok(match element {
        "INT2" => args.add(collect(items, |v| {
            v.as_i64().and_then(|i| i16::try_from(i).ok())
        })?),
        "INT4" => args.add(collect(items, |v| {
            v.as_i64().and_then(|i| i32::try_from(i).ok())
        })?),
        "INT8" => args.add(collect(items, Value::as_i64)?),
        "FLOAT4" => args.add(collect(items, |v| v.as_f64().map(|f| f as f32))?),
        "FLOAT8" => args.add(collect(items, Value::as_f64)?),
        "BOOL" => args.add(collect(items, Value::as_bool)?),
        "TEXT" | "VARCHAR" => args.add(collect(items, |v| v.as_str().map(str::to_owned))?),
        "UUID" => args.add(collect(items, |v| {
            v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok())
        })?),
        _ => return Err(None),
    })
}

fn int_value(value: &BindValue) -> Option<i64> {
    match value {
        BindValue::Int(i) => Some(*i),
        BindValue::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn float_value(value: &BindValue) -> Option<f64> {
    match value {
        BindValue::Int(i) => Some(*i as f64),
        BindValue::Float(f) => Some(*f),
        BindValue::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn json_value(value: &BindValue) -> Value {
    match value {
        BindValue::Null => Value::Null,
        BindValue::Bool(b) => Value::Bool(*b),
        BindValue::Int(i) => Value::from(*i),
        BindValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        BindValue::Text(s) => Value::String(s.clone()),
        BindValue::Timestamp(t) => Value::String(t.to_rfc3339()),
        BindValue::Bytes(b) => Value::String(BASE64.encode(b)),
        BindValue::Json(v) => v.clone(),
    }
}

fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").map(|t| t.and_utc()))
        .map_err(|e| format!("not an RFC 3339 timestamp: {e}"))
}

/// Bytes already in PostgreSQL's binary format for the type with the given oid.
struct Raw(Vec<u8>, u32);

impl Type<Postgres> for Raw {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl Encode<'_, Postgres> for Raw {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn produces(&self) -> Option<PgTypeInfo> {
        Some(PgTypeInfo::with_oid(Oid(self.1)))
    }
}

/// A decimal string (`-12.3400`) in the binary NUMERIC format: base-10000 digit groups.
pub fn encode_numeric(text: &str) -> Result<Vec<u8>, String> {
    let invalid = || format!("`{text}` is not a decimal number");
    if text.eq_ignore_ascii_case("nan") {
        // No digits, weight 0, the NaN sign word, scale 0.
        return Ok(vec![0, 0, 0, 0, 0xC0, 0, 0, 0]);
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let dscale = u16::try_from(frac_part.len()).map_err(|_| invalid())?;
    let int_part = int_part.trim_start_matches('0');
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let all: String = "0".repeat(int_pad) + int_part + frac_part + &"0".repeat(frac_pad);
    let mut groups: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| {
            std::str::from_utf8(c)
                .expect("ascii digits")
                .parse()
                .expect("four digits")
        })
        .collect();
    let mut weight = ((int_pad + int_part.len()) / 4) as i32 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign: u16 = if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    };
    let mut out = Vec::with_capacity(8 + groups.len() * 2);
    out.extend((groups.len() as i16).to_be_bytes());
    out.extend(i16::try_from(weight).map_err(|_| invalid())?.to_be_bytes());
    out.extend(sign.to_be_bytes());
    out.extend(dscale.to_be_bytes());
    for g in groups {
        out.extend(g.to_be_bytes());
    }
    Ok(out)
}

/// The binary NUMERIC format as an exact decimal string.
pub fn decode_numeric(bytes: &[u8]) -> Result<String, String> {
    let word = |i: usize| -> Result<u16, String> {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".to_owned())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i32;
    let sign = word(4)?;
    let dscale = word(6)? as usize;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Result<_, _>>()?;
    let group = |i: i32| -> u16 {
        if i >= 0 && (i as usize) < digits.len() {
            digits[i as usize]
        } else {
            0
        }
    };
    let mut int = String::new();
    for i in 0..=weight.max(-1) {
        if int.is_empty() {
            let g = group(i);
            if g != 0 {
                int.push_str(&g.to_string());
            }
        } else {
            int.push_str(&format!("{:04}", group(i)));
        }
    }
    if int.is_empty() {
        int.push('0');
    }
    let mut frac = String::new();
    let mut i = weight + 1;
    while frac.len() < dscale {
        frac.push_str(&format!("{:04}", group(i)));
        i += 1;
    }
    frac.truncate(dscale);
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    out.push_str(&int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    Ok(out)
}

/// One result value as JSON, by the column's type (the mapping is in the README).
pub fn decode(value: PgValueRef<'_>) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let ty = value.type_info().into_owned();
    macro_rules! get {
        ($t:ty) => {
            <$t as Decode<Postgres>>::decode(value).map_err(|e| e.to_string())?
        };
    }
    Ok(match ty.name() {
        "BOOL" => Value::Bool(get!(bool)),
        "INT2" => Value::from(get!(i16)),
        "INT4" => Value::from(get!(i32)),
        "INT8" => Value::from(get!(i64)),
        "OID" => Value::from(get!(Oid).0),
        "FLOAT4" => float(get!(f32) as f64),
        "FLOAT8" => float(get!(f64)),
        "NUMERIC" => Value::String(decode_numeric(get!(RawBytes).0)?),
        "TIMESTAMPTZ" => {
            Value::String(get!(DateTime<Utc>).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        }
        "TIMESTAMP" => Value::String(
            get!(NaiveDateTime)
                .format("%Y-%m-%dT%H:%M:%S%.f")
                .to_string(),
        ),
        "DATE" => Value::String(get!(NaiveDate).to_string()),
        "TIME" => Value::String(get!(NaiveTime).format("%H:%M:%S%.f").to_string()),
        "JSON" | "JSONB" => get!(Json<Value>).0,
        "BYTEA" => Value::String(BASE64.encode(get!(Vec<u8>))),
        "UUID" => Value::String(get!(uuid::Uuid).to_string()),
        "INT2[]" => array(get!(Vec<Option<i16>>), Value::from),
        "INT4[]" => array(get!(Vec<Option<i32>>), Value::from),
        "INT8[]" => array(get!(Vec<Option<i64>>), Value::from),
        "FLOAT4[]" => array(get!(Vec<Option<f32>>), |f| float(f as f64)),
        "FLOAT8[]" => array(get!(Vec<Option<f64>>), float),
        "BOOL[]" => array(get!(Vec<Option<bool>>), Value::Bool),
        "TEXT[]" | "VARCHAR[]" | "NAME[]" | "BPCHAR[]" => {
            array(get!(Vec<Option<String>>), Value::String)
        }
        "UUID[]" => array(get!(Vec<Option<uuid::Uuid>>), |u| {
            Value::String(u.to_string())
        }),
        "JSONB[]" | "JSON[]" => array(get!(Vec<Option<Json<Value>>>), |j| j.0),
        "TIMESTAMPTZ[]" => array(get!(Vec<Option<DateTime<Utc>>>), |t| {
            Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        }),
        "DATE[]" => array(get!(Vec<Option<NaiveDate>>), |d| {
            Value::String(d.to_string())
        }),
        // Text and everything sent as text (enums, domains over text, citext, xml); else the
        // raw bytes, so nothing is lost.
        _ => {
            let bytes = get!(RawBytes).0;
            match std::str::from_utf8(bytes) {
                Ok(s) => Value::String(s.to_owned()),
                Err(_) => Value::String(BASE64.encode(bytes)),
            }
        }
    })
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

fn array<T>(items: Vec<Option<T>>, f: impl Fn(T) -> Value) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|v| v.map_or(Value::Null, &f))
            .collect(),
    )
}

/// Any value as its undecoded bytes.
struct RawBytes<'r>(&'r [u8]);

impl Type<Postgres> for RawBytes<'_> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }

    fn compatible(_: &PgTypeInfo) -> bool {
        true
    }
}

impl<'r> Decode<'r, Postgres> for RawBytes<'r> {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(RawBytes(value.as_bytes()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_text_survives_the_binary_format_exactly() {
        for text in [
            "0",
            "1",
            "-1",
            "12.3400",
            "0.0001",
            "-0.5",
            "10000",
            "123456789012345678901234567890.123456789",
            "99999999.99999999",
            "0.000000001",
        ] {
            let bytes = encode_numeric(text).unwrap();
            assert_eq!(decode_numeric(&bytes).unwrap(), text, "{text}");
        }
        assert!(encode_numeric("1e5").is_err());
        assert!(encode_numeric("12a").is_err());
    }
}
