//! The properties the mote-access fuzz target checks, shared with the corpus replay test
//! (`workspace-tests/tests/fuzz_corpus_access.rs`) so that stable `cargo test` runs the same code.
//!
//! The input is a small program: each step builds or changes an access-control state (server
//! accounts, Object Instances, /2 instances, creations, deletions, server removals) or asks for
//! a decision; after every step the invariants of the LwM2M authorization procedure are
//! checked. The tail of the input is also parsed as a path.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, DefinitionTable, ObjectDefinitions,
    Operation, Owner, Requester, ResourceDefinition, ResourceOperations, ResponseCode,
    ShortServerId, Target,
};

const OBJECTS: [u16; 8] = [0, 1, 2, 3, 4, 5, 7, 21];

/// (Resource ID, operations, multiple, mandatory).
type Resources = &'static [(u16, &'static str, bool, bool)];

fn definitions() -> DefinitionTable {
    let mut defs = DefinitionTable::new();
    // Operations of the registry definitions (a few Resources each), plus /0 and /21 with none.
    let table: [(u16, bool, Resources); 7] = [
        (0, true, &[(0, "-", false, true), (10, "-", false, false)]),
        (
            1,
            true,
            &[
                (0, "R", false, true),
                (1, "RW", false, true),
                (8, "E", false, true),
                (23, "RW", false, false),
                (24, "RW", true, false),
            ],
        ),
        (
            2,
            true,
            &[
                (0, "R", false, true),
                (1, "R", false, true),
                (2, "RW", true, false),
                (3, "RW", false, true),
            ],
        ),
        (
            3,
            false,
            &[
                (0, "R", false, false),
                (4, "E", false, true),
                (6, "R", true, false),
                (13, "RW", false, false),
            ],
        ),
        (4, false, &[(2, "R", false, true)]),
        (
            5,
            false,
            &[
                (0, "W", false, true),
                (1, "RW", false, true),
                (2, "E", false, true),
                (3, "R", false, true),
            ],
        ),
        (21, true, &[(0, "-", false, true)]),
    ];
    for (object, multiple, resources) in table {
        defs.insert_object(object, multiple);
        for &(id, ops, multiple, mandatory) in resources {
            let operations = ResourceOperations::parse(ops).unwrap();
            defs.insert_resource(
                object,
                ResourceDefinition {
                    id,
                    operations,
                    multiple,
                    mandatory,
                },
            );
        }
    }
    defs
}

struct Bytes<'a>(core::slice::Iter<'a, u8>);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        self.0.next().copied()
    }
    fn server(&mut self) -> Option<ShortServerId> {
        // 0 (the default ID) and 65535 (MAX_ID) on purpose, besides real accounts 1..=7.
        Some(match self.byte()? % 10 {
            8 => ShortServerId(0),
            9 => ShortServerId(65535),
            n => ShortServerId(u16::from(n) + 1),
        })
    }
    fn object(&mut self) -> Option<u16> {
        Some(OBJECTS[usize::from(self.byte()?) % OBJECTS.len()])
    }
    fn instance(&mut self) -> Option<u16> {
        Some(match self.byte()? % 5 {
            4 => 65535,
            n => u16::from(n),
        })
    }
    fn target(&mut self) -> Option<Target> {
        let (o, i) = (self.object()?, self.instance()?);
        let r = [0u16, 1, 2, 3, 4, 6, 8, 10, 13, 23, 24, 99][usize::from(self.byte()?) % 12];
        let ri = u16::from(self.byte()? % 3);
        Some(match self.byte()? % 5 {
            0 => Target::Root,
            1 => Target::Object(o),
            2 => Target::Instance(o, i),
            3 => Target::Resource(o, i, r),
            _ => Target::ResourceInstance(o, i, r, ri),
        })
    }
}

