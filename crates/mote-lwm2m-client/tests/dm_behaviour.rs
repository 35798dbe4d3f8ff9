//! What the Device Management operations do to the data, beyond their response codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::*;
use mote_access::{Owner, ShortServerId};
use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat as Cf;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_lwm2m::attributes::Decision;
use mote_lwm2m::object::Builtin;
use mote_lwm2m::{Format, Value};
use mote_lwm2m_client::{ClientConfig, Request, Response, SecurityIdentity};

/// The bug this crate replaces: `PUT /3/0/14?pmin=10` without a payload emptied the value.
/// TS 1.2 Core §5.4.4 / Transport §6.4: Write-Attributes is PUT with Uri-Query only and
/// changes attributes, never a value.
#[test]
fn write_attributes_never_change_a_value() {
    let mut c = fixture();
    let r = c.handle(S101, &put("/3/0/14", Cf::TEXT_PLAIN, b"+01:00"));
    assert_eq!(r.code, Code::CHANGED);
    let r = c.handle(
        S101,
        &Request::new(Code::PUT, "/3/0/14").with_query("pmin=10"),
    );
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(value(&c, "/3/0/14"), Some(Value::String("+01:00".into())));
    assert_eq!(
        c.attributes(ShortServerId(101), &p("/3/0/14"))
            .and_then(|a| a.pmin),
        Some(10)
    );
    // The same on a stored object, at instance level, and with a refused query.
    let r = c.handle(
        S101,
        &Request::new(Code::PUT, "/3303/0").with_query("pmax=30"),
    );
    assert_eq!(r.code, Code::CHANGED);
    let r = c.handle(
        S101,
        &Request::new(Code::PUT, "/3303/0/5750").with_query("lt=1"),
    );
    assert_eq!(r.code, Code::BAD_REQUEST);
    assert_eq!(
        value(&c, "/3303/0/5750"),
        Some(Value::String("room".into()))
    );
    assert_eq!(value(&c, "/3303/0/5700"), Some(Value::Float(21.5)));
    // A bare name removes the attribute; removing the last one drops the entry.
    let r = c.handle(S101, &Request::new(Code::PUT, "/3/0/14").with_query("pmin"));
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(c.attributes(ShortServerId(101), &p("/3/0/14")), None);
    assert_eq!(value(&c, "/3/0/14"), Some(Value::String("+01:00".into())));
}

#[test]
fn read_answers_in_every_accepted_format() {
    let mut c = fixture();
    for format in Format::ALL {
        let cf = format.content_format();
        let r = c.handle(S101, &get("/3/0/9").with_accept(cf));
        if format == Format::Opaque {
            // TS 1.2 Core §7.4.3: octet-stream carries Opaque resources only.
            assert_eq!(r.code, Code::NOT_ACCEPTABLE);
            continue;
        }
        assert_eq!(r.code, Code::CONTENT, "{format}");
        assert_eq!(r.content_format, Some(cf), "{format}");
        let records = mote_lwm2m::decode(format, &p("/3/0/9"), &r.payload, &Builtin).unwrap();
        assert_eq!(records.len(), 1, "{format}");
        assert_eq!(records[0].value.as_i64(), Some(80), "{format}");
        // An instance needs a format that carries paths.
        let r = c.handle(S101, &get("/3/0").with_accept(cf));
        let expected = if format.is_hierarchical() {
            Code::CONTENT
        } else {
            Code::NOT_ACCEPTABLE
        };
        assert_eq!(r.code, expected, "{format} on an instance");
    }
    // Without Accept: the configured default.
    let r = c.handle(S101, &get("/3/0/0"));
    assert_eq!(r.content_format, Some(Cf::SENML_CBOR));
}

