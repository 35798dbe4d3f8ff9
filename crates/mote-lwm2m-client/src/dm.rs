//! Device Management & Service Enablement (LwM2M TS 1.2 Core §6.3; the CoAP mapping of
//! Transport §6.4): Read, Discover, Write, Write-Attributes, Execute, Create, Delete,
//! Read-Composite, Write-Composite, each authorized by mote-access.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mote_access::{Grant, Operation, Requester as AccessRequester, ShortServerId, Target};
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_lwm2m::attributes::LinkAttributes;
use mote_lwm2m::data::ResourceData;
use mote_lwm2m::link::Link;
use mote_lwm2m::object::ObjectDefs;
use mote_lwm2m::value::ResourceType;
use mote_lwm2m::{Format, Path, PathLevel, Record};

use crate::client::{ACCESS_CONTROL, Client, Requester, denial_code};
use crate::error::ObjectError;
use crate::object::parse_execute_arguments;
use crate::request::{BOOTSTRAP_FINISH_PATH, Request, Response};

/// The outcome of a step: a value, or the response that ends the request.
pub(crate) type Step<T> = Result<T, Response>;

/// Content-Format 1541, `application/vnd.oma.lwm2m+text` of the LwM2M 1.0 candidate drafts
/// (see [`crate::ClientConfig::lwm2m_1_0`]).
pub(crate) const PRE_STANDARD_TEXT: ContentFormat = ContentFormat(1541);

/// An error response; its diagnostic payload is `text` with the `diagnostics` feature and
/// empty without it.
pub(crate) fn refuse(code: Code, text: &str) -> Response {
    Response::diagnostic(
        code,
        if cfg!(feature = "diagnostics") {
            text
        } else {
            ""
        },
    )
}

impl Client {
    /// Answers one request of `requester` (LwM2M TS 1.2 Transport §6.4 mapping): GET
    /// (Read / Observe; Discover with Accept: application/link-format), PUT (Write-Replace;
    /// Write-Attributes when it carries only a Uri-Query), POST (Create on an Object,
    /// Partial Update on an Instance, Execute on a Resource; Bootstrap-Finish on `/bs`),
    /// DELETE, FETCH (Read-Composite), iPATCH (Write-Composite). The Bootstrap-Server's
    /// requests are Bootstrap Interface operations; an unauthenticated requester gets 4.01
    /// for everything.
    pub fn handle(&mut self, requester: Requester, request: &Request) -> Response {
        if self.access_dirty {
            self.rebuild_access();
        }
        let result = match requester {
            Requester::Unauthenticated => Err(refuse(
                Code::UNAUTHORIZED,
                "no LwM2M Server account for this peer",
            )),
            Requester::BootstrapServer if cfg!(feature = "bootstrap-interface") => {
                self.bootstrap(request)
            }
            Requester::BootstrapServer => Err(refuse(
                Code::UNAUTHORIZED,
                "no Bootstrap Interface in this build",
            )),
            Requester::Server(ssid) => self.management(ssid, request),
        };
        result.unwrap_or_else(|r| r)
    }