/// What the /2 instance of `/o/i` grants `s` by steps 1-4 of "Obtaining Access Right",
/// recomputed from the ACL entries.
fn expected_rights(ac: &AccessControl, s: ShortServerId, o: u16, i: u16) -> AccessRights {
    if ac.server(s).is_none() || o == 0 || o == 21 {
        return AccessRights::NONE;
    }
    // /2 instances: managed by their owner only, with one server account too.
    // (an Object-level one by no server: "MUST only be created or updated during a Bootstrap
    // Phase").
    if o == 2 {
        return match ac.acl_instance(i) {
            Some(a) if a.owner() == Owner::Server(s) && !a.is_object_level() => AccessRights::FULL,
            _ => AccessRights::NONE,
        };
    }
    if ac.servers().count() == 1 {
        return AccessRights::FULL;
    }
    match ac.acl_for(o, i) {
        Some((_, a)) if !a.is_object_level() => {
            let own = a.acl(s);
            if a.owner() == Owner::Server(s) {
                own.unwrap_or(AccessRights::FULL)
            } else {
                own.or_else(|| a.acl(ShortServerId::DEFAULT))
                    .unwrap_or(AccessRights::NONE)
            }
        }
        _ => AccessRights::NONE,
    }
}

fn check_decision(
    ac: &AccessControl,
    defs: &DefinitionTable,
    requester: Requester,
    op: Operation,
    target: Target,
) {
    let decision = ac.authorize(defs, requester, op, &target);
    let Requester::Server(s) = requester else {
        return;
    };
    if let (Some(0 | 21), false) = (target.object(), op.is_composite()) {
        let d = decision
            .as_ref()
            .expect_err("Security/OSCORE Objects are never reachable");
        assert_eq!(d.code, ResponseCode::Unauthorized);
        return;
    }
    if ac.server(s).is_none() {
        assert!(
            decision.is_err(),
            "a server without account was allowed {op} on {target}"
        );
        return;
    }
    if let (Ok(_), Some((o, i)), false) = (&decision, target.instance(), op.is_composite()) {
        let granted = expected_rights(ac, s, o, i);
        assert_eq!(ac.rights(s, o, i), granted, "rights of {s} on /{o}/{i}");
        // LwM2M 1.2 Core TS §7.3.2, Table "Authorization" (transcribed, not taken from the
        // crate): R for the reads, W, E, D, and for Discover "-" (some right below the Object).
        let needed = match op {
            Operation::Write | Operation::WriteComposite => 2,
            Operation::Execute => 4,
            Operation::Delete => 8,
            Operation::Discover => 0,
            Operation::Create => 16,
            _ => 1,
        };
        let needed = AccessRights::from_bits(needed).unwrap();
        let ok = if needed.is_empty() {
            !granted.is_empty()
        } else {
            granted.contains(needed)
        };
        assert!(ok, "{op} on {target} allowed to {s} holding {granted}");
        assert!(
            ac.contains_instance(o, i),
            "{op} allowed on missing {target}"
        );
    }
    if op == Operation::Create {
        if let (Ok(_), Target::Object(o)) = (&decision, target) {
            assert!(ac.create_rights(s, o).contains(AccessRights::CREATE));
        }
    }
}

/// Read-Composite on an Object or on `/` is decided from the readable index of the model; it
/// must agree with a scan of the instances (§7.3.2.1 item 5: allowed when "at least one of the
/// Object Instances involved ... has a Read access right").
fn check_readable_index(ac: &AccessControl, defs: &DefinitionTable) {
    for s in (1..=7).map(ShortServerId) {
        let readable = |o: u16| {
            ac.instances(o)
                .any(|i| expected_rights(ac, s, o, i).contains(AccessRights::READ))
        };
        let decide = |t: Target| {
            ac.authorize_composite(defs, Requester::Server(s), Operation::ReadComposite, &[t])
                .is_ok()
        };
        let mut any = false;
        for o in OBJECTS {
            let supported = defs.object(o).is_some() && o != 0 && o != 21;
            let expected = supported && readable(o);
            any |= (o != 0 && o != 21) && readable(o);
            assert_eq!(decide(Target::Object(o)), expected, "{s} on /{o}");
        }
        assert_eq!(decide(Target::Root), any, "{s} on /");
    }
}