#[test]
fn read_of_an_object_keeps_the_readable_instances() {
    let mut c = fixture();
    let body = br#"[{"bn":"/3303/7/","n":"5750","vs":"hall"}]"#.to_vec();
    let r = c.handle(
        S102,
        &Request::new(Code::POST, "/3303").with_payload(Cf::SENML_JSON, body),
    );
    assert_eq!(r.code, Code::CREATED);
    assert_eq!(r.location_path, vec!["3303".to_string(), "7".to_string()]);
    // TS 1.2 Core §7.3.2: the creator owns the new instance's /2 instance.
    let (_, acl) = c.access_control().acl_for(3303, 7).unwrap();
    assert_eq!(acl.owner(), Owner::Server(ShortServerId(102)));

    let read = |c: &mut mote_lwm2m_client::Client, who| {
        let r = c.handle(who, &get("/3303").with_accept(Cf::SENML_JSON));
        assert_eq!(r.code, Code::CONTENT);
        decode_senml_json(&r.payload)
    };
    let by_102 = read(&mut c, S102);
    assert_eq!(
        by_102.get("/3303/7/5750"),
        Some(&Value::String("hall".into()))
    );
    assert!(by_102.contains_key("/3303/0/5700"), "R by ACL on /3303/0");
    let by_101 = read(&mut c, S101);
    assert!(by_101.contains_key("/3303/0/5750"));
    assert!(
        !by_101.keys().any(|k| k.starts_with("/3303/7")),
        "101 has no right on /3303/7"
    );
}

/// TS 1.2 Core §6.3.1: a Read of an Object Instance returns every Resource "except the
/// Resource(s) which does not support the Read operation"; a Read of such a Resource is 4.05.
#[test]
fn read_leaves_out_write_only_resources() {
    let mut c = fixture();
    let w = put("/3303/0/5900", Cf::TEXT_PLAIN, b"19.5");
    let r = c.handle(S101, &w);
    assert_eq!(r.code, Code::CHANGED, "{}", r.diagnostic_text());
    assert_eq!(value(&c, "/3303/0/5900"), Some(Value::Float(19.5)));
    let r = c.handle(S101, &get("/3303/0").with_accept(Cf::SENML_JSON));
    let read = decode_senml_json(&r.payload);
    assert_eq!(
        read.keys().collect::<Vec<_>>(),
        ["/3303/0/5700", "/3303/0/5750"]
    );
    let r = c.handle(S101, &get("/3303/0/5900").with_accept(Cf::TEXT_PLAIN));
    assert_eq!(r.code, Code::METHOD_NOT_ALLOWED);
}

#[test]
fn delete_removes_the_instance_and_its_access_control_instance() {
    let mut c = fixture();
    assert!(c.access_control().acl_for(3303, 0).is_some());
    let r = c.handle(S101, &Request::new(Code::DELETE, "/3303/0"));
    assert_eq!(r.code, Code::DELETED);
    assert!(c.access_control().acl_for(3303, 0).is_none());
    assert_eq!(value(&c, "/3303/0/5750"), None);
}

#[test]
fn discover_lists_resources_with_the_servers_own_attributes() {
    let mut c = fixture();
    let wa = Request::new(Code::PUT, "/3/0/9").with_query("pmin=10");
    assert_eq!(c.handle(S101, &wa).code, Code::CHANGED);
    let r = c.handle(S101, &get("/3/0").with_accept(Cf::LINK_FORMAT));
    assert_eq!(r.content_format, Some(Cf::LINK_FORMAT));
    assert_eq!(
        r.payload,
        b"</3/0>,</3/0/0>,</3/0/4>,</3/0/5>,</3/0/9>;pmin=10,</3/0/11>;dim=1,</3/0/12>,</3/0/13>,</3/0/14>,</3/0/16>"
    );
    let r = c.handle(S102, &get("/3/0").with_accept(Cf::LINK_FORMAT));
    assert_eq!(
        r.payload,
        b"</3/0>,</3/0/0>,</3/0/4>,</3/0/5>,</3/0/9>,</3/0/11>;dim=1,</3/0/12>,</3/0/13>,</3/0/14>,</3/0/16>"
    );
    let r = c.handle(
        S101,
        &get("/3/0")
            .with_accept(Cf::LINK_FORMAT)
            .with_query("depth=0"),
    );
    assert_eq!(r.payload, b"</3/0>");
}