    fn management(&mut self, ssid: ShortServerId, req: &Request) -> Step<Response> {
        if req.uri_path.first().map(|s| s.as_str()) == Some(BOOTSTRAP_FINISH_PATH) {
            return Err(refuse(
                Code::UNAUTHORIZED,
                "Bootstrap-Finish from a management server",
            ));
        }
        let path = req
            .path()
            .map_err(|_| refuse(Code::NOT_FOUND, "Uri-Path is not an LwM2M path"))?;
        match req.code {
            Code::GET if req.accept == Some(ContentFormat::LINK_FORMAT) => {
                self.discover(ssid, &path, req)
            }
            Code::GET => self.read(ssid, &path, req),
            Code::PUT if req.payload.is_empty() && req.content_format.is_none() => {
                if req.uri_query.is_empty() {
                    Err(refuse(Code::BAD_REQUEST, "Write without payload"))
                } else {
                    self.write_attributes(ssid, &path, req)
                }
            }
            Code::PUT if !req.uri_query.is_empty() => Err(refuse(
                Code::BAD_REQUEST,
                "Write-Attributes carries no payload; Write carries no Uri-Query",
            )),
            Code::PUT => self.write(ssid, &path, req, true),
            Code::POST => match path.level() {
                PathLevel::Object => self.create(ssid, &path, req),
                PathLevel::Instance => self.write(ssid, &path, req, false),
                PathLevel::Resource
                    if req
                        .content_format
                        .is_some_and(|c| c != ContentFormat::TEXT_PLAIN)
                        && self
                            .defs
                            .resource_at(&path)
                            .is_some_and(|d| d.multiple && !d.operations.executable()) =>
                {
                    self.write(ssid, &path, req, false)
                }
                PathLevel::Resource => self.execute(ssid, &path, req),
                _ => Err(refuse(Code::METHOD_NOT_ALLOWED, "POST on this level")),
            },
            Code::DELETE => self.delete(ssid, &path),
            // Without the `composite` feature these fall through to 4.05.
            Code::FETCH if cfg!(feature = "composite") => self.read_composite(ssid, req),
            Code::IPATCH if cfg!(feature = "composite") => self.write_composite(ssid, req),
            _ => Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                "method not mapped by the TS",
            )),
        }
    }

    pub(crate) fn authorize(
        &self,
        requester: AccessRequester,
        operation: Operation,
        path: &Path,
    ) -> Step<Grant> {
        self.access
            .authorize(&self.defs, requester, operation, &Target::from(path))
            .map_err(|d| Response::diagnostic(denial_code(d.code), crate::error::describe(&d)))
    }

    /// The format of a Read answer: the Accept option (4.06 when it is not a data format)
    /// or the configured default.
    pub(crate) fn accept(&self, req: &Request) -> Step<Format> {
        match req.accept {
            None => Ok(self.config.default_format),
            Some(cf) => Format::from_content_format(cf)
                .ok_or_else(|| refuse(Code::NOT_ACCEPTABLE, "unsupported Accept")),
        }
    }

    /// The format of a request payload (4.15 when it is not a data format).
    pub(crate) fn content_format(&self, req: &Request) -> Step<Format> {
        let cf = req
            .content_format
            .ok_or_else(|| refuse(Code::BAD_REQUEST, "payload without Content-Format"))?;
        if cf == PRE_STANDARD_TEXT && self.config.lwm2m_1_0 {
            return Ok(Format::Text);
        }
        Format::from_content_format(cf).ok_or_else(|| {
            refuse(
                Code::UNSUPPORTED_CONTENT_FORMAT,
                "unsupported Content-Format",
            )
        })
    }

    /// Decodes the payload for `base` and checks every record against the definitions.
    pub(crate) fn decode(&self, req: &Request, base: &Path) -> Step<Vec<Record>> {
        let format = self.content_format(req)?;
        let records = mote_lwm2m::decode(format, base, &req.payload, &self.defs)
            .map_err(|e| refuse(Code::BAD_REQUEST, &crate::error::describe(&e)))?;
        for r in &records {
            if !r.path.starts_with(base) {
                return Err(refuse(Code::BAD_REQUEST, "record outside the request path"));
            }
            let def = self
                .defs
                .resource_at(&r.path)
                .ok_or_else(|| refuse(Code::NOT_FOUND, "no such resource"))?;
            let multiple_path = r.path.len() == 4;
            if multiple_path != def.multiple {
                return Err(refuse(
                    Code::BAD_REQUEST,
                    "resource instance shape mismatch",
                ));
            }
            def.check(&r.path, &r.value)
                .map_err(|e| refuse(Code::BAD_REQUEST, &crate::error::describe(&e)))?;
        }
        Ok(records)
    }

    pub(crate) fn encode(&self, format: Format, base: &Path, records: &[Record]) -> Step<Response> {
        let payload = mote_lwm2m::encode(format, base, records)
            .map_err(|e| refuse(Code::NOT_ACCEPTABLE, &crate::error::describe(&e)))?;
        Ok(Response::content(
            Code::CONTENT,
            format.content_format(),
            payload,
        ))
    }

    /// The records of `path` under `grant` (`server` decides which instances a
    /// [`Grant::ReadableInstances`] keeps; `None`: all, for the Bootstrap-Server).
    pub(crate) fn collect(
        &self,
        path: &Path,
        grant: Grant,
        server: Option<ShortServerId>,
    ) -> Result<Vec<Record>, ObjectError> {
        let ids = path.ids();
        let mut out = Vec::new();
        let Some(&o) = ids.first() else {
            for id in self.object_ids() {
                let p = Path::new(&[id]).map_err(|_| ObjectError::NotFound)?;
                out.extend(self.collect(&p, grant, server)?);
            }
            return Ok(out);
        };
        let obj = self.object(o).ok_or(ObjectError::NotFound)?;
        let readable = |r: u16| {
            self.defs
                .object(o)
                .and_then(|d| d.resource(r))
                .is_some_and(|d| d.operations.readable())
        };
        let mut push = |i: u16, r: u16, data: ResourceData, ri: Option<u16>| match data {
            ResourceData::Single(v) => {
                if let Ok(p) = Path::new(&[o, i, r]) {
                    out.push(Record::new(p, v));
                }
            }
            ResourceData::Multiple(m) => {
                for (k, v) in m {
                    if ri.is_none_or(|ri| ri == k) {
                        if let Ok(p) = Path::new(&[o, i, r, k]) {
                            out.push(Record::new(p, v));
                        }
                    }
                }
            }
        };
        match *ids {
            [_] | [_, _] => {
                let instances = match (ids.get(1), grant, server) {
                    (Some(&i), _, _) => {
                        if !obj.instances().contains(&i) {
                            return Err(ObjectError::NotFound);
                        }
                        vec![i]
                    }
                    (None, Grant::ReadableInstances, Some(s)) => {
                        let mut ids = Vec::new();
                        for i in self.access.readable_instances(s, o) {
                            ids.push(i);
                        }
                        ids
                    }
                    (None, _, _) => obj.instances(),
                };
                // Bootstrap-Read and the client itself see every resource; a server's Read
                // leaves out those without R (TS 1.2 Core §6.3.1).
                let filter = server.is_some() || grant != Grant::Full;
                for i in instances {
                    for r in obj.resources(i)? {
                        if filter && !readable(r) {
                            continue;
                        }
                        if let Ok(d) = obj.read(i, r) {
                            push(i, r, d, None);
                        }
                    }
                }
            }
            [_, i, r] => push(i, r, obj.read(i, r)?, None),
            [_, i, r, ri] => match obj.read(i, r)? {
                ResourceData::Multiple(m) if m.contains_key(&ri) => {
                    push(i, r, ResourceData::Multiple(m), Some(ri));
                }
                _ => return Err(ObjectError::NotFound),
            },
            _ => return Err(ObjectError::NotFound),
        }
        Ok(out)
    }

    /// `path` names a Single-Instance Resource the definitions know.
    fn is_single_resource(&self, path: &Path) -> bool {
        path.level() == PathLevel::Resource
            && self.defs.resource_at(path).is_some_and(|d| !d.multiple)
    }

    fn read(&mut self, ssid: ShortServerId, path: &Path, req: &Request) -> Step<Response> {
        let op = if req.observe == Some(0) {
            Operation::Observe
        } else {
            Operation::Read
        };
        let grant = self.authorize(AccessRequester::Server(ssid), op, path)?;
        let format = match req.accept {
            // A 1.0 server that names no format (lwm2m-node-lib's defaults) gets plain text,
            // the single-resource format of every version, not a 1.1 / 1.2 format it may not
            // parse (ClientConfig::lwm2m_1_0).
            None if self.config.lwm2m_1_0 && self.is_single_resource(path) => Format::Text,
            _ => self.accept(req)?,
        };
        let records = self
            .collect(path, grant, Some(ssid))
            .map_err(Response::from)?;
        self.encode(format, path, &records)
    }

    fn discover(&mut self, ssid: ShortServerId, path: &Path, req: &Request) -> Step<Response> {
        self.authorize(AccessRequester::Server(ssid), Operation::Discover, path)?;
        // TS 1.2 Core §5.4.2 / §6.3.2: the `depth` parameter; by default an Object lists its
        // instances and their resources, an instance its resources, a resource itself.
        let mut depth = match path.level() {
            PathLevel::Object => 2,
            PathLevel::Instance => 1,
            _ => 0,
        };
        for q in &req.uri_query {
            match q.split_once('=') {
                Some(("depth", v)) => {
                    depth = v
                        .parse::<usize>()
                        .ok()
                        .filter(|d| *d <= 3)
                        .ok_or_else(|| refuse(Code::BAD_REQUEST, "depth is 0..3"))?;
                }
                _ => return Err(refuse(Code::BAD_REQUEST, "unknown Discover parameter")),
            }
        }
        let ids = path.ids();
        let (&o, obj) = match ids.first() {
            Some(o) => (
                o,
                self.object(*o)
                    .ok_or_else(|| refuse(Code::NOT_FOUND, "no object"))?,
            ),
            None => return Err(refuse(Code::METHOD_NOT_ALLOWED, "Discover on /")),
        };
        let attrs = |p: &Path| {
            self.attributes
                .get(&(ssid.0, *p))
                .cloned()
                .unwrap_or_default()
        };
        let link = |p: Path| Link {
            path: p,
            attributes: LinkAttributes {
                notification: attrs(&p),
                ..LinkAttributes::default()
            },
        };
        let mut links = vec![link(*path)];
        let dim_link = |i: u16, r: u16, links: &mut Vec<Link>, with_instances: bool| {
            let p = resource_path(o, i, r);
            let mut l = link(p);
            if let Ok(ResourceData::Multiple(m)) = obj.read(i, r) {
                l.attributes.dim = u8::try_from(m.len()).ok();
                links.push(l);
                if with_instances {
                    for k in m.keys() {
                        if let Ok(rp) = p.child(*k) {
                            links.push(link(rp));
                        }
                    }
                }
            } else {
                links.push(l);
            }
        };
        match *ids {
            [_] if depth >= 1 => {
                for i in obj.instances() {
                    links.push(link(instance_path(o, i)));
                    if depth >= 2 {
                        for r in obj.resources(i).map_err(Response::from)? {
                            dim_link(i, r, &mut links, depth >= 3);
                        }
                    }
                }
            }
            [_, i] if depth >= 1 => {
                for r in obj.resources(i).map_err(Response::from)? {
                    dim_link(i, r, &mut links, depth >= 2);
                }
            }
            [_, i, r] => {
                links.clear();
                obj.read(i, r).map_err(Response::from)?;
                dim_link(i, r, &mut links, depth >= 1);
            }
            _ => {}
        }
        let text = mote_lwm2m::link::write(&links, "/")
            .map_err(|e| refuse(Code::INTERNAL_SERVER_ERROR, &crate::error::describe(&e)))?;
        Ok(Response::content(
            Code::CONTENT,
            ContentFormat::LINK_FORMAT,
            text.into_bytes(),
        ))
    }

    fn write(
        &mut self,
        ssid: ShortServerId,
        path: &Path,
        req: &Request,
        replace: bool,
    ) -> Step<Response> {
        let requester = AccessRequester::Server(ssid);
        self.authorize(requester, Operation::Write, path)?;
        let records = self.decode(req, path)?;
        if records.is_empty() {
            return Err(refuse(Code::BAD_REQUEST, "Write without values"));
        }
        let conveyed = resource_ids(&records);
        self.access
            .authorize_write(&self.defs, requester, &Target::from(path), &conveyed)
            .map_err(|d| Response::diagnostic(denial_code(d.code), crate::error::describe(&d)))?;
        self.apply(path, &records, replace)
            .map_err(Response::from)?;
        Ok(Response::new(Code::CHANGED))
    }

    /// Writes records below `path`: Replace (PUT) replaces each conveyed resource and, on
    /// an Object Instance, removes the resources the payload does not carry (TS 1.2 Core
    /// §6.3.3); Partial Update (POST) adds or updates resource instances.
    pub(crate) fn apply(
        &mut self,
        path: &Path,
        records: &[Record],
        replace: bool,
    ) -> Result<(), ObjectError> {
        let groups = group(records);
        let Some(&o) = path.ids().first() else {
            return Err(ObjectError::MethodNotAllowed);
        };
        // Replace removes only what the writer could have written (the client's read-only
        // resources stay).
        let mut writable: Vec<u16> = Vec::new();
        if let Some(d) = self.defs.object(o) {
            for r in d.resources.iter() {
                if r.operations.writable() {
                    writable.push(r.id);
                }
            }
        }
        let limit = self.config.max_resource_instances;
        let obj = self.object_mut(o).ok_or(ObjectError::NotFound)?;
        let mut touched_instances = Vec::new();
        for ((i, r), data) in &groups {
            let merged = match (data, replace, path.len()) {
                // Partial update, or a write of one resource instance: merge.
                (ResourceData::Multiple(new), false, _)
                | (ResourceData::Multiple(new), true, 4) => {
                    let mut cur = match obj.read(*i, *r) {
                        Ok(ResourceData::Multiple(m)) => m,
                        _ => mote_lwm2m::data::Map::new(),
                    };
                    cur.extend(new.iter().map(|(k, v)| (*k, v.clone())));
                    ResourceData::Multiple(cur)
                }
                _ => data.clone(),
            };
            if matches!(&merged, ResourceData::Multiple(m) if m.len() > limit) {
                return Err(ObjectError::Full {
                    table: "resource instances",
                    limit,
                });
            }
            obj.write(*i, *r, merged)?;
            if !touched_instances.contains(i) {
                touched_instances.push(*i);
            }
        }
        if replace && path.len() == 2 {
            for i in touched_instances {
                for r in obj.resources(i)? {
                    if writable.contains(&r)
                        && groups.binary_search_by_key(&(i, r), |(k, _)| *k).is_err()
                    {
                        obj.remove_resource(i, r)?;
                    }
                }
            }
        }
        if matches!(o, 1 | ACCESS_CONTROL) {
            self.rebuild_access();
        }
        Ok(())
    }

    fn write_attributes(
        &mut self,
        ssid: ShortServerId,
        path: &Path,
        req: &Request,
    ) -> Step<Response> {
        self.authorize(
            AccessRequester::Server(ssid),
            Operation::WriteAttributes,
            path,
        )?;
        let key = (ssid.0, *path);
        let mut attrs = self.attributes.get(&key).cloned().unwrap_or_default();
        attrs
            .apply_query(&req.query())
            .map_err(|e| refuse(Code::BAD_REQUEST, &crate::error::describe(&e)))?;
        // TS 1.2 Core §5.1.2: gt / lt / st apply to numeric Resources, edge to boolean ones;
        // on an Object or Object Instance they are meaningless.
        let kind = self
            .defs
            .resource_at(path)
            .map(|d| d.kind)
            .filter(|_| path.len() >= 3);
        let numeric = matches!(
            kind,
            Some(
                ResourceType::Integer
                    | ResourceType::UnsignedInteger
                    | ResourceType::Float
                    | ResourceType::Time
            )
        );
        if (attrs.gt.is_some() || attrs.lt.is_some() || attrs.st.is_some()) && !numeric {
            return Err(refuse(
                Code::BAD_REQUEST,
                "gt, lt and st need a numeric Resource",
            ));
        }
        if attrs.edge.is_some() && kind != Some(ResourceType::Boolean) {
            return Err(refuse(Code::BAD_REQUEST, "edge needs a Boolean Resource"));
        }
        // pmax below pmin is accepted and ignored when evaluating (§5.1.2: "MUST be
        // ignored"), see `NotificationAttributes::effective_pmax`.
        let empty = attrs == Default::default();
        if empty {
            self.attributes.remove(&key);
        } else {
            if !self.attributes.contains_key(&key)
                && self.attributes.len() >= self.config.max_attribute_entries
            {
                return Err(ObjectError::Full {
                    table: "attribute store",
                    limit: self.config.max_attribute_entries,
                }
                .into());
            }
            self.attributes.insert(key, attrs);
        }
        Ok(Response::new(Code::CHANGED))
    }

    fn execute(&mut self, ssid: ShortServerId, path: &Path, req: &Request) -> Step<Response> {
        self.authorize(AccessRequester::Server(ssid), Operation::Execute, path)?;
        let args = parse_execute_arguments(&req.payload).map_err(Response::from)?;
        let ids = path.ids();
        let (&o, &i, &r) = match (ids.first(), ids.get(1), ids.get(2)) {
            (Some(o), Some(i), Some(r)) => (o, i, r),
            _ => return Err(refuse(Code::METHOD_NOT_ALLOWED, "Execute needs a Resource")),
        };
        if o == crate::client::SERVER {
            // TS 1.2 Core §6.2 / §6.1: the executable /1 Resources act on the registration
            // layer, which takes them from `Client::take_triggers`.
            let owner = crate::client::int(self.servers.instance(i).and_then(|x| x.get(&0)))
                .map(ShortServerId);
            let trigger = match (r, owner) {
                (4, Some(s)) => crate::client::Trigger::Disable(s),
                (8, Some(s)) => crate::client::Trigger::RegistrationUpdate(s),
                (9, Some(s)) => crate::client::Trigger::BootstrapRequest(s),
                _ => return Err(refuse(Code::METHOD_NOT_ALLOWED, "not executable")),
            };
            // One pending trigger of each kind per server: a peer repeating an Execute
            // cannot grow the list.
            if !self.triggers.contains(&trigger) {
                self.triggers.push(trigger);
            }
            return Ok(Response::new(Code::CHANGED));
        }
        let obj = self
            .object_mut(o)
            .ok_or_else(|| refuse(Code::NOT_FOUND, "no object"))?;
        obj.execute(i, r, &args).map_err(Response::from)?;
        Ok(Response::new(Code::CHANGED))
    }

    fn create(&mut self, ssid: ShortServerId, path: &Path, req: &Request) -> Step<Response> {
        let requester = AccessRequester::Server(ssid);
        self.authorize(requester, Operation::Create, path)?;
        let o = path.ids().first().copied().unwrap_or(0);
        let records = self.decode(req, path)?;
        let mut instance = None;
        for r in &records {
            let i = r.path.ids().get(1).copied();
            if instance.is_some() && instance != i {
                return Err(refuse(Code::BAD_REQUEST, "Create of several instances"));
            }
            instance = i;
        }
        let conveyed = resource_ids(&records);
        let id = self
            .access
            .authorize_create(&self.defs, ssid, o, instance, &conveyed, &[])
            .map_err(|d| Response::diagnostic(denial_code(d.code), crate::error::describe(&d)))?;
        let count = self.object(o).map_or(0, |x| x.instances().len());
        if count >= self.config.max_instances {
            return Err(ObjectError::Full {
                table: "object instances",
                limit: self.config.max_instances,
            }
            .into());
        }
        let acl_id = self.free_instance(ACCESS_CONTROL).ok_or_else(|| {
            Response::from(ObjectError::Full {
                table: "access control instances",
                limit: self.config.max_instances,
            })
        })?;
        let obj = self
            .object_mut(o)
            .ok_or_else(|| refuse(Code::NOT_FOUND, "no object"))?;
        obj.create(id).map_err(Response::from)?;
        let inst_path = instance_path(o, id);
        // mote-access lets a Create carry read-only resources and ignores them: they are
        // the client's to set (TS 1.2 Core §6.3.5 only writes "writable" resources).
        let writable = |r: &Record| {
            self.defs
                .resource_at(&r.path)
                .is_some_and(|d| d.operations.writable())
        };
        let mut kept: Vec<Record> = Vec::new();
        for mut r in records {
            if !writable(&r) {
                continue;
            }
            let mut ids: Vec<u16> = r.path.ids().to_vec();
            if ids.len() < 3 {
                continue;
            }
            if let Some(slot) = ids.get_mut(1) {
                *slot = id;
            }
            if let Ok(path) = Path::new(&ids) {
                r.path = path;
                kept.push(r);
            }
        }
        let records = kept;
        if let Err(e) = self.apply(&inst_path, &records, false) {
            if let Some(obj) = self.object_mut(o) {
                let _ = obj.delete(id);
            }
            return Err(e.into());
        }
        // TS 1.2 Core §7.3.2 (Create): the creating server owns the new instance's /2
        // instance, with no ACL entry (full rights for the owner only).
        if o != ACCESS_CONTROL {
            let mut acl = mote_lwm2m::data::InstanceData::new();
            acl.insert(0, single_int(o));
            acl.insert(1, single_int(id));
            acl.insert(2, ResourceData::Multiple(mote_lwm2m::data::Map::new()));
            acl.insert(3, single_int(ssid.0));
            self.acl.insert(acl_id, acl);
        }
        self.rebuild_access();
        let mut resp = Response::new(Code::CREATED);
        for n in [o, id] {
            let mut s = String::new();
            crate::request::push_decimal(&mut s, u64::from(n));
            resp.location_path.push(s);
        }
        Ok(resp)
    }

    pub(crate) fn free_instance(&self, object: u16) -> Option<u16> {
        let obj = self.object(object)?;
        let used = obj.instances();
        if used.len() >= self.config.max_instances {
            return None;
        }
        (0..u16::MAX).find(|i| !used.contains(i))
    }

    fn delete(&mut self, ssid: ShortServerId, path: &Path) -> Step<Response> {
        self.authorize(AccessRequester::Server(ssid), Operation::Delete, path)?;
        let ids = path.ids();
        let (&o, &i) = match (ids.first(), ids.get(1)) {
            (Some(o), Some(i)) if ids.len() == 2 => (o, i),
            _ => {
                return Err(refuse(
                    Code::METHOD_NOT_ALLOWED,
                    "Delete needs an Object Instance",
                ));
            }
        };
        self.delete_instance(o, i).map_err(Response::from)?;
        Ok(Response::new(Code::DELETED))
    }

    /// Deletes an instance and the /2 instance that controls it.
    pub(crate) fn delete_instance(&mut self, o: u16, i: u16) -> Result<(), ObjectError> {
        self.object_mut(o).ok_or(ObjectError::NotFound)?.delete(i)?;
        let orphan: Vec<u16> = self
            .acl
            .iter()
            .filter(|(_, a)| {
                crate::client::int(a.get(&0)) == Some(o) && crate::client::int(a.get(&1)) == Some(i)
            })
            .map(|(id, _)| id)
            .collect();
        for id in orphan {
            let _ = crate::object::Object::delete(&mut self.acl, id);
        }
        self.attributes
            .retain(|(_, p), _| !p.starts_with(&instance_path(o, i)));
        self.rebuild_access();
        Ok(())
    }

    fn read_composite(&mut self, ssid: ShortServerId, req: &Request) -> Step<Response> {
        if !req.uri_path.is_empty() {
            return Err(refuse(Code::METHOD_NOT_ALLOWED, "Read-Composite targets /"));
        }
        let paths = match req.content_format {
            #[cfg(feature = "senml-json")]
            Some(ContentFormat::SENML_JSON) | Some(ContentFormat::SENML_ETCH_JSON) => {
                mote_lwm2m::senml::json::decode_paths(&req.payload)
            }
            Some(ContentFormat::SENML_CBOR) | Some(ContentFormat::SENML_ETCH_CBOR) => {
                mote_lwm2m::senml::cbor::decode_paths(&req.payload)
            }
            _ => {
                return Err(refuse(
                    Code::UNSUPPORTED_CONTENT_FORMAT,
                    "Read-Composite needs SenML",
                ));
            }
        }
        .map_err(|e| refuse(Code::BAD_REQUEST, &crate::error::describe(&e)))?;
        let targets: Vec<Target> = paths.iter().map(Target::from).collect();
        let grants = self
            .access
            .authorize_composite(
                &self.defs,
                AccessRequester::Server(ssid),
                Operation::ReadComposite,
                &targets,
            )
            .map_err(|d| Response::diagnostic(denial_code(d.code), crate::error::describe(&d)))?;
        let format = match req.accept {
            Some(_) => self.accept(req)?,
            None => Format::from_content_format(req.content_format.unwrap_or(ContentFormat(0)))
                .unwrap_or(self.config.default_format),
        };
        if !format.is_hierarchical() {
            return Err(refuse(
                Code::NOT_ACCEPTABLE,
                "Read-Composite needs a hierarchical format",
            ));
        }
        let mut records = Vec::new();
        for (p, g) in paths.iter().zip(grants.targets) {
            if let Some(g) = g {
                // TS 1.2 Core §6.3.7: a target that does not exist is left out.
                if let Ok(r) = self.collect(p, g, Some(ssid)) {
                    records.extend(r);
                }
            }
        }
        mote_lwm2m::data::sort_records(&mut records);
        records.dedup_by(|a, b| a.path == b.path);
        self.encode(format, &Path::ROOT, &records)
    }

    fn write_composite(&mut self, ssid: ShortServerId, req: &Request) -> Step<Response> {
        if !req.uri_path.is_empty() {
            return Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                "Write-Composite targets /",
            ));
        }
        let format = self.content_format(req)?;
        if !matches!(
            format,
            Format::SenmlJson | Format::SenmlCbor | Format::LwM2mCbor
        ) {
            return Err(refuse(
                Code::UNSUPPORTED_CONTENT_FORMAT,
                "Write-Composite needs SenML or LwM2M-CBOR",
            ));
        }
        let records = self.decode(req, &Path::ROOT)?;
        let targets: Vec<Target> = records.iter().map(|r| Target::from(r.path)).collect();
        self.access
            .authorize_composite(
                &self.defs,
                AccessRequester::Server(ssid),
                Operation::WriteComposite,
                &targets,
            )
            .map_err(|d| Response::diagnostic(denial_code(d.code), crate::error::describe(&d)))?;
        // Each object gets its records as a partial update (TS 1.2 Core §6.3.8).
        let mut by_object: BTreeMap<u16, Vec<Record>> = BTreeMap::new();
        for r in records {
            if let Some(&o) = r.path.ids().first() {
                by_object.entry(o).or_default().push(r);
            }
        }
        for (o, recs) in by_object {
            let p = Path::new(&[o]).map_err(|_| refuse(Code::BAD_REQUEST, "bad path"))?;
            self.apply(&p, &recs, false).map_err(Response::from)?;
        }
        Ok(Response::new(Code::CHANGED))
    }
}

