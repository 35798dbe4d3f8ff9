//! The authorization of every LwM2M operation (LwM2M 1.2 Core TS, "Authorization", and the
//! operation sections of the Device Management, Information Reporting and Bootstrap interfaces).
//!
//! Order of the checks, the same for every operation of a management server:
//! 1. the Security (0) and OSCORE (21) Objects are never reachable: 4.01;
//! 2. the requester must have a server account: 4.01;
//! 3. the Object must be supported: 4.04;
//! 4. Create only on an Object (its rights are Object-level): 4.05;
//! 5. access rights ("Authorization" steps 1 and 2) on the Object Instance involved: 4.01;
//! 6. the Object Instance must exist: 4.04 (after the rights, so a server without rights
//!    learns nothing about which instances exist);
//! 7. the target's level must be one the operation accepts (Execute only on a Resource, Delete
//!    not on a Resource...): 4.05 — after the rights, as step 3 of "Authorization" is checked
//!    only "when the check in 2. on access rights is successful";
//! 8. the Resource must exist (4.04) and support the operation (step 3): 4.05.
//!
//! Response codes: LwM2M 1.2 Transport TS, "Response Codes" tables: "Access Right Permission
//! Denied" is 4.01 Unauthorized, "Target is not allowed for ... operation" 4.05 Method Not
//! Allowed, "URI of ... operation is not found" 4.04 Not Found, "Mandatory Resources are not
//! specified" and "Target (i.e., Object) already exists" 4.00 Bad Request.

use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use crate::Error;
use crate::definitions::{ObjectDefinitions, ResourceDefinition};
use crate::model::AccessControl;
use crate::rights::{AccessRights, MAX_ID, ShortServerId};
use crate::target::{Level, Target};

/// Who asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Requester {
    /// An LwM2M Server, by its Short Server ID.
    Server(ShortServerId),
    /// The LwM2M Bootstrap-Server (Bootstrap Interface): "the LwM2M Client MUST accept Bootstrap
    /// Information sent via Bootstrap Interface without applying access control" (LwM2M 1.2
    /// Core TS, "Bootstrap Information").
    Bootstrap,
}

/// An LwM2M operation that needs an authorization decision.
///
/// For [`Requester::Bootstrap`], Read, Write, Delete and Discover stand for Bootstrap-Read,
/// Bootstrap-Write, Bootstrap-Delete and Bootstrap-Discover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Read.
    Read,
    /// Write (Replace or Partial Update).
    Write,
    /// Execute.
    Execute,
    /// Create.
    Create,
    /// Delete.
    Delete,
    /// Discover.
    Discover,
    /// Observe.
    Observe,
    /// Write-Attributes.
    WriteAttributes,
    /// Read-Composite.
    ReadComposite,
    /// Write-Composite.
    WriteComposite,
    /// Observe-Composite.
    ObserveComposite,
    /// Send (client to server, Information Reporting).
    Send,
    /// Notify (client to server, re-checked before every notification).
    Notify,
}

impl Operation {
    /// The operation names of `mote access check --op`.
    pub const NAMES: [(&'static str, Operation); 13] = [
        ("read", Self::Read),
        ("write", Self::Write),
        ("execute", Self::Execute),
        ("create", Self::Create),
        ("delete", Self::Delete),
        ("discover", Self::Discover),
        ("observe", Self::Observe),
        ("write-attributes", Self::WriteAttributes),
        ("read-composite", Self::ReadComposite),
        ("write-composite", Self::WriteComposite),
        ("observe-composite", Self::ObserveComposite),
        ("send", Self::Send),
        ("notify", Self::Notify),
    ];

    /// LwM2M 1.2 Core TS, Table "Authorization" (minimum access right), plus C for Create
    /// ("Obtaining Access Right") and R for Send and Notify ("Send Operation", "Notify Operation
    /// Consideration").
    ///
    /// Discover is "-" in the table. "No access rights are needed for the Discover operation on
    /// an Object"; on an Object Instance or below, "Operation on Resource(s) and Object
    /// Instance(s)" still requires that "the access right is granted", so the authorization
    /// reads "-" as "any right" there (fail closed): a server with no right at all on an
    /// instance cannot discover it.
    ///
    /// ```
    /// use mote_access::{AccessRights, Operation};
    ///
    /// assert_eq!(Operation::Read.required_rights(), AccessRights::READ);
    /// assert_eq!(Operation::WriteComposite.required_rights(), AccessRights::WRITE);
    /// assert_eq!(Operation::Create.required_rights(), AccessRights::CREATE);
    /// assert_eq!(Operation::Discover.required_rights(), AccessRights::NONE);
    /// ```
    pub const fn required_rights(self) -> AccessRights {
        match self {
            Self::Read
            | Self::Observe
            | Self::WriteAttributes
            | Self::ReadComposite
            | Self::ObserveComposite
            | Self::Send
            | Self::Notify => AccessRights::READ,
            Self::Write | Self::WriteComposite => AccessRights::WRITE,
            Self::Execute => AccessRights::EXECUTE,
            Self::Delete => AccessRights::DELETE,
            Self::Create => AccessRights::CREATE,
            Self::Discover => AccessRights::NONE,
        }
    }

    /// The TS name ("Read", "Write-Attributes", ...).
    ///
    /// ```
    /// use mote_access::Operation;
    ///
    /// assert_eq!(Operation::WriteAttributes.name(), "Write-Attributes");
    /// assert_eq!("write-attributes".parse::<Operation>()?, Operation::WriteAttributes);
    /// # Ok::<(), mote_access::Error>(())
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::Read => "Read",
            Self::Write => "Write",
            Self::Execute => "Execute",
            Self::Create => "Create",
            Self::Delete => "Delete",
            Self::Discover => "Discover",
            Self::Observe => "Observe",
            Self::WriteAttributes => "Write-Attributes",
            Self::ReadComposite => "Read-Composite",
            Self::WriteComposite => "Write-Composite",
            Self::ObserveComposite => "Observe-Composite",
            Self::Send => "Send",
            Self::Notify => "Notify",
        }
    }

    /// Whether the operation takes a list of targets.
    ///
    /// ```
    /// use mote_access::Operation;
    ///
    /// assert!(Operation::ReadComposite.is_composite());
    /// assert!(Operation::Send.is_composite());
    /// assert!(!Operation::Read.is_composite());
    /// ```
    pub const fn is_composite(self) -> bool {
        matches!(
            self,
            Self::ReadComposite | Self::WriteComposite | Self::ObserveComposite | Self::Send
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Operation {
    type Err = Error;

    /// Parses the lower-case names of [`Operation::NAMES`].
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, op)| *op)
            .ok_or(Error::UnknownOperation)
    }
}

/// The CoAP response code of a refused operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseCode {
    /// 4.00 Bad Request.
    BadRequest,
    /// 4.01 Unauthorized ("Access Right Permission Denied").
    Unauthorized,
    /// 4.04 Not Found.
    NotFound,
    /// 4.05 Method Not Allowed ("Operation is not supported", "Target is not allowed").
    MethodNotAllowed,
}

