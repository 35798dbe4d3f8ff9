//! Property tests of the access-right procedure (LwM2M 1.2 Core TS, "Obtaining Access Right").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, Operation, Owner, Requester, ResponseCode,
    ShortServerId, Target,
};
use proptest::prelude::*;

const OBJECTS: [u16; 4] = [1, 3, 4, 5];

#[derive(Clone, Debug)]
struct AclSpec {
    object: u16,
    instance: u16,
    owner: u16,
    entries: Vec<(u16, u8)>,
}

#[derive(Clone, Debug)]
struct StateSpec {
    servers: Vec<u16>,
    instances: Vec<(u16, u16)>,
    acls: Vec<AclSpec>,
}

fn state(min_servers: usize) -> impl Strategy<Value = StateSpec> {
    let servers = proptest::sample::subsequence(vec![1u16, 2, 3, 4, 5, 6], min_servers..=6);
    servers.prop_flat_map(|servers| {
        let keys: Vec<u16> = core::iter::once(0).chain(servers.iter().copied()).collect();
        let owners: Vec<u16> = servers.iter().copied().chain([65535, 7]).collect();
        let instance = (proptest::sample::select(OBJECTS.to_vec()), 0u16..4);
        let acl = (
            proptest::sample::select(OBJECTS.to_vec()),
            prop_oneof![0u16..4, Just(65535u16)],
            proptest::sample::select(owners),
            proptest::collection::vec((proptest::sample::select(keys), 0u8..32), 0..5),
        )
            .prop_map(|(object, instance, owner, entries)| AclSpec {
                object,
                instance,
                owner,
                entries,
            });
        (
            Just(servers),
            proptest::collection::vec(instance, 0..12),
            proptest::collection::vec(acl, 0..12),
        )
            .prop_map(|(servers, instances, acls)| StateSpec {
                servers,
                instances,
                acls,
            })
    })
}

fn build(spec: &StateSpec) -> AccessControl {
    let mut ac = AccessControl::new();
    for s in &spec.servers {
        ac.add_server(ShortServerId(*s)).unwrap();
    }
    for (o, i) in &spec.instances {
        let _ = ac.insert_instance(*o, *i); // duplicates refused, fine
    }
    for (id, a) in spec.acls.iter().enumerate() {
        let mut acl = AccessControlInstance::new(a.object, a.instance, Owner::from_u16(a.owner));
        for (k, bits) in &a.entries {
            acl.set_acl(
                ShortServerId(*k),
                AccessRights::from_bits(u64::from(*bits)).unwrap(),
            );
        }
        let _ = ac.insert_acl_instance(id as u16, acl); // a second ACL for the same instance is refused
    }
    ac
}

/// The rights an instance's ACL grants a non-owner server: its entry, else the default.
fn granted_to_non_owner(ac: &AccessControl, server: u16, o: u16, i: u16) -> AccessRights {
    match ac.acl_for(o, i) {
        Some((_, acl)) if !acl.is_object_level() => acl
            .acl(ShortServerId(server))
            .or_else(|| acl.acl(ShortServerId::DEFAULT))
            .unwrap_or(AccessRights::NONE),
        _ => AccessRights::NONE,
    }
}

/// LwM2M 1.2 Core TS §7.3.2, Table "Authorization", transcribed here rather than taken from
/// `Operation::required_rights` so the property does not check the code against itself:
/// READ, OBSERVE, WRITE-ATTRIBUTE: R; WRITE: W; DELETE: D; EXECUTE: E; DISCOVER: "-" (read
/// by the crate, fail closed, as "some right" below the Object level: `None` here means the
/// property only requires a non-empty grant).
fn minimum_access_right(op: Operation) -> Option<AccessRights> {
    match op {
        Operation::Read | Operation::Observe | Operation::WriteAttributes => {
            Some(AccessRights::from_bits(1).unwrap())
        }
        Operation::Write => Some(AccessRights::from_bits(2).unwrap()),
        Operation::Execute => Some(AccessRights::from_bits(4).unwrap()),
        Operation::Delete => Some(AccessRights::from_bits(8).unwrap()),
        Operation::Discover => None,
        other => panic!("{other} is not in OPS"),
    }
}

const OPS: [Operation; 7] = [
    Operation::Read,
    Operation::Write,
    Operation::Execute,
    Operation::Delete,
    Operation::Observe,
    Operation::WriteAttributes,
    Operation::Discover,
];