pub(crate) fn instance_path(o: u16, i: u16) -> Path {
    Path::new(&[o, i]).unwrap_or(Path::ROOT)
}

pub(crate) fn resource_path(o: u16, i: u16, r: u16) -> Path {
    Path::new(&[o, i, r]).unwrap_or(Path::ROOT)
}

fn single_int(v: u16) -> ResourceData {
    ResourceData::Single(mote_lwm2m::Value::Integer(i64::from(v)))
}

fn resource_ids(records: &[Record]) -> Vec<u16> {
    let mut ids = Vec::new();
    for id in records.iter().filter_map(|r| r.path.ids().get(2).copied()) {
        crate::client::insert_sorted(&mut ids, id);
    }
    ids
}

/// Groups records by (instance, resource), ascending: a single value or the resource
/// instances. (A sorted `Vec`: a `BTreeMap` keyed by the pair would link one more B-tree.)
pub(crate) fn group(records: &[Record]) -> Vec<((u16, u16), ResourceData)> {
    let mut out: Vec<((u16, u16), ResourceData)> = Vec::new();
    for r in records {
        let (key, instance) = match *r.path.ids() {
            [_, i, res] => ((i, res), None),
            [_, i, res, ri] => ((i, res), Some(ri)),
            _ => continue,
        };
        let at = match out.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(at) => at,
            Err(at) => {
                out.insert(
                    at,
                    (key, ResourceData::Multiple(mote_lwm2m::data::Map::new())),
                );
                at
            }
        };
        let Some((_, data)) = out.get_mut(at) else {
            continue;
        };
        match (instance, data) {
            // A single value replaces what the key held.
            (None, data) => *data = ResourceData::Single(r.value.clone()),
            (Some(ri), ResourceData::Multiple(m)) => {
                m.insert(ri, r.value.clone());
            }
            // A resource instance after a single value of the same resource is dropped.
            (Some(_), ResourceData::Single(_)) => {}
        }
    }
    out
}
