//! Resource data types and values (LwM2M TS Core 1.2, Appendix C "Data Types").

use core::fmt;
use core::str::FromStr;

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};

use crate::error::Error;
#[cfg(feature = "alloc")]
use crate::ids::ObjectLink;

/// The data type a Resource is defined with (Appendix C, table "Data Types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    /// UTF-8 string.
    String,
    /// 8/16/32/64-bit signed integer.
    Integer,
    /// 8/16/32/64-bit unsigned integer (LwM2M 1.1+).
    UnsignedInteger,
    /// 32 or 64-bit IEEE 754 float.
    Float,
    /// Boolean.
    Boolean,
    /// Sequence of octets.
    Opaque,
    /// Unix time in seconds (signed).
    Time,
    /// Object Link `O:I`.
    Objlnk,
    /// CoRE Link (RFC 6690) as a string (LwM2M 1.1+).
    Corelnk,
    /// No value: executable resources.
    None,
}

impl ResourceType {
    /// The name used by DDF XML files (`<Type>` element) and the TS tables.
    ///
    /// ```
    /// use mote_lwm2m::ResourceType;
    ///
    /// assert_eq!(ResourceType::UnsignedInteger.ddf_name(), "Unsigned Integer");
    /// ```
    pub const fn ddf_name(self) -> &'static str {
        match self {
            ResourceType::String => "String",
            ResourceType::Integer => "Integer",
            ResourceType::UnsignedInteger => "Unsigned Integer",
            ResourceType::Float => "Float",
            ResourceType::Boolean => "Boolean",
            ResourceType::Opaque => "Opaque",
            ResourceType::Time => "Time",
            ResourceType::Objlnk => "Objlnk",
            ResourceType::Corelnk => "Corelnk",
            ResourceType::None => "none",
        }
    }

    /// The lowercase name of the `mote lwm2m --json` record shape (`string`, `integer`,
    /// `unsigned`, `float`, `boolean`, `opaque`, `time`, `objlnk`, `corelnk`, `none`).
    ///
    /// ```
    /// use mote_lwm2m::ResourceType;
    ///
    /// assert_eq!(ResourceType::UnsignedInteger.json_name(), "unsigned");
    /// ```
    pub const fn json_name(self) -> &'static str {
        match self {
            ResourceType::String => "string",
            ResourceType::Integer => "integer",
            ResourceType::UnsignedInteger => "unsigned",
            ResourceType::Float => "float",
            ResourceType::Boolean => "boolean",
            ResourceType::Opaque => "opaque",
            ResourceType::Time => "time",
            ResourceType::Objlnk => "objlnk",
            ResourceType::Corelnk => "corelnk",
            ResourceType::None => "none",
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ddf_name())
    }
}

impl FromStr for ResourceType {
    type Err = Error;

    /// Accepts the DDF spelling (case-insensitive, surrounding spaces ignored, an empty
    /// string meaning `none` as in the registry's executable resources) and the JSON
    /// names of [`ResourceType::json_name`].
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let t = if s.is_empty() || s.eq_ignore_ascii_case("none") {
            ResourceType::None
        } else if s.eq_ignore_ascii_case("string") {
            ResourceType::String
        } else if s.eq_ignore_ascii_case("integer") {
            ResourceType::Integer
        } else if s.eq_ignore_ascii_case("unsigned integer") || s.eq_ignore_ascii_case("unsigned") {
            ResourceType::UnsignedInteger
        } else if s.eq_ignore_ascii_case("float") {
            ResourceType::Float
        } else if s.eq_ignore_ascii_case("boolean") {
            ResourceType::Boolean
        } else if s.eq_ignore_ascii_case("opaque") {
            ResourceType::Opaque
        } else if s.eq_ignore_ascii_case("time") {
            ResourceType::Time
        } else if s.eq_ignore_ascii_case("objlnk") {
            ResourceType::Objlnk
        } else if s.eq_ignore_ascii_case("corelnk") {
            ResourceType::Corelnk
        } else {
            return Err(Error::InvalidValue);
        };
        Ok(t)
    }
}

/// A resource value. Each variant is one data type of Appendix C.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// UTF-8 string.
    String(String),
    /// Signed integer.
    Integer(i64),
    /// Unsigned integer.
    UnsignedInteger(u64),
    /// Float (a `binary32` payload is widened exactly).
    Float(f64),
    /// Boolean.
    Boolean(bool),
    /// Octets.
    Opaque(Vec<u8>),
    /// Unix time, seconds.
    Time(i64),
    /// Object Link.
    Objlnk(ObjectLink),
    /// CoRE Link format text.
    Corelnk(String),
}

