//! Property tests: random data valid under the built-in object definitions survive
//! encode → decode in every hierarchical format, and every format decodes to the same
//! records; random SenML packs survive the generic layer; no decoder panics on random
//! bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mote_lwm2m::object::{Builtin, ObjectDef, builtin};
use mote_lwm2m::{DataTree, Format, ObjectLink, Path, Record, ResourceType, Value};
use proptest::prelude::*;

/// The values of one resource: `(resource instance ID, value)`, ID `None` for single.
type ResourceValues = Vec<(Option<u16>, Value)>;

fn value_of(kind: ResourceType) -> BoxedStrategy<Value> {
    match kind {
        ResourceType::String => ".{0,20}".prop_map(Value::String).boxed(),
        ResourceType::Corelnk => "</[0-9]{1,3}/[0-9]>".prop_map(Value::Corelnk).boxed(),
        ResourceType::Integer => any::<i64>().prop_map(Value::Integer).boxed(),
        ResourceType::UnsignedInteger => any::<u64>().prop_map(Value::UnsignedInteger).boxed(),
        ResourceType::Float => prop_oneof![
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
            any::<f32>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(f64::from),
            (-1000i32..1000).prop_map(|i| f64::from(i) / 4.0),
        ]
        .prop_map(Value::Float)
        .boxed(),
        ResourceType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        ResourceType::Opaque | ResourceType::None => proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(Value::Opaque)
            .boxed(),
        ResourceType::Time => any::<i64>().prop_map(Value::Time).boxed(),
        ResourceType::Objlnk => (any::<u16>(), any::<u16>())
            .prop_map(|(o, i)| Value::Objlnk(ObjectLink::new(o, i)))
            .boxed(),
    }
}

/// Records of one object: 1–3 instances, each with a random subset of the object's
/// value-carrying resources; multiple resources get 1–3 instances with random IDs.
fn object_records(def: &'static ObjectDef) -> impl Strategy<Value = Vec<Record>> {
    let resources: Vec<_> = def
        .resources
        .iter()
        .filter(|r| r.kind != ResourceType::None)
        .collect();
    let per_resource: Vec<BoxedStrategy<Option<ResourceValues>>> = resources
        .iter()
        .map(|r| {
            let v = value_of(r.kind);
            let inner: BoxedStrategy<ResourceValues> = if r.multiple {
                proptest::collection::btree_map(0u16..400, v, 1..4)
                    .prop_map(|m| m.into_iter().map(|(k, v)| (Some(k), v)).collect())
                    .boxed()
            } else {
                v.prop_map(|v| vec![(None, v)]).boxed()
            };
            proptest::option::of(inner).boxed()
        })
        .collect();
    let ids: Vec<u16> = resources.iter().map(|r| r.id).collect();
    let obj = def.id;
    proptest::collection::btree_map(0u16..300, per_resource, 1..4).prop_map(move |insts| {
        let mut out = Vec::new();
        for (inst, res) in insts {
            for (rid, vals) in ids.iter().zip(res) {
                for (ri, v) in vals.into_iter().flatten() {
                    let p = match ri {
                        None => Path::new(&[obj, inst, *rid]).unwrap(),
                        Some(ri) => Path::new(&[obj, inst, *rid, ri]).unwrap(),
                    };
                    out.push(Record::new(p, v));
                }
            }
        }
        out.sort_by_key(|r| r.path);
        out
    })
}

