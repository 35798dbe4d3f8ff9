//! The client core: the object store, the access-control model derived from it, the
//! identity lookup of the transport layer and the per-server reporting attributes.

use alloc::boxed::Box;
#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::time::Duration;
#[cfg(feature = "vec-maps")]
use mote_coap::vec_map::VecMap as BTreeMap;

use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, Owner, ResponseCode, ShortServerId,
};
use mote_coap::code::Code;
use mote_lwm2m::attributes::{Decision, NotificationAttributes, evaluate};
use mote_lwm2m::data::ResourceData;
use mote_lwm2m::object::{ObjectDefs, ObjectRegistry};
use mote_lwm2m::{Format, ObjectDef, Path, Value};

use crate::error::{Error, ObjectError};
use crate::object::{DataObject, Object};

/// Security Object ID.
pub(crate) const SECURITY: u16 = 0;
/// Server Object ID.
pub(crate) const SERVER: u16 = 1;
/// Access Control Object ID.
pub(crate) const ACCESS_CONTROL: u16 = 2;
/// Device Object ID.
pub(crate) const DEVICE: u16 = 3;
/// Firmware Update Object ID.
pub(crate) const FIRMWARE: u16 = 5;
/// OSCORE Object ID.
pub(crate) const OSCORE: u16 = 21;

/// Who sent a request, as the transport layer established it (see
/// [`Client::requester_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Requester {
    /// The LwM2M Bootstrap-Server: its requests are Bootstrap Interface operations.
    BootstrapServer,
    /// An LwM2M Server, by the Short Server ID of its account.
    Server(ShortServerId),
    /// Nobody the client has an account for: every request is 4.01.
    Unauthenticated,
}

/// A security identity the transport layer authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityIdentity<'a> {
    /// A DTLS PSK identity (/0 resource 3 "Public Key or Identity" of a PSK account).
    Psk(&'a [u8]),
    /// An OSCORE security context, by the client's Sender ID and Recipient ID (/21
    /// resources 1 and 2).
    Oscore {
        /// The client's Sender ID.
        sender_id: &'a [u8],
        /// The client's Recipient ID.
        recipient_id: &'a [u8],
    },
}

/// The bounds of the tables a server can grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Instances per object (Create and Bootstrap-Write beyond it: 5.00).
    pub max_instances: usize,
    /// Stored Write-Attributes entries (server, path) over all servers (beyond it: 5.00).
    pub max_attribute_entries: usize,
    /// Resource Instances of one Multiple-Instance Resource (a Write beyond it: 5.00).
    pub max_resource_instances: usize,
    /// The format of a Read answer when the request has no Accept option.
    pub default_format: Format,
    /// The client is registered as LwM2M 1.0 (the [`crate::Engine`] sets this from the
    /// `lwm2m` version it registers with). Two things follow, both for 1.0-era servers such
    /// as lwm2m-node-lib:
    /// - Content-Format 1541 is taken as text/plain (0) on Write and Execute. 1541 is the
    ///   `application/vnd.oma.lwm2m+text` number of the LwM2M 1.0 candidate drafts (1541–1544
    ///   for text, TLV, JSON, opaque; TS 1.0 final registered 0, 11542, 11543, 42). The number
    ///   belongs to no other format, but no 1.1 or 1.2 server has a reason to send it: those
    ///   clients answer it with 4.15 as any unknown format.
    /// - A Read or Observe of a single resource without Accept is answered as text/plain
    ///   instead of [`Self::default_format`]: SenML and LwM2M CBOR are 1.1 / 1.2 formats a
    ///   1.0 server need not know (node-coap even throws on the number), and text is the
    ///   single-resource format every version has (TS 1.0 §6.4, TS 1.2 Core §7.3).
    pub lwm2m_1_0: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            max_instances: 16,
            max_attribute_entries: 64,
            max_resource_instances: 32,
            default_format: Format::SenmlCbor,
            lwm2m_1_0: false,
        }
    }
}

/// The sans-IO LwM2M client core.
///
/// Call order: build it with [`Client::new`], register the Device Object and the
/// application's objects ([`Client::register`]), load the factory bootstrap
/// configuration ([`Client::bootstrap_write`]); then, for each request the transport
/// layer receives, map the peer's identity to a [`Requester`] ([`Client::requester_for`])
/// and answer with [`Client::handle`]. The observation layer asks
/// [`Client::notification_decision`] when a value changes or a timer fires.
pub struct Client {
    pub(crate) config: ClientConfig,
    pub(crate) defs: ObjectRegistry,
    pub(crate) security: DataObject,
    pub(crate) servers: DataObject,
    pub(crate) acl: DataObject,
    pub(crate) oscore: DataObject,
    pub(crate) objects: BTreeMap<u16, Box<dyn Object>>,
    pub(crate) access: AccessControl,
    pub(crate) attributes: BTreeMap<(u16, Path), NotificationAttributes>,
    /// The objects may have changed behind the model's back ([`Client::object_mut`]).
    pub(crate) access_dirty: bool,
    /// What servers asked for that the registration layer acts on ([`Client::take_triggers`]).
    pub(crate) triggers: Vec<Trigger>,
}

