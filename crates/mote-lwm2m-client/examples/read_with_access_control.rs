//! An LwM2M Read of the Device Object (/3/0) from two servers, with access control
//! (LwM2M TS 1.2 Core §7.3): server 101 owns /3/0 through an Access Control instance (/2/0),
//! server 102 has no entry in it and is refused with 4.01. Prints each answer and asserts it.
//!
//! Run with `cargo run -p mote-lwm2m-client --example read_with_access_control`.

use mote_access::ShortServerId;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_lwm2m::{Path, Record, Value};
use mote_lwm2m_client::{
    Client, ClientConfig, Device, DeviceInfo, ObjectError, Request, Requester,
};

/// The application's side of the Device Object.
struct Board;

impl DeviceInfo for Board {
    fn manufacturer(&self) -> Option<String> {
        Some("Mote".into())
    }
    fn reboot(&mut self) -> Result<(), ObjectError> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut client = Client::new(ClientConfig::default());
    client.register(3, Box::new(Device::new(Board)))?;

    // The factory bootstrap: a Security (/0) and a Server (/1) instance per server account.
    let path = |s: &str| s.parse::<Path>();
    for (instance, ssid) in [(1, 101), (2, 102)] {
        client.bootstrap_write(
            &path(&format!("/0/{instance}"))?,
            &[
                Record::new(path(&format!("/0/{instance}/1"))?, Value::Boolean(false)),
                Record::new(path(&format!("/0/{instance}/10"))?, Value::Integer(ssid)),
            ],
        )?;
        client.bootstrap_write(
            &path(&format!("/1/{instance}"))?,
            &[
                Record::new(path(&format!("/1/{instance}/0"))?, Value::Integer(ssid)),
                Record::new(path(&format!("/1/{instance}/1"))?, Value::Integer(300)),
            ],
        )?;
    }
    // /2/0: the Access Control instance of /3/0 (Object ID 3, Instance 0), owned by server 101
    // (resource 3), with no ACL entry for server 102.
    client.bootstrap_write(
        &path("/2/0")?,
        &[
            Record::new(path("/2/0/0")?, Value::Integer(3)),
            Record::new(path("/2/0/1")?, Value::Integer(0)),
            Record::new(path("/2/0/3")?, Value::Integer(101)),
        ],
    )?;

    // Read the Manufacturer resource (/3/0/0) as plain text from each server.
    let read = Request::new(Code::GET, "/3/0/0").with_accept(ContentFormat::TEXT_PLAIN);
    let owner = client.handle(Requester::Server(ShortServerId(101)), &read);
    println!(
        "server 101: Read /3/0/0 -> {} {:?}",
        owner.code,
        String::from_utf8_lossy(&owner.payload)
    );
    assert_eq!(owner.code, Code::CONTENT);
    assert_eq!(owner.payload, b"Mote");

    let other = client.handle(Requester::Server(ShortServerId(102)), &read);
    // The payload is at most a diagnostic text, never the resource's value.
    let diagnostic = String::from_utf8_lossy(&other.payload);
    println!("server 102: Read /3/0/0 -> {} {diagnostic:?}", other.code);
    assert_eq!(other.code, Code::UNAUTHORIZED);
    assert!(
        !diagnostic.contains("Mote"),
        "the value leaked to server 102"
    );
    Ok(())
}
