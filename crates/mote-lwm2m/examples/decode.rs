//! Decode the same Device Object data (/3/0) sent in SenML-JSON and in OMA-TLV, typed by the
//! built-in object definitions, and check that both give the same records.
//!
//! Run with `cargo run -p mote-lwm2m --example decode`.

use mote_lwm2m::object::Builtin;
use mote_lwm2m::{Format, Path, Record, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A Read of /3/0 answered in SenML-JSON (LwM2M TS Core 1.2 §7.4.4, shortened): names are
    // relative to the base name, numbers are typed by the definitions of Object 3.
    let senml = br#"[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},
                     {"n":"6/0","v":1},{"n":"6/1","v":5},
                     {"n":"9","v":100},{"n":"13","v":1367491215}]"#;
    let base: Path = "/3/0".parse()?;
    let from_senml = mote_lwm2m::decode(Format::SenmlJson, &base, senml, &Builtin)?;

    // The same data in OMA-TLV (TS §7.4.3): TLV carries no types, so the decoder needs the
    // definitions to know that /3/0/9 (Battery Level) is an integer and /3/0/13 (Current
    // Time) a time.
    let tlv = [
        0xC8, 0x00, 0x14, b'O', b'p', b'e', b'n', b' ', b'M', b'o', b'b', b'i', b'l', b'e', b' ',
        b'A', b'l', b'l', b'i', b'a', b'n', b'c', b'e', // /3/0/0 Manufacturer
        0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05, // /3/0/6 Available Power Sources
        0xC1, 0x09, 0x64, // /3/0/9 Battery Level
        0xC4, 0x0D, 0x51, 0x82, 0x42, 0x8F, // /3/0/13 Current Time
    ];
    let from_tlv = mote_lwm2m::decode(Format::Tlv, &base, &tlv, &Builtin)?;

    for record in &from_tlv {
        println!("{} = {:?}", record.path, record.value);
    }
    let expected = [
        Record::new(
            "/3/0/0".parse()?,
            Value::String("Open Mobile Alliance".into()),
        ),
        Record::new("/3/0/6/0".parse()?, Value::Integer(1)),
        Record::new("/3/0/6/1".parse()?, Value::Integer(5)),
        Record::new("/3/0/9".parse()?, Value::Integer(100)),
        Record::new("/3/0/13".parse()?, Value::Time(1_367_491_215)),
    ];
    assert_eq!(from_tlv, expected);
    assert_eq!(from_senml, expected);

    // Without definitions TLV values stay opaque bytes: the types come from the model.
    let untyped = mote_lwm2m::decode(Format::Tlv, &base, &tlv, &mote_lwm2m::object::NoDefs)?;
    assert_eq!(untyped[3].value, Value::Opaque(vec![0x64]));

    // A value that contradicts the definition is an error, not a silent conversion.
    let wrong = br#"[{"n":"/3/0/9","vs":"full"}]"#;
    assert!(mote_lwm2m::decode(Format::SenmlJson, &Path::ROOT, wrong, &Builtin).is_err());
    println!(
        "SenML-JSON and TLV decode to the same {} records",
        expected.len()
    );
    Ok(())
}
