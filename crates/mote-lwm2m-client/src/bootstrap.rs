//! The Bootstrap Interface operations the client answers (LwM2M TS 1.2 Core §6.1, §5.2.7;
//! Transport §6.4.1): Bootstrap-Write, -Read, -Discover, -Delete and -Finish.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use mote_access::{Grant, Operation, Requester as AccessRequester};
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_lwm2m::attributes::LinkAttributes;
use mote_lwm2m::data::ResourceData;
use mote_lwm2m::link::Link;
use mote_lwm2m::object::{ObjectDefs, Version};
use mote_lwm2m::{Path, Record, Value};

use crate::client::{Client, DEVICE, OSCORE, SECURITY, SERVER, int};
use crate::dm::{Step, instance_path, refuse};
use crate::error::{Error, ObjectError, diagnostic};
use crate::request::{BOOTSTRAP_FINISH_PATH, Request, Response};

impl Client {
    pub(crate) fn bootstrap(&mut self, req: &Request) -> Step<Response> {
        if req.uri_path.first().map(String::as_str) == Some(BOOTSTRAP_FINISH_PATH) {
            return match (req.code, req.uri_path.len()) {
                (Code::POST, 1) => self.bootstrap_finish(),
                // Transport §6.4.1 "Response Codes": Bootstrap-Finish, 4.00 "Bad URI provided".
                (Code::POST, _) => Err(refuse(Code::BAD_REQUEST, "Bootstrap-Finish is POST /bs")),
                _ => Err(refuse(
                    Code::METHOD_NOT_ALLOWED,
                    "Bootstrap-Finish is POST /bs",
                )),
            };
        }
        let path = req
            .path()
            .map_err(|_| refuse(Code::NOT_FOUND, "Uri-Path is not an LwM2M path"))?;
        match req.code {
            Code::GET if req.accept == Some(ContentFormat::LINK_FORMAT) => {
                self.authorize(AccessRequester::Bootstrap, Operation::Discover, &path)?;
                self.bootstrap_discover(&path)
            }
            Code::GET => {
                // BsR-001 / TS 1.2 Core §6.1.7.x Bootstrap-Read: /1 and /2 only (mote-access).
                self.authorize(AccessRequester::Bootstrap, Operation::Read, &path)?;
                let format = self.accept(req)?;
                let records = self
                    .collect(&path, Grant::Full, None)
                    .map_err(Response::from)?;
                self.encode(format, &path, &records)
            }
            Code::PUT => {
                self.authorize(AccessRequester::Bootstrap, Operation::Write, &path)?;
                let records = self.decode(req, &path)?;
                self.write_bootstrap(&path, &records)
                    .map_err(Response::from)?;
                Ok(Response::new(Code::CHANGED))
            }
            Code::DELETE => {
                self.authorize(AccessRequester::Bootstrap, Operation::Delete, &path)?;
                self.bootstrap_delete(&path);
                Ok(Response::new(Code::DELETED))
            }
            _ => Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                "not a Bootstrap operation",
            )),
        }
    }

    /// Bootstrap-Write without a request: the factory configuration (or any value the
    /// application provisions), written "regardless of an existence of the targeting
    /// Object Instance(s) or Resource(s) and access rights" (TS 1.2 Core §6.1).
    ///
    /// # Errors
    /// [`Error::Object`] when the object is not registered, a table is full or the
    /// object refuses a value.
    pub fn bootstrap_write(&mut self, path: &Path, records: &[Record]) -> Result<(), Error> {
        self.write_bootstrap(path, records)
            .map_err(|error| Error::Object { path: *path, error })
    }

    fn write_bootstrap(&mut self, path: &Path, records: &[Record]) -> Result<(), ObjectError> {
        for r in records {
            if !r.path.starts_with(path) || r.path.len() < 3 {
                return Err(ObjectError::BadRequest(
                    "record outside the Bootstrap-Write path",
                ));
            }
            let ids = r.path.ids();
            let (o, i) = match (ids.first(), ids.get(1)) {
                (Some(o), Some(i)) => (*o, *i),
                _ => return Err(ObjectError::NotFound),
            };
            let limit = self.config.max_instances;
            let obj = self.object_mut(o).ok_or(ObjectError::NotFound)?;
            let existing = obj.instances();
            if !existing.contains(&i) {
                if existing.len() >= limit {
                    return Err(ObjectError::Full {
                        table: "object instances",
                        limit,
                    });
                }
                obj.create(i)?;
            }
        }
        let replace = path.len() >= 3;
        // Each object's records, objects ascending (no map of record lists linked).
        let mut objects = Vec::new();
        for r in records {
            if let Some(&o) = r.path.ids().first() {
                crate::client::insert_sorted(&mut objects, o);
            }
        }
        for o in objects {
            let mut recs: Vec<Record> = Vec::new();
            for r in records {
                if r.path.ids().first() == Some(&o) {
                    recs.push(r.clone());
                }
            }
            let base = if path.is_root() || path.len() == 1 {
                Path::new(&[o]).map_err(|_| ObjectError::NotFound)?
            } else {
                *path
            };
            self.apply(&base, &recs, replace)?;
        }
        self.rebuild_access();
        Ok(())
    }

    /// Applies a Bootstrap-Pack (TS 1.2 Core §6.1.7.x "Bootstrap-Pack-Request Operation"):
    /// every instance of each Object the pack carries is deleted (the Bootstrap-Server
    /// account and /3/0 excepted), then the pack is written "regardless of a previous
    /// existence"; Resources the client does not know are skipped ("MUST NOT be interpreted
    /// as an error"). Then the configuration is checked as at Bootstrap-Finish.
    ///
    /// # Errors
    /// A diagnostic when the pack is not in a format the client reads, does not decode, or
    /// leaves an inconsistent configuration (the caller then bootstraps with a
    /// Bootstrap-Request, which rewrites it).
    pub fn bootstrap_pack(&mut self, format: ContentFormat, payload: &[u8]) -> Result<(), String> {
        let format = mote_lwm2m::Format::from_content_format(format)
            .filter(|f| f.is_hierarchical())
            .ok_or_else(|| {
                diagnostic(|| format!("no Bootstrap-Pack reader for content format {}", format.0))
            })?;
        let records: Vec<Record> = mote_lwm2m::decode(format, &Path::ROOT, payload, &self.defs)
            .map_err(|e| crate::error::describe(&e))?
            .into_iter()
            .filter(|r| r.path.len() >= 3 && self.defs.resource_at(&r.path).is_some())
            .collect();
        let mut objects = Vec::new();
        for o in records.iter().filter_map(|r| r.path.ids().first().copied()) {
            crate::client::insert_sorted(&mut objects, o);
        }
        for o in objects {
            let path = Path::new(&[o]).map_err(|e| crate::error::describe(&e))?;
            self.bootstrap_delete(&path);
        }
        self.write_bootstrap(&Path::ROOT, &records)
            .map_err(|e| crate::error::describe(&e))?;
        self.check_configuration()
    }

    /// The Bootstrap-Server's own account: its /0 instance (resource 1 true) and the /21
    /// instance its resource 17 links.
    fn bootstrap_account(&self) -> (Option<u16>, Option<u16>) {
        let Some((sec, inst)) = self
            .security
            .iter()
            .find(|(_, s)| matches!(s.get(&1), Some(ResourceData::Single(Value::Boolean(true)))))
        else {
            return (None, None);
        };
        let oscore = match inst.get(&17) {
            Some(ResourceData::Single(Value::Objlnk(l))) if l.object == OSCORE => Some(l.instance),
            _ => None,
        };
        (Some(sec), oscore)
    }

    /// Deletes every instance of object `object` (the Bootstrap-Server account included):
    /// the engine's restore of a stored configuration, which replaces it as a whole.
    pub(crate) fn bootstrap_delete_all(&mut self, object: u16) {
        let instances = self
            .object(object)
            .map(|o| o.instances())
            .unwrap_or_default();
        for i in instances {
            let _ = self.delete_instance(object, i);
        }
        self.rebuild_access();
    }

    /// Bootstrap-Delete (TS 1.2 Core §6.1.7.x): every instance under `path` except the
    /// Bootstrap-Server account (its /0 and linked /21 instance) and /3/0; objects that
    /// cannot delete instances keep them.
    fn bootstrap_delete(&mut self, path: &Path) {
        let (bs_sec, bs_oscore) = self.bootstrap_account();
        let ids = path.ids();
        let objects: Vec<u16> = match ids.first() {
            Some(o) => alloc::vec![*o],
            None => self.object_ids(),
        };
        for o in objects {
            let Some(obj) = self.object(o) else { continue };
            let instances: Vec<u16> = match ids.get(1) {
                Some(i) => alloc::vec![*i],
                None => obj.instances(),
            };
            for i in instances {
                let spared = (o == SECURITY && Some(i) == bs_sec)
                    || (o == OSCORE && Some(i) == bs_oscore)
                    || (o == DEVICE && i == 0);
                if !spared {
                    let _ = self.delete_instance(o, i);
                }
            }
        }
        self.rebuild_access();
        // Attributes of servers whose account is gone go with it.
        let servers: Vec<u16> = self.access.servers().map(|s| s.ssid.0).collect();
        self.attributes
            .retain(|(ssid, _), _| servers.contains(ssid));
    }

    /// Bootstrap-Discover (TS 1.2 Core §5.2.7.3): `</>;lwm2m=1.2`, then each object's
    /// instances (`</O>` when it has none), /0 and /1 instances with `ssid`, /0 with `uri`.
    fn bootstrap_discover(&self, path: &Path) -> Step<Response> {
        let mut links = Vec::new();
        let mut root = Link::new(Path::ROOT);
        root.attributes.lwm2m = Some(Version { major: 1, minor: 2 });
        links.push(root);
        let objects: Vec<u16> = match path.ids().first() {
            Some(o) => alloc::vec![*o],
            None => self.object_ids(),
        };
        for o in objects {
            let Some(obj) = self.object(o) else { continue };
            let instances = obj.instances();
            if instances.is_empty() {
                links.push(Link::new(Path::new(&[o]).unwrap_or(Path::ROOT)));
            }
            for i in instances {
                let mut l = Link::new(instance_path(o, i));
                let mut a = LinkAttributes::default();
                if o == SECURITY {
                    let bs = matches!(
                        obj.read(i, 1),
                        Ok(ResourceData::Single(Value::Boolean(true)))
                    );
                    if !bs {
                        a.ssid = obj.read(i, 10).ok().as_ref().and_then(|d| int(Some(d)));
                    }
                    if let Ok(ResourceData::Single(Value::String(u))) = obj.read(i, 0) {
                        a.uri = Some(u);
                    }
                } else if o == SERVER {
                    a.ssid = obj.read(i, 0).ok().as_ref().and_then(|d| int(Some(d)));
                }
                l.attributes = a;
                links.push(l);
            }
        }
        let text = mote_lwm2m::link::write(&links, "/")
            .map_err(|e| refuse(Code::INTERNAL_SERVER_ERROR, &crate::error::describe(&e)))?;
        Ok(Response::content(
            Code::CONTENT,
            ContentFormat::LINK_FORMAT,
            text.into_bytes(),
        ))
    }

    /// The consistency check of Bootstrap-Finish (TS 1.2 Core §6.1.7.x: "any detected
    /// inconsistency MUST be reported in sending an error response code"; Transport
    /// §6.4.1: 4.06 Not Acceptable "Bootstrap-Finish ... inconsistent configuration").
    ///
    /// # Errors
    /// A diagnostic naming the first inconsistency.
    pub fn check_configuration(&self) -> Result<(), String> {
        let mut accounts = Vec::new();
        for (i, s) in self.security.iter() {
            if matches!(s.get(&1), Some(ResourceData::Single(Value::Boolean(true)))) {
                continue;
            }
            match int(s.get(&10)) {
                Some(ssid) => accounts.push(ssid),
                None => return Err(diagnostic(|| format!("/0/{i} has no Short Server ID"))),
            }
        }
        let mut servers = Vec::new();
        for (i, s) in self.servers.iter() {
            let ssid = int(s.get(&0))
                .ok_or_else(|| diagnostic(|| format!("/1/{i} has no Short Server ID")))?;
            if !accounts.contains(&ssid) {
                return Err(diagnostic(|| {
                    format!("/1/{i} (ssid {ssid}) has no Security Object instance")
                }));
            }
            servers.push(ssid);
        }
        if servers.is_empty() {
            return Err(diagnostic(|| "no LwM2M Server account".into()));
        }
        let mut targets = Vec::new();
        for (id, a) in self.acl.iter() {
            let (Some(o), Some(i)) = (int(a.get(&0)), int(a.get(&1))) else {
                return Err(diagnostic(|| format!("/2/{id} has no target")));
            };
            // One /2 instance per Object Instance (TS 1.2 Core §7.3.1): a second one would
            // make the rights ambiguous.
            if targets.contains(&(o, i)) {
                return Err(diagnostic(|| {
                    format!("/2/{id} is a second ACL for /{o}/{i}")
                }));
            }
            targets.push((o, i));
            if self.defs.object(o).is_none() || self.object(o).is_none() {
                return Err(diagnostic(|| {
                    format!("/2/{id} targets unsupported object {o}")
                }));
            }
            if i != mote_access::MAX_ID
                && self.object(o).is_some_and(|x| !x.instances().contains(&i))
            {
                return Err(diagnostic(|| {
                    format!("/2/{id} targets missing instance /{o}/{i}")
                }));
            }
            if let Some(owner) = int(a.get(&3)) {
                if owner != mote_access::MAX_ID && !servers.contains(&owner) {
                    return Err(diagnostic(|| {
                        format!("/2/{id} is owned by unknown server {owner}")
                    }));
                }
            }
            if let Some(ResourceData::Multiple(m)) = a.get(&2) {
                if let Some(s) = m.keys().find(|s| **s != 0 && !servers.contains(s)) {
                    return Err(diagnostic(|| {
                        format!("/2/{id} has an ACL for unknown server {s}")
                    }));
                }
            }
        }
        for (i, s) in self.security.iter() {
            if let Some(ResourceData::Single(Value::Objlnk(l))) = s.get(&17) {
                if !l.is_null()
                    && (l.object != OSCORE || !self.oscore.instances_contains(l.instance))
                {
                    return Err(diagnostic(|| {
                        format!(
                            "/0/{i} links {}:{} which does not exist",
                            l.object, l.instance
                        )
                    }));
                }
            }
        }
        Ok(())
    }

    fn bootstrap_finish(&mut self) -> Step<Response> {
        self.check_configuration()
            .map_err(|d| Response::diagnostic(Code::NOT_ACCEPTABLE, d))?;
        self.rebuild_access();
        if !self
            .triggers
            .contains(&crate::client::Trigger::BootstrapFinished)
        {
            self.triggers
                .push(crate::client::Trigger::BootstrapFinished);
        }
        Ok(Response::new(Code::CHANGED))
    }
}
