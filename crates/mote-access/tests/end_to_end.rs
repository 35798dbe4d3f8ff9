//! End to end: a Bootstrap-Server and two LwM2M Servers drive a client data model through the
//! operations, with every request decided by `mote-access` before the client acts on it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;

use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, DefinitionTable, Denial, Grant,
    NotifyDecision, Operation, Owner, Requester, ResponseCode, ShortServerId, Target,
    resource_readable,
};

const S1: ShortServerId = ShortServerId(101);
const S2: ShortServerId = ShortServerId(102);

/// A client: its data model (resource values as text), its access control and observations.
struct Client {
    defs: DefinitionTable,
    ac: AccessControl,
    values: BTreeMap<(u16, u16, u16), String>,
    observations: Vec<(ShortServerId, Vec<Target>)>,
}

impl Client {
    fn new() -> Self {
        Self {
            defs: common::definitions(),
            ac: AccessControl::new(),
            values: BTreeMap::new(),
            observations: Vec::new(),
        }
    }

    fn read(&self, who: Requester, path: &str) -> Result<Vec<String>, Denial> {
        let target: Target = path.parse().unwrap();
        let grant = self
            .ac
            .authorize(&self.defs, who, Operation::Read, &target)?;
        Ok(self.collect(who, &target, grant))
    }

    /// The paths a Read returns under `grant`.
    fn collect(&self, who: Requester, target: &Target, grant: Grant) -> Vec<String> {
        let Requester::Server(server) = who else {
            return self
                .values
                .keys()
                .filter(|k| covers(target, k))
                .map(fmt_key)
                .collect();
        };
        self.values
            .keys()
            .filter(|k| covers(target, k))
            .filter(|(o, i, r)| match grant {
                Grant::Full => true,
                Grant::ReadableResources => resource_readable(&self.defs, *o, *r),
                Grant::ReadableInstances => {
                    self.ac.readable_instances(server, *o).any(|x| x == *i)
                        && resource_readable(&self.defs, *o, *r)
                }
            })
            .map(fmt_key)
            .collect()
    }

    fn write(&mut self, who: Requester, path: &str, value: &str) -> Result<(), Denial> {
        let target: Target = path.parse().unwrap();
        self.ac.authorize_write(&self.defs, who, &target, &[])?;
        if let Target::ResourceInstance(2, id, 2, ssid) = target {
            // An ACL Resource Instance: the access-control model is the storage.
            let rights = AccessRights::from_bits(value.parse().unwrap()).unwrap();
            self.ac
                .set_acl_entry(id, ShortServerId(ssid), rights)
                .unwrap();
        } else if let Target::Resource(o, i, r) = target {
            if (o, r) == (1, 23) {
                let ssid = self.values[&(1, i, 0)].parse().unwrap();
                self.ac
                    .set_mute_send(ShortServerId(ssid), value == "true")
                    .unwrap();
            }
            self.values.insert((o, i, r), value.to_string());
        }
        Ok(())
    }

    fn observe(&mut self, server: ShortServerId, paths: &[&str]) -> Result<(), Denial> {
        let targets: Vec<Target> = paths.iter().map(|p| p.parse().unwrap()).collect();
        if let [one] = targets.as_slice() {
            self.ac.authorize(
                &self.defs,
                Requester::Server(server),
                Operation::Observe,
                one,
            )?;
        } else {
            self.ac.authorize_composite(
                &self.defs,
                Requester::Server(server),
                Operation::ObserveComposite,
                &targets,
            )?;
        }
        self.observations.push((server, targets));
        Ok(())
    }

    /// A value changed: re-check every observation before notifying; returns the notified
    /// servers and drops the observations that can no longer be notified.
    fn notify_all(&mut self) -> Vec<ShortServerId> {
        let mut sent = Vec::new();
        let (defs, ac) = (&self.defs, &self.ac);
        self.observations.retain(|(server, targets)| {
            let decision = if let [one] = targets.as_slice() {
                ac.authorize_notify(defs, *server, one)
            } else {
                ac.authorize_notify_composite(defs, *server, targets)
            };
            match decision {
                NotifyDecision::Send(_) | NotifyDecision::SendComposite(_) => {
                    sent.push(*server);
                    true
                }
                NotifyDecision::Cancel(denial) => {
                    assert_eq!(denial.code, ResponseCode::Unauthorized);
                    false
                }
            }
        });
        sent
    }
}

