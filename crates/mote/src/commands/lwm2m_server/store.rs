//! The registration store of `mote lwm2m-server --store FILE`: a write-through cache over a
//! redb database (why redb: `docs/architecture.md`, "Registration store").
//!
//! Every change is one durable redb write transaction (committed with fsync before the
//! registration core answers the client), then applied to the in-memory indexes that serve
//! every read. At start the file is read whole, so a restarted server keeps its clients
//! without a re-registration; their addresses come back with their next message.
//!
//! What is *not* here: the OSCORE Sender Sequence Numbers, which persist next to each
//! context file (RFC 8613 Appendix B.1.1, `crate::context_file`), and the replay windows,
//! which are re-established with Echo after a restart (Appendix B.1.2).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use mote_coap::content_format::ContentFormat;
use mote_lwm2m_server::registration::Binding;
use mote_lwm2m_server::{
    Identity, InMemoryStore, LwM2mVersion, Registration, RegistrationId, RegistrationStore,
    StoreError,
};
use redb::{Database, ReadableTable as _, TableDefinition};
use serde_json::{Value as Json, json};
use tracing::warn;

const REGISTRATIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("registrations");

/// Registrations in memory, written through to a redb file when there is one.
#[derive(Debug)]
pub(crate) struct PersistentStore {
    db: Option<Database>,
    mem: InMemoryStore,
}

impl PersistentStore {
    /// A store that forgets everything at exit.
    pub(crate) fn memory() -> Self {
        Self {
            db: None,
            mem: InMemoryStore::new(),
        }
    }

    /// Opens (or creates) the store file and loads every registration in it.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path)
            .with_context(|| format!("cannot open the store {}", path.display()))?;
        let mut mem = InMemoryStore::new();
        {
            let txn = db.begin_write()?;
            // Creates the table in a new file.
            txn.open_table(REGISTRATIONS)?;
            txn.commit()?;
        }
        let txn = db.begin_read()?;
        let table = txn.open_table(REGISTRATIONS)?;
        for row in table.iter()? {
            let (key, value) = row?;
            let reg = decode(value.value())
                .with_context(|| format!("registration {} in {}", key.value(), path.display()))?;
            mem.insert(reg)
                .map_err(|e| anyhow::anyhow!("registration {}: {e}", key.value()))?;
        }
        Ok(Self { db: Some(db), mem })
    }

    /// One durable transaction: `put` written, `delete` removed.
    fn write(
        &self,
        put: Option<&Registration>,
        delete: &[RegistrationId],
    ) -> Result<(), StoreError> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        let run = || -> Result<(), Box<redb::Error>> {
            let b = |e: redb::Error| Box::new(e);
            let txn = db.begin_write().map_err(|e| b(e.into()))?;
            {
                let mut table = txn.open_table(REGISTRATIONS).map_err(|e| b(e.into()))?;
                for id in delete {
                    table.remove(id.as_str()).map_err(|e| b(e.into()))?;
                }
                if let Some(reg) = put {
                    table
                        .insert(reg.id.as_str(), encode(reg).as_slice())
                        .map_err(|e| b(e.into()))?;
                }
            }
            txn.commit().map_err(|e| b(e.into()))?;
            Ok(())
        };
        run().map_err(|e| {
            warn!(error = %e, "registration store write failed");
            StoreError::Unavailable
        })
    }
}

impl RegistrationStore for PersistentStore {
    fn get(&self, id: &RegistrationId) -> Option<Registration> {
        self.mem.get(id)
    }

    fn get_by_endpoint(&self, endpoint: &str) -> Option<Registration> {
        self.mem.get_by_endpoint(endpoint)
    }

    fn get_by_identity(&self, identity: &Identity) -> Option<Registration> {
        self.mem.get_by_identity(identity)
    }

    fn insert(&mut self, reg: Registration) -> Result<Option<Registration>, StoreError> {
        let old: Vec<RegistrationId> = self
            .mem
            .get_by_endpoint(&reg.endpoint)
            .map(|r| r.id)
            .into_iter()
            .collect();
        self.write(Some(&reg), &old)?;
        self.mem.insert(reg)
    }

    fn update(&mut self, reg: Registration) -> Result<(), StoreError> {
        if self.mem.get(&reg.id).is_none() {
            return Err(StoreError::Gone(reg.id));
        }
        self.write(Some(&reg), &[])?;
        self.mem.update(reg)
    }

    fn remove(&mut self, id: &RegistrationId) -> Option<Registration> {
        self.mem.get(id)?;
        // A failed delete leaves a row that the next start loads and expires.
        let _ = self.write(None, std::slice::from_ref(id));
        self.mem.remove(id)
    }

    fn len(&self) -> usize {
        self.mem.len()
    }

    fn next_expiry(&self) -> Option<Duration> {
        self.mem.next_expiry()
    }

    fn remove_expired(&mut self, now: Duration) -> Vec<Registration> {
        let gone = self.mem.remove_expired(now);
        if !gone.is_empty() {
            let ids: Vec<RegistrationId> = gone.iter().map(|r| r.id.clone()).collect();
            let _ = self.write(None, &ids);
        }
        gone
    }

    fn ids(&self) -> Vec<RegistrationId> {
        self.mem.ids()
    }
}

fn binding_text(b: &Binding) -> String {
    let mut s = String::new();
    for (on, c) in [(b.udp, 'U'), (b.tcp, 'T'), (b.sms, 'S'), (b.non_ip, 'N')] {
        if on {
            s.push(c);
        }
    }
    s
}