impl ResponseCode {
    /// The code as `class.detail` text, e.g. `"4.01"`.
    ///
    /// ```
    /// use mote_access::ResponseCode;
    ///
    /// assert_eq!(ResponseCode::Unauthorized.as_str(), "4.01");
    /// assert_eq!(ResponseCode::MethodNotAllowed.to_string(), "4.05 Method Not Allowed");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "4.00",
            Self::Unauthorized => "4.01",
            Self::NotFound => "4.04",
            Self::MethodNotAllowed => "4.05",
        }
    }

    /// The code byte (class << 5 | detail) of RFC 7252 §3.
    ///
    /// ```
    /// use mote_access::ResponseCode;
    ///
    /// assert_eq!(ResponseCode::NotFound.to_u8(), 0x84); // 4.04: class 4 << 5 | detail 4
    /// ```
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::BadRequest => 0x80,
            Self::Unauthorized => 0x81,
            Self::NotFound => 0x84,
            Self::MethodNotAllowed => 0x85,
        }
    }

    /// The RFC 7252 §12.1.2 name.
    ///
    /// ```
    /// use mote_access::ResponseCode;
    ///
    /// assert_eq!(ResponseCode::BadRequest.name(), "Bad Request");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad Request",
            Self::Unauthorized => "Unauthorized",
            Self::NotFound => "Not Found",
            Self::MethodNotAllowed => "Method Not Allowed",
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.as_str(), self.name())
    }
}

/// Why an operation was refused, in words an operator can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// LwM2M 1.2 Core TS, Device Management and Information Reporting interfaces: "The LwM2M
    /// Client MUST reject any LwM2M Server operation on the Security Object (ID: 0)" / "on an
    /// OSCORE Object (ID: 21) with a response code indicating that the operation is not
    /// authorized".
    #[error("Object {object} (Security/OSCORE) is never reachable by an LwM2M Server")]
    SecurityObject {
        /// 0 or 21.
        object: u16,
    },
    /// The requester has no server account.
    #[error("server {server} has no server account on this client")]
    UnknownServer {
        /// The Short Server ID it claimed.
        server: ShortServerId,
    },
    /// The server's access rights on the Object Instance lack what the operation needs.
    #[error(
        "server {server} has access rights {granted} on /{object}/{instance}; {operation} needs {}",
        needed_text(*needed)
    )]
    NoAccessRight {
        /// Requester.
        server: ShortServerId,
        /// The operation.
        operation: Operation,
        /// Object ID.
        object: u16,
        /// Object Instance ID.
        instance: u16,
        /// Rights obtained.
        granted: AccessRights,
        /// Rights needed (empty: any right).
        needed: AccessRights,
    },
    /// No Object-level /2 instance grants the server C on the Object.
    #[error(
        "server {server} has no Create right on Object {object} (Object-level ACL, instance 65535)"
    )]
    NoCreateRight {
        /// Requester.
        server: ShortServerId,
        /// Object ID.
        object: u16,
    },
    /// Create on Object 2.
    #[error(
        "Access Control Object Instances are created by the client (with an Object Instance) or by the Bootstrap-Server, never by a Create"
    )]
    CreateAccessControl,
    /// None of the composite targets grants Read.
    #[error("server {server} has no Read right on any Object Instance targeted by {operation}")]
    NoReadableTarget {
        /// Requester.
        server: ShortServerId,
        /// The operation.
        operation: Operation,
    },
    /// The client does not support the Object.
    #[error("Object {object} is not supported by the client")]
    ObjectNotFound {
        /// Object ID.
        object: u16,
    },
    /// The Object Instance does not exist.
    #[error("/{object}/{instance} does not exist")]
    InstanceNotFound {
        /// Object ID.
        object: u16,
        /// Object Instance ID.
        instance: u16,
    },
    /// The Object does not define the Resource.
    #[error("Object {object} defines no Resource {resource}")]
    ResourceNotFound {
        /// Object ID.
        object: u16,
        /// Resource ID.
        resource: u16,
    },
    /// The operation does not accept a target at this level.
    #[error("{operation} cannot target {level}")]
    TargetNotAllowed {
        /// The operation.
        operation: Operation,
        /// The level of the target.
        level: Level,
    },
    /// A Resource Instance path on a Single-Instance Resource.
    #[error("/{object}/x/{resource} is a Single-Instance Resource: it has no Resource Instances")]
    NotMultipleInstance {
        /// Object ID.
        object: u16,
        /// Resource ID.
        resource: u16,
    },
    /// The Resource does not support the operation ("Operation is not supported").
    #[error("Resource /{object}/x/{resource} supports {supported}, not {operation}")]
    OperationNotSupported {
        /// The operation.
        operation: Operation,
        /// Object ID.
        object: u16,
        /// Resource ID.
        resource: u16,
        /// What the Resource supports.
        supported: crate::ResourceOperations,
    },
    /// A Write on an Object Instance, or a Create, conveys Resources that do not support Write.
    #[error(
        "{operation} conveys Resources of Object {object} that do not support Write: {}",
        IdList(resources)
    )]
    ResourcesNotWritable {
        /// The operation.
        operation: Operation,
        /// Object ID.
        object: u16,
        /// The offending Resource IDs.
        resources: Vec<u16>,
    },
    /// A Create leaves mandatory writable Resources without a value.
    #[error(
        "Create on Object {object} misses mandatory Resources: {}",
        IdList(resources)
    )]
    MandatoryResourcesMissing {
        /// Object ID.
        object: u16,
        /// The missing Resource IDs.
        resources: Vec<u16>,
    },
    /// A Create names an instance that exists, or a second instance of a single-instance Object.
    #[error("/{object}/{instance} exists already")]
    InstanceExists {
        /// Object ID.
        object: u16,
        /// Object Instance ID.
        instance: u16,
    },
    /// A Create names an instance other than 0 of a single-instance Object.
    #[error("Object {object} is single-instance: its instance ID must be 0, not {instance}")]
    SingleInstanceObject {
        /// Object ID.
        object: u16,
        /// The instance ID asked for.
        instance: u16,
    },
    /// Instance ID 65535 (MAX_ID) is never an Object Instance.
    #[error("instance ID 65535 (MAX_ID) of Object {object} is reserved")]
    ReservedInstanceId {
        /// Object ID.
        object: u16,
    },
    /// The Device Object Instance /3/0 "SHALL NOT be affected by any Delete operation".
    #[error("the Device Object Instance /3/0 cannot be deleted")]
    DeviceNotDeletable,
    /// The server set Mute Send (/1 Resource 23).
    #[error("server {server} has muted Send (Server Object Resource 23)")]
    SendMuted {
        /// The server.
        server: ShortServerId,
    },
    /// Bootstrap-Read targets only /1 and /2.
    #[error(
        "Bootstrap-Read targets only the Server (1) and Access Control (2) Objects, not {target}"
    )]
    BootstrapReadTarget {
        /// The target asked for.
        target: Target,
    },
    /// The Bootstrap Interface has no such operation.
    #[error(
        "the Bootstrap-Server cannot perform {operation} (not a Bootstrap Interface operation)"
    )]
    NotBootstrapOperation {
        /// The operation.
        operation: Operation,
    },
    /// A composite operation with no target.
    #[error("{operation} needs at least one target")]
    NoTarget {
        /// The operation.
        operation: Operation,
    },
}

