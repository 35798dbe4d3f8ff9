//! Entry points that the decision-table runner does not reach, with expected values from the
//! LwM2M TS clauses the table defines (`tests/data/decision_table.txt`; the clause IDs are
//! cited): the instance list of an Object-level Read, a composite operation asked of
//! `authorize` with one target, and the operator-facing texts of a refusal. Found by mutation
//! testing (docs/mutation-testing.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use mote_access::{
    AccessControl, Denial, Operation, Reason, Requester, ResourceOperations, ResponseCode,
    ShortServerId, Target,
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
    let d: Denial = multi
        .authorize_write(
            &defs,
            Requester::Server(ShortServerId(101)),
            &"/3/0".parse().unwrap(),
            &[0, 1, 13],
        )
        .unwrap_err();
    assert_eq!(
        d.reason,
        Reason::ResourcesNotWritable {
            operation: Operation::Write,
            object: 3,
            resources: vec![0, 1],
        }
    );
    let text = d.to_string();
    assert!(text.starts_with("4.05 Method Not Allowed: "), "{text}");
    assert!(text.ends_with(": 0, 1"), "{text}");
    // One offending Resource: no separator.
    let d = multi
        .authorize_write(
            &defs,
            Requester::Server(ShortServerId(101)),
            &"/3/0".parse().unwrap(),
            &[0, 13],
        )
        .unwrap_err();
    assert!(d.to_string().ends_with(" Write: 0"), "{d}");
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