/// Something a server's request asked of the registration layer (LwM2M TS 1.2 Core §6.2,
/// §6.1), taken with [`Client::take_triggers`] and handed to
/// [`crate::registration::Registrar::handle_timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// /1/x/8 "Registration Update Trigger" executed by this server.
    RegistrationUpdate(ShortServerId),
    /// /1/x/9 "Bootstrap-Request Trigger" executed (LightweightM2M-BsR-002).
    BootstrapRequest(ShortServerId),
    /// /1/x/4 "Disable" executed: de-register and stay away for /1/x/5 seconds.
    Disable(ShortServerId),
    /// The Bootstrap-Server sent a Bootstrap-Finish that the client accepted.
    BootstrapFinished,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("objects", &self.object_ids())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the built-in core object definitions (0, 1, 2, 3, 4, 5, 21), empty
    /// Security, Server, Access Control and OSCORE objects, and nothing else.
    pub fn new(config: ClientConfig) -> Client {
        Client {
            config,
            defs: ObjectRegistry::with_builtin(),
            security: DataObject::new(),
            servers: DataObject::new(),
            acl: DataObject::new(),
            oscore: DataObject::new(),
            objects: BTreeMap::new(),
            access: AccessControl::new(),
            attributes: BTreeMap::new(),
            access_dirty: false,
            triggers: Vec::new(),
        }
    }

    /// Adds or replaces an object definition (a DDF file loaded by the application).
    pub fn define(&mut self, def: ObjectDef) {
        self.defs.insert(def);
    }

    /// Loads the object definitions of a DDF XML document (LwM2M TS 1.2 Core Appendix D
    /// object definition files) and returns their IDs.
    ///
    /// # Errors
    /// [`Error::Definition`] when the document is not a valid DDF file.
    #[cfg(feature = "std")]
    pub fn define_ddf(&mut self, xml: &str) -> Result<Vec<u16>, Error> {
        let defs = mote_lwm2m::ddf::parse(xml).map_err(Error::Definition)?;
        let ids = defs.iter().map(|d| d.id).collect();
        for d in defs {
            self.defs.insert(d);
        }
        Ok(ids)
    }

    /// The object definitions in use.
    pub fn definitions(&self) -> &ObjectRegistry {
        &self.defs
    }

    /// Registers the implementation of object `id` (the Device Object /3, Firmware Update
    /// /5, or an application object); its definition must be known.
    ///
    /// # Errors
    /// [`Error::UnknownObject`] without a definition; [`Error::DuplicateObject`] for the
    /// objects the crate keeps itself (0, 1, 2, 21) or an ID registered twice.
    pub fn register(&mut self, id: u16, object: Box<dyn Object>) -> Result<(), Error> {
        if self.defs.object(id).is_none() {
            return Err(Error::UnknownObject(id));
        }
        if matches!(id, SECURITY | SERVER | ACCESS_CONTROL | OSCORE)
            || self.objects.contains_key(&id)
        {
            return Err(Error::DuplicateObject(id));
        }
        self.objects.insert(id, object);
        self.rebuild_access();
        Ok(())
    }

    /// The IDs of every object present, ascending.
    pub fn object_ids(&self) -> Vec<u16> {
        // The registered objects come ascending: the crate's own go in at their place
        // (no sort linked).
        let mut ids: Vec<u16> = Vec::new();
        for id in self.objects.keys() {
            ids.push(*id);
        }
        for id in [SECURITY, SERVER, ACCESS_CONTROL, OSCORE] {
            insert_sorted(&mut ids, id);
        }
        ids
    }

    /// Object `id` (the crate's own /0, /1, /2, /21 or a registered one), without access
    /// control: the application's view.
    pub fn object(&self, id: u16) -> Option<&dyn Object> {
        match id {
            SECURITY => Some(&self.security),
            SERVER => Some(&self.servers),
            ACCESS_CONTROL => Some(&self.acl),
            OSCORE => Some(&self.oscore),
            _ => self.objects.get(&id).map(|o| &**o as &dyn Object),
        }
    }

    /// Object `id`, mutable, without access control (the application's own changes:
    /// sensor values, instances it creates). The access-control model is rebuilt from the
    /// objects before the next request is handled.
    pub fn object_mut(&mut self, id: u16) -> Option<&mut dyn Object> {
        self.access_dirty = true;
        match id {
            SECURITY => Some(&mut self.security),
            SERVER => Some(&mut self.servers),
            ACCESS_CONTROL => Some(&mut self.acl),
            OSCORE => Some(&mut self.oscore),
            _ => self
                .objects
                .get_mut(&id)
                .map(|o| &mut **o as &mut dyn Object),
        }
    }

    /// The registered object `id` as its concrete type (e.g.
    /// `client.object_as::<FirmwareUpdate<MyHooks>>(5)` to report a download or an
    /// installation outcome); `None` for another type or an object that does not offer
    /// [`Object::as_any_mut`].
    pub fn object_as<T: 'static>(&mut self, id: u16) -> Option<&mut T> {
        self.access_dirty = true;
        self.objects.get_mut(&id)?.as_any_mut()?.downcast_mut::<T>()
    }

    /// The triggers the requests handled since the last call set (Execute of /1/x/4, /1/x/8,
    /// /1/x/9; an accepted Bootstrap-Finish), oldest first.
    pub fn take_triggers(&mut self) -> Vec<Trigger> {
        core::mem::take(&mut self.triggers)
    }

    /// The access-control model derived from the Server and Access Control objects.
    pub fn access_control(&self) -> &AccessControl {
        &self.access
    }

    /// Reads one value (no access control: for the application).
    pub fn value(&self, path: &Path) -> Option<Value> {
        let ids = path.ids();
        let (o, i, r) = (*ids.first()?, *ids.get(1)?, *ids.get(2)?);
        match self.object(o)?.read(i, r).ok()? {
            ResourceData::Single(v) if ids.len() == 3 => Some(v),
            ResourceData::Multiple(m) => m.get(ids.get(3)?).cloned(),
            ResourceData::Single(_) => None,
        }
    }

    /// Rebuilds the mote-access model from /1 (server accounts), every object's instances
    /// and /2 (ACL instances): the model is a view of the stored objects, never a second
    /// copy that could drift (LwM2M TS 1.2 Core §7.3 "Access Control").
    pub(crate) fn rebuild_access(&mut self) {
        self.access_dirty = false;
        let mut ac = AccessControl::new();
        for (_, inst) in self.servers.iter() {
            if let Some(ssid) = int(inst.get(&0)) {
                let _ = ac.add_server(ShortServerId(ssid));
                // /1/x/23 Mute Send (TS 1.2 Core §6.5 "Send Operation").
                let mute = matches!(
                    inst.get(&23),
                    Some(ResourceData::Single(Value::Boolean(true)))
                );
                let _ = ac.set_mute_send(ShortServerId(ssid), mute);
            }
        }
        // Every object's instances but those of /0, /2 and /21, in ascending object order
        // as `object_ids` gives them: /1 first (registered objects are never 0, 1, 2, 21).
        let objects = self
            .objects
            .iter()
            .map(|(id, o)| (*id, &**o as &dyn Object));
        for (id, obj) in core::iter::once((SERVER, &self.servers as &dyn Object)).chain(objects) {
            for i in obj.instances() {
                let _ = ac.insert_instance(id, i);
            }
        }
        for (id, inst) in self.acl.iter() {
            let (Some(o), Some(i)) = (int(inst.get(&0)), int(inst.get(&1))) else {
                continue;
            };
            let owner = Owner::from_u16(int(inst.get(&3)).unwrap_or(mote_access::MAX_ID));
            let mut a = AccessControlInstance::new(o, i, owner);
            if let Some(ResourceData::Multiple(m)) = inst.get(&2) {
                for (ssid, v) in m {
                    if let Some(rights) = v.as_u64().and_then(AccessRights::from_bits) {
                        a = a.with_acl(ShortServerId(*ssid), rights);
                    }
                }
            }
            let _ = ac.insert_acl_instance(id, a);
        }
        self.access = ac;
    }

    // ---- identity -------------------------------------------------------------------

    /// The lookup of the transport layer: an authenticated identity → the /21 or /0
    /// instance holding it → the Bootstrap-Server, or the Short Server ID (/0 resource 10)
    /// of the /1 instance (resource 0) that pairs with it (LwM2M TS 1.2 Core §6.2.1 "LwM2M
    /// Server Account"). Anything else is [`Requester::Unauthenticated`].
    pub fn requester_for(&self, identity: SecurityIdentity<'_>) -> Requester {
        let account = match identity {
            SecurityIdentity::Psk(id) => self.security.iter().find(|(_, s)| {
                // /0/x/2 Security Mode 0 = PSK.
                int(s.get(&2)) == Some(0) && opaque(s.get(&3)) == Some(id)
            }),
            SecurityIdentity::Oscore {
                sender_id,
                recipient_id,
            } => {
                let Some((oscore, _)) = self.oscore.iter().find(|(_, o)| {
                    opaque(o.get(&1)) == Some(sender_id) && opaque(o.get(&2)) == Some(recipient_id)
                }) else {
                    return Requester::Unauthenticated;
                };
                self.security.iter().find(|(_, s)| {
                    matches!(s.get(&17), Some(ResourceData::Single(Value::Objlnk(l)))
                        if l.object == OSCORE && l.instance == oscore)
                })
            }
        };
        let Some((_, sec)) = account else {
            return Requester::Unauthenticated;
        };
        if matches!(
            sec.get(&1),
            Some(ResourceData::Single(Value::Boolean(true)))
        ) {
            return Requester::BootstrapServer;
        }
        match int(sec.get(&10)) {
            Some(ssid) if self.server_instance(ssid).is_some() => {
                Requester::Server(ShortServerId(ssid))
            }
            _ => Requester::Unauthenticated,
        }
    }

    /// The /1 instance whose Short Server ID is `ssid`.
    pub fn server_instance(&self, ssid: u16) -> Option<u16> {
        self.servers
            .iter()
            .find(|(_, s)| int(s.get(&0)) == Some(ssid))
            .map(|(i, _)| i)
    }

    // ---- attributes -----------------------------------------------------------------

    /// The attributes `server` attached to exactly `path` with Write-Attributes.
    pub fn attributes(
        &self,
        server: ShortServerId,
        path: &Path,
    ) -> Option<&NotificationAttributes> {
        self.attributes.get(&(server.0, *path))
    }

    /// The attributes in force for `server` on `path` (LwM2M TS 1.2 Core §5.1.2: an
    /// attribute at Resource (Instance) level overrides the Object Instance's, which
    /// overrides the Object's; pmin / pmax default to /1 resources 2 and 3 of the server's
    /// account).
    pub fn effective_attributes(
        &self,
        server: ShortServerId,
        path: &Path,
    ) -> NotificationAttributes {
        let mut out = NotificationAttributes::default();
        if let Some(inst) = self
            .server_instance(server.0)
            .and_then(|i| self.servers.instance(i))
        {
            out.pmin = int(inst.get(&2)).map(u32::from);
            out.pmax = int(inst.get(&3)).map(u32::from);
        }
        for n in 1..=path.len() {
            if let Some(a) = self.attributes.get(&(server.0, path.truncate(n))) {
                overlay(&mut out, a);
            }
        }
        out
    }

    /// Whether and when `server` must get a notification for `path`, whose value last
    /// notified at `last_time` was `last` and is now `current` (times since the same
    /// arbitrary epoch): [`mote_lwm2m::attributes::evaluate`] over the effective
    /// attributes.
    pub fn notification_decision(
        &self,
        server: ShortServerId,
        path: &Path,
        last: &Value,
        last_time: Duration,
        current: &Value,
        now: Duration,
    ) -> Decision {
        let attrs = self.effective_attributes(server, path);
        evaluate(&attrs, last, last_time.as_secs(), current, now.as_secs())
    }
}

