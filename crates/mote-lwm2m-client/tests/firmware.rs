//! The Firmware Update state machine (LwM2M TS 1.2 Core Appendix E.6, Object 5: State
//! 0 Idle / 1 Downloading / 2 Downloaded / 3 Updating; Update Result 0 initial, 1 success,
//! 2 not enough flash, 4 connection lost, 5 integrity check failure, 8 update failed,
//! 9 unsupported protocol), driven through Device Management requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat as Cf;
use mote_lwm2m_client::{Client, FirmwareUpdate, State, UpdateResult};

/// (State, Update Result) as a server reads them.
fn status(c: &mut Client) -> (String, String) {
    let read = |c: &mut Client, path: &str| {
        let r = c.handle(S101, &get(path).with_accept(Cf::TEXT_PLAIN));
        assert_eq!(r.code, Code::CONTENT, "{path}");
        String::from_utf8(r.payload).unwrap()
    };
    (read(c, "/5/0/3"), read(c, "/5/0/5"))
}

fn push(c: &mut Client, image: &[u8]) -> Code {
    c.handle(S101, &put("/5/0/0", Cf::OCTET_STREAM, image)).code
}

fn st(state: &str, result: &str) -> (String, String) {
    (state.to_string(), result.to_string())
}

#[test]
fn good_image_downloads_updates_and_succeeds() {
    let mut c = fixture();
    assert_eq!(status(&mut c), st("0", "0"));
    // Update in Idle: nothing to install.
    assert_eq!(
        c.handle(S101, &post("/5/0/2")).code,
        Code::METHOD_NOT_ALLOWED
    );
    assert_eq!(push(&mut c, b"GOOD image"), Code::CHANGED);
    assert_eq!(status(&mut c), st("2", "0"));
    // A second package while one is Downloaded is refused.
    assert_eq!(push(&mut c, b"GOOD other"), Code::METHOD_NOT_ALLOWED);
    assert_eq!(c.handle(S101, &post("/5/0/2")).code, Code::CHANGED);
    assert_eq!(status(&mut c), st("3", "0"));
    // The installation reports back through the application's handle on the object.
    let fw = c.object_as::<FirmwareUpdate<Flash>>(5).unwrap();
    assert_eq!(fw.state(), State::Updating);
    fw.update_finished(true);
    assert_eq!(status(&mut c), st("0", "1"));
}

#[test]
fn bad_image_is_an_integrity_check_failure() {
    let mut c = fixture();
    assert_eq!(push(&mut c, b"EVIL image"), Code::CHANGED);
    assert_eq!(status(&mut c), st("0", "5"));
    assert_eq!(
        c.handle(S101, &post("/5/0/2")).code,
        Code::METHOD_NOT_ALLOWED
    );
    // Too big for the flash: Update Result 2.
    assert_eq!(push(&mut c, &[b'G'; 65]), Code::CHANGED);
    assert_eq!(status(&mut c), st("0", "2"));
    // An empty package resets to Idle / initial.
    assert_eq!(push(&mut c, b""), Code::CHANGED);
    assert_eq!(status(&mut c), st("0", "0"));
    // Only the owner may push an image.
    assert_eq!(
        c.handle(S102, &put("/5/0/0", Cf::OCTET_STREAM, b"GOOD"))
            .code,
        Code::UNAUTHORIZED
    );
    assert_eq!(status(&mut c), st("0", "0"));
}

#[test]
fn failed_installation_keeps_the_image() {
    let mut fw = FirmwareUpdate::new(Flash::default(), 64);
    fw.write_package(b"GOOD image").unwrap();
    fw.execute_update().unwrap();
    fw.update_finished(false);
    assert_eq!(
        (fw.state(), fw.update_result()),
        (State::Downloaded, UpdateResult::UpdateFailed)
    );
    // The object holds no copy: the hooks have the image.
    assert_eq!(fw.hooks.image, b"GOOD image");
    assert_eq!(fw.written(), 10);
    // Retry succeeds.
    fw.execute_update().unwrap();
    assert_eq!(fw.update_result(), UpdateResult::Initial);
    fw.update_finished(true);
    assert_eq!(
        (fw.state(), fw.update_result()),
        (State::Idle, UpdateResult::Success)
    );
    assert_eq!(fw.hooks.installed, b"GOOD image");
}

#[test]
fn package_uri_pull() {
    let mut c = fixture();
    let uri = |c: &mut Client, u: &str| {
        c.handle(S101, &put("/5/0/1", Cf::TEXT_PLAIN, u.as_bytes()))
            .code
    };
    assert_eq!(uri(&mut c, "ftp://x/fw"), Code::CHANGED);
    assert_eq!(status(&mut c), st("0", "9"));
    assert_eq!(uri(&mut c, "coaps://x/fw"), Code::CHANGED);
    assert_eq!(status(&mut c), st("1", "0"));
    c.object_as::<FirmwareUpdate<Flash>>(5)
        .unwrap()
        .download_finished(Ok(b"GOOD pulled"));
    assert_eq!(status(&mut c), st("2", "0"));
    // The download outcome comes from the application.
    let mut fw = FirmwareUpdate::new(Flash::default(), 64);
    fw.write_uri("coaps://x/fw").unwrap();
    assert_eq!(fw.state(), State::Downloading);
    fw.download_finished(Err(UpdateResult::ConnectionLost));
    assert_eq!(
        (fw.state(), fw.update_result()),
        (State::Idle, UpdateResult::ConnectionLost)
    );
    fw.write_uri("coaps://x/fw").unwrap();
    fw.download_finished(Ok(b"BROKEN"));
    assert_eq!(
        (fw.state(), fw.update_result()),
        (State::Idle, UpdateResult::IntegrityCheckFailure)
    );
    fw.write_uri("coaps://x/fw").unwrap();
    fw.download_finished(Ok(b"GOOD"));
    assert_eq!(fw.state(), State::Downloaded);
    // Writing an empty URI cancels back to Idle.
    fw.write_uri("").unwrap();
    assert_eq!(
        (fw.state(), fw.update_result()),
        (State::Idle, UpdateResult::Initial)
    );
}