fn covers(target: &Target, (o, i, r): &(u16, u16, u16)) -> bool {
    match *target {
        Target::Root => true,
        Target::Object(to) => to == *o,
        Target::Instance(to, ti) => (to, ti) == (*o, *i),
        Target::Resource(to, ti, tr) | Target::ResourceInstance(to, ti, tr, _) => {
            (to, ti, tr) == (*o, *i, *r)
        }
    }
}

fn fmt_key((o, i, r): &(u16, u16, u16)) -> String {
    format!("/{o}/{i}/{r}")
}

fn code(r: Result<impl Sized, Denial>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(d) => d.code.as_str(),
    }
}

/// The Bootstrap-Server provisions two server accounts, the Device Object and the ACLs.
fn bootstrapped() -> Client {
    let mut c = Client::new();
    let bs = Requester::Bootstrap;
    c.ac.add_server(S1).unwrap();
    c.ac.add_server(S2).unwrap();
    for (o, i) in [(1, 0), (1, 1), (3, 0)] {
        c.ac.insert_instance(o, i).unwrap();
    }
    for (path, v) in [
        ("/1/0/0", "101"),
        ("/1/0/1", "86400"),
        ("/1/1/0", "102"),
        ("/1/1/1", "300"),
        ("/3/0/0", "Open Mobile Alliance"),
        ("/3/0/9", "95"),
        ("/3/0/13", "0"),
    ] {
        // Bootstrap-Write needs no access right, even on read-only Resources.
        c.write(bs, path, v).unwrap();
    }
    c.values.insert((3, 0, 4), String::new()); // Reboot (E): instantiated, not readable
    let acls = [
        AccessControlInstance::new(1, 0, Owner::Server(S1)),
        AccessControlInstance::new(1, 1, Owner::Server(S2)),
        AccessControlInstance::new(3, 0, Owner::Server(S1)).with_acl(S2, AccessRights::READ),
        AccessControlInstance::new(5, 65535, Owner::Bootstrap).with_acl(S2, AccessRights::CREATE),
    ];
    for (id, acl) in acls.into_iter().enumerate() {
        c.ac.insert_acl_instance(id as u16, acl).unwrap();
    }
    c
}

#[test]
fn bootstrap_server_reads_the_whole_access_control_state() {
    let c = bootstrapped();
    let bs = Requester::Bootstrap;
    // BsR-001: every /2 instance, whoever owns it.
    for target in ["/2", "/2/0", "/2/3", "/1", "/1/1"] {
        assert_eq!(
            c.ac.authorize(&c.defs, bs, Operation::Read, &target.parse().unwrap()),
            Ok(Grant::Full),
            "{target}"
        );
    }
    assert_eq!(
        code(c.ac.authorize(&c.defs, bs, Operation::Read, &"/3/0".parse().unwrap())),
        "4.05"
    );
    assert_eq!(
        code(c.ac.authorize(&c.defs, bs, Operation::Discover, &Target::Root)),
        "ok"
    );
    assert_eq!(c.ac.acl_instances().count(), 4);
}

