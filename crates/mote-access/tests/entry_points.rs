//! Entry points that the decision-table runner does not reach, with expected values from the
//! LwM2M TS clauses the table defines (`tests/data/decision_table.txt`; the clause IDs are
//! cited) and from the Object 1 / Object 2 definitions: the instance list of an Object-level
//! Read, a composite operation asked of `authorize` with one target, the model's own checks
//! (Short Server ID range, rights on an Object-level /2 instance, the readable index after a
//! Delete) and the operator-facing texts of a refusal. Found by mutation testing
//! (docs/mutation-testing.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, Denial, Error, Level, Operation, Owner,
    Reason, Requester, ResourceOperations, ResponseCode, ShortServerId, Target,
};

/// The named `state` block of the decision table.
fn state(name: &str) -> AccessControl {
    let mut lines = common::DECISION_TABLE.lines();
    let header = format!("state {name}");
    lines.find(|l| l.trim() == header).unwrap();
    let body: Vec<&str> = lines
        .take_while(|l| l.trim() != "end")
        .map(str::trim)
        .collect();
    common::parse_state(&body)
}

fn readable(ac: &AccessControl, server: u16, object: u16) -> Vec<u16> {
    ac.readable_instances(ShortServerId(server), object)
        .collect()
}

#[test]
fn an_object_read_returns_exactly_the_instances_granting_read() {
    let multi = state("multi");
    // OO-READ: "retrieve all the Object Instances for which the LwM2M Server has the Read
    // access right". Server 101 on /1: /1/0 own entry 15 (OAR-2), /1/1 owned by 102 without a
    // 101 or default entry (OAR-4: none), /1/2 default entry 0=1 (OAR-3), /1/3 own entry 1
    // (OAR-2), /1/4 without /2 instance (ACOI-NONE: none).
    assert_eq!(readable(&multi, 101, 1), [0, 2, 3]);
    // Server 102: /1/1 own entry 15, /1/2 default R, /1/3 default 0=2 (Write only).
    assert_eq!(readable(&multi, 102, 1), [1, 2]);
    // FC-USER: a Short Server ID without an account reads nothing, default entries
    // notwithstanding (/1/2 has 0=1).
    assert_eq!(readable(&multi, 104, 1), [] as [u16; 0]);
    // SEC: nothing of the OSCORE Object, even with an ACL entry granting R (/21/0 101=1).
    let edge = state("edge");
    assert_eq!(readable(&edge, 101, 21), [] as [u16; 0]);
    assert_eq!(readable(&edge, 101, 1), [0]);
}

#[test]
fn a_single_ignored_composite_target_gets_the_refusal_a_read_would() {
    let multi = state("multi");
    let defs = common::definitions();
    let read_composite = |path: &str| {
        multi.authorize(
            &defs,
            Requester::Server(ShortServerId(101)),
            Operation::ReadComposite,
            &path.parse::<Target>().unwrap(),
        )
    };
    // READ-RI, TR-PATH: a Resource Instance of a single-instance Resource (/3/0/0).
    let d = read_composite("/3/0/0/0").unwrap_err();
    assert_eq!(d.code, ResponseCode::MethodNotAllowed);
    assert_eq!(common::reason_name(&d.reason), "NotMultipleInstance");
    // READ-RES: a Resource that does not support Read (/3/0/4 Reboot, E).
    let d = read_composite("/3/0/4").unwrap_err();
    assert_eq!(d.code, ResponseCode::MethodNotAllowed);
    assert_eq!(common::reason_name(&d.reason), "OperationNotSupported");
    // TR-404: a Resource the Object does not define.
    let d = read_composite("/3/0/99").unwrap_err();
    assert_eq!(d.code, ResponseCode::NotFound);
    assert_eq!(common::reason_name(&d.reason), "ResourceNotFound");
    // And a readable one is granted in full (AUTH-3: /3/0/6 is a multiple R Resource).
    assert!(read_composite("/3/0/6/0").is_ok());
}

