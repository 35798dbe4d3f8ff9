//! The client the integration tests share: two management servers (101 over a PSK, 102
//! over OSCORE), a Bootstrap-Server account, the Device and Firmware Update objects and a
//! Temperature object (3303), with the Access Control instances of the TS 1.2 Core §7.3
//! examples: 101 owns /3/0, /5/0 and /3303/0; 102 may read /3/0 and /3303/0 and create
//! /3303 instances.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use mote_access::ShortServerId;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_lwm2m::object::{ObjectDef, Operations, Range, ResourceDef, ResourceText, Version};
use mote_lwm2m::{ObjectLink, Path, Record, ResourceType, Value};
use mote_lwm2m_client::{
    Client, ClientConfig, Device, DeviceInfo, FirmwareHooks, FirmwareUpdate, ObjectError, Request,
    Requester, UpdateResult, object::DataObject,
};

pub const S101: Requester = Requester::Server(ShortServerId(101));
pub const S102: Requester = Requester::Server(ShortServerId(102));
pub const BS: Requester = Requester::BootstrapServer;
pub const NOBODY: Requester = Requester::Unauthenticated;

#[derive(Default)]
pub struct Board {
    pub time: i64,
    pub offset: String,
    pub reboots: Rc<Cell<u32>>,
}

impl DeviceInfo for Board {
    fn manufacturer(&self) -> Option<String> {
        Some("Mote".into())
    }
    fn battery_level(&self) -> Option<i64> {
        Some(80)
    }
    fn current_time(&self) -> Option<i64> {
        Some(self.time)
    }
    fn set_current_time(&mut self, time: i64) -> Result<(), ObjectError> {
        self.time = time;
        Ok(())
    }
    fn utc_offset(&self) -> Option<String> {
        Some(self.offset.clone())
    }
    fn set_utc_offset(&mut self, offset: String) -> Result<(), ObjectError> {
        self.offset = offset;
        Ok(())
    }
    fn reboot(&mut self) -> Result<(), ObjectError> {
        self.reboots.set(self.reboots.get() + 1);
        Ok(())
    }
}

/// Accepts images that start with `GOOD`; `BIG` images do not fit; installs always start.
/// `image` is what was written; `installed` what the last install started with.
#[derive(Default)]
pub struct Flash {
    pub image: Vec<u8>,
    pub installed: Vec<u8>,
}

impl FirmwareHooks for Flash {
    fn begin(&mut self) -> Result<(), UpdateResult> {
        self.image.clear();
        Ok(())
    }
    fn write_block(&mut self, offset: usize, block: &[u8]) -> Result<(), UpdateResult> {
        assert_eq!(offset, self.image.len(), "pieces come in order");
        self.image.extend_from_slice(block);
        Ok(())
    }
    fn finish(&mut self) -> Result<(), UpdateResult> {
        if self.image.starts_with(b"GOOD") {
            Ok(())
        } else {
            Err(UpdateResult::IntegrityCheckFailure)
        }
    }
    fn start_download(&mut self, uri: &str) -> Result<(), UpdateResult> {
        if uri.starts_with("coap") {
            Ok(())
        } else {
            Err(UpdateResult::UnsupportedProtocol)
        }
    }
    fn start_update(&mut self) -> Result<(), UpdateResult> {
        self.installed = self.image.clone();
        Ok(())
    }
}

fn res(
    id: u16,
    name: &'static str,
    ops: Operations,
    kind: ResourceType,
    mandatory: bool,
) -> (ResourceDef, ResourceText) {
    let def = ResourceDef {
        id,
        operations: ops,
        multiple: false,
        mandatory,
        kind,
        range: Range::Any,
    };
    let text = ResourceText {
        id,
        name: Cow::Borrowed(name),
        units: Cow::Borrowed(""),
    };
    (def, text)
}

/// A reduced Temperature object (OMNA 3303) plus a write-only resource.
pub fn temperature() -> ObjectDef {
    let (resources, texts): (Vec<ResourceDef>, Vec<ResourceText>) = [
        res(
            5601,
            "Min Measured Value",
            Operations::R,
            ResourceType::Float,
            false,
        ),
        res(
            5605,
            "Reset Min and Max Measured Values",
            Operations::E,
            ResourceType::None,
            false,
        ),
        res(
            5700,
            "Sensor Value",
            Operations::R,
            ResourceType::Float,
            true,
        ),
        res(
            5750,
            "Application Type",
            Operations::RW,
            ResourceType::String,
            false,
        ),
        // Not in OMNA 3303: a write-only resource, to see Read leave it out.
        res(
            5900,
            "Write-only Setpoint",
            Operations::W,
            ResourceType::Float,
            false,
        ),
    ]
    .into_iter()
    .unzip();
    ObjectDef {
        id: 3303,
        name: Cow::Borrowed("Temperature"),
        urn: Cow::Borrowed("urn:oma:lwm2m:ext:3303"),
        version: Version { major: 1, minor: 0 },
        lwm2m_version: Version { major: 1, minor: 0 },
        multiple: true,
        mandatory: false,
        resources: Cow::Owned(resources),
        texts: Cow::Owned(texts),
    }
}

pub fn p(s: &str) -> Path {
    s.parse().unwrap()
}

pub fn rec(path: &str, v: Value) -> Record {
    Record::new(p(path), v)
}

pub fn int(v: i64) -> Value {
    Value::Integer(v)
}