#[cfg(feature = "alloc")]
impl Value {
    /// The data type of this value.
    ///
    /// ```
    /// use mote_lwm2m::{ResourceType, Value};
    ///
    /// assert_eq!(Value::Time(1_700_000_000).resource_type(), ResourceType::Time);
    /// ```
    pub const fn resource_type(&self) -> ResourceType {
        match self {
            Value::String(_) => ResourceType::String,
            Value::Integer(_) => ResourceType::Integer,
            Value::UnsignedInteger(_) => ResourceType::UnsignedInteger,
            Value::Float(_) => ResourceType::Float,
            Value::Boolean(_) => ResourceType::Boolean,
            Value::Opaque(_) => ResourceType::Opaque,
            Value::Time(_) => ResourceType::Time,
            Value::Objlnk(_) => ResourceType::Objlnk,
            Value::Corelnk(_) => ResourceType::Corelnk,
        }
    }

    /// The plain-text representation (content format 0, Appendix C "Text Format"):
    /// decimal integers, floats without exponent, `0`/`1` booleans, Base64 (with padding)
    /// for opaque, `O:I` links.
    ///
    /// ```
    /// use mote_lwm2m::{ObjectLink, Value};
    ///
    /// assert_eq!(Value::Boolean(true).to_text(), "1");
    /// assert_eq!(Value::Float(21.5).to_text(), "21.5");
    /// assert_eq!(Value::Opaque(vec![0xde, 0xad]).to_text(), "3q0=");
    /// assert_eq!(Value::Objlnk(ObjectLink::new(66, 0)).to_text(), "66:0");
    /// ```
    pub fn to_text(&self) -> String {
        match self {
            Value::String(s) | Value::Corelnk(s) => s.clone(),
            Value::Integer(i) | Value::Time(i) => {
                let mut a = crate::ascii::Ascii::<20>::new();
                a.push_i64(*i);
                String::from(a.as_str())
            }
            Value::UnsignedInteger(u) => String::from(crate::ascii::u64_text(*u).as_str()),
            Value::Float(f) => {
                let mut s = String::new();
                crate::decimal::write(&mut s, *f);
                s
            }
            Value::Boolean(b) => String::from(if *b { "1" } else { "0" }),
            Value::Opaque(o) => crate::base64::encode(o, crate::base64::Alphabet::Standard),
            Value::Objlnk(l) => String::from(l.ascii().as_str()),
        }
    }