#[test]
fn refusal_texts_name_the_code_and_every_offending_resource() {
    // WRITE-ALL: a Write conveying Resources 0 and 1 (Manufacturer, Model Number: R only) and
    // 13 (Current Time, RW) is refused with 4.05, naming 0 and 1.
    let multi = state("multi");
    let defs = common::definitions();
    // A Write of /3/0 by server 101 conveying `resources`: refused.
    let write = |resources: &[u16]| -> Denial {
        multi
            .authorize_write(
                &defs,
                Requester::Server(ShortServerId(101)),
                &"/3/0".parse().unwrap(),
                resources,
            )
            .unwrap_err()
    };
    let not_writable = Reason::ResourcesNotWritable {
        operation: Operation::Write,
        object: 3,
        resources: vec![0, 1],
    };
    let d = write(&[0, 1, 13]);
    assert_eq!(d.reason, not_writable);
    let text = d.to_string();
    assert!(text.starts_with("4.05 Method Not Allowed: "), "{text}");
    assert!(text.ends_with(": 0, 1"), "{text}");
    // One offending Resource: no separator.
    let d = write(&[0, 13]);
    assert!(d.to_string().ends_with(" Write: 0"), "{d}");
    // Conveyed out of order and twice: each offending Resource once, ascending.
    assert_eq!(write(&[1, 13, 0, 1]).reason, not_writable);
}

#[test]
fn resource_operations_print_in_the_registry_notation() {
    // The Object registry writes a Resource's operations as a combination of R, W, E and "-"
    // for none (tests/data/objects.txt uses the same notation).
    for (text, shown) in [
        ("R", "R"),
        ("W", "W"),
        ("E", "E"),
        ("RW", "RW"),
        ("RWE", "RWE"),
        ("-", "none"),
    ] {
        assert_eq!(
            ResourceOperations::parse(text).unwrap().to_string(),
            shown,
            "{text}"
        );
    }
}

#[test]
fn create_without_a_free_instance_id_is_a_bad_request() {
    // Every assignable Object Instance ID of /1 (0..=65534; 65535 is reserved, MAX_ID) exists:
    // a Create without an ID has nothing to assign. CREATE-EXISTS: 4.00, naming the last
    // assignable ID.
    let mut ac = state("edge");
    for i in 1..65535 {
        ac.insert_instance(1, i).unwrap();
    }
    let defs = common::definitions();
    let d = ac
        .authorize_create(&defs, ShortServerId(101), 1, None, &[0, 1, 6, 7], &[])
        .unwrap_err();
    assert_eq!(d.code, ResponseCode::BadRequest);
    assert_eq!(
        d.reason,
        Reason::InstanceExists {
            object: 1,
            instance: 65534
        }
    );
}

#[test]
fn short_server_ids_are_1_to_65534() {
    // Object 1 Resource 0 (Short Server ID): range 1-65534; 0 is the default ACL entry (Object
    // 2 Resource 2) and 65535 MAX_ID.
    let mut ac = AccessControl::new();
    assert_eq!(
        ac.add_server(ShortServerId(0)),
        Err(Error::InvalidServerId(0))
    );
    assert_eq!(
        ac.add_server(ShortServerId(65535)),
        Err(Error::InvalidServerId(65535))
    );
    ac.add_server(ShortServerId(1)).unwrap();
    ac.add_server(ShortServerId(65534)).unwrap();
    // FC-USER: an instance is created for a server account only.
    assert_eq!(
        ac.instance_created(ShortServerId(104), 1, 7),
        Err(Error::UnknownServer(104))
    );
    assert_eq!(
        ac.instance_created(ShortServerId(0), 1, 7),
        Err(Error::UnknownServer(0))
    );
}

#[test]
fn an_object_level_acl_grants_nothing_on_instances() {
    // OAR-C: the Object-level /2 instance (Object Instance ID 65535) carries Create rights; it
    // is not the /2 instance of any Object Instance, so "Obtaining Access Right" for other
    // operations gets nothing from it (multi: /5/65535 has 101=16 and 0=16).
    let multi = state("multi");
    assert_eq!(
        multi.rights(ShortServerId(101), 5, 65535),
        AccessRights::NONE
    );
    assert_eq!(
        multi.create_rights(ShortServerId(101), 5),
        AccessRights::from_bits(16).unwrap()
    );
}