pub fn config() -> ClientConfig {
    ClientConfig::default()
}

pub fn acl(
    client: &mut Client,
    id: u16,
    object: i64,
    instance: i64,
    owner: i64,
    entries: &[(u16, i64)],
) {
    let base = format!("/2/{id}");
    let mut records = vec![
        rec(&format!("{base}/0"), int(object)),
        rec(&format!("{base}/1"), int(instance)),
        rec(&format!("{base}/3"), int(owner)),
    ];
    for (ssid, rights) in entries {
        records.push(rec(&format!("{base}/2/{ssid}"), int(*rights)));
    }
    client.bootstrap_write(&p(&base), &records).unwrap();
}

pub fn fixture_with(config: ClientConfig) -> Client {
    fixture_with_board(config, Board::default())
}

pub fn fixture_with_board(config: ClientConfig, board: Board) -> Client {
    let mut c = Client::new(config);
    c.define(temperature());
    c.register(3, Box::new(Device::new(board))).unwrap();
    c.register(5, Box::new(FirmwareUpdate::new(Flash::default(), 64)))
        .unwrap();
    c.register(3303, Box::new(DataObject::new())).unwrap();
    let w = |c: &mut Client, base: &str, records: Vec<Record>| {
        c.bootstrap_write(&p(base), &records).unwrap()
    };
    w(
        &mut c,
        "/0/0",
        vec![
            rec("/0/0/0", Value::String("coaps://bs.example".into())),
            rec("/0/0/1", Value::Boolean(true)),
            rec("/0/0/2", int(0)),
            rec("/0/0/3", Value::Opaque(b"bs-identity".to_vec())),
            rec("/0/0/17", Value::Objlnk(ObjectLink::new(21, 0))),
        ],
    );
    w(
        &mut c,
        "/0/1",
        vec![
            rec("/0/1/0", Value::String("coaps://s101.example".into())),
            rec("/0/1/1", Value::Boolean(false)),
            rec("/0/1/2", int(0)),
            rec("/0/1/3", Value::Opaque(b"id-101".to_vec())),
            rec("/0/1/10", int(101)),
        ],
    );
    w(
        &mut c,
        "/0/2",
        vec![
            rec("/0/2/0", Value::String("coap://s102.example".into())),
            rec("/0/2/1", Value::Boolean(false)),
            rec("/0/2/2", int(3)),
            rec("/0/2/10", int(102)),
            rec("/0/2/17", Value::Objlnk(ObjectLink::new(21, 1))),
        ],
    );
    w(
        &mut c,
        "/21/0",
        vec![
            rec("/21/0/1", Value::Opaque(vec![0x01])),
            rec("/21/0/2", Value::Opaque(vec![0x02])),
        ],
    );
    w(
        &mut c,
        "/21/1",
        vec![
            rec("/21/1/1", Value::Opaque(vec![0x0a])),
            rec("/21/1/2", Value::Opaque(vec![0x0b])),
        ],
    );
    w(
        &mut c,
        "/1/0",
        vec![
            rec("/1/0/0", int(101)),
            rec("/1/0/1", int(300)),
            rec("/1/0/2", int(5)),
        ],
    );
    w(
        &mut c,
        "/1/1",
        vec![rec("/1/1/0", int(102)), rec("/1/1/1", int(300))],
    );
    w(
        &mut c,
        "/3303/0",
        vec![
            rec("/3303/0/5700", Value::Float(21.5)),
            rec("/3303/0/5750", Value::String("room".into())),
        ],
    );
    // R = 1, W = 2, E = 4, D = 8, C = 16 (TS 1.2 Core §E.3, ACL resource).
    acl(&mut c, 0, 3, 0, 101, &[(102, 1)]);
    acl(&mut c, 1, 5, 0, 101, &[]);
    acl(&mut c, 2, 3303, 65535, 65535, &[(102, 16)]);
    acl(&mut c, 3, 3303, 0, 101, &[(102, 1)]);
    c
}

pub fn fixture() -> Client {
    fixture_with(config())
}

pub fn get(path: &str) -> Request {
    Request::new(Code::GET, path)
}

pub fn text(value: &str) -> (ContentFormat, Vec<u8>) {
    (ContentFormat::TEXT_PLAIN, value.as_bytes().to_vec())
}

pub fn put(path: &str, cf: ContentFormat, payload: &[u8]) -> Request {
    Request::new(Code::PUT, path).with_payload(cf, payload.to_vec())
}

pub fn post(path: &str) -> Request {
    Request::new(Code::POST, path)
}

/// Reads one value through the application view (no access control).
pub fn value(client: &Client, path: &str) -> Option<Value> {
    client.value(&p(path))
}

/// The diagnostic payload of an error response: the error's text with the `diagnostics`
/// feature, empty without it (a device build links no texts).
pub fn assert_diagnostic(response: &mote_lwm2m_client::Response, text: &str) {
    if cfg!(feature = "diagnostics") {
        assert!(
            response.diagnostic_text().contains(text),
            "{:?} does not contain {text:?}",
            response.diagnostic_text()
        );
    } else {
        assert_eq!(response.diagnostic_text(), "");
    }
}

pub fn decode_senml_json(payload: &[u8]) -> BTreeMap<String, Value> {
    mote_lwm2m::senml::json::decode(payload, &mote_lwm2m::object::NoDefs)
        .unwrap()
        .into_iter()
        .map(|r| (r.path.to_string(), r.value))
        .collect()
}