    /// Parses the plain-text representation of a value of type `ty`.
    ///
    /// ```
    /// use mote_lwm2m::{ResourceType, Value};
    ///
    /// assert_eq!(Value::from_text(ResourceType::Integer, "-5")?, Value::Integer(-5));
    /// assert_eq!(Value::from_text(ResourceType::Boolean, "1")?, Value::Boolean(true));
    /// assert!(Value::from_text(ResourceType::Boolean, "true").is_err());
    /// assert!(Value::from_text(ResourceType::Integer, "1.5").is_err());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn from_text(ty: ResourceType, s: &str) -> Result<Value, Error> {
        Ok(match ty {
            ResourceType::String => Value::String(String::from(s)),
            ResourceType::Corelnk => Value::Corelnk(String::from(s)),
            ResourceType::Integer => Value::Integer(parse_int(s)?),
            ResourceType::Time => Value::Time(parse_int(s)?),
            ResourceType::UnsignedInteger => Value::UnsignedInteger(parse_uint(s)?),
            ResourceType::Float => Value::Float(parse_float(s)?),
            ResourceType::Boolean => match s {
                "0" => Value::Boolean(false),
                "1" => Value::Boolean(true),
                _ => return Err(Error::InvalidValue),
            },
            ResourceType::Opaque => Value::Opaque(crate::base64::decode(s)?),
            ResourceType::Objlnk => Value::Objlnk(s.parse()?),
            ResourceType::None => return Err(Error::InvalidValue),
        })
    }

    /// Converts a value decoded without type information (from a self-describing format:
    /// SenML, CBOR) into `ty`, the type of the resource's definition. Numbers convert
    /// between integer, unsigned, time and float when the value is exactly representable;
    /// strings become Corelnk; anything else must already have the right type.
    ///
    /// ```
    /// use mote_lwm2m::{ResourceType, Value};
    ///
    /// // SenML carries plain numbers; the definition says the resource is a Time.
    /// assert_eq!(Value::Float(1_700_000_000.0).convert(ResourceType::Time)?, Value::Time(1_700_000_000));
    /// assert!(Value::Float(1.5).convert(ResourceType::Integer).is_err()); // not exact
    /// assert!(Value::Boolean(true).convert(ResourceType::Integer).is_err());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn convert(self, ty: ResourceType) -> Result<Value, Error> {
        if self.resource_type() == ty {
            return Ok(self);
        }
        let v = match (ty, self) {
            (ResourceType::Integer, v) => Value::Integer(v.as_i64().ok_or(Error::InvalidValue)?),
            (ResourceType::Time, v) => Value::Time(v.as_i64().ok_or(Error::InvalidValue)?),
            (ResourceType::UnsignedInteger, v) => {
                Value::UnsignedInteger(v.as_u64().ok_or(Error::InvalidValue)?)
            }
            (ResourceType::Float, Value::Integer(i) | Value::Time(i)) => {
                Value::Float(exact_f64(i < 0, i.unsigned_abs()).ok_or(Error::InvalidValue)?)
            }
            (ResourceType::Float, Value::UnsignedInteger(u)) => {
                Value::Float(exact_f64(false, u).ok_or(Error::InvalidValue)?)
            }
            (ResourceType::Corelnk, Value::String(s)) => Value::Corelnk(s),
            (ResourceType::String, Value::Corelnk(s)) => Value::String(s),
            (ResourceType::Objlnk, Value::String(s)) => Value::Objlnk(s.parse()?),
            _ => return Err(Error::InvalidValue),
        };
        Ok(v)
    }

    /// The value as an `i64` when it is an integral number in range.
    ///
    /// ```
    /// use mote_lwm2m::Value;
    ///
    /// assert_eq!(Value::Float(42.0).as_i64(), Some(42));
    /// assert_eq!(Value::UnsignedInteger(u64::MAX).as_i64(), None);
    /// assert_eq!(Value::String("42".into()).as_i64(), None);
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Integer(i) | Value::Time(i) => Some(i),
            Value::UnsignedInteger(u) => i64::try_from(u).ok(),
            Value::Float(f) => float_to_i64(f),
            _ => None,
        }
    }

    /// The value as a `u64` when it is a non-negative integral number in range.
    ///
    /// ```
    /// use mote_lwm2m::Value;
    ///
    /// assert_eq!(Value::Integer(7).as_u64(), Some(7));
    /// assert_eq!(Value::Integer(-7).as_u64(), None);
    /// ```
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Integer(i) | Value::Time(i) => u64::try_from(i).ok(),
            Value::UnsignedInteger(u) => Some(u),
            Value::Float(f) => match integral_magnitude(f)? {
                (false, m) => Some(m),
                // -0.0
                (true, 0) => Some(0),
                (true, _) => None,
            },
            _ => None,
        }
    }

    /// The value as an `f64` when it is numeric (integers may round).
    ///
    /// ```
    /// use mote_lwm2m::Value;
    ///
    /// assert_eq!(Value::Integer(3).as_f64(), Some(3.0));
    /// assert_eq!(Value::Boolean(true).as_f64(), None);
    /// ```
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Integer(i) | Value::Time(i) => Some(i as f64),
            Value::UnsignedInteger(u) => Some(u as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// Whether a finite float has no fractional part (`f64::fract` is not in `core`).
#[cfg(feature = "alloc")]
pub(crate) fn is_integral(f: f64) -> bool {
    // From the bits (no float comparisons or conversions): with the unbiased exponent e,
    // the 52 - e low mantissa bits are the fraction.
    let bits = f.to_bits();
    let e = ((bits >> 52) & 0x7FF) as i32 - 1023;
    match e {
        // Infinities and NaN.
        1024 => false,
        // From 2^52 on, every f64 is an integer.
        52.. => true,
        // Below 1 only ±0 (subnormals included).
        ..0 => bits << 1 == 0,
        _ => bits & ((1u64 << (52 - e)) - 1) == 0,
    }
}

/// The float of the integer with sign `negative` and magnitude `m` when it is exactly
/// representable (its significant bits span at most 53), built from the bits: no
/// soft-float conversions and compares.
#[cfg(feature = "alloc")]
pub(crate) fn exact_f64(negative: bool, m: u64) -> Option<f64> {
    if m == 0 {
        return Some(0.0);
    }
    let lz = m.leading_zeros();
    if 64 - lz - m.trailing_zeros() > 53 {
        return None;
    }
    // The leading one at bit 63 and shifted out: the top 52 bits are the fraction.
    let fraction = ((m << lz) << 1) >> 12;
    let exponent = u64::from(1023 + 63 - lz);
    Some(f64::from_bits(
        (u64::from(negative) << 63) | (exponent << 52) | fraction,
    ))
}

/// `f` as an `i64` when it is integral and in range (−2^63 ..< 2^63).
#[cfg(feature = "alloc")]
pub(crate) fn float_to_i64(f: f64) -> Option<i64> {
    match integral_magnitude(f)? {
        (false, m) => i64::try_from(m).ok(),
        (true, m) if m == 1 << 63 => Some(i64::MIN),
        (true, m) => i64::try_from(m).ok().map(|m| -m),
    }
}

/// The sign and magnitude of an integral `f` below 2^64, from its bits (no soft-float
/// compares and conversions): the 53-bit significand shifted by the exponent.
#[cfg(feature = "alloc")]
fn integral_magnitude(f: f64) -> Option<(bool, u64)> {
    if !is_integral(f) {
        return None;
    }
    let bits = f.to_bits();
    let negative = bits >> 63 != 0;
    let e = ((bits >> 52) & 0x7FF) as i32 - 1023;
    let m = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let magnitude = match e {
        // ±0 (`is_integral` let no other value below 1 through).
        ..0 => 0,
        0..=51 => m >> (52 - e),
        52..=63 => m << (e - 52),
        _ => return None,
    };
    Some((negative, magnitude))
}

#[cfg(feature = "alloc")]
fn parse_int(s: &str) -> Result<i64, Error> {
    crate::ascii::parse_i64(s).ok_or(Error::InvalidValue)
}

#[cfg(feature = "alloc")]
fn parse_uint(s: &str) -> Result<u64, Error> {
    crate::ascii::parse_u64(s).ok_or(Error::InvalidValue)
}

#[cfg(feature = "alloc")]
fn parse_float(s: &str) -> Result<f64, Error> {
    // Rust's parser also accepts "inf", "NaN" and "infinity"; the TS asks for an ASCII
    // signed numeric representation, so only digits, sign, point and exponent pass.
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return Err(Error::InvalidValue);
    }
    crate::decimal::parse(s).ok_or(Error::InvalidValue)
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    #[test]
    fn exact_floats_from_the_bits_match_the_casts() {
        // The oracle: the cast and the round-trip check the bit version replaces.
        let from_i64 = |i: i64| {
            let f = i as f64;
            (f as i64 == i && f < 9.223_372_036_854_776e18).then_some(f)
        };
        let from_u64 = |u: u64| {
            let f = u as f64;
            (f < 1.844_674_407_370_955_2e19 && f as u64 == u).then_some(f)
        };
        let mut cases = alloc::vec![0u64, 1, 2, 3, u64::MAX, u64::MAX - 1, 1 << 63];
        for e in 0..64 {
            let p = 1u64 << e;
            for d in 0..3 {
                cases.extend([p.wrapping_add(d), p.wrapping_sub(d), p | (p >> 53)]);
            }
            // 53 and 54 significant bits ending at bit e.
            cases.extend([
                ((1u64 << 53) - 1) << e.min(11),
                ((1u64 << 54) - 1) << e.min(10),
            ]);
        }
        for &u in &cases {
            let bits = |f: Option<f64>| f.map(f64::to_bits);
            assert_eq!(bits(super::exact_f64(false, u)), bits(from_u64(u)), "{u}");
            for i in [u as i64, (u as i64).wrapping_neg()] {
                assert_eq!(
                    bits(super::exact_f64(i < 0, i.unsigned_abs())),
                    bits(from_i64(i)),
                    "{i}"
                );
            }
        }
    }

    #[test]
    fn float_conversions_from_the_bits_match_float_arithmetic() {
        use super::Value;
        // The oracles: the float range checks and casts the bit versions replace.
        let to_i64 = |f: f64| {
            (super::is_integral(f)
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f))
            .then_some(f as i64)
        };
        let to_u64 = |f: f64| {
            (super::is_integral(f) && (0.0..1.844_674_407_370_955_2e19).contains(&f))
                .then_some(f as u64)
        };
        let mut cases = alloc::vec![
            0.0,
            -0.0,
            1.5,
            -1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324
        ];
        for e in 0..70 {
            let p = f64::powi(2.0, e);
            cases.extend([p, -p, p * 1.5, -p * 1.5, p - 1.0, 1.0 - p, p + 1.0]);
        }
        for f in cases {
            assert_eq!(Value::Float(f).as_i64(), to_i64(f), "{f:e}");
            assert_eq!(Value::Float(f).as_u64(), to_u64(f), "{f:e}");
        }
    }

    #[test]
    fn is_integral_from_the_bits_matches_float_arithmetic() {
        // The oracle: the float test the bit test replaces.
        let by_floats = |f: f64| {
            f.is_finite() && (f.abs() >= 4_503_599_627_370_496.0 || (f as i64) as f64 == f)
        };
        let mut cases = alloc::vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1.5,
            -2.5,
            3.0,
            1e300,
            -1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
        ];
        // Around every power of two: the exponent boundaries of the bit test.
        for e in -60..70 {
            let p = f64::powi(2.0, e);
            cases.extend([p, -p, p + 0.5, p - 0.5, p * 1.25, p + 1.0]);
        }
        for f in cases {
            assert_eq!(super::is_integral(f), by_floats(f), "{f:e}");
        }
    }
}