#[test]
fn deleting_one_readable_instance_keeps_the_others_readable() {
    // OO-READ / OAR-5R: 101 reads /1/0 (own entry), /1/2 (default R) and /1/3 (own R). After
    // /1/0 is deleted the other two still make an Object-level read of /1 granted.
    let mut multi = state("multi");
    let defs = common::definitions();
    multi.instance_deleted(1, 0);
    assert_eq!(readable(&multi, 101, 1), [2, 3]);
    let g = multi
        .authorize_composite(
            &defs,
            Requester::Server(ShortServerId(101)),
            Operation::ReadComposite,
            &["/1".parse().unwrap()],
        )
        .unwrap();
    assert_eq!(g.targets, [Some(mote_access::Grant::ReadableInstances)]);
    // Deleting those two as well leaves nothing readable: 4.01.
    multi.instance_deleted(1, 2);
    multi.instance_deleted(1, 3);
    let d = multi
        .authorize_composite(
            &defs,
            Requester::Server(ShortServerId(101)),
            Operation::ReadComposite,
            &["/1".parse().unwrap()],
        )
        .unwrap_err();
    assert_eq!(common::reason_name(&d.reason), "NoReadableTarget");
}

#[test]
fn all_instances_lists_the_state_in_path_order() {
    // The `instances` line of state multi: /1/0 /1/1 /1/2 /1/3 /1/4 /3/0 /4/0.
    let multi = state("multi");
    let all: Vec<(u16, u16)> = multi.all_instances().collect();
    assert_eq!(
        all,
        [(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (3, 0), (4, 0)]
    );
}

#[test]
fn access_control_instances_keep_what_they_were_given() {
    // Object 2 Resources 0 (Object ID), 1 (Object Instance ID), 2 (ACL), 3 (Owner).
    let a = AccessControlInstance::new(5, 3, Owner::Bootstrap)
        .with_acl(ShortServerId(101), AccessRights::READ);
    assert_eq!((a.object(), a.instance()), (5, 3));
    let b = AccessControlInstance::new(5, 3, Owner::Bootstrap)
        .with_acl(ShortServerId(101), AccessRights::WRITE);
    assert_ne!(a, b, "instances differing only in their ACL");
    assert!(format!("{a:?}").contains("101"), "{a:?}");
    // ACL bits (Object 2 Resource 2): R = 1, W = 2, E = 4, D = 8, C = 16.
    let bits = |b| AccessRights::from_bits(b).unwrap();
    assert_eq!(AccessRights::READ.union(AccessRights::WRITE), bits(3));
    assert_eq!(bits(3).union(AccessRights::READ), bits(3));
    assert_eq!(bits(3).intersection(bits(6)), AccessRights::WRITE);
    assert_eq!(Owner::Bootstrap.to_string(), "the Bootstrap-Server (65535)");
    assert_eq!(Owner::Server(ShortServerId(101)).to_string(), "server 101");
}

#[test]
fn refusals_name_the_path_level_in_the_ts_words() {
    // EXEC: "An LwM2M Client MUST return an error when the Execute operation is received for an
    // Object Instance(s) or Resource Instance(s)".
    let multi = state("multi");
    let d = multi
        .authorize(
            &common::definitions(),
            Requester::Server(ShortServerId(101)),
            Operation::Execute,
            &"/3/0".parse().unwrap(),
        )
        .unwrap_err();
    assert_eq!(
        d.reason,
        Reason::TargetNotAllowed {
            operation: Operation::Execute,
            level: Level::Instance
        }
    );
    assert!(d.to_string().contains("an Object Instance"), "{d}");
    for (level, words) in [
        (Level::Root, "the root path"),
        (Level::Object, "an Object"),
        (Level::Resource, "a Resource"),
        (Level::ResourceInstance, "a Resource Instance"),
    ] {
        assert_eq!(level.to_string(), words);
    }
}

#[test]
fn paths_are_decimal_ids_of_at_most_five_digits() {
    // IDs are 0..=65535 (16 bits, Core TS "Object Model"): at most five decimal digits; a
    // longer segment is refused before any number is read, even when its value would fit.
    assert_eq!("/3/00001".parse::<Target>(), Ok(Target::Instance(3, 1)));
    assert_eq!("/3/000001".parse::<Target>(), Err(Error::InvalidPath));
    assert_eq!("/3//0".parse::<Target>(), Err(Error::InvalidPath));
    assert_eq!("/3/65536".parse::<Target>(), Err(Error::InvalidPath));
}