#[test]
fn execute_reaches_the_hook() {
    let board = Board::default();
    let reboots: Rc<Cell<u32>> = board.reboots.clone();
    let mut c = fixture_with_board(ClientConfig::default(), board);
    assert_eq!(c.handle(S102, &post("/3/0/4")).code, Code::UNAUTHORIZED);
    assert_eq!(reboots.get(), 0);
    assert_eq!(c.handle(S101, &post("/3/0/4")).code, Code::CHANGED);
    assert_eq!(reboots.get(), 1);
}

/// Read-Composite and Write-Composite with SenML-JSON bodies (the `composite` and
/// `senml-json` features; without `composite`, `dm_table` checks the 4.05).
#[cfg(all(feature = "composite", feature = "senml-json"))]
#[test]
fn composite_operations() {
    let mut c = fixture();
    let fetch = Request::new(Code::FETCH, "/").with_payload(
        Cf::SENML_JSON,
        br#"[{"n":"/3/0/0"},{"n":"/5/0/3"}]"#.to_vec(),
    );
    let by_102 = decode_senml_json(&c.handle(S102, &fetch).payload);
    assert_eq!(by_102.keys().collect::<Vec<_>>(), ["/3/0/0"]);
    let by_101 = decode_senml_json(&c.handle(S101, &fetch).payload);
    assert_eq!(by_101.get("/5/0/3").and_then(Value::as_i64), Some(0));

    // Write-Composite is all or nothing: 102 may write none of these, nothing changes.
    let patch = |body: &str| {
        Request::new(Code::IPATCH, "/").with_payload(Cf::SENML_JSON, body.as_bytes().to_vec())
    };
    let body = r#"[{"n":"/3303/0/5750","vs":"x"},{"n":"/3/0/14","vs":"+05:00"}]"#;
    assert_eq!(c.handle(S102, &patch(body)).code, Code::UNAUTHORIZED);
    assert_eq!(
        value(&c, "/3303/0/5750"),
        Some(Value::String("room".into()))
    );
    assert_eq!(c.handle(S101, &patch(body)).code, Code::CHANGED);
    assert_eq!(value(&c, "/3303/0/5750"), Some(Value::String("x".into())));
    assert_eq!(value(&c, "/3/0/14"), Some(Value::String("+05:00".into())));
}

#[test]
fn write_replace_keeps_read_only_resources_and_partial_update_merges() {
    let mut c = fixture();
    let put = put(
        "/3303/0",
        Cf::SENML_JSON,
        br#"[{"n":"/3303/0/5750","vs":"x"}]"#,
    );
    assert_eq!(c.handle(S101, &put).code, Code::CHANGED);
    assert_eq!(value(&c, "/3303/0/5750"), Some(Value::String("x".into())));
    assert_eq!(value(&c, "/3303/0/5700"), Some(Value::Float(21.5)));
}

#[test]
fn attribute_store_is_bounded() {
    let mut c = fixture_with(ClientConfig {
        max_attribute_entries: 2,
        ..ClientConfig::default()
    });
    let wa = |path: &str| Request::new(Code::PUT, path).with_query("pmin=1");
    assert_eq!(c.handle(S101, &wa("/3/0/9")).code, Code::CHANGED);
    assert_eq!(c.handle(S102, &wa("/3/0/9")).code, Code::CHANGED);
    let full = c.handle(S101, &wa("/3/0/13"));
    assert_eq!(full.code, Code::INTERNAL_SERVER_ERROR);
    assert_diagnostic(&full, "attribute store");
    assert_eq!(c.attributes(ShortServerId(101), &p("/3/0/13")), None);
    // Updating an existing entry needs no new slot.
    let r = c.handle(
        S101,
        &Request::new(Code::PUT, "/3/0/9").with_query("pmax=9"),
    );
    assert_eq!(r.code, Code::CHANGED);
}