/// The registration as the JSON row of the store (times in milliseconds on the server's
/// clock, the Unix time).
fn encode(r: &Registration) -> Vec<u8> {
    let identity = match &r.identity {
        Identity::Oscore(id) => json!({"oscore": hex::encode(id)}),
        Identity::Address(a) => json!({"address": hex::encode(a)}),
        _ => json!("none"),
    };
    let objects = mote_lwm2m::link::write(&r.objects, "/").unwrap_or_default();
    let row = json!({
        "id": r.id.as_str(),
        "endpoint": r.endpoint,
        "identity": identity,
        "lwm2m": r.version.as_str(),
        "lifetime": r.lifetime.as_secs(),
        "binding": binding_text(&r.binding),
        "queue_mode": r.queue_mode,
        "sms": r.sms,
        "pid": r.profile_ids,
        "root": r.root_path,
        "ct": r.content_formats.iter().map(|c| c.0).collect::<Vec<_>>(),
        "objects": objects,
        "registered_at_ms": millis(r.registered_at),
        "last_update_ms": millis(r.last_update),
    });
    row.to_string().into_bytes()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn decode(bytes: &[u8]) -> Result<Registration> {
    let j: Json = serde_json::from_slice(bytes).context("not JSON")?;
    let text = |k: &str| -> Result<String> {
        j[k].as_str()
            .map(str::to_string)
            .with_context(|| format!("missing {k}"))
    };
    let num = |k: &str| -> Result<u64> { j[k].as_u64().with_context(|| format!("missing {k}")) };
    let identity = match &j["identity"] {
        Json::Object(o) => match (o.get("oscore"), o.get("address")) {
            (Some(Json::String(id)), _) => Identity::Oscore(hex::decode(id)?),
            (_, Some(Json::String(a))) => Identity::Address(hex::decode(a)?),
            _ => anyhow::bail!("unknown identity"),
        },
        _ => Identity::None,
    };
    let version = match text("lwm2m")?.as_str() {
        "1.0" => LwM2mVersion::V1_0,
        "1.1" => LwM2mVersion::V1_1,
        _ => LwM2mVersion::V1_2,
    };
    let b = text("binding")?;
    let binding = Binding {
        udp: b.contains('U'),
        tcp: b.contains('T'),
        sms: b.contains('S'),
        non_ip: b.contains('N'),
    };
    let objects = mote_lwm2m::link::parse(&text("objects")?, "/")
        .map_err(|e| anyhow::anyhow!("objects: {e}"))?;
    Ok(Registration {
        id: RegistrationId::from_text(&text("id")?),
        endpoint: text("endpoint")?,
        identity,
        version,
        lifetime: Duration::from_secs(num("lifetime")?),
        binding,
        queue_mode: j["queue_mode"].as_bool().unwrap_or(false),
        sms: j["sms"].as_str().map(str::to_string),
        profile_ids: j["pid"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        root_path: text("root")?,
        content_formats: j["ct"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().and_then(|c| u16::try_from(c).ok()))
                    .map(ContentFormat)
                    .collect()
            })
            .unwrap_or_default(),
        objects,
        registered_at: Duration::from_millis(num("registered_at_ms")?),
        last_update: Duration::from_millis(num("last_update_ms")?),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn reg(id: &str, ep: &str, at: u64) -> Registration {
        Registration {
            id: RegistrationId::from_text(id),
            endpoint: ep.into(),
            identity: Identity::Oscore(vec![1, 2, 3]),
            version: LwM2mVersion::V1_1,
            lifetime: Duration::from_secs(300),
            binding: Binding::UDP,
            queue_mode: true,
            sms: None,
            profile_ids: vec![],
            root_path: "/".into(),
            content_formats: vec![ContentFormat(112)],
            objects: mote_lwm2m::link::parse("</1/0>,</3/0>;ver=1.1", "/").unwrap(),
            registered_at: Duration::from_millis(at),
            last_update: Duration::from_millis(at + 5),
        }
    }

    #[test]
    fn registrations_survive_a_reopen() {
        let dir = std::env::temp_dir().join(format!("mote-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("reg.redb");
        let _ = std::fs::remove_file(&file);
        {
            let mut s = PersistentStore::open(&file).unwrap();
            s.insert(reg("a1", "dev1", 1_000)).unwrap();
            s.insert(reg("b2", "dev2", 2_000)).unwrap();
            // Re-registration of dev1 replaces a1 in the file too.
            s.insert(reg("a3", "dev1", 3_000)).unwrap();
            let mut updated = reg("b2", "dev2", 2_000);
            updated.last_update = Duration::from_millis(9_000);
            s.update(updated).unwrap();
        }
        let s = PersistentStore::open(&file).unwrap();
        let mut ids: Vec<String> = s.ids().iter().map(|i| i.as_str().to_string()).collect();
        ids.sort();
        assert_eq!(ids, ["a3", "b2"]);
        assert_eq!(
            s.get(&RegistrationId::from_text("a3")).unwrap(),
            reg("a3", "dev1", 3_000)
        );
        assert_eq!(
            s.get_by_endpoint("dev2").unwrap().last_update,
            Duration::from_millis(9_000)
        );
        drop(s);
        let mut s = PersistentStore::open(&file).unwrap();
        assert_eq!(s.remove_expired(Duration::from_secs(400)).len(), 2);
        drop(s);
        assert_eq!(PersistentStore::open(&file).unwrap().len(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
