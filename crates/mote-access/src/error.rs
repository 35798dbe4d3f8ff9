//! Errors of the access-control model (building and changing the state). Authorization outcomes
//! are not errors: they are [`crate::Denial`]s.

/// Why a change to the access-control state was refused. The state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Short Server ID outside 1..=65534 where a server account was needed.
    #[error("Short Server ID {0} is not a server account ID (1..=65534)")]
    InvalidServerId(u16),
    /// The server account exists already.
    #[error("server {0} already has an account")]
    DuplicateServer(u16),
    /// No server account with this Short Server ID.
    #[error("no server account with Short Server ID {0}")]
    UnknownServer(u16),
    /// An ACL value with a reserved bit set (the ACL Resource range is 0..31).
    #[error("ACL value {0} sets a reserved bit (valid values are 0..=31)")]
    InvalidRights(u64),
    /// An Object Instance ID of 65535 (MAX_ID) where a real instance was needed.
    #[error("instance ID 65535 (MAX_ID) is reserved for Object-level access control")]
    ReservedInstanceId,
    /// /2 instances are Access Control Object instances, not ordinary Object Instances.
    #[error("/2 instances are managed through the Access Control model, not as Object Instances")]
    AccessControlObjectInstance,
    /// The /2 instance targets an Object that cannot carry access control: 0 (Security, never
    /// reachable by a server), 2 (Access Control, managed by its owner) or 65535.
    #[error("Access Control Object Instances cannot target Object {0}")]
    InvalidAclTarget(u16),
    /// A /2 instance with this ID exists already.
    #[error("Access Control Object Instance /2/{0} exists already")]
    AclInstanceExists(u16),
    /// Another /2 instance already controls this Object (Instance).
    #[error("/{object}/{instance} already has an Access Control Object Instance (/2/{existing})")]
    DuplicateAcl {
        /// Object ID.
        object: u16,
        /// Object Instance ID (65535 for the Object level).
        instance: u16,
        /// The /2 instance that controls it.
        existing: u16,
    },
    /// No /2 instance with this ID.
    #[error("no Access Control Object Instance /2/{0}")]
    UnknownAclInstance(u16),
    /// The Object Instance exists already.
    #[error("/{0}/{1} exists already")]
    InstanceExists(u16, u16),
    /// All 65535 /2 instance IDs are in use.
    #[error("no free Access Control Object Instance ID")]
    AclInstancesExhausted,
    /// A path that is not `/`, `/O`, `/O/I`, `/O/I/R` or `/O/I/R/RI` with decimal IDs 0..=65535.
    #[error("invalid LwM2M path (expected /O, /O/I, /O/I/R or /O/I/R/RI)")]
    InvalidPath,
    /// An operation name that is not one of the LwM2M operations.
    #[error("unknown operation name")]
    UnknownOperation,
}