fn needed_text(needed: AccessRights) -> NeededText {
    NeededText(needed)
}

struct NeededText(AccessRights);

impl fmt::Display for NeededText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("at least one right")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

struct IdList<'a>(&'a [u16]);

impl fmt::Display for IdList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, id) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

/// A refused operation: the CoAP response code and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The response code to send.
    pub code: ResponseCode,
    /// Why.
    pub reason: Reason,
}

impl Denial {
    const fn new(code: ResponseCode, reason: Reason) -> Self {
        Self { code, reason }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

impl core::error::Error for Denial {}

/// An allowed operation, with what the client must leave out when performing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grant {
    /// Perform the operation on the whole target.
    Full,
    /// Read/Observe/Notify on an Object Instance: return every Resource except those that do not
    /// support Read (LwM2M 1.2 Core TS, "Read Operation": "the LwM2M Client MUST retrieve all
    /// the requested Resources except the Resource(s) which does not support the Read
    /// operation"). [`resource_readable`] tells which.
    ReadableResources,
    /// Read/Observe/Notify on an Object: only the Object Instances on which the server has R,
    /// each without its non-readable Resources ("Operation on Object").
    /// [`AccessControl::readable_instances`] lists them.
    ReadableInstances,
}

/// The outcome of a composite operation (Read-, Write-, Observe-Composite, Send): per target,
/// in request order, the grant or `None` for a target to ignore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompositeGrant {
    /// One entry per requested target.
    pub targets: Vec<Option<Grant>>,
}

/// What to do with a notification (LwM2M 1.2 Core TS, "Notify Operation Consideration").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyDecision {
    /// Send it, leaving out what the grant excludes.
    Send(Grant),
    /// Send the composite notification with the targets the grant keeps.
    SendComposite(CompositeGrant),
    /// "the Client MUST NOT send the Notify operation" and (LwM2M 1.0 §7.2.3.4) "MUST perform
    /// the Cancel Observation logical operation": drop the observation.
    Cancel(Denial),
}

/// Whether a Resource is included in the answer to a Read/Observe/Notify of its Object Instance.
///
/// ```
/// use mote_access::resource_readable;
/// use mote_lwm2m::object::Builtin;
///
/// // Device Object: Manufacturer (0) is R, Reboot (4) is E.
/// assert!(resource_readable(&Builtin, 3, 0));
/// assert!(!resource_readable(&Builtin, 3, 4));
/// assert!(!resource_readable(&Builtin, 3, 999)); // not defined
/// ```
pub fn resource_readable<D: ObjectDefinitions + ?Sized>(
    defs: &D,
    object: u16,
    resource: u16,
) -> bool {
    defs.resource(object, resource)
        .is_some_and(|r| r.operations.read())
}

const fn deny(code: ResponseCode, reason: Reason) -> Result<Grant, Denial> {
    Err(Denial::new(code, reason))
}

fn is_security(object: u16) -> bool {
    object == 0 || object == 21
}