fn any_object_records() -> impl Strategy<Value = (u16, Vec<Record>)> {
    (0..builtin::OBJECTS.len()).prop_flat_map(|i| {
        let def = builtin::OBJECTS[i];
        object_records(def).prop_map(move |r| (def.id, r))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_format_round_trips_and_agrees((obj, records) in any_object_records()) {
        let base = Path::new(&[obj]).unwrap();
        for format in [Format::Tlv, Format::SenmlJson, Format::SenmlCbor, Format::LwM2mCbor] {
            let bytes = mote_lwm2m::encode(format, &base, &records).unwrap();
            let back = mote_lwm2m::decode(format, &base, &bytes, &Builtin).unwrap();
            prop_assert_eq!(&back, &records, "{}", format);
        }
        // The tree shape holds the same data.
        prop_assert_eq!(DataTree::from_records(&records).unwrap().to_records(), records);
    }

    #[test]
    fn single_values_round_trip((obj, records) in any_object_records(), pick in any::<prop::sample::Index>()) {
        prop_assume!(!records.is_empty());
        let r = pick.get(&records).clone();
        let one = [Record::new(r.path, r.value.clone())];
        let _ = obj;
        let mut formats = vec![Format::Text, Format::Cbor, Format::Tlv, Format::SenmlJson, Format::SenmlCbor, Format::LwM2mCbor];
        if matches!(r.value, Value::Opaque(_)) {
            formats.push(Format::Opaque);
        }
        for format in formats {
            let bytes = mote_lwm2m::encode(format, &r.path, &one).unwrap();
            let back = mote_lwm2m::decode(format, &r.path, &bytes, &Builtin).unwrap();
            // Plain text floats are decimal: Display is exact for f64 ("shortest round trip").
            prop_assert_eq!(&back[..], &one[..], "{}", format);
        }
    }

    #[test]
    fn senml_times_round_trip(times in proptest::collection::vec(-1.0e9f64..2.0e9, 1..20), bt in proptest::option::of(0.0f64..2.0e9)) {
        let p: Path = "/3/0/9".parse().unwrap();
        let records: Vec<Record> = times.iter().enumerate().map(|(i, t)| Record::with_time(p, Value::Integer(i as i64), *t)).collect();
        let opts = mote_lwm2m::senml::EncodeOptions { base_name: None, base_time: bt };
        let json = mote_lwm2m::senml::json::encode_with(&Path::ROOT, &records, &opts).unwrap();
        let cbor = mote_lwm2m::senml::cbor::encode_with(&Path::ROOT, &records, &opts).unwrap();
        for back in [mote_lwm2m::senml::json::decode(&json, &Builtin).unwrap(), mote_lwm2m::senml::cbor::decode(&cbor, &Builtin).unwrap()] {
            prop_assert_eq!(back.len(), records.len());
            for (a, b) in back.iter().zip(&records) {
                prop_assert_eq!(&a.value, &b.value);
                let (ta, tb) = (a.time.unwrap(), b.time.unwrap());
                // bt + (t - bt) may differ from t in the last bits of the larger magnitude.
                prop_assert!((ta - tb).abs() <= (tb.abs() + bt.unwrap_or(0.0).abs()) * 4.0 * f64::EPSILON, "{} vs {}", ta, tb);
            }
        }
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), level in 0usize..5) {
        let base = Path::new(&[3, 0, 7, 1][..level]).unwrap();
        for format in Format::ALL {
            let _ = mote_lwm2m::decode(format, &base, &bytes, &Builtin);
        }
        let _ = mote_lwm2m::senml::json::decode_paths(&bytes);
        let _ = mote_lwm2m::senml::cbor::decode_paths(&bytes);
    }

    #[test]
    fn paths_parse_and_display(ids in proptest::collection::vec(0u16..65535, 0..5)) {
        let p = Path::new(&ids).unwrap();
        let s = p.to_string();
        prop_assert_eq!(s.parse::<Path>().unwrap(), p);
        prop_assert_eq!(p.ids(), &ids[..]);
        for n in 0..=ids.len() {
            prop_assert!(p.starts_with(&p.truncate(n)));
        }
    }
}

/// Hand-written CBOR for the SenML-CBOR path-agreement property (no CBOR library here, so
/// the bytes are independent of the crate's encoder).
fn cbor_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xFF => out.extend_from_slice(&[m | 24, arg as u8]),
        0x100..=0xFFFF => {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// One SenML-CBOR item from a small alphabet of keys and values, valid and not.
fn senml_item(out: &mut Vec<u8>, choice: u8, n: u64) {
    let names = [
        "/3/0/9",
        "/3/0/7/0",
        "/4/0/2",
        "/3/0/",
        "9",
        "7/1",
        "",
        "/",
        "/3/0/65535",
        "/3//0",
        "/3/0/0/0/0",
    ];
    match choice % 16 {
        0 => cbor_head(out, 0, n),
        1 => cbor_head(out, 1, n),
        2 => out.extend_from_slice(&[0xF9, (n >> 8) as u8, n as u8]),
        3 => {
            out.push(0xFA);
            out.extend_from_slice(&(n as f32).to_be_bytes());
        }
        4 => {
            out.push(0xFB);
            out.extend_from_slice(&(n as f64 / 3.0).to_be_bytes());
        }
        5..=7 => {
            let s = names[(n as usize) % names.len()];
            cbor_head(out, 3, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        8 => {
            cbor_head(out, 2, n % 5);
            out.extend((0..n % 5).map(|i| i as u8));
        }
        9 => out.push(0xF4 + (n % 2) as u8),
        10 => out.extend_from_slice(&[0x63, b'v', b'l', b'o']),
        11 => out.extend_from_slice(&[0x63, b'6', b':', b'0']),
        12 => out.extend_from_slice(&[0x7F, 0x61, b'/', 0x61, b'3', 0xFF]),
        13 => out.extend_from_slice(&[0x62, 0xC3, 0x28]),
        14 => out.extend_from_slice(&[0x62, b'x', b'_']),
        _ => cbor_head(out, 0, n % 24),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The direct SenML-CBOR reader accepts exactly what the general one accepts, and agrees
    /// with it on the records.
    #[test]
    fn senml_cbor_fast_path_agrees(
        records in proptest::collection::vec(
            (
                proptest::collection::vec((0i64..30, any::<u8>(), any::<u64>()), 0..2),
                any::<bool>(),
                proptest::option::weighted(0.9, 0u64..4),
                proptest::option::weighted(0.9, (0u8..4, any::<u64>())),
            ),
            0..5,
        ),
        indefinite in any::<bool>(),
        trailing in proptest::option::of(any::<u8>()),
    ) {
        let mut bytes = Vec::new();
        if indefinite { bytes.push(0x9F) } else { cbor_head(&mut bytes, 4, records.len() as u64) }
        for (extra, indef_map, name, value) in &records {
            // Mostly a plausible name and value, then random extra fields.
            let mut fields: Vec<(i64, u8, u64)> = Vec::new();
            fields.extend(name.map(|i| (15, 0, i)));
            fields.extend(value.map(|(c, n)| (16 + i64::from(c), 0, n % 1000)));
            fields.extend(extra.iter().copied());
            if *indef_map { bytes.push(0xBF) } else { cbor_head(&mut bytes, 5, fields.len() as u64) }
            for &(key, choice, n) in &fields {
                // Keys: the labels -6..=8, a few others, and text keys.
                match key {
                    0..=14 => { let l = key - 6; if l < 0 { cbor_head(&mut bytes, 1, (-1 - l) as u64) } else { cbor_head(&mut bytes, 0, l as u64) } }
                    15..=24 => {
                        // Likely values for the likely labels.
                        let (k, c) = [(0u64, 5u8), (2, 0), (2, 1), (2, 2), (6, 0), (3, 6), (4, 9), (8, 8), (0, 6), (6, 2)][(key - 15) as usize];
                        cbor_head(&mut bytes, 0, k);
                        senml_item(&mut bytes, c, n);
                        continue;
                    }
                    25 => senml_item(&mut bytes, 10, 0),
                    26 => senml_item(&mut bytes, 14, 0),
                    27 => { bytes.push(0x21); bytes.extend_from_slice(&[0x66, b'/', b'3', b'/', b'0', b'/', b'7']); continue; }
                    _ => cbor_head(&mut bytes, 0, 9 + n % 20),
                }
                senml_item(&mut bytes, choice, n);
            }
            if *indef_map { bytes.push(0xFF) }
        }
        if indefinite { bytes.push(0xFF) }
        if let Some(t) = trailing { bytes.push(t) }
        prop_assert_eq!(mote_lwm2m::fuzzing::senml_cbor_paths_agree(&bytes), Ok(()));
        // And the other way round: a device build without `cbor-diagnostics` reads every
        // payload the general path reads.
        prop_assert_eq!(mote_lwm2m::fuzzing::senml_cbor_direct_takes_what_general_takes(&bytes), Ok(()));
        // And the public decoder is the general one whenever the fast path declines.
        let general = mote_lwm2m::fuzzing::senml_cbor_decode_general(&bytes);
        let public = mote_lwm2m::senml::cbor::decode(&bytes, &Builtin);
        if let (Err(a), Err(b)) = (&general, &public) { prop_assert_eq!(a, b); }
        prop_assert_eq!(general.is_ok(), public.is_ok());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Every LwM2M-CBOR key style, with definite and indefinite maps, decodes back to the
    /// records, and `encoded_len` is the length of the payload.
    #[test]
    fn lwm2m_cbor_options_round_trip((obj, records) in any_object_records(), style in 0u8..3, indefinite in any::<bool>(), level in 0usize..2) {
        use mote_lwm2m::lwm2m_cbor::{self, EncodeOptions, KeyStyle};
        let keys = [KeyStyle::Compact, KeyStyle::Nested, KeyStyle::Flat][usize::from(style)];
        let opts = EncodeOptions { keys, indefinite };
        let base = if level == 0 { Path::ROOT } else { Path::new(&[obj]).unwrap() };
        let bytes = lwm2m_cbor::encode_with(&base, &records, &opts).unwrap();
        prop_assert_eq!(lwm2m_cbor::encoded_len(&base, &records, &opts).unwrap(), bytes.len());
        let back = mote_lwm2m::decode(Format::LwM2mCbor, &base, &bytes, &Builtin).unwrap();
        prop_assert_eq!(back, records);
    }

    /// `encoded_len` equals the encoded length in every format, at the object level and
    /// for one value at its own path.
    #[test]
    fn encoded_len_is_the_encoded_length((obj, records) in any_object_records(), pick in any::<prop::sample::Index>()) {
        let base = Path::new(&[obj]).unwrap();
        for format in [Format::Tlv, Format::SenmlJson, Format::SenmlCbor, Format::LwM2mCbor] {
            let bytes = mote_lwm2m::encode(format, &base, &records).unwrap();
            prop_assert_eq!(mote_lwm2m::encoded_len(format, &base, &records).unwrap(), bytes.len(), "{}", format);
        }
        prop_assume!(!records.is_empty());
        let r = pick.get(&records);
        let one = [Record::new(r.path, r.value.clone())];
        for format in Format::ALL {
            match mote_lwm2m::encode(format, &r.path, &one) {
                Ok(bytes) => prop_assert_eq!(mote_lwm2m::encoded_len(format, &r.path, &one).unwrap(), bytes.len(), "{}", format),
                Err(e) => prop_assert_eq!(mote_lwm2m::encoded_len(format, &r.path, &one), Err(e)),
            }
        }
    }

    /// SenML `encoded_len` with base names and base times, timestamps included.
    #[test]
    fn senml_encoded_len_with_times(times in proptest::collection::vec(-1.0e9f64..2.0e9, 1..20), bt in proptest::option::of(0.0f64..2.0e9)) {
        let p: Path = "/3/0/9".parse().unwrap();
        let records: Vec<Record> = times.iter().enumerate().map(|(i, t)| Record::with_time(p, Value::Integer(i as i64), *t)).collect();
        let opts = mote_lwm2m::senml::EncodeOptions { base_name: Some("/3/0/".into()), base_time: bt };
        let json = mote_lwm2m::senml::json::encode_with(&Path::ROOT, &records, &opts).unwrap();
        let cbor = mote_lwm2m::senml::cbor::encode_with(&Path::ROOT, &records, &opts).unwrap();
        prop_assert_eq!(mote_lwm2m::senml::json::encoded_len(&Path::ROOT, &records, &opts).unwrap(), json.len());
        prop_assert_eq!(mote_lwm2m::senml::cbor::encoded_len(&Path::ROOT, &records, &opts).unwrap(), cbor.len());
    }
}