#[test]
fn two_servers_and_a_bootstrap_server() {
    let mut c = bootstrapped();
    let (r1, r2) = (Requester::Server(S1), Requester::Server(S2));

    // Reads: the owner reads everything readable (not the Execute-only Reboot); 102 has R.
    assert_eq!(c.read(r1, "/3/0").unwrap(), ["/3/0/0", "/3/0/9", "/3/0/13"]);
    assert_eq!(c.read(r2, "/3/0/9").unwrap(), ["/3/0/9"]);
    assert_eq!(code(c.read(r1, "/3/0/4")), "4.05");
    assert_eq!(code(c.read(r1, "/0/0")), "4.01");
    // Write and Execute need W and E: 102 has neither on /3/0.
    assert_eq!(code(c.write(r2, "/3/0/13", "1")), "4.01");
    assert_eq!(code(c.write(r1, "/3/0/13", "1")), "ok");
    let reboot = Target::Resource(3, 0, 4);
    assert_eq!(
        code(c.ac.authorize(&c.defs, r1, Operation::Execute, &reboot)),
        "ok"
    );
    assert_eq!(
        code(c.ac.authorize(&c.defs, r2, Operation::Execute, &reboot)),
        "4.01"
    );
    // Execute never targets an Object Instance: refused for lack of E first (102), then
    // because the target is an instance (101, which holds E).
    assert_eq!(
        code(c.ac.authorize(&c.defs, r2, Operation::Execute, &Target::Instance(3, 0))),
        "4.01"
    );
    assert_eq!(
        code(c.ac.authorize(&c.defs, r1, Operation::Execute, &Target::Instance(3, 0))),
        "4.05"
    );
    // Write on the instance is all-or-nothing: Manufacturer (0) is read-only, so nothing is
    // written even though Current Time (13) is writable; unknown Resources are no error.
    let device = Target::Instance(3, 0);
    assert_eq!(
        code(c.ac.authorize_write(&c.defs, r1, &device, &[13, 0])),
        "4.05"
    );
    assert_eq!(
        code(c.ac.authorize_write(&c.defs, r1, &device, &[13, 999])),
        "ok"
    );
    // Each server reads the other's Server Object Instance? No: neither has an entry there.
    assert_eq!(code(c.read(r1, "/1/1")), "4.01");
    assert_eq!(c.read(r1, "/1").unwrap(), ["/1/0/0", "/1/0/1"]);

    // Create: only 102 holds C on /5; it must convey the mandatory writable Resources.
    assert_eq!(
        code(c.ac.authorize_create(&c.defs, S1, 5, None, &[0, 1], &[])),
        "4.01"
    );
    assert_eq!(
        code(c.ac.authorize_create(&c.defs, S2, 5, None, &[1], &[])),
        "4.00"
    );
    let id =
        c.ac.authorize_create(&c.defs, S2, 5, None, &[0, 1], &[])
            .unwrap();
    assert_eq!(id, 0);
    let acl_id = c.ac.instance_created(S2, 5, id).unwrap();
    c.values.insert((5, 0, 1), "coap://fw".into());
    c.values.insert((5, 0, 3), "0".into());
    assert_eq!(
        c.ac.acl_instance(acl_id).unwrap().owner(),
        Owner::Server(S2)
    );
    assert_eq!(code(c.read(r1, "/5/0")), "4.01");

    // The owner grants 101 Read on /5/0 through its /2 instance; 101 cannot touch that ACL.
    let grant_path = format!("/2/{acl_id}/2/101");
    assert_eq!(code(c.write(r1, &grant_path, "3")), "4.01");
    assert_eq!(code(c.write(r2, &grant_path, "1")), "ok");
    assert_eq!(c.read(r1, "/5/0").unwrap(), ["/5/0/1", "/5/0/3"]);
    assert_eq!(code(c.write(r1, "/5/0/1", "x")), "4.01");

    // Observations: 101 on /5/0/3, 102 on /3/0/9, 101 composite on /3/0/9 + /5/0/3.
    c.observe(S1, &["/5/0/3"]).unwrap();
    c.observe(S2, &["/3/0/9"]).unwrap();
    c.observe(S1, &["/3/0/9", "/5/0/3"]).unwrap();
    assert_eq!(code(c.observe(S1, &["/1/1/1"])), "4.01");
    assert_eq!(c.notify_all(), [S1, S2, S1]);

    // 102 revokes 101's Read on /5/0: the next notification on it is not sent and the
    // observation is cancelled; the composite one still has /3/0/9.
    c.write(r2, &grant_path, "0").unwrap();
    assert_eq!(c.notify_all(), [S2, S1]);
    assert_eq!(c.observations.len(), 2);
    let rc =
        c.ac.authorize_composite(
            &c.defs,
            r1,
            Operation::ReadComposite,
            &["/3/0/9".parse().unwrap(), "/5/0/3".parse().unwrap()],
        )
        .unwrap();
    assert_eq!(rc.targets, [Some(Grant::Full), None]);
    // Write-Composite is atomic: no W on /5/0, so nothing is written.
    let wc = c.ac.authorize_composite(
        &c.defs,
        r1,
        Operation::WriteComposite,
        &["/3/0/13".parse().unwrap(), "/5/0/1".parse().unwrap()],
    );
    assert_eq!(code(wc), "4.01");

    // 101, owner of /3/0, takes 102's Read away: 102's observation is cancelled.
    c.write(r1, "/2/2/2/102", "0").unwrap();
    assert_eq!(c.notify_all(), [S1]);
    assert_eq!(
        c.observations,
        [(
            S1,
            vec!["/3/0/9".parse().unwrap(), "/5/0/3".parse().unwrap()]
        )]
    );

    // Send: to 101 while it reads /3/0; then 101 mutes Send on its own Server Object Instance.
    let send = [Target::Resource(3, 0, 9)];
    assert_eq!(
        code(c.ac.authorize_composite(&c.defs, r1, Operation::Send, &send)),
        "ok"
    );
    assert_eq!(
        code(c.ac.authorize_composite(&c.defs, r2, Operation::Send, &send)),
        "4.01"
    );
    c.write(r1, "/1/0/23", "true").unwrap();
    assert_eq!(
        code(c.ac.authorize_composite(&c.defs, r1, Operation::Send, &send)),
        "4.05"
    );

    // Discover and Write-Attributes on the Object need no right; on the instance they do.
    assert_eq!(
        code(c.ac.authorize(&c.defs, r2, Operation::Discover, &Target::Object(5))),
        "ok"
    );
    assert_eq!(
        code(c.ac.authorize(&c.defs, r1, Operation::Discover, &Target::Instance(5, 0))),
        "4.01"
    );
    assert_eq!(
        code(c.ac.authorize(&c.defs, r1, Operation::WriteAttributes, &Target::Object(5))),
        "ok"
    );

    // Delete: 101 has no D on /5/0; its owner deletes it, and its /2 instance goes with it.
    assert_eq!(
        code(c.ac.authorize(&c.defs, r1, Operation::Delete, &Target::Instance(5, 0))),
        "4.01"
    );
    assert_eq!(
        code(c.ac.authorize(&c.defs, r2, Operation::Delete, &Target::Instance(5, 0))),
        "ok"
    );
    assert_eq!(c.ac.instance_deleted(5, 0), Some(acl_id));
    assert!(c.ac.acl_instance(acl_id).is_none());
    assert_eq!(code(c.read(r2, "/5/0")), "4.01");
    assert_eq!(
        code(c.ac.authorize(&c.defs, r2, Operation::Delete, &Target::Instance(3, 0))),
        "4.01"
    );
    assert_eq!(
        code(c.ac.authorize(&c.defs, r1, Operation::Delete, &Target::Instance(3, 0))),
        "4.05"
    );
}

