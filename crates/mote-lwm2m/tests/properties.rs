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
