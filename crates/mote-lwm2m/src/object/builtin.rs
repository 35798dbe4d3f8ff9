//! Built-in definitions of the core objects, GENERATED from the OMNA registry XML in
//! `objects/` by `tests/builtin_objects.rs` (`MOTE_REGENERATE=1 cargo test -p mote-lwm2m
//! --test builtin_objects`). Do not edit by hand.

use alloc::borrow::Cow;

use super::{ObjectDef, Operations, Range, ResourceDef, ResourceText, Version, name, texts};
use crate::value::ResourceType;

static RESOURCES_0: [ResourceDef; 31] = [
    ResourceDef {
        id: 0,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::String,
        range: Range::Span { min: 0, max: 255 },
    },
    ResourceDef {
        id: 1,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Boolean,
        range: Range::Any,
    },
    ResourceDef {
        id: 2,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 4 },
    },
    ResourceDef {
        id: 3,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
    ResourceDef {
        id: 4,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
    ResourceDef {
        id: 5,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
    ResourceDef {
        id: 6,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 255 },
    },
    ResourceDef {
        id: 7,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Opaque,
        range: Range::Values(Cow::Borrowed(&[6])),
    },
    ResourceDef {
        id: 8,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Opaque,
        range: Range::Values(Cow::Borrowed(&[16, 32, 48])),
    },
    ResourceDef {
        id: 9,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 10,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 1, max: 65534 },
    },
    ResourceDef {
        id: 11,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 12,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 13,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 3 },
    },
    ResourceDef {
        id: 14,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 15,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 3 },
    },
    ResourceDef {
        id: 16,
        operations: Operations::NONE,
        multiple: true,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Any,
    },
    ResourceDef {
        id: 17,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Objlnk,
        range: Range::Any,
    },
    ResourceDef {
        id: 18,
        operations: Operations::NONE,
        multiple: true,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 65535 },
    },
    ResourceDef {
        id: 19,
        operations: Operations::NONE,
        multiple: true,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 65535 },
    },
    ResourceDef {
        id: 20,
        operations: Operations::NONE,
        multiple: true,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 65535 },
    },
    ResourceDef {
        id: 21,
        operations: Operations::NONE,
        multiple: true,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 65535 },
    },
    ResourceDef {
        id: 22,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 65535 },
    },
    ResourceDef {
        id: 23,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 65535 },
    },
    ResourceDef {
        id: 24,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 65535 },
    },
    ResourceDef {
        id: 25,
        operations: Operations::NONE,
        multiple: true,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Span { min: 0, max: 255 },
    },
    ResourceDef {
        id: 26,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Objlnk,
        range: Range::Any,
    },
    ResourceDef {
        id: 27,
        operations: Operations::NONE,
        multiple: true,
        mandatory: false,
        kind: ResourceType::Objlnk,
        range: Range::Any,
    },
    ResourceDef {
        id: 28,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 15 },
    },
    ResourceDef {
        id: 29,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 15 },
    },
    ResourceDef {
        id: 30,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
];