#[test]
fn removing_a_server_account_cleans_and_elects() {
    let mut c = bootstrapped();
    c.ac.add_server(ShortServerId(103)).unwrap();
    // /3/0: owner 101, 102 R, 103 RW (via default).
    c.ac.set_acl_entry(
        2,
        ShortServerId::DEFAULT,
        AccessRights::from_bits(3).unwrap(),
    )
    .unwrap();
    let id =
        c.ac.authorize_create(&c.defs, S2, 5, None, &[0, 1], &[])
            .unwrap();
    let fw_acl = c.ac.instance_created(S2, 5, id).unwrap();

    let report = c.ac.remove_server(S1).unwrap();
    // /1/0 was reachable only by 101 (owner, no other rights): deleted with its /2 instance.
    assert!(report.deleted_instances.contains(&(1, 0)));
    // /3/0: 103 (W via the default: sum 1) beats 102 (R: sum 0) and keeps its rights.
    assert_eq!(report.new_owners, [(2, ShortServerId(103))]);
    assert_eq!(c.ac.rights(ShortServerId(103), 3, 0).bits(), 3);
    assert_eq!(c.ac.rights(S2, 3, 0), AccessRights::READ);
    // 101 is gone everywhere.
    assert_eq!(code(c.read(Requester::Server(S1), "/3/0/9")), "4.01");
    assert_eq!(
        c.ac.acl_instance(fw_acl).unwrap().owner(),
        Owner::Server(S2)
    );

    // With 102 removed too, 103 is the only account: full rights without ACL lookup on the
    // Object Instances, but the /2 instances stay managed by their owner (the Object-level one
    // by the Bootstrap-Server), and the Security Object stays out of reach.
    c.ac.remove_server(S2).unwrap();
    let r3 = Requester::Server(ShortServerId(103));
    assert_eq!(c.ac.rights(ShortServerId(103), 5, 0), AccessRights::FULL);
    assert_eq!(code(c.read(r3, "/3/0/9")), "ok");
    assert_eq!(code(c.write(r3, "/2/3/2/103", "16")), "4.01");
    assert_eq!(code(c.write(r3, "/2/2/2/0", "0")), "ok");
    assert_eq!(code(c.read(r3, "/0/0")), "4.01");
    // Read-Composite on `/` (decided without scanning the instances) still finds something.
    let all =
        c.ac.authorize_composite(&c.defs, r3, Operation::ReadComposite, &[Target::Root]);
    assert_eq!(
        all.map(|g| g.targets),
        Ok(vec![Some(Grant::ReadableInstances)])
    );
}