/// `access_decisions`: no input makes the model or a decision panic, and every decision agrees
/// with the TS procedure recomputed from the ACL entries.
pub(crate) fn decisions(data: &[u8]) {
    let defs = definitions();
    let mut ac = AccessControl::new();
    let mut b = Bytes(data.iter());
    while let Some(step) = b.byte() {
        let done = (|| -> Option<()> {
            match step % 9 {
                0 => {
                    let _ = ac.add_server(b.server()?);
                }
                1 => {
                    let _ = ac.insert_instance(b.object()?, b.instance()?);
                }
                2 => {
                    let id = u16::from(b.byte()?);
                    let (o, i) = (b.object()?, b.instance()?);
                    let owner = match b.byte()? % 9 {
                        8 => Owner::Bootstrap,
                        n => Owner::Server(ShortServerId(u16::from(n))),
                    };
                    let mut acl = AccessControlInstance::new(o, i, owner);
                    for _ in 0..b.byte()? % 4 {
                        let key = b.server()?;
                        acl.set_acl(key, AccessRights::from_bits(u64::from(b.byte()? % 32))?);
                    }
                    let _ = ac.insert_acl_instance(id, acl);
                }
                3 => {
                    let id = u16::from(b.byte()? % 16);
                    let bits = AccessRights::from_bits(u64::from(b.byte()? % 32))?;
                    let _ = ac.set_acl_entry(id, b.server()?, bits);
                }
                4 => {
                    let _ = ac.instance_created(b.server()?, b.object()?, b.instance()?);
                }
                5 => {
                    let _ = ac.instance_deleted(b.object()?, b.instance()?);
                }
                6 => {
                    let s = b.server()?;
                    if let Ok(report) = ac.remove_server(s) {
                        assert!(ac.server(s).is_none());
                        for (_, a) in ac.acl_instances() {
                            assert!(a.acl(s).is_none() && a.owner() != Owner::Server(s));
                        }
                        for (o, i) in report.deleted_instances {
                            assert!(!ac.contains_instance(o, i) && ac.acl_for(o, i).is_none());
                        }
                    }
                }
                7 => {
                    let requester = match b.byte()? % 8 {
                        7 => Requester::Bootstrap,
                        _ => Requester::Server(b.server()?),
                    };
                    let op = Operation::NAMES[usize::from(b.byte()?) % Operation::NAMES.len()].1;
                    check_decision(&ac, &defs, requester, op, b.target()?);
                }
                _ => {
                    let s = b.server()?;
                    let targets = [b.target()?, b.target()?];
                    let op = [
                        Operation::ReadComposite,
                        Operation::WriteComposite,
                        Operation::ObserveComposite,
                        Operation::Send,
                    ][usize::from(b.byte()? % 4)];
                    if let Ok(g) = ac.authorize_composite(&defs, Requester::Server(s), op, &targets)
                    {
                        assert_eq!(g.targets.len(), 2);
                        assert!(ac.server(s).is_some());
                    }
                    let conveyed = [u16::from(b.byte()?), 1, 0];
                    let _ = ac.authorize_create(
                        &defs,
                        s,
                        b.object()?,
                        Some(u16::from(b.byte()?)),
                        &conveyed,
                        &[],
                    );
                    let _ =
                        ac.authorize_write(&defs, Requester::Server(s), &b.target()?, &conveyed);
                    let _ = ac.authorize_notify(&defs, s, &b.target()?);
                }
            }
            Some(())
        })();
        if done.is_none() {
            break;
        }
        check_readable_index(&ac, &defs);
    }
    // Paths: whatever parses prints back to the same text's meaning.
    let text = String::from_utf8_lossy(data);
    if let Ok(t) = text.parse::<Target>() {
        assert_eq!(t.to_string().parse::<Target>(), Ok(t));
    }
}