static TEXTS_0: [ResourceText; 31] = [
    ResourceText {
        id: 0,
        name: Cow::Borrowed("LWM2M Server URI"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 1,
        name: Cow::Borrowed("Bootstrap-Server"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 2,
        name: Cow::Borrowed("Security Mode"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 3,
        name: Cow::Borrowed("Public Key or Identity"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 4,
        name: Cow::Borrowed("Server Public Key"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 5,
        name: Cow::Borrowed("Secret Key"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 6,
        name: Cow::Borrowed("SMS Security Mode"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 7,
        name: Cow::Borrowed("SMS Binding Key Parameters"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 8,
        name: Cow::Borrowed("SMS Binding Secret Key(s)"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 9,
        name: Cow::Borrowed("LwM2M Server SMS Number"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 10,
        name: Cow::Borrowed("Short Server ID"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 11,
        name: Cow::Borrowed("Client Hold Off Time"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 12,
        name: Cow::Borrowed("Bootstrap-Server Account Timeout"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 13,
        name: Cow::Borrowed("Matching Type"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 14,
        name: Cow::Borrowed("SNI"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 15,
        name: Cow::Borrowed("Certificate Usage"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 16,
        name: Cow::Borrowed("DTLS/TLS Ciphersuite"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 17,
        name: Cow::Borrowed("OSCORE Security Mode"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 18,
        name: Cow::Borrowed("Groups To Use by Client"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 19,
        name: Cow::Borrowed("Signature Algorithms Supported by Server"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 20,
        name: Cow::Borrowed("Signature Algorithms To Use by Client"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 21,
        name: Cow::Borrowed("Signature Algorithm Certs Supported by Server"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 22,
        name: Cow::Borrowed("TLS 1.3 Features To Use by Client"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 23,
        name: Cow::Borrowed("TLS Extensions Supported by Server"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 24,
        name: Cow::Borrowed("TLS Extensions To Use by Client"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 25,
        name: Cow::Borrowed("Secondary LwM2M Server URI"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 26,
        name: Cow::Borrowed("MQTT Server"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 27,
        name: Cow::Borrowed("LwM2M COSE Security"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 28,
        name: Cow::Borrowed("RDS Destination Port"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 29,
        name: Cow::Borrowed("RDS Source Port"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 30,
        name: Cow::Borrowed("RDS Application ID"),
        units: Cow::Borrowed(""),
    },
];

static RESOURCES_1: [ResourceDef; 28] = [
    ResourceDef {
        id: 0,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 1, max: 65534 },
    },
    ResourceDef {
        id: 1,
        operations: Operations::RW,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 2,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 3,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 4,
        operations: Operations::E,
        multiple: false,
        mandatory: false,
        kind: ResourceType::None,
        range: Range::Any,
    },
    ResourceDef {
        id: 5,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 6,
        operations: Operations::RW,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Boolean,
        range: Range::Any,
    },
    ResourceDef {
        id: 7,
        operations: Operations::RW,
        multiple: false,
        mandatory: true,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 8,
        operations: Operations::E,
        multiple: false,
        mandatory: true,
        kind: ResourceType::None,
        range: Range::Any,
    },
    ResourceDef {
        id: 9,
        operations: Operations::E,
        multiple: false,
        mandatory: false,
        kind: ResourceType::None,
        range: Range::Any,
    },
    ResourceDef {
        id: 10,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Objlnk,
        range: Range::Any,
    },
    ResourceDef {
        id: 11,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 255 },
    },
    ResourceDef {
        id: 12,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Time,
        range: Range::Any,
    },
    ResourceDef {
        id: 13,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Any,
    },
    ResourceDef {
        id: 14,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Any,
    },
    ResourceDef {
        id: 15,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Boolean,
        range: Range::Any,
    },
    ResourceDef {
        id: 16,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Boolean,
        range: Range::Any,
    },
    ResourceDef {
        id: 17,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Any,
    },
    ResourceDef {
        id: 18,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Any,
    },
    ResourceDef {
        id: 19,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Any,
    },
    ResourceDef {
        id: 20,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Any,
    },
    ResourceDef {
        id: 21,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Boolean,
        range: Range::Any,
    },
    ResourceDef {
        id: 22,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Text(Cow::Borrowed(
            "The possible values are those listed in the LwM2M Core Specification",
        )),
    },
    ResourceDef {
        id: 23,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Boolean,
        range: Range::Any,
    },
    ResourceDef {
        id: 24,
        operations: Operations::RW,
        multiple: true,
        mandatory: false,
        kind: ResourceType::Objlnk,
        range: Range::Any,
    },
    ResourceDef {
        id: 25,
        operations: Operations::RW,
        multiple: true,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 26,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 1 },
    },
    ResourceDef {
        id: 27,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Span { min: 0, max: 255 },
    },
];

static TEXTS_1: [ResourceText; 28] = [
    ResourceText {
        id: 0,
        name: Cow::Borrowed("Short Server ID"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 1,
        name: Cow::Borrowed("Lifetime"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 2,
        name: Cow::Borrowed("Default Minimum Period"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 3,
        name: Cow::Borrowed("Default Maximum Period"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 4,
        name: Cow::Borrowed("Disable"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 5,
        name: Cow::Borrowed("Disable Timeout"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 6,
        name: Cow::Borrowed("Notification Storing When Disabled or Offline"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 7,
        name: Cow::Borrowed("Binding"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 8,
        name: Cow::Borrowed("Registration Update Trigger"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 9,
        name: Cow::Borrowed("Bootstrap-Request Trigger"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 10,
        name: Cow::Borrowed("APN Link"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 11,
        name: Cow::Borrowed("TLS-DTLS Alert Code"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 12,
        name: Cow::Borrowed("Last Bootstrapped"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 13,
        name: Cow::Borrowed("Registration Priority Order"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 14,
        name: Cow::Borrowed("Initial Registration Delay Timer"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 15,
        name: Cow::Borrowed("Registration Failure Block"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 16,
        name: Cow::Borrowed("Bootstrap on Registration Failure"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 17,
        name: Cow::Borrowed("Communication Retry Count"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 18,
        name: Cow::Borrowed("Communication Retry Timer"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 19,
        name: Cow::Borrowed("Communication Sequence Delay Timer"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 20,
        name: Cow::Borrowed("Communication Sequence Retry Count"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 21,
        name: Cow::Borrowed("Trigger"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 22,
        name: Cow::Borrowed("Preferred Transport"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 23,
        name: Cow::Borrowed("Mute Send"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 24,
        name: Cow::Borrowed("Alternate APN Links"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 25,
        name: Cow::Borrowed("Supported Server Versions"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 26,
        name: Cow::Borrowed("Default Notification Mode"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 27,
        name: Cow::Borrowed("Profile ID Hash Algorithm"),
        units: Cow::Borrowed(""),
    },
];

static RESOURCES_2: [ResourceDef; 4] = [
    ResourceDef {
        id: 0,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 1, max: 65534 },
    },
    ResourceDef {
        id: 1,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 65535 },
    },
    ResourceDef {
        id: 2,
        operations: Operations::RW,
        multiple: true,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 31 },
    },
    ResourceDef {
        id: 3,
        operations: Operations::RW,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 65535 },
    },
];

static TEXTS_2: [ResourceText; 4] = [
    ResourceText {
        id: 0,
        name: Cow::Borrowed("Object ID"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 1,
        name: Cow::Borrowed("Object Instance ID"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 2,
        name: Cow::Borrowed("ACL"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 3,
        name: Cow::Borrowed("Access Control Owner"),
        units: Cow::Borrowed(""),
    },
];

static RESOURCES_3: [ResourceDef; 23] = [
    ResourceDef {
        id: 0,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 1,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 2,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 3,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 4,
        operations: Operations::E,
        multiple: false,
        mandatory: true,
        kind: ResourceType::None,
        range: Range::Any,
    },
    ResourceDef {
        id: 5,
        operations: Operations::E,
        multiple: false,
        mandatory: false,
        kind: ResourceType::None,
        range: Range::Any,
    },
    ResourceDef {
        id: 6,
        operations: Operations::R,
        multiple: true,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 7 },
    },
    ResourceDef {
        id: 7,
        operations: Operations::R,
        multiple: true,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 8,
        operations: Operations::R,
        multiple: true,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 9,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 100 },
    },
    ResourceDef {
        id: 10,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 11,
        operations: Operations::R,
        multiple: true,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 32 },
    },
    ResourceDef {
        id: 12,
        operations: Operations::E,
        multiple: false,
        mandatory: false,
        kind: ResourceType::None,
        range: Range::Any,
    },
    ResourceDef {
        id: 13,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Time,
        range: Range::Any,
    },
    ResourceDef {
        id: 14,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 15,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 16,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 17,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 18,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 19,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 20,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 6 },
    },
    ResourceDef {
        id: 21,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 22,
        operations: Operations::R,
        multiple: true,
        mandatory: false,
        kind: ResourceType::Objlnk,
        range: Range::Any,
    },
];

static TEXTS_3: [ResourceText; 23] = [
    ResourceText {
        id: 0,
        name: Cow::Borrowed("Manufacturer"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 1,
        name: Cow::Borrowed("Model Number"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 2,
        name: Cow::Borrowed("Serial Number"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 3,
        name: Cow::Borrowed("Firmware Version"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 4,
        name: Cow::Borrowed("Reboot"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 5,
        name: Cow::Borrowed("Factory Reset"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 6,
        name: Cow::Borrowed("Available Power Sources"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 7,
        name: Cow::Borrowed("Power Source Voltage"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 8,
        name: Cow::Borrowed("Power Source Current"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 9,
        name: Cow::Borrowed("Battery Level"),
        units: Cow::Borrowed("/100"),
    },
    ResourceText {
        id: 10,
        name: Cow::Borrowed("Memory Free"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 11,
        name: Cow::Borrowed("Error Code"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 12,
        name: Cow::Borrowed("Reset Error Code"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 13,
        name: Cow::Borrowed("Current Time"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 14,
        name: Cow::Borrowed("UTC Offset"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 15,
        name: Cow::Borrowed("Timezone"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 16,
        name: Cow::Borrowed("Supported Binding and Modes"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 17,
        name: Cow::Borrowed("Device Type"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 18,
        name: Cow::Borrowed("Hardware Version"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 19,
        name: Cow::Borrowed("Software Version"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 20,
        name: Cow::Borrowed("Battery Status"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 21,
        name: Cow::Borrowed("Memory Total"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 22,
        name: Cow::Borrowed("ExtDevInfo"),
        units: Cow::Borrowed(""),
    },
];

#[cfg(feature = "extra-objects")]
static RESOURCES_4: [ResourceDef; 14] = [
    ResourceDef {
        id: 0,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 50 },
    },
    ResourceDef {
        id: 1,
        operations: Operations::R,
        multiple: true,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 50 },
    },
    ResourceDef {
        id: 2,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 3,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 4,
        operations: Operations::R,
        multiple: true,
        mandatory: true,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 5,
        operations: Operations::R,
        multiple: true,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 6,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 100 },
    },
    ResourceDef {
        id: 7,
        operations: Operations::R,
        multiple: true,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Any,
    },
    ResourceDef {
        id: 8,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 9,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 999 },
    },
    ResourceDef {
        id: 10,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 999 },
    },
    ResourceDef {
        id: 11,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 12,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 13,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 4 },
    },
];

#[cfg(feature = "extra-objects")]
static TEXTS_4: [ResourceText; 14] = [
    ResourceText {
        id: 0,
        name: Cow::Borrowed("Network Bearer"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 1,
        name: Cow::Borrowed("Available Network Bearer"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 2,
        name: Cow::Borrowed("Radio Signal Strength"),
        units: Cow::Borrowed("dBm"),
    },
    ResourceText {
        id: 3,
        name: Cow::Borrowed("Link Quality"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 4,
        name: Cow::Borrowed("IP Addresses"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 5,
        name: Cow::Borrowed("Router IP Addresses"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 6,
        name: Cow::Borrowed("Link Utilization"),
        units: Cow::Borrowed("/100"),
    },
    ResourceText {
        id: 7,
        name: Cow::Borrowed("APN"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 8,
        name: Cow::Borrowed("Cell ID"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 9,
        name: Cow::Borrowed("SMNC"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 10,
        name: Cow::Borrowed("SMCC"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 11,
        name: Cow::Borrowed("SignalSNR"),
        units: Cow::Borrowed("dB"),
    },
    ResourceText {
        id: 12,
        name: Cow::Borrowed("LAC"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 13,
        name: Cow::Borrowed("Coverage Enhancement Level"),
        units: Cow::Borrowed(""),
    },
];

#[cfg(feature = "extra-objects")]
static RESOURCES_5: [ResourceDef; 14] = [
    ResourceDef {
        id: 0,
        operations: Operations::W,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
    ResourceDef {
        id: 1,
        operations: Operations::RW,
        multiple: false,
        mandatory: true,
        kind: ResourceType::String,
        range: Range::Span { min: 0, max: 255 },
    },
    ResourceDef {
        id: 2,
        operations: Operations::E,
        multiple: false,
        mandatory: true,
        kind: ResourceType::None,
        range: Range::Any,
    },
    ResourceDef {
        id: 3,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 3 },
    },
    ResourceDef {
        id: 5,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 11 },
    },
    ResourceDef {
        id: 6,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Span { min: 0, max: 255 },
    },
    ResourceDef {
        id: 7,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::String,
        range: Range::Span { min: 0, max: 255 },
    },
    ResourceDef {
        id: 8,
        operations: Operations::R,
        multiple: true,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 5 },
    },
    ResourceDef {
        id: 9,
        operations: Operations::R,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 2 },
    },
    ResourceDef {
        id: 10,
        operations: Operations::E,
        multiple: false,
        mandatory: false,
        kind: ResourceType::None,
        range: Range::Any,
    },
    ResourceDef {
        id: 11,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Span { min: 0, max: 2 },
    },
    ResourceDef {
        id: 12,
        operations: Operations::R,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Time,
        range: Range::Any,
    },
    ResourceDef {
        id: 13,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::UnsignedInteger,
        range: Range::Any,
    },
    ResourceDef {
        id: 14,
        operations: Operations::RW,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Boolean,
        range: Range::Any,
    },
];

#[cfg(feature = "extra-objects")]
static TEXTS_5: [ResourceText; 14] = [
    ResourceText {
        id: 0,
        name: Cow::Borrowed("Package"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 1,
        name: Cow::Borrowed("Package URI"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 2,
        name: Cow::Borrowed("Update"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 3,
        name: Cow::Borrowed("State"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 5,
        name: Cow::Borrowed("Update Result"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 6,
        name: Cow::Borrowed("PkgName"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 7,
        name: Cow::Borrowed("PkgVersion"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 8,
        name: Cow::Borrowed("Firmware Update Protocol Support"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 9,
        name: Cow::Borrowed("Firmware Update Delivery Method"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 10,
        name: Cow::Borrowed("Cancel"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 11,
        name: Cow::Borrowed("Severity"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 12,
        name: Cow::Borrowed("Last State Change Time"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 13,
        name: Cow::Borrowed("Maximum Defer Period"),
        units: Cow::Borrowed("s"),
    },
    ResourceText {
        id: 14,
        name: Cow::Borrowed("Automatic Upgrade at Download"),
        units: Cow::Borrowed(""),
    },
];

static RESOURCES_21: [ResourceDef; 7] = [
    ResourceDef {
        id: 0,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
    ResourceDef {
        id: 1,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
    ResourceDef {
        id: 2,
        operations: Operations::NONE,
        multiple: false,
        mandatory: true,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
    ResourceDef {
        id: 3,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 4,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Integer,
        range: Range::Any,
    },
    ResourceDef {
        id: 5,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
    ResourceDef {
        id: 6,
        operations: Operations::NONE,
        multiple: false,
        mandatory: false,
        kind: ResourceType::Opaque,
        range: Range::Any,
    },
];

static TEXTS_21: [ResourceText; 7] = [
    ResourceText {
        id: 0,
        name: Cow::Borrowed("OSCORE Master Secret"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 1,
        name: Cow::Borrowed("OSCORE Sender ID"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 2,
        name: Cow::Borrowed("OSCORE Recipient ID"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 3,
        name: Cow::Borrowed("OSCORE AEAD Algorithm"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 4,
        name: Cow::Borrowed("OSCORE HMAC Algorithm"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 5,
        name: Cow::Borrowed("OSCORE Master Salt"),
        units: Cow::Borrowed(""),
    },
    ResourceText {
        id: 6,
        name: Cow::Borrowed("OSCORE ID Context"),
        units: Cow::Borrowed(""),
    },
];

/// Object 0 "LWM2M Security" version 1.2 (`urn:oma:lwm2m:oma:0:1.2`).
pub static LWM2M_SECURITY: ObjectDef = ObjectDef {
    id: 0,
    name: Cow::Borrowed(name("LWM2M Security")),
    urn: Cow::Borrowed("urn:oma:lwm2m:oma:0:1.2"),
    version: Version { major: 1, minor: 2 },
    lwm2m_version: Version { major: 1, minor: 1 },
    multiple: true,
    mandatory: true,
    resources: Cow::Borrowed(&RESOURCES_0),
    texts: texts(&TEXTS_0),
};

/// Object 1 "LwM2M Server" version 1.2 (`urn:oma:lwm2m:oma:1:1.2`).
pub static LWM2M_SERVER: ObjectDef = ObjectDef {
    id: 1,
    name: Cow::Borrowed(name("LwM2M Server")),
    urn: Cow::Borrowed("urn:oma:lwm2m:oma:1:1.2"),
    version: Version { major: 1, minor: 2 },
    lwm2m_version: Version { major: 1, minor: 2 },
    multiple: true,
    mandatory: true,
    resources: Cow::Borrowed(&RESOURCES_1),
    texts: texts(&TEXTS_1),
};

/// Object 2 "LwM2M Access Control" version 1.1 (`urn:oma:lwm2m:oma:2:1.1`).
pub static LWM2M_ACCESS_CONTROL: ObjectDef = ObjectDef {
    id: 2,
    name: Cow::Borrowed(name("LwM2M Access Control")),
    urn: Cow::Borrowed("urn:oma:lwm2m:oma:2:1.1"),
    version: Version { major: 1, minor: 1 },
    lwm2m_version: Version { major: 1, minor: 0 },
    multiple: true,
    mandatory: false,
    resources: Cow::Borrowed(&RESOURCES_2),
    texts: texts(&TEXTS_2),
};

/// Object 3 "Device" version 1.2 (`urn:oma:lwm2m:oma:3:1.2`).
pub static DEVICE: ObjectDef = ObjectDef {
    id: 3,
    name: Cow::Borrowed(name("Device")),
    urn: Cow::Borrowed("urn:oma:lwm2m:oma:3:1.2"),
    version: Version { major: 1, minor: 2 },
    lwm2m_version: Version { major: 1, minor: 1 },
    multiple: false,
    mandatory: true,
    resources: Cow::Borrowed(&RESOURCES_3),
    texts: texts(&TEXTS_3),
};

/// Object 4 "Connectivity Monitoring" version 1.3 (`urn:oma:lwm2m:oma:4:1.3`).
#[cfg(feature = "extra-objects")]
pub static CONNECTIVITY_MONITORING: ObjectDef = ObjectDef {
    id: 4,
    name: Cow::Borrowed(name("Connectivity Monitoring")),
    urn: Cow::Borrowed("urn:oma:lwm2m:oma:4:1.3"),
    version: Version { major: 1, minor: 3 },
    lwm2m_version: Version { major: 1, minor: 1 },
    multiple: false,
    mandatory: false,
    resources: Cow::Borrowed(&RESOURCES_4),
    texts: texts(&TEXTS_4),
};

/// Object 5 "Firmware Update" version 1.2 (`urn:oma:lwm2m:oma:5:1.2`).
#[cfg(feature = "extra-objects")]
pub static FIRMWARE_UPDATE: ObjectDef = ObjectDef {
    id: 5,
    name: Cow::Borrowed(name("Firmware Update")),
    urn: Cow::Borrowed("urn:oma:lwm2m:oma:5:1.2"),
    version: Version { major: 1, minor: 2 },
    lwm2m_version: Version { major: 1, minor: 1 },
    multiple: false,
    mandatory: false,
    resources: Cow::Borrowed(&RESOURCES_5),
    texts: texts(&TEXTS_5),
};

/// Object 21 "LWM2M OSCORE" version 2.0 (`urn:oma:lwm2m:oma:21:2.0`).
pub static LWM2M_OSCORE: ObjectDef = ObjectDef {
    id: 21,
    name: Cow::Borrowed(name("LWM2M OSCORE")),
    urn: Cow::Borrowed("urn:oma:lwm2m:oma:21:2.0"),
    version: Version { major: 2, minor: 0 },
    lwm2m_version: Version { major: 1, minor: 1 },
    multiple: true,
    mandatory: false,
    resources: Cow::Borrowed(&RESOURCES_21),
    texts: texts(&TEXTS_21),
};

/// All built-in objects, by ID.
#[cfg(feature = "extra-objects")]
pub static OBJECTS: [&ObjectDef; 7] = [
    &LWM2M_SECURITY,
    &LWM2M_SERVER,
    &LWM2M_ACCESS_CONTROL,
    &DEVICE,
    &CONNECTIVITY_MONITORING,
    &FIRMWARE_UPDATE,
    &LWM2M_OSCORE,
];

/// All built-in objects, by ID (`extra-objects` off: the objects every client has).
#[cfg(not(feature = "extra-objects"))]
pub static OBJECTS: [&ObjectDef; 5] = [
    &LWM2M_SECURITY,
    &LWM2M_SERVER,
    &LWM2M_ACCESS_CONTROL,
    &DEVICE,
    &LWM2M_OSCORE,
];

/// The built-in definition of object `id`.
///
/// ```
/// use mote_lwm2m::object::builtin;
///
/// let device = builtin::object(3).ok_or("no Object 3")?;
/// assert_eq!(&*device.name, "Device");
/// assert!(!device.multiple);
/// assert!(builtin::object(6).is_none()); // Location is not built in
/// # Ok::<(), &str>(())
/// ```
pub fn object(id: u16) -> Option<&'static ObjectDef> {
    OBJECTS.iter().copied().find(|o| o.id == id)
}