impl AccessControl {
    /// The decision for one operation on one target.
    ///
    /// For a Write on an Object Instance this checks the access rights and the target; the
    /// Resources conveyed in the payload are checked by [`AccessControl::authorize_write`]. For
    /// Create it checks the Object-level rights; [`AccessControl::authorize_create`] checks the
    /// payload too. Composite operations and Send given here are decided as a list of one target
    /// ([`AccessControl::authorize_composite`]); when that target is ignored (it does not
    /// exist or does not support Read) the refusal a Read of it would get is returned, since a
    /// [`Grant`] cannot say "nothing".
    ///
    /// ```
    /// # use mote_access::*;
    /// # use mote_lwm2m::object::Builtin;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// // /3/0 owned by 101, readable by 102; the built-in Device Object definitions.
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// let reboot = Target::Resource(3, 0, 4);
    /// assert_eq!(ac.authorize(&Builtin, Requester::Server(s101), Operation::Execute, &reboot), Ok(Grant::Full));
    /// let denial = ac
    ///     .authorize(&Builtin, Requester::Server(s102), Operation::Execute, &reboot)
    ///     .err()
    ///     .ok_or("102 may not reboot")?;
    /// assert_eq!(denial.code, ResponseCode::Unauthorized);
    /// // Rights first, then existence: 102 learns nothing about /3/1.
    /// let missing = Target::Instance(3, 1);
    /// let denial = ac.authorize(&Builtin, Requester::Server(s101), Operation::Read, &missing).err();
    /// assert_eq!(denial.map(|d| d.code), Some(ResponseCode::Unauthorized));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        requester: Requester,
        operation: Operation,
        target: &Target,
    ) -> Result<Grant, Denial> {
        match requester {
            Requester::Bootstrap => bootstrap(self, defs, operation, target),
            Requester::Server(server) if operation.is_composite() => {
                self.composite_of_one(defs, server, operation, target)
            }
            Requester::Server(server) => self.server_operation(defs, server, operation, target),
        }
    }

    /// A composite operation or Send on one target: the decision
    /// [`AccessControl::authorize_composite`] takes for a list of one, without building the
    /// list (a device that never sends composite operations links none of the list code).
    fn composite_of_one<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        server: ShortServerId,
        operation: Operation,
        target: &Target,
    ) -> Result<Grant, Denial> {
        if operation == Operation::WriteComposite {
            self.write_composite(defs, server, core::slice::from_ref(target))?;
            return Ok(Grant::Full);
        }
        self.composite_read_allowed(server, operation)?;
        match self.read_target(defs, server, target) {
            (Some(grant), _) => Ok(grant),
            (None, false) => Err(Denial::new(
                ResponseCode::Unauthorized,
                Reason::NoReadableTarget { server, operation },
            )),
            // The single target was ignored although its instance grants R.
            (None, true) => Err(ignored_target_denial(self, defs, operation, target)),
        }
    }

    /// The checks of a non-atomic composite read (Read-/Observe-Composite, Send) before its
    /// targets: a known server, and for Send no Mute Send.
    fn composite_read_allowed(
        &self,
        server: ShortServerId,
        operation: Operation,
    ) -> Result<(), Denial> {
        match self.server(server) {
            None => Err(Denial::new(
                ResponseCode::Unauthorized,
                Reason::UnknownServer { server },
            )),
            Some(s) if operation == Operation::Send && s.mute_send => Err(Denial::new(
                ResponseCode::MethodNotAllowed,
                Reason::SendMuted { server },
            )),
            Some(_) => Ok(()),
        }
    }

    fn server_operation<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        server: ShortServerId,
        operation: Operation,
        target: &Target,
    ) -> Result<Grant, Denial> {
        use Operation as Op;
        use ResponseCode::{MethodNotAllowed, NotFound, Unauthorized};
        let Some(object) = target.object() else {
            return deny(
                MethodNotAllowed,
                Reason::TargetNotAllowed {
                    operation,
                    level: Level::Root,
                },
            );
        };
        if is_security(object) {
            return deny(Unauthorized, Reason::SecurityObject { object });
        }
        if self.server(server).is_none() {
            return deny(Unauthorized, Reason::UnknownServer { server });
        }
        if defs.object(object).is_none() {
            return deny(NotFound, Reason::ObjectNotFound { object });
        }
        let not_allowed = || {
            deny(
                MethodNotAllowed,
                Reason::TargetNotAllowed {
                    operation,
                    level: target.level(),
                },
            )
        };
        let (instance, resource) = match *target {
            Target::Root => return not_allowed(),
            // LwM2M 1.2 Core TS, "Operation on Object".
            Target::Object(_) => {
                return match operation {
                    // "the LwM2M Client MUST retrieve all the Object Instances for which the
                    // LwM2M Server has the Read access right".
                    Op::Read | Op::Observe | Op::Notify => Ok(Grant::ReadableInstances),
                    // "No access rights are needed for the Discover operation on an Object";
                    // "For the Write-Attributes operation, the LwM2M Client MUST perform the
                    // operation."
                    Op::Discover | Op::WriteAttributes => Ok(Grant::Full),
                    Op::Create => self.create_access(server, object),
                    // Transport TS: Write at Object level "is not supported for the CoAP
                    // binding"; Execute only on Resources; Delete on Object or Resource
                    // Instances.
                    _ => not_allowed(),
                };
            }
            Target::Instance(_, i) => (i, None),
            Target::Resource(_, i, r) => (i, Some((r, false))),
            Target::ResourceInstance(_, i, r, _) => (i, Some((r, true))),
        };
        // "The Create operation MUST target an Object": its rights come from the Object-level
        // /2 instance, so no Object Instance's ACL is involved (Transport TS: path rules not
        // respected → 4.05).
        if operation == Op::Create {
            return not_allowed();
        }
        if instance == MAX_ID {
            return deny(NotFound, Reason::ReservedInstanceId { object });
        }
        // "Authorization" steps 1 and 2, before anything about the target (§7.3.2: "3. verify
        // –when the check in 2. on access rights is successful– if the requested operation is
        // supported"; 1.0 §7.2.3.3 "Operation on Object Instance": "If the logical operation is
        // not permitted, the LWM2M Client MUST send an Access Right Permission Denied error
        // code ... If the logical operation is permitted ... For the Execute logical operation,
        // the LWM2M Client MUST NOT perform the logical operation").
        let (granted, exists) = self.lookup(server, object, instance);
        let needed = operation.required_rights();
        let sufficient = if needed.is_empty() {
            !granted.is_empty()
        } else {
            granted.contains(needed)
        };
        if !sufficient {
            return deny(
                Unauthorized,
                Reason::NoAccessRight {
                    server,
                    operation,
                    object,
                    instance,
                    granted,
                    needed,
                },
            );
        }
        if !exists {
            return deny(NotFound, Reason::InstanceNotFound { object, instance });
        }
        // Target level rules, once the rights are granted (Transport TS: path rules not
        // respected → 4.05).
        match (operation, resource) {
            // Execute "can only be performed on individual Resources. An LwM2M Client MUST
            // return an error when the Execute operation is received for an Object Instance(s)
            // or Resource Instance(s)."
            (Op::Execute, None | Some((_, true))) => return not_allowed(),
            // Delete is "used ... to delete an Object Instance or a Resource Instance".
            (Op::Delete, Some((_, false))) => return not_allowed(),
            // Discover takes "Object ID, Object Instance ID, Resource ID, Depth" (Table
            // "Discover Parameters"): no Resource Instance ID, unlike Read, Observe, Write and
            // Write-Attributes.
            (Op::Discover, Some((_, true))) => return not_allowed(),
            _ => {}
        }
        let Some((resource, is_resource_instance)) = resource else {
            return match operation {
                Op::Read | Op::Observe | Op::Notify => Ok(Grant::ReadableResources),
                // "The only exception concerns the single Instance of the mandatory Device
                // Object (ID:3) which SHALL NOT be affected by any Delete operation."
                Op::Delete if object == 3 && instance == 0 => {
                    deny(MethodNotAllowed, Reason::DeviceNotDeletable)
                }
                _ => Ok(Grant::Full),
            };
        };
        // "Authorization" step 3: the Resource supports the operation.
        let Some(def) = defs.resource(object, resource) else {
            return deny(NotFound, Reason::ResourceNotFound { object, resource });
        };
        if is_resource_instance && !def.multiple {
            return deny(
                MethodNotAllowed,
                Reason::NotMultipleInstance { object, resource },
            );
        }
        let supported = match operation {
            Op::Read | Op::Observe | Op::Notify => def.operations.read(),
            Op::Write => def.operations.write(),
            Op::Execute => def.operations.execute(),
            // Deleting a Resource Instance changes the Resource: it must be writable (fail
            // closed; the TS only says the Resource's operations apply to its instances).
            Op::Delete => def.operations.write(),
            _ => true,
        };
        if supported {
            Ok(Grant::Full)
        } else {
            deny(
                MethodNotAllowed,
                Reason::OperationNotSupported {
                    operation,
                    object,
                    resource,
                    supported: def.operations,
                },
            )
        }
    }

    fn create_access(&self, server: ShortServerId, object: u16) -> Result<Grant, Denial> {
        if object == 2 {
            // "This kind of Access Control Object Instance associated with a certain Object,
            // MUST only be created or updated during a Bootstrap Phase"; instance-level ones
            // are created by the client with their Object Instance.
            return deny(ResponseCode::Unauthorized, Reason::CreateAccessControl);
        }
        if self
            .create_rights(server, object)
            .contains(AccessRights::CREATE)
        {
            Ok(Grant::Full)
        } else {
            deny(
                ResponseCode::Unauthorized,
                Reason::NoCreateRight { server, object },
            )
        }
    }

    /// Write on an Object Instance with the Resource IDs conveyed in the payload (for other
    /// targets the same as [`AccessControl::authorize`]).
    ///
    /// LwM2M 1.2 Core TS, "Write Operation": "The LwM2M Client MUST perform the operation only
    /// if all the Resources conveyed in the operation are allowed to support the Write
    /// operation. If any Resource does not support the Write operation, the LwM2M Client MUST
    /// inform the LwM2M Server ... by returning an error code indicating that the method is not
    /// allowed" (4.05, listing them); "any optional Resources that are not supported by, or
    /// unknown to, the LwM2M Client MUST NOT be interpreted as an error" (skipped). The same
    /// for Replace and Partial Update. The Bootstrap-Server writes without these checks.
    ///
    /// ```
    /// # use mote_access::*;
    /// # use mote_lwm2m::object::Builtin;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// // /3/0 owned by 101, readable by 102; the built-in Device Object definitions.
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// ac.set_acl_entry(0, s102, AccessRights::READ.union(AccessRights::WRITE))?;
    /// let device = Target::Instance(3, 0);
    /// // Current Time (13) is RW: the Write is allowed.
    /// assert_eq!(ac.authorize_write(&Builtin, Requester::Server(s102), &device, &[13]), Ok(Grant::Full));
    /// // Manufacturer (0) is read-only: the whole Write is refused with 4.05.
    /// let denial = ac.authorize_write(&Builtin, Requester::Server(s102), &device, &[0, 13]).err();
    /// assert_eq!(denial.map(|d| d.code), Some(ResponseCode::MethodNotAllowed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize_write<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        requester: Requester,
        target: &Target,
        conveyed: &[u16],
    ) -> Result<Grant, Denial> {
        let grant = self.authorize(defs, requester, Operation::Write, target)?;
        if let (Requester::Server(_), Target::Instance(object, _)) = (requester, *target) {
            let resources = not_writable(defs, object, conveyed, false);
            if !resources.is_empty() {
                return deny(
                    ResponseCode::MethodNotAllowed,
                    Reason::ResourcesNotWritable {
                        operation: Operation::Write,
                        object,
                        resources,
                    },
                );
            }
        }
        Ok(grant)
    }

    /// Create on `object` by `server`, with the Object Instance ID the payload names (if any),
    /// the Resource IDs it conveys, and the Resources the client fills with its own defaults
    /// when absent. Returns the Object Instance ID to create; after creating it, call
    /// [`AccessControl::instance_created`].
    ///
    /// LwM2M 1.2 Core TS, "Create Operation" and "Operation on Object":
    /// - rights from the Object-level /2 instance (C), 4.01 otherwise;
    /// - "Object Instance whose Object supports at most one Object Instance MUST be assigned an
    ///   Object Instance ID of 0"; an ID in conflict with an existing instance: 4.00;
    /// - conveyed Resources: read-only ones "MUST NOT be processed nor should it result in an
    ///   error", unknown ones "MUST NOT be interpreted as an error", any other that does not
    ///   support Write: 4.05 (1.0 §7.2.3.3: "Operation is not supported" for the affected
    ///   Resources);
    /// - "If all the mandatory Resources of the created Object Instance are not instantiated,
    ///   the LwM2M Client MUST return an error": 4.00 ("Mandatory Resources are not specified")
    ///   for mandatory writable Resources neither conveyed nor defaulted (read-only ones are set
    ///   by the client, executable ones carry no value).
    ///
    /// ```
    /// # use mote_access::*;
    /// # use mote_lwm2m::object::Builtin;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// // /3/0 owned by 101, readable by 102; the built-in Device Object definitions.
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// // The Bootstrap-Server gave 102 the Create right on Firmware Update (5).
    /// let acl = AccessControlInstance::new(5, 65535, Owner::Bootstrap).with_acl(s102, AccessRights::CREATE);
    /// ac.insert_acl_instance(1, acl)?;
    /// // Package (0) and Package URI (1) are mandatory and writable in the built-in Object 5:
    /// // they must be conveyed.
    /// let id = ac.authorize_create(&Builtin, s102, 5, None, &[0, 1], &[])?;
    /// assert_eq!(id, 0);
    /// let missing = ac.authorize_create(&Builtin, s102, 5, None, &[1], &[]).err();
    /// assert_eq!(missing.map(|d| d.code), Some(ResponseCode::BadRequest));
    /// let no_right = ac.authorize_create(&Builtin, s101, 5, None, &[0, 1], &[]).err();
    /// assert_eq!(no_right.map(|d| d.code), Some(ResponseCode::Unauthorized));
    /// ac.instance_created(s102, 5, id)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize_create<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        server: ShortServerId,
        object: u16,
        instance: Option<u16>,
        conveyed: &[u16],
        defaults: &[u16],
    ) -> Result<u16, Denial> {
        use ResponseCode::{BadRequest, MethodNotAllowed, NotFound};
        self.authorize(
            defs,
            Requester::Server(server),
            Operation::Create,
            &Target::Object(object),
        )?;
        let multiple = defs.object(object).unwrap_or(false);
        let id = match instance {
            Some(MAX_ID) => {
                return Err(Denial::new(NotFound, Reason::ReservedInstanceId { object }));
            }
            Some(i) if !multiple && i != 0 => {
                return Err(Denial::new(
                    BadRequest,
                    Reason::SingleInstanceObject {
                        object,
                        instance: i,
                    },
                ));
            }
            Some(i) => i,
            None if !multiple => 0,
            None => self.free_instance_id(object).ok_or(Denial::new(
                BadRequest,
                Reason::InstanceExists {
                    object,
                    instance: MAX_ID - 1,
                },
            ))?,
        };
        if self.contains_instance(object, id) {
            return Err(Denial::new(
                BadRequest,
                Reason::InstanceExists {
                    object,
                    instance: id,
                },
            ));
        }
        let resources = not_writable(defs, object, conveyed, true);
        if !resources.is_empty() {
            return Err(Denial::new(
                MethodNotAllowed,
                Reason::ResourcesNotWritable {
                    operation: Operation::Create,
                    object,
                    resources,
                },
            ));
        }
        let mut missing = Vec::new();
        defs.for_each_resource(object, &mut |r: ResourceDefinition| {
            if r.mandatory
                && r.operations.write()
                && !conveyed.contains(&r.id)
                && !defaults.contains(&r.id)
            {
                missing.push(r.id);
            }
        });
        if !missing.is_empty() {
            return Err(Denial::new(
                BadRequest,
                Reason::MandatoryResourcesMissing {
                    object,
                    resources: missing,
                },
            ));
        }
        Ok(id)
    }

    /// Read-Composite, Observe-Composite, Write-Composite or Send on a list of targets.
    ///
    /// LwM2M 1.2 Core TS, "Obtaining Access Right" item 5:
    /// - Write-Composite is atomic: every Object Instance needs W (4.01 otherwise), then every
    ///   target must exist (4.04) and be a writable Resource or Resource Instance (4.05);
    /// - Read-Composite and Observe-Composite are not: targets on instances without R are
    ///   ignored, and the operation is allowed if at least one involved instance grants R
    ///   (4.01 otherwise). Targets that do not exist or do not support Read are ignored too
    ///   ("if any of the requested resources do not have a valid value to return, they will
    ///   not be included"); Security/OSCORE targets are ignored (never readable).
    /// - Send ("Send Operation"): refused with 4.05 when the server set Mute Send; otherwise
    ///   like Read-Composite: "the LwM2M Client MUST NOT include those Resources" on which the
    ///   server has no Read right, or which do not support Read, or whose instance is not
    ///   registered.
    ///
    /// With [`Requester::Bootstrap`] every composite operation is refused (4.05): the
    /// Bootstrap Interface has none. Any other operation is decided target by target with
    /// [`AccessControl::authorize`], the first refusal winning.
    ///
    /// ```
    /// # use mote_access::*;
    /// # use mote_lwm2m::object::Builtin;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// // /3/0 owned by 101, readable by 102; the built-in Device Object definitions.
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// ac.insert_instance(4, 0)?;
    /// ac.insert_acl_instance(1, AccessControlInstance::new(4, 0, Owner::Server(s101)))?;
    /// // 102 may read /3/0/0 but nothing of /4/0: that target is left out.
    /// let targets = [Target::Resource(3, 0, 0), Target::Resource(4, 0, 2)];
    /// let grant = ac.authorize_composite(&Builtin, Requester::Server(s102), Operation::ReadComposite, &targets)?;
    /// assert_eq!(grant.targets, [Some(Grant::Full), None]);
    /// // None readable at all: 4.01.
    /// let denial = ac
    ///     .authorize_composite(&Builtin, Requester::Server(s102), Operation::ReadComposite, &targets[1..])
    ///     .err();
    /// assert_eq!(denial.map(|d| d.code), Some(ResponseCode::Unauthorized));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize_composite<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        requester: Requester,
        operation: Operation,
        targets: &[Target],
    ) -> Result<CompositeGrant, Denial> {
        use ResponseCode::{MethodNotAllowed, Unauthorized};
        if !operation.is_composite() && operation != Operation::Notify {
            // Not a list operation: every target is decided on its own; the first refusal wins.
            let grants = targets
                .iter()
                .map(|t| self.authorize(defs, requester, operation, t).map(Some))
                .collect::<Result<Vec<_>, Denial>>()?;
            return Ok(CompositeGrant { targets: grants });
        }
        let server = match requester {
            Requester::Bootstrap => {
                return Err(Denial::new(
                    MethodNotAllowed,
                    Reason::NotBootstrapOperation { operation },
                ));
            }
            Requester::Server(s) => s,
        };
        if targets.is_empty() {
            return Err(Denial::new(
                ResponseCode::BadRequest,
                Reason::NoTarget { operation },
            ));
        }
        if operation == Operation::WriteComposite {
            self.write_composite(defs, server, targets)?;
            return Ok(CompositeGrant {
                targets: targets.iter().map(|_| Some(Grant::Full)).collect(),
            });
        }
        self.composite_read_allowed(server, operation)?;
        let mut any_read = false;
        let mut grants = Vec::with_capacity(targets.len());
        for target in targets {
            let (grant, readable) = self.read_target(defs, server, target);
            any_read |= readable;
            grants.push(grant);
        }
        if !any_read {
            return Err(Denial::new(
                Unauthorized,
                Reason::NoReadableTarget { server, operation },
            ));
        }
        Ok(CompositeGrant { targets: grants })
    }

    /// One target of a non-atomic read: (grant or ignored, whether an involved instance grants
    /// R).
    fn read_target<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        server: ShortServerId,
        target: &Target,
    ) -> (Option<Grant>, bool) {
        match *target {
            // "at least one of the Object Instances involved ... has a Read access right":
            // from the readable index, without scanning the instances.
            Target::Root => {
                let any = self.any_readable(server, None);
                (any.then_some(Grant::ReadableInstances), any)
            }
            Target::Object(o) => {
                if is_security(o) || defs.object(o).is_none() {
                    return (None, false);
                }
                let any = self.any_readable(server, Some(o));
                (any.then_some(Grant::ReadableInstances), any)
            }
            Target::Instance(o, i)
            | Target::Resource(o, i, _)
            | Target::ResourceInstance(o, i, _, _) => {
                if is_security(o) || i == MAX_ID || defs.object(o).is_none() {
                    return (None, false);
                }
                let (rights, exists) = self.lookup(server, o, i);
                if !rights.contains(AccessRights::READ) {
                    return (None, false);
                }
                if !exists {
                    return (None, true);
                }
                let grant = match *target {
                    Target::Resource(_, _, r) => defs
                        .resource(o, r)
                        .filter(|d| d.operations.read())
                        .map(|_| Grant::Full),
                    Target::ResourceInstance(_, _, r, _) => defs
                        .resource(o, r)
                        .filter(|d| d.operations.read() && d.multiple)
                        .map(|_| Grant::Full),
                    _ => Some(Grant::ReadableResources),
                };
                (grant, true)
            }
        }
    }

    /// Write-Composite is atomic: every target is granted, or the first refusal is returned.
    fn write_composite<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        server: ShortServerId,
        targets: &[Target],
    ) -> Result<(), Denial> {
        use ResponseCode::{MethodNotAllowed, NotFound, Unauthorized};
        let operation = Operation::WriteComposite;
        // Pass 1: authorization of every target (4.01 before anything else).
        for target in targets {
            if let Some(o) = target.object().filter(|o| is_security(*o)) {
                return Err(Denial::new(
                    Unauthorized,
                    Reason::SecurityObject { object: o },
                ));
            }
        }
        if self.server(server).is_none() {
            return Err(Denial::new(Unauthorized, Reason::UnknownServer { server }));
        }
        for target in targets {
            // Values are written to Resources or Resource Instances; the record of a higher
            // level cannot carry one.
            if target.resource().is_none() {
                return Err(Denial::new(
                    MethodNotAllowed,
                    Reason::TargetNotAllowed {
                        operation,
                        level: target.level(),
                    },
                ));
            }
        }
        for target in targets {
            if let Some((object, instance)) = target.instance() {
                let granted = if instance == MAX_ID {
                    AccessRights::NONE
                } else {
                    self.rights(server, object, instance)
                };
                if !granted.contains(AccessRights::WRITE) {
                    return Err(Denial::new(
                        Unauthorized,
                        Reason::NoAccessRight {
                            server,
                            operation,
                            object,
                            instance,
                            granted,
                            needed: AccessRights::WRITE,
                        },
                    ));
                }
            }
        }
        // Pass 2: "the client MUST ensure that all addressed objects exist".
        for target in targets {
            if let (Some((object, instance)), Some(resource)) =
                (target.instance(), target.resource())
            {
                if defs.object(object).is_none() {
                    return Err(Denial::new(NotFound, Reason::ObjectNotFound { object }));
                }
                if !self.contains_instance(object, instance) {
                    return Err(Denial::new(
                        NotFound,
                        Reason::InstanceNotFound { object, instance },
                    ));
                }
                if defs.resource(object, resource).is_none() {
                    return Err(Denial::new(
                        NotFound,
                        Reason::ResourceNotFound { object, resource },
                    ));
                }
            }
        }
        // Pass 3: every Resource supports Write.
        for target in targets {
            if let (Some(object), Some(resource)) = (target.object(), target.resource()) {
                if let Some(def) = defs.resource(object, resource) {
                    if matches!(target, Target::ResourceInstance(..)) && !def.multiple {
                        return Err(Denial::new(
                            MethodNotAllowed,
                            Reason::NotMultipleInstance { object, resource },
                        ));
                    }
                    if !def.operations.write() {
                        return Err(Denial::new(
                            MethodNotAllowed,
                            Reason::OperationNotSupported {
                                operation,
                                object,
                                resource,
                                supported: def.operations,
                            },
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Re-checks an observation before sending a notification (LwM2M 1.2 Core TS, "Notify
    /// Operation Consideration": "the LwM2M Client MUST check if the LwM2M Server is authorized
    /// for the Read operation. If the LwM2M Server is not authorized, the Client MUST NOT send
    /// the Notify operation"). An observation that can no longer be notified is cancelled, as
    /// LwM2M 1.0 §7.2.3.4 requires ("MUST perform the Cancel Observation logical operation").
    ///
    /// ```
    /// # use mote_access::*;
    /// # use mote_lwm2m::object::Builtin;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// // /3/0 owned by 101, readable by 102; the built-in Device Object definitions.
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// let battery = Target::Resource(3, 0, 9);
    /// assert_eq!(ac.authorize_notify(&Builtin, s102, &battery), NotifyDecision::Send(Grant::Full));
    /// // 101 takes the Read right away: the observation of 102 is cancelled.
    /// ac.remove_acl_entry(0, s102)?;
    /// assert!(matches!(ac.authorize_notify(&Builtin, s102, &battery), NotifyDecision::Cancel(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize_notify<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        server: ShortServerId,
        target: &Target,
    ) -> NotifyDecision {
        match self.authorize(defs, Requester::Server(server), Operation::Notify, target) {
            Ok(grant) => NotifyDecision::Send(grant),
            Err(denial) => NotifyDecision::Cancel(denial),
        }
    }

    /// [`AccessControl::authorize_notify`] for an Observe-Composite observation: sent while at
    /// least one target's instance grants R, cancelled otherwise.
    ///
    /// ```
    /// # use mote_access::*;
    /// # use mote_lwm2m::object::Builtin;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// // /3/0 owned by 101, readable by 102; the built-in Device Object definitions.
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// let targets = [Target::Resource(3, 0, 9), Target::Resource(3, 0, 10)];
    /// assert!(matches!(
    ///     ac.authorize_notify_composite(&Builtin, s102, &targets),
    ///     NotifyDecision::SendComposite(_)
    /// ));
    /// ac.remove_acl_entry(0, s102)?;
    /// assert!(matches!(ac.authorize_notify_composite(&Builtin, s102, &targets), NotifyDecision::Cancel(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize_notify_composite<D: ObjectDefinitions + ?Sized>(
        &self,
        defs: &D,
        server: ShortServerId,
        targets: &[Target],
    ) -> NotifyDecision {
        match self.authorize_composite(
            defs,
            Requester::Server(server),
            Operation::ObserveComposite,
            targets,
        ) {
            Ok(grant) => NotifyDecision::SendComposite(grant),
            Err(denial) => NotifyDecision::Cancel(denial),
        }
    }

    /// The instances of `object` a Read/Observe/Notify on the Object returns to `server`: those
    /// on which it has R ("Operation on Object").
    ///
    /// ```
    /// # use mote_access::*;
    /// # use mote_lwm2m::object::Builtin;
    /// # let (s101, s102) = (ShortServerId(101), ShortServerId(102));
    /// # let mut ac = AccessControl::new();
    /// # ac.add_server(s101)?;
    /// # ac.add_server(s102)?;
    /// // /3/0 owned by 101, readable by 102; the built-in Device Object definitions.
    /// ac.insert_instance(3, 0)?;
    /// let acl = AccessControlInstance::new(3, 0, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(0, acl)?;
    /// ac.insert_instance(5, 0)?;
    /// ac.insert_instance(5, 1)?;
    /// let acl = AccessControlInstance::new(5, 1, Owner::Server(s101)).with_acl(s102, AccessRights::READ);
    /// ac.insert_acl_instance(1, acl)?;
    /// assert_eq!(ac.readable_instances(s102, 5).collect::<Vec<_>>(), [1]);
    /// assert_eq!(ac.readable_instances(s101, 0).count(), 0); // never the Security Object
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn readable_instances(
        &self,
        server: ShortServerId,
        object: u16,
    ) -> impl Iterator<Item = u16> + '_ {
        let allowed = !is_security(object) && self.server(server).is_some();
        self.instances(object).filter(move |&i| {
            allowed && self.rights(server, object, i).contains(AccessRights::READ)
        })
    }
}

/// The conveyed Resources that do not support Write. Unknown Resources are never an error
/// (Write and Create: "not supported by, or unknown to, the LwM2M Client MUST NOT be interpreted
/// as an error"); read-only ones are ignored by Create only ("MUST NOT be processed nor should it
/// result in an error").
fn not_writable<D: ObjectDefinitions + ?Sized>(
    defs: &D,
    object: u16,
    conveyed: &[u16],
    ignore_read_only: bool,
) -> Vec<u16> {
    // Ascending and each ID once, kept so by inserting in place (the list is a few IDs; a
    // slice sort would link core's sort code into a device build for this one list).
    let mut out: Vec<u16> = Vec::new();
    for &r in conveyed {
        let refused = match defs.resource(object, r) {
            None => false,
            Some(def) => {
                !(def.operations.write() || (ignore_read_only && def.operations.read_only()))
            }
        };
        if refused {
            if let Err(at) = out.binary_search(&r) {
                out.insert(at, r);
            }
        }
    }
    out
}

/// Why the only target of a non-atomic read was ignored although its instance grants R: it does
/// not exist (4.04) or does not support Read (4.05).
fn ignored_target_denial<D: ObjectDefinitions + ?Sized>(
    ac: &AccessControl,
    defs: &D,
    operation: Operation,
    target: &Target,
) -> Denial {
    use ResponseCode::{MethodNotAllowed, NotFound};
    let level = target.level();
    match *target {
        Target::Root => Denial::new(
            MethodNotAllowed,
            Reason::TargetNotAllowed { operation, level },
        ),
        Target::Object(object) => Denial::new(NotFound, Reason::ObjectNotFound { object }),
        Target::Instance(object, instance)
        | Target::Resource(object, instance, _)
        | Target::ResourceInstance(object, instance, _, _) => {
            if defs.object(object).is_none() {
                return Denial::new(NotFound, Reason::ObjectNotFound { object });
            }
            if !ac.contains_instance(object, instance) {
                return Denial::new(NotFound, Reason::InstanceNotFound { object, instance });
            }
            let resource = target.resource().unwrap_or(0);
            match defs.resource(object, resource) {
                None => Denial::new(NotFound, Reason::ResourceNotFound { object, resource }),
                Some(def) if !def.multiple && matches!(target, Target::ResourceInstance(..)) => {
                    Denial::new(
                        MethodNotAllowed,
                        Reason::NotMultipleInstance { object, resource },
                    )
                }
                Some(def) => Denial::new(
                    MethodNotAllowed,
                    Reason::OperationNotSupported {
                        operation,
                        object,
                        resource,
                        supported: def.operations,
                    },
                ),
            }
        }
    }
}

/// The Bootstrap Interface (LwM2M 1.2 Core TS, "Bootstrap Operations"): no access control,
/// only the targets each operation accepts.
fn bootstrap<D: ObjectDefinitions + ?Sized>(
    ac: &AccessControl,
    defs: &D,
    operation: Operation,
    target: &Target,
) -> Result<Grant, Denial> {
    use ResponseCode::{BadRequest, MethodNotAllowed, NotFound};
    let object_supported = |o: u16| {
        if defs.object(o).is_some() {
            Ok(Grant::Full)
        } else {
            deny(NotFound, Reason::ObjectNotFound { object: o })
        }
    };
    match (operation, *target) {
        // Bootstrap-Read: "the only acceptable targets ... is the LwM2M Server Object (Object ID:
        // 1) and the Access Control Object (Object ID:2)", "a single Instance or all Instances"
        // — BsR-001: the whole of /2 is readable, whoever owns each instance.
        (Operation::Read, Target::Object(1 | 2)) => object_supported(target.object().unwrap_or(0)),
        (Operation::Read, Target::Instance(o @ (1 | 2), i)) => {
            object_supported(o)?;
            if ac.contains_instance(o, i) {
                Ok(Grant::Full)
            } else {
                deny(
                    NotFound,
                    Reason::InstanceNotFound {
                        object: o,
                        instance: i,
                    },
                )
            }
        }
        (Operation::Read, _) => deny(
            MethodNotAllowed,
            Reason::BootstrapReadTarget { target: *target },
        ),
        // Bootstrap-Discover: "'/' is accepted in place of the Object ID"; the only parameter
        // is the Object ID.
        (Operation::Discover, Target::Root) => Ok(Grant::Full),
        (Operation::Discover, Target::Object(o)) => object_supported(o),
        // Bootstrap-Write: any Object, Object Instance or Resource, without access control.
        (Operation::Write, Target::Root) => deny(
            MethodNotAllowed,
            Reason::TargetNotAllowed {
                operation,
                level: Level::Root,
            },
        ),
        (Operation::Write, t) => object_supported(t.object().unwrap_or(0)),
        // Bootstrap-Delete: "/" , any Object or Object Instance, except /3/0.
        (Operation::Delete, Target::Instance(3, 0)) => deny(BadRequest, Reason::DeviceNotDeletable),
        (Operation::Delete, Target::Root) => Ok(Grant::Full),
        (Operation::Delete, Target::Object(o) | Target::Instance(o, _)) => object_supported(o),
        (Operation::Discover | Operation::Delete, _) => deny(
            MethodNotAllowed,
            Reason::TargetNotAllowed {
                operation,
                level: target.level(),
            },
        ),
        _ => deny(
            MethodNotAllowed,
            Reason::NotBootstrapOperation { operation },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccessControlInstance, DefinitionTable, Owner, ResourceOperations};
    use alloc::string::ToString;

    fn setup() -> (AccessControl, DefinitionTable) {
        let mut defs = DefinitionTable::new();
        defs.insert_object(3, false);
        for (id, ops) in [(0, "R"), (4, "E")] {
            let operations = ResourceOperations::parse(ops).unwrap();
            defs.insert_resource(
                3,
                ResourceDefinition {
                    id,
                    operations,
                    multiple: false,
                    mandatory: false,
                },
            );
        }
        let mut ac = AccessControl::new();
        for s in [1, 2] {
            ac.add_server(ShortServerId(s)).unwrap();
        }
        ac.insert_instance(3, 0).unwrap();
        ac.insert_acl_instance(
            0,
            AccessControlInstance::new(3, 0, Owner::Server(ShortServerId(1)))
                .with_acl(ShortServerId(2), AccessRights::READ),
        )
        .unwrap();
        (ac, defs)
    }

    #[test]
    fn composite_operations_on_one_target_are_decided_without_the_list() {
        // `authorize` decides a composite operation or Send on one target on its own path;
        // each decision here is what TS 1.2 Core "Obtaining Access Right" item 5 gives.
        let (mut ac, defs) = setup();
        let (s1, s2, s9) = (ShortServerId(1), ShortServerId(2), ShortServerId(9));
        let manufacturer = Target::Resource(3, 0, 0);
        let code = |r: Result<Grant, Denial>| r.map_err(|d| (d.code, d.reason));
        for op in [
            Operation::ReadComposite,
            Operation::ObserveComposite,
            Operation::Send,
        ] {
            // R on the instance and a readable Resource: granted.
            assert_eq!(
                ac.authorize(&defs, Requester::Server(s2), op, &manufacturer),
                Ok(Grant::Full)
            );
            // An unknown server: 4.01.
            assert_eq!(
                code(ac.authorize(&defs, Requester::Server(s9), op, &manufacturer)),
                Err((
                    ResponseCode::Unauthorized,
                    Reason::UnknownServer { server: s9 }
                ))
            );
            // No instance granting R (the Security Object never does): 4.01.
            assert_eq!(
                code(ac.authorize(&defs, Requester::Server(s2), op, &Target::Instance(0, 0))),
                Err((
                    ResponseCode::Unauthorized,
                    Reason::NoReadableTarget {
                        server: s2,
                        operation: op
                    }
                ))
            );
        }
        // Write-Composite is atomic: W is needed on the instance (2 has R only).
        assert!(matches!(
            code(ac.authorize(
                &defs,
                Requester::Server(s2),
                Operation::WriteComposite,
                &manufacturer
            )),
            Err((ResponseCode::Unauthorized, Reason::NoAccessRight { .. }))
        ));
        // The owner has W, but Manufacturer (R) does not support Write: 4.05.
        assert!(matches!(
            code(ac.authorize(
                &defs,
                Requester::Server(s1),
                Operation::WriteComposite,
                &manufacturer
            )),
            Err((
                ResponseCode::MethodNotAllowed,
                Reason::OperationNotSupported { .. }
            ))
        ));
        // Mute Send: Send is refused with 4.05, Read-Composite still granted.
        ac.set_mute_send(s2, true).unwrap();
        assert_eq!(
            code(ac.authorize(&defs, Requester::Server(s2), Operation::Send, &manufacturer)),
            Err((
                ResponseCode::MethodNotAllowed,
                Reason::SendMuted { server: s2 }
            ))
        );
        assert_eq!(
            ac.authorize(
                &defs,
                Requester::Server(s2),
                Operation::ReadComposite,
                &manufacturer
            ),
            Ok(Grant::Full)
        );
    }

    #[test]
    fn single_ignored_composite_target_gets_the_read_refusal() {
        let (ac, defs) = setup();
        let r2 = Requester::Server(ShortServerId(2));
        let exec_only = Target::Resource(3, 0, 4);
        // As a list the target is ignored (non-atomic, R granted on the instance)...
        let list = ac.authorize_composite(&defs, r2, Operation::ReadComposite, &[exec_only]);
        assert_eq!(list.map(|g| g.targets), Ok(alloc::vec![None]));
        // ...through `authorize` it is refused the way a Read would be.
        let single = ac
            .authorize(&defs, r2, Operation::ReadComposite, &exec_only)
            .unwrap_err();
        assert_eq!(single.code, ResponseCode::MethodNotAllowed);
        let missing = ac.authorize(
            &defs,
            r2,
            Operation::ReadComposite,
            &Target::Resource(3, 0, 9),
        );
        assert_eq!(missing.unwrap_err().code, ResponseCode::NotFound);
    }

    #[test]
    fn non_composite_operations_through_the_list_api_are_decided_one_by_one() {
        let (ac, defs) = setup();
        let r2 = Requester::Server(ShortServerId(2));
        let ok = ac.authorize_composite(
            &defs,
            r2,
            Operation::Read,
            &[Target::Resource(3, 0, 0), Target::Instance(3, 0)],
        );
        assert_eq!(
            ok.map(|g| g.targets),
            Ok(alloc::vec![
                Some(Grant::Full),
                Some(Grant::ReadableResources)
            ])
        );
        let denied =
            ac.authorize_composite(&defs, r2, Operation::Execute, &[Target::Resource(3, 0, 4)]);
        assert_eq!(denied.unwrap_err().code, ResponseCode::Unauthorized);
    }

    #[test]
    fn codes_and_names() {
        assert_eq!(ResponseCode::Unauthorized.to_u8(), 0x81);
        assert_eq!(
            ResponseCode::MethodNotAllowed.to_string(),
            "4.05 Method Not Allowed"
        );
        for (name, op) in Operation::NAMES {
            assert_eq!(name.parse::<Operation>(), Ok(op));
        }
        assert_eq!("frob".parse::<Operation>(), Err(Error::UnknownOperation));
    }
}
