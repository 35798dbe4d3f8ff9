//! Encode records of the Device Object in every hierarchical content format, check each
//! length against `encoded_len` and decode each payload back.
//!
//! Run with `cargo run -p mote-lwm2m --example encode`.

use mote_lwm2m::object::Builtin;
use mote_lwm2m::{Format, Path, Record, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base: Path = "/3/0".parse()?;
    let records = [
        Record::new(
            "/3/0/0".parse()?,
            Value::String("Open Mobile Alliance".into()),
        ),
        Record::new("/3/0/9".parse()?, Value::Integer(100)),
        Record::new("/3/0/13".parse()?, Value::Time(1_367_491_215)),
    ];

    for format in [
        Format::Tlv,
        Format::SenmlJson,
        Format::SenmlCbor,
        Format::LwM2mCbor,
    ] {
        let payload = mote_lwm2m::encode(format, &base, &records)?;
        assert_eq!(
            mote_lwm2m::encoded_len(format, &base, &records)?,
            payload.len()
        );
        let back = mote_lwm2m::decode(format, &base, &payload, &Builtin)?;
        assert_eq!(back, records, "{format:?} round trip");
        println!(
            "{:>16} (content format {:>5}): {:>3} bytes",
            format.name(),
            format.content_format(),
            payload.len()
        );
    }

    // Byte-exact checks against the TS (LwM2M TS Core 1.2 §7.4.3 and §7.4.4).
    let tlv = mote_lwm2m::encode(Format::Tlv, &base, &records[1..2])?;
    assert_eq!(tlv, [0xC1, 0x09, 0x64]);
    let json = mote_lwm2m::encode(Format::SenmlJson, &Path::ROOT, &records[1..2])?;
    assert_eq!(json, br#"[{"n":"/3/0/9","v":100}]"#);

    // A single value in plain text needs exactly one record at the request path.
    let battery: Path = "/3/0/9".parse()?;
    assert_eq!(
        mote_lwm2m::encode(Format::Text, &battery, &records[1..2])?,
        b"100"
    );
    assert!(mote_lwm2m::encode(Format::Text, &battery, &records).is_err());
    println!("all payloads decode back to the records");
    Ok(())
}