fn targets(o: u16, i: u16) -> Vec<Target> {
    // Instance level and a few Resources with different operations.
    let resources: &[u16] = match o {
        1 => &[1, 4, 0],
        3 => &[0, 4, 13],
        4 => &[2],
        _ => &[1, 2, 3],
    };
    core::iter::once(Target::Instance(o, i))
        .chain(resources.iter().map(|r| Target::Resource(o, i, *r)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With several servers, a server that is not the Access Control Owner is never allowed an
    /// operation its own ACL entry (or, without one, the default entry) does not grant; the
    /// owner only gets more when it has no entry of its own (step 1).
    #[test]
    fn never_more_than_the_entry_or_default_grants(spec in state(2)) {
        let defs = common::definitions();
        let ac = build(&spec);
        for &server in &spec.servers {
            for o in OBJECTS {
                for i in 0..4 {
                    let is_owner = matches!(ac.acl_for(o, i), Some((_, a)) if a.owner() == Owner::Server(ShortServerId(server)) && !a.is_object_level());
                    let own_entry = ac.acl_for(o, i).and_then(|(_, a)| a.acl(ShortServerId(server)));
                    let granted = if is_owner && own_entry.is_none() {
                        AccessRights::FULL
                    } else if is_owner {
                        own_entry.unwrap_or(AccessRights::NONE)
                    } else {
                        granted_to_non_owner(&ac, server, o, i)
                    };
                    prop_assert_eq!(ac.rights(ShortServerId(server), o, i), granted);
                    for t in targets(o, i) {
                        for op in OPS {
                            let decision = ac.authorize(&defs, Requester::Server(ShortServerId(server)), op, &t);
                            if decision.is_ok() {
                                let ok = match minimum_access_right(op) {
                                    Some(needed) => granted.contains(needed),
                                    None => !granted.is_empty(),
                                };
                                prop_assert!(ok, "{op} on {t} allowed to {server} with rights {granted}");
                            }
                        }
                    }
                }
            }
            // Read-Composite on an Object (decided from the model's readable index): allowed
            // iff an existing instance grants R (§7.3.2.1 item 5), recomputed here.
            for o in OBJECTS {
                let expected = (0..4).any(|i| {
                    spec.instances.contains(&(o, i)) && {
                        let is_owner = matches!(ac.acl_for(o, i), Some((_, a)) if a.owner() == Owner::Server(ShortServerId(server)) && !a.is_object_level());
                        let own = ac.acl_for(o, i).and_then(|(_, a)| a.acl(ShortServerId(server)));
                        let granted = match (is_owner, own) {
                            (true, None) => AccessRights::FULL,
                            (true, Some(own)) => own,
                            (false, _) => granted_to_non_owner(&ac, server, o, i),
                        };
                        granted.contains(AccessRights::from_bits(1).unwrap())
                    }
                });
                let allowed = ac
                    .authorize_composite(&defs, Requester::Server(ShortServerId(server)), Operation::ReadComposite, &[Target::Object(o)])
                    .is_ok();
                prop_assert_eq!(allowed, expected, "read-composite /{} by {}", o, server);
            }
            // Create: only the server's own entry in a Bootstrap-owned Object-level ACL.
            for o in OBJECTS {
                let allowed = ac
                    .authorize(&defs, Requester::Server(ShortServerId(server)), Operation::Create, &Target::Object(o))
                    .is_ok();
                let entry = match ac.acl_for(o, 65535) {
                    Some((_, a)) if a.owner() == Owner::Bootstrap => a.acl(ShortServerId(server)),
                    _ => None,
                };
                prop_assert_eq!(allowed, entry.is_some_and(|r| r.contains(AccessRights::CREATE)));
            }
        }
    }

    /// With one server account every operation passes the access-right check: the only
    /// refusals left are the Security Object and operation/target rules (never 4.01).
    #[test]
    fn one_server_has_every_right(spec in state(1), server_pick in 0usize..6) {
        let defs = common::definitions();
        let mut spec = spec;
        let server = spec.servers[server_pick % spec.servers.len()];
        spec.servers = vec![server];
        spec.acls.iter_mut().for_each(|a| a.entries.retain(|(k, _)| *k == 0 || *k == server));
        let ac = build(&spec);
        for o in OBJECTS {
            prop_assert!(ac.authorize(&defs, Requester::Server(ShortServerId(server)), Operation::Create, &Target::Object(o)).is_ok());
            for i in 0..4 {
                prop_assert_eq!(ac.rights(ShortServerId(server), o, i), AccessRights::FULL);
                for t in targets(o, i) {
                    for op in OPS {
                        if let Err(d) = ac.authorize(&defs, Requester::Server(ShortServerId(server)), op, &t) {
                            prop_assert_ne!(d.code, ResponseCode::Unauthorized, "{} on {}: {}", op, t, d);
                        }
                    }
                }
            }
        }
    }

    /// Removing a server account never widens the rights of the others, as long as at least two
    /// accounts remain (with one left, "Access Control-Disabled" grants it everything by
    /// definition).
    #[test]
    fn removing_a_server_never_widens_another(spec in state(3), victim_pick in 0usize..6) {
        let ac = build(&spec);
        let victim = spec.servers[victim_pick % spec.servers.len()];
        let mut after = ac.clone();
        let report = after.remove_server(ShortServerId(victim)).unwrap();
        for &server in spec.servers.iter().filter(|s| **s != victim) {
            let s = ShortServerId(server);
            for o in OBJECTS {
                prop_assert!(ac.create_rights(s, o).contains(after.create_rights(s, o)));
                for i in 0..4 {
                    let (before, now) = (ac.rights(s, o, i), after.rights(s, o, i));
                    prop_assert!(before.contains(now), "{server} on /{o}/{i}: {before} -> {now}");
                }
            }
        }
        // Nothing refers to the removed server any more.
        for (_, acl) in after.acl_instances() {
            prop_assert!(acl.acl(ShortServerId(victim)).is_none());
            prop_assert_ne!(acl.owner(), Owner::Server(ShortServerId(victim)));
        }
        for (o, i) in &report.deleted_instances {
            prop_assert!(!after.contains_instance(*o, *i));
            prop_assert!(after.acl_for(*o, *i).is_none());
        }
    }
}
