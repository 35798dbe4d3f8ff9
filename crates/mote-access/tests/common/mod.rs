//! Shared test fixtures: the object definitions and states transcribed in `tests/data/`.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, DefinitionTable, Owner, Reason,
    ResourceDefinition, ResourceOperations, ShortServerId, Target,
};

pub const OBJECTS: &str = include_str!("../data/objects.txt");
pub const DECISION_TABLE: &str = include_str!("../data/decision_table.txt");

/// The registry definitions of Objects 0, 1, 2, 3, 4, 5 and 21 (`tests/data/objects.txt`).
pub fn definitions() -> DefinitionTable {
    let mut defs = DefinitionTable::new();
    let mut current = None;
    for line in OBJECTS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f[0] {
            "object" => {
                let id: u16 = f[1].parse().unwrap();
                defs.insert_object(id, f[2] == "multiple");
                current = Some(id);
            }
            "resource" => defs.insert_resource(
                current.unwrap(),
                ResourceDefinition {
                    id: f[1].parse().unwrap(),
                    operations: ResourceOperations::parse(f[2]).unwrap(),
                    multiple: f[3] == "multiple",
                    mandatory: f[4] == "mandatory",
                },
            ),
            other => panic!("objects.txt: unknown line kind {other}"),
        }
    }
    defs
}

/// Parses one `state NAME ... end` block body into an [`AccessControl`].
pub fn parse_state(lines: &[&str]) -> AccessControl {
    let mut ac = AccessControl::new();
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f[0] {
            "servers" => {
                for s in &f[1..] {
                    ac.add_server(ShortServerId(s.parse().unwrap())).unwrap();
                }
            }
            "mute" => {
                for s in &f[1..] {
                    ac.set_mute_send(ShortServerId(s.parse().unwrap()), true)
                        .unwrap();
                }
            }
            "instances" => {
                for p in &f[1..] {
                    let Target::Instance(o, i) = p.parse().unwrap() else {
                        panic!("{p}")
                    };
                    ac.insert_instance(o, i).unwrap();
                }
            }
            "acl" => {
                let id: u16 = f[1].parse().unwrap();
                let Target::Instance(o, i) = f[2].parse().unwrap() else {
                    panic!("{}", f[2])
                };
                let owner: u16 = f[3].strip_prefix("owner=").unwrap().parse().unwrap();
                let mut acl = AccessControlInstance::new(o, i, Owner::from_u16(owner));
                for entry in &f[4..] {
                    let (k, v) = entry.split_once('=').unwrap();
                    acl.set_acl(
                        ShortServerId(k.parse().unwrap()),
                        AccessRights::from_bits(v.parse().unwrap()).unwrap(),
                    );
                }
                ac.insert_acl_instance(id, acl).unwrap();
            }
            other => panic!("state: unknown line kind {other}"),
        }
    }
    ac
}

/// The name of a [`Reason`] variant, as the decision table writes it.
pub fn reason_name(reason: &Reason) -> &'static str {
    match reason {
        Reason::SecurityObject { .. } => "SecurityObject",
        Reason::UnknownServer { .. } => "UnknownServer",
        Reason::NoAccessRight { .. } => "NoAccessRight",
        Reason::NoCreateRight { .. } => "NoCreateRight",
        Reason::CreateAccessControl => "CreateAccessControl",
        Reason::NoReadableTarget { .. } => "NoReadableTarget",
        Reason::ObjectNotFound { .. } => "ObjectNotFound",
        Reason::InstanceNotFound { .. } => "InstanceNotFound",
        Reason::ResourceNotFound { .. } => "ResourceNotFound",
        Reason::TargetNotAllowed { .. } => "TargetNotAllowed",
        Reason::NotMultipleInstance { .. } => "NotMultipleInstance",
        Reason::OperationNotSupported { .. } => "OperationNotSupported",
        Reason::ResourcesNotWritable { .. } => "ResourcesNotWritable",
        Reason::MandatoryResourcesMissing { .. } => "MandatoryResourcesMissing",
        Reason::InstanceExists { .. } => "InstanceExists",
        Reason::SingleInstanceObject { .. } => "SingleInstanceObject",
        Reason::ReservedInstanceId { .. } => "ReservedInstanceId",
        Reason::DeviceNotDeletable => "DeviceNotDeletable",
        Reason::SendMuted { .. } => "SendMuted",
        Reason::BootstrapReadTarget { .. } => "BootstrapReadTarget",
        Reason::NotBootstrapOperation { .. } => "NotBootstrapOperation",
        Reason::NoTarget { .. } => "NoTarget",
        _ => "other",
    }
}