fn overlay(out: &mut NotificationAttributes, a: &NotificationAttributes) {
    macro_rules! take {
        ($($f:ident),*) => { $( if a.$f.is_some() { out.$f = a.$f; } )* };
    }
    take!(pmin, pmax, gt, lt, st, epmin, epmax, edge, con, hqmax);
}

/// Inserts `id` into the ascending `ids` at its place, unless it is there already.
pub(crate) fn insert_sorted(ids: &mut Vec<u16>, id: u16) {
    if let Err(at) = ids.binary_search(&id) {
        ids.insert(at, id);
    }
}

/// A single integer resource value as a 16-bit ID.
pub(crate) fn int(data: Option<&ResourceData>) -> Option<u16> {
    match data? {
        ResourceData::Single(v) => v.as_u64().and_then(|v| u16::try_from(v).ok()),
        ResourceData::Multiple(_) => None,
    }
}

fn opaque(data: Option<&ResourceData>) -> Option<&[u8]> {
    match data? {
        ResourceData::Single(Value::Opaque(b)) => Some(b),
        ResourceData::Single(Value::String(s)) => Some(s.as_bytes()),
        _ => None,
    }
}

/// The CoAP code of a mote-access refusal.
pub(crate) const fn denial_code(code: ResponseCode) -> Code {
    match code {
        ResponseCode::BadRequest => Code::BAD_REQUEST,
        ResponseCode::Unauthorized => Code::UNAUTHORIZED,
        ResponseCode::NotFound => Code::NOT_FOUND,
        ResponseCode::MethodNotAllowed => Code::METHOD_NOT_ALLOWED,
    }
}

impl From<ObjectError> for crate::request::Response {
    fn from(e: ObjectError) -> Self {
        crate::request::Response::diagnostic(e.code(), crate::error::describe(&e))
    }
}
