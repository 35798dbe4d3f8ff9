//! An LwM2M Read decided for two servers with different access rights, with the built-in
//! core Object definitions of `mote-lwm2m` (default feature `lwm2m`). Prints each decision
//! and asserts it.
//!
//! Run with `cargo run -p mote-access --example read_two_servers`.

use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, Grant, Operation, Owner, Requester,
    ResponseCode, ShortServerId, Target,
};
use mote_lwm2m::Path;
use mote_lwm2m::object::Builtin;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    let mut ac = AccessControl::new();
    ac.add_server(s101)?;
    ac.add_server(s102)?;
    // Device (/3/0) and Connectivity Monitoring (/4/0) exist.
    ac.insert_instance(3, 0)?;
    ac.insert_instance(4, 0)?;
    // /2/0: server 101 owns /3/0 (full rights); server 102 may read it.
    ac.insert_acl_instance(
        0,
        AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ),
    )?;
    // /2/1: server 101 owns /4/0 and grants nobody else anything.
    ac.insert_acl_instance(1, AccessControlInstance::new(4, 0, Owner::Server(s101)))?;

    let read = |server: ShortServerId, path: &str| -> Result<_, Box<dyn std::error::Error>> {
        let target = Target::from(path.parse::<Path>()?);
        let decision = ac.authorize(
            &Builtin,
            Requester::Server(server),
            Operation::Read,
            &target,
        );
        match &decision {
            Ok(grant) => println!("Read {path:<8} by {server}: allowed ({grant:?})"),
            Err(denial) => println!(
                "Read {path:<8} by {server}: {} ({})",
                denial.code, denial.reason
            ),
        }
        Ok(decision)
    };

    // The owner reads everything readable; server 102 reads /3/0 through its ACL entry.
    assert_eq!(read(s101, "/3/0")?, Ok(Grant::ReadableResources));
    assert_eq!(read(s102, "/3/0")?, Ok(Grant::ReadableResources));
    assert_eq!(read(s102, "/3/0/0")?, Ok(Grant::Full));

    // Server 102 has no entry on /4/0 and no default entry: 4.01.
    let denied = read(s102, "/4/0")?.err().ok_or("server 102 read /4/0")?;
    assert_eq!(denied.code, ResponseCode::Unauthorized);
    assert_eq!(read(s101, "/4/0")?, Ok(Grant::ReadableResources));

    // Reboot (/3/0/4) supports Execute only: the rights are there, the operation is not (4.05).
    let reboot = read(s101, "/3/0/4")?.err().ok_or("Reboot was readable")?;
    assert_eq!(reboot.code, ResponseCode::MethodNotAllowed);

    // The Security Object is never readable by a server, whatever its rights.
    let security = read(s101, "/0/0")?
        .err()
        .ok_or("Security Object was readable")?;
    assert_eq!(security.code, ResponseCode::Unauthorized);

    // A Read of the Object /4 returns only the instances the server may read: none for 102.
    assert_eq!(read(s102, "/4")?, Ok(Grant::ReadableInstances));
    assert_eq!(ac.readable_instances(s102, 4).count(), 0);
    assert_eq!(ac.readable_instances(s101, 4).collect::<Vec<_>>(), [0]);
    Ok(())
}