#[test]
fn instances_are_bounded() {
    // The fixture holds 4 /2 instances and one /3303 instance.
    let mut c = fixture_with(ClientConfig {
        max_instances: 5,
        ..ClientConfig::default()
    });
    let create = |i: u16| {
        Request::new(Code::POST, "/3303").with_payload(
            Cf::SENML_JSON,
            format!(r#"[{{"n":"/3303/{i}/5750","vs":"x"}}]"#).into_bytes(),
        )
    };
    for i in 1..=4 {
        let path = format!("/3303/{i}");
        c.bootstrap_write(
            &p(&path),
            &[rec(&format!("{path}/5750"), Value::String("b".into()))],
        )
        .unwrap();
    }
    let err = c
        .bootstrap_write(
            &p("/3303/5"),
            &[rec("/3303/5/5750", Value::String("b".into()))],
        )
        .unwrap_err();
    assert!(matches!(
        err,
        mote_lwm2m_client::Error::Object {
            error: mote_lwm2m_client::ObjectError::Full { limit: 5, .. },
            ..
        }
    ));
    let full = c.handle(S102, &create(6));
    assert_eq!(
        full.code,
        Code::INTERNAL_SERVER_ERROR,
        "{}",
        full.diagnostic_text()
    );
    assert_diagnostic(&full, "object instances");
    assert_eq!(value(&c, "/3303/6/5750"), None);
    // A free slot again: the Create goes through.
    assert_eq!(
        c.handle(S101, &Request::new(Code::DELETE, "/3303/0")).code,
        Code::DELETED
    );
    assert_eq!(c.handle(S102, &create(6)).code, Code::CREATED);
}

#[test]
fn resource_instances_are_bounded() {
    let mut c = fixture_with(ClientConfig {
        max_resource_instances: 2,
        ..ClientConfig::default()
    });
    // 101 owns /2/3 (the ACL of /3303/0) and adds entries to its ACL resource.
    let acl = |ssid: u16| {
        Request::new(Code::POST, "/2/3/2").with_payload(
            Cf::SENML_JSON,
            format!(r#"[{{"n":"/2/3/2/{ssid}","v":1}}]"#).into_bytes(),
        )
    };
    assert_eq!(c.handle(S101, &acl(101)).code, Code::CHANGED);
    let full = c.handle(S101, &acl(0));
    assert_eq!(
        full.code,
        Code::INTERNAL_SERVER_ERROR,
        "{}",
        full.diagnostic_text()
    );
    assert_diagnostic(&full, "resource instances");
    assert_eq!(value(&c, "/2/3/2/0"), None);
    assert_eq!(value(&c, "/2/3/2/101"), Some(Value::Integer(1)));
}

#[test]
fn effective_attributes_inherit_and_decide() {
    let mut c = fixture();
    let wa = |c: &mut mote_lwm2m_client::Client, path: &str, q: &str| {
        let r = c.handle(S101, &Request::new(Code::PUT, path).with_query(q));
        assert_eq!(r.code, Code::CHANGED, "{path}?{q}");
    };
    wa(&mut c, "/3/0", "pmax=60");
    wa(&mut c, "/3/0/9", "gt=50");
    let s101 = ShortServerId(101);
    let a = c.effective_attributes(s101, &p("/3/0/9"));
    // pmin from /1/0/2 (Default Minimum Period), pmax from the instance, gt from the resource.
    assert_eq!((a.pmin, a.pmax, a.gt), (Some(5), Some(60), Some(50.0)));
    wa(&mut c, "/3", "pmin=2");
    assert_eq!(c.effective_attributes(s101, &p("/3/0/9")).pmin, Some(2));
    wa(&mut c, "/3/0/9", "pmin=20&pmax=90");
    let a = c.effective_attributes(s101, &p("/3/0/9"));
    assert_eq!((a.pmin, a.pmax), (Some(20), Some(90)));
    // Attributes are per server.
    let a = c.effective_attributes(ShortServerId(102), &p("/3/0/9"));
    assert_eq!((a.pmin, a.pmax, a.gt), (None, None, None));

    let s = Duration::from_secs;
    let (low, high) = (Value::Integer(40), Value::Integer(55));
    let d = c.notification_decision(s101, &p("/3/0/9"), &low, s(100), &high, s(130));
    assert!(matches!(d, Decision::Notify(c) if c.greater_than));
    let d = c.notification_decision(s101, &p("/3/0/9"), &low, s(100), &high, s(105));
    assert!(matches!(d, Decision::NotifyAt { at: 120, .. }), "{d:?}");
    let d = c.notification_decision(s101, &p("/3/0/9"), &low, s(100), &low, s(130));
    assert_eq!(
        d,
        Decision::Wait {
            deadline: Some(190)
        }
    );
}

#[test]
fn identities_map_to_requesters() {
    let c = fixture();
    assert_eq!(c.requester_for(SecurityIdentity::Psk(b"id-101")), S101);
    assert_eq!(c.requester_for(SecurityIdentity::Psk(b"bs-identity")), BS);
    assert_eq!(c.requester_for(SecurityIdentity::Psk(b"id-999")), NOBODY);
    let oscore = |s: &[u8], r: &[u8]| {
        c.requester_for(SecurityIdentity::Oscore {
            sender_id: s,
            recipient_id: r,
        })
    };
    assert_eq!(oscore(&[0x0a], &[0x0b]), S102);
    assert_eq!(oscore(&[0x01], &[0x02]), BS);
    assert_eq!(oscore(&[0x0b], &[0x0a]), NOBODY);
}

#[test]
fn request_from_message_and_response_into_message() {
    let m = OwnedMessage::new(MessageType::Con, Code::PUT, 7)
        .with_token([1, 2])
        .with_option(OptionNumber::URI_PATH, "3")
        .with_option(OptionNumber::URI_PATH, "0")
        .with_option(OptionNumber::URI_PATH, "14")
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
        .with_option(OptionNumber::URI_QUERY, "pmin=10")
        .with_uint_option(OptionNumber::ACCEPT, 110)
        .with_payload(b"+01:00".to_vec());
    let mut buf = vec![0; m.encoded_len()];
    let n = m.encode(&mut buf).unwrap();
    let decoded = Message::decode(&buf[..n]).unwrap();
    let r = Request::from_message(&decoded).unwrap();
    assert_eq!(r.code, Code::PUT);
    assert_eq!(r.path().unwrap(), p("/3/0/14"));
    assert_eq!(r.uri_query, ["pmin=10"]);
    assert_eq!(r.content_format, Some(Cf::TEXT_PLAIN));
    assert_eq!(r.accept, Some(Cf::SENML_JSON));
    assert_eq!(r.payload, b"+01:00");
    assert!(Request::new(Code::GET, "/3/x").path().is_err());
    assert!(Request::new(Code::GET, "/1/2/3/4/5").path().is_err());

    let mut created = Response::new(Code::CREATED);
    created.location_path = vec!["3303".into(), "7".into()];
    let out = created.write_to(OwnedMessage::new(MessageType::Ack, Code::EMPTY, 7));
    assert_eq!(out.code, Code::CREATED);
    let loc: Vec<&[u8]> = out
        .options
        .iter()
        .filter(|o| o.number == OptionNumber::LOCATION_PATH)
        .map(|o| o.value)
        .collect();
    assert_eq!(loc, [&b"3303"[..], b"7"]);
    let content = Response::content(Code::CONTENT, Cf::SENML_CBOR, vec![0x80]);
    let out = content.write_to(OwnedMessage::new(MessageType::Ack, Code::EMPTY, 7));
    assert_eq!(
        out.option(OptionNumber::CONTENT_FORMAT).unwrap().value,
        [112]
    );
    assert_eq!(out.payload, [0x80]);
}

/// Object definitions from a DDF file drive decoding, type checks and authorization of an
/// application object (`Client::define_ddf` reads DDF XML, a `std` feature).
#[cfg(feature = "std")]
#[test]
fn ddf_definitions_drive_an_application_object() {
    let mut c = fixture();
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<LWM2M><Object ObjectType="MODefinition">
  <Name>Light Control</Name><ObjectID>3311</ObjectID><ObjectURN>urn:oma:lwm2m:ext:3311</ObjectURN>
  <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
  <Resources>
    <Item ID="5850"><Name>On/Off</Name><Operations>RW</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory>
      <Type>Boolean</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
  </Resources>
</Object></LWM2M>"#;
    assert_eq!(c.define_ddf(xml).unwrap(), [3311]);
    assert!(c.define_ddf("<LWM2M/>").is_err());
    c.register(3311, Box::new(mote_lwm2m_client::DataObject::new()))
        .unwrap();
    c.bootstrap_write(&p("/3311/0"), &[rec("/3311/0/5850", Value::Boolean(false))])
        .unwrap();
    acl(&mut c, 4, 3311, 0, 101, &[]);
    assert_eq!(
        c.handle(S101, &put("/3311/0/5850", Cf::TEXT_PLAIN, b"1"))
            .code,
        Code::CHANGED
    );
    assert_eq!(value(&c, "/3311/0/5850"), Some(Value::Boolean(true)));
    assert_eq!(
        c.handle(S101, &put("/3311/0/5850", Cf::TEXT_PLAIN, b"on"))
            .code,
        Code::BAD_REQUEST
    );
    assert_eq!(
        c.handle(S102, &put("/3311/0/5850", Cf::TEXT_PLAIN, b"0"))
            .code,
        Code::UNAUTHORIZED
    );
    // edge is a Boolean attribute and fits here.
    let wa = Request::new(Code::PUT, "/3311/0/5850").with_query("edge=1");
    assert_eq!(c.handle(S101, &wa).code, Code::CHANGED);
}

/// Instances the application creates itself take part in access control at the next
/// request (here: a single-server client, where the only server has every right).
#[test]
fn application_changes_reach_access_control() {
    let mut c = mote_lwm2m_client::Client::new(ClientConfig::default());
    c.define(temperature());
    c.register(3303, Box::new(mote_lwm2m_client::DataObject::new()))
        .unwrap();
    c.bootstrap_write(&p("/0/0"), &[rec("/0/0/10", Value::Integer(101))])
        .unwrap();
    c.bootstrap_write(&p("/1/0"), &[rec("/1/0/0", Value::Integer(101))])
        .unwrap();
    assert_eq!(c.handle(S101, &get("/3303/4/5700")).code, Code::NOT_FOUND);
    let obj = c.object_mut(3303).unwrap();
    obj.create(4).unwrap();
    obj.write(
        4,
        5700,
        mote_lwm2m::data::ResourceData::Single(Value::Float(3.5)),
    )
    .unwrap();
    let r = c.handle(S101, &get("/3303/4/5700").with_accept(Cf::TEXT_PLAIN));
    assert_eq!((r.code, r.payload.as_slice()), (Code::CONTENT, &b"3.5"[..]));
}

/// LightweightM2M-DSE-002 (TS 1.2 Core §6.3.1 / §6.3.3 with a Resource Instance target): a
/// server reads one instance of a Multiple-Instance Resource and writes it alone — the
/// ACL resource /2/3/2 with the entries of 101 and 102, read and written by its owner 101.
#[test]
fn dse_002_one_resource_instance_is_read_and_written_alone() {
    let mut c = fixture();
    acl(&mut c, 3, 3303, 0, 101, &[(102, 1), (101, 31)]);
    let r = c.handle(S101, &get("/2/3/2/102").with_accept(Cf::TEXT_PLAIN));
    assert_eq!(r.code, Code::CONTENT, "{}", r.diagnostic_text());
    assert_eq!(r.payload, b"1");
    let r = c.handle(S101, &put("/2/3/2/102", Cf::TEXT_PLAIN, b"3"));
    assert_eq!(r.code, Code::CHANGED, "{}", r.diagnostic_text());
    assert_eq!(value(&c, "/2/3/2/102"), Some(Value::Integer(3)));
    // The other instance is untouched, and a Read of it returns it alone.
    assert_eq!(value(&c, "/2/3/2/101"), Some(Value::Integer(31)));
    let r = c.handle(S101, &get("/2/3/2/101").with_accept(Cf::TEXT_PLAIN));
    assert_eq!((r.code, r.payload.as_slice()), (Code::CONTENT, &b"31"[..]));
}
