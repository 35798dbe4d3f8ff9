//! `mote access check`: the authorization decision of `mote-access` for one request, from a
//! JSON state file (docs/cli.md, "mote access check").

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, Grant, ObjectDefinitions, Operation, Owner,
    Requester, ShortServerId, Target,
};
use mote_lwm2m::object::ObjectRegistry;
use serde::Deserialize;

/// `mote access`.
#[derive(Debug, Args)]
pub(crate) struct AccessArgs {
    #[command(subcommand)]
    command: AccessCommand,
}

#[derive(Debug, Subcommand)]
enum AccessCommand {
    /// Decide whether a server (or the Bootstrap-Server) may perform an operation.
    Check(CheckArgs),
}

/// The operation names of the command line (docs/cli.md).
const OPS: [&str; 12] = [
    "read",
    "write",
    "execute",
    "create",
    "delete",
    "discover",
    "observe",
    "write-attributes",
    "read-composite",
    "write-composite",
    "observe-composite",
    "send",
];

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("requester").required(true).args(["server", "bootstrap"])))]
struct CheckArgs {
    /// The client's access-control state (JSON: servers, instances, acl).
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// The Short Server ID of the requesting LwM2M Server.
    #[arg(long, value_name = "SSID")]
    server: Option<u16>,
    /// The request comes from the Bootstrap-Server (Bootstrap Interface).
    #[arg(long)]
    bootstrap: bool,
    /// The operation.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(OPS))]
    op: String,
    /// The target (`/O`, `/O/I`, `/O/I/R`, `/O/I/R/RI`; `/` where accepted); once per target for
    /// composite operations and Send.
    #[arg(long, value_name = "PATH", required = true)]
    path: Vec<String>,
    /// A directory of DDF XML object definitions to use beside the built-in ones.
    #[arg(long, value_name = "DIR")]
    objects: Option<PathBuf>,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
}

/// A server account: a bare Short Server ID, or an object with Mute Send.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ServerEntry {
    Id(u16),
    Account {
        ssid: u16,
        #[serde(default)]
        mute_send: bool,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AclEntry {
    /// The /2 instance ID; defaults to the position in the list.
    #[serde(default)]
    id: Option<u16>,
    object: u16,
    instance: u16,
    #[serde(default)]
    acl: BTreeMap<String, u64>,
    owner: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    servers: Vec<ServerEntry>,
    #[serde(default)]
    instances: Vec<String>,
    #[serde(default)]
    acl: Vec<AclEntry>,
}

pub(crate) fn load_state(text: &str) -> Result<AccessControl> {
    let file: StateFile = serde_json::from_str(text).context("state file is not valid")?;
    let mut ac = AccessControl::new();
    for server in &file.servers {
        let (ssid, mute) = match *server {
            ServerEntry::Id(ssid) => (ssid, false),
            ServerEntry::Account { ssid, mute_send } => (ssid, mute_send),
        };
        ac.add_server(ShortServerId(ssid))?;
        ac.set_mute_send(ShortServerId(ssid), mute)?;
    }
    for path in &file.instances {
        let target: Target = path.parse().with_context(|| format!("instance {path:?}"))?;
        let Target::Instance(object, instance) = target else {
            bail!("instance {path:?} is not an Object Instance path /O/I");
        };
        ac.insert_instance(object, instance)
            .with_context(|| format!("instance {path}"))?;
    }
    for (n, entry) in file.acl.iter().enumerate() {
        let id = match entry.id {
            Some(id) => id,
            None => u16::try_from(n).context("too many /2 instances")?,
        };
        let mut acl =
            AccessControlInstance::new(entry.object, entry.instance, Owner::from_u16(entry.owner));
        for (key, bits) in &entry.acl {
            let ssid: u16 = key
                .parse()
                .with_context(|| format!("/2/{id}: ACL key {key:?} is not a Short Server ID"))?;
            let rights = AccessRights::from_bits(*bits)
                .ok_or(mote_access::Error::InvalidRights(*bits))
                .with_context(|| format!("/2/{id}: ACL entry {key}"))?;
            acl.set_acl(ShortServerId(ssid), rights);
        }
        ac.insert_acl_instance(id, acl)
            .with_context(|| format!("/2/{id}"))?;
    }
    Ok(ac)
}

pub(crate) fn load_objects(dir: Option<&PathBuf>) -> Result<ObjectRegistry> {
    let mut registry = ObjectRegistry::with_builtin();
    if let Some(dir) = dir {
        let defs = mote_lwm2m::ddf::load_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .map_err(|(file, err)| anyhow::anyhow!("{}: {err}", file.display()))?;
        for def in defs {
            registry.insert(def);
        }
    }
    Ok(registry)
}

/// The decision as (allowed, code, reason).
pub(crate) fn decide<D: ObjectDefinitions>(
    ac: &AccessControl,
    defs: &D,
    requester: Requester,
    op: Operation,
    targets: &[Target],
) -> Result<(bool, Option<&'static str>, String)> {
    let denied = |d: mote_access::Denial| (false, Some(d.code.as_str()), d.reason.to_string());
    if op.is_composite() {
        return Ok(match ac.authorize_composite(defs, requester, op, targets) {
            Ok(grant) => {
                let ignored: Vec<String> = targets
                    .iter()
                    .zip(&grant.targets)
                    .filter(|(_, g)| g.is_none())
                    .map(|(t, _)| t.to_string())
                    .collect();
                let reason = if ignored.is_empty() {
                    format!("{op} allowed on every target")
                } else {
                    format!("{op} allowed; ignored targets: {}", ignored.join(", "))
                };
                (true, None, reason)
            }
            Err(d) => denied(d),
        });
    }
    let [target] = targets else {
        bail!("{op} takes exactly one --path (only composite operations and send take several)");
    };
    Ok(match ac.authorize(defs, requester, op, target) {
        Ok(Grant::Full) => (true, None, format!("{op} allowed on {target}")),
        Ok(Grant::ReadableResources) => (
            true,
            None,
            format!("{op} allowed on {target}; Resources that do not support Read are left out"),
        ),
        Ok(Grant::ReadableInstances) => {
            let instances: Vec<String> = match requester {
                Requester::Server(s) => target
                    .object()
                    .map(|o| {
                        ac.readable_instances(s, o)
                            .map(|i| format!("/{o}/{i}"))
                            .collect()
                    })
                    .unwrap_or_default(),
                Requester::Bootstrap => Vec::new(),
            };
            let list = if instances.is_empty() {
                "none".to_string()
            } else {
                instances.join(", ")
            };
            (
                true,
                None,
                format!("{op} allowed on {target}; readable instances: {list}"),
            )
        }
        Err(d) => denied(d),
    })
}

pub(crate) fn run(args: &AccessArgs) -> Result<()> {
    match &args.command {
        AccessCommand::Check(check) => run_check(check),
    }
}

fn run_check(args: &CheckArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.state)
        .with_context(|| format!("reading {}", args.state.display()))?;
    let ac = load_state(&text)?;
    let registry = load_objects(args.objects.as_ref())?;
    let op: Operation = args
        .op
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown operation {}", args.op))?;
    let targets = args
        .path
        .iter()
        .map(|p| p.parse::<Target>().with_context(|| format!("path {p:?}")))
        .collect::<Result<Vec<_>>>()?;
    // docs/cli.md: the composite operations and send take --path once per target. A second --path for any
    // other operation is a command-line mistake, not a rejected input: usage error, exit 2.
    if !op.is_composite() && targets.len() != 1 {
        clap::Error::raw(
            clap::error::ErrorKind::TooManyValues,
            format!(
                "--op {} takes exactly one --path (only the composite operations and send take several)\n",
                args.op
            ),
        )
        .exit();
    }
    let requester = match args.server {
        Some(ssid) => Requester::Server(ShortServerId(ssid)),
        None => Requester::Bootstrap,
    };
    let (allowed, code, reason) = decide(&ac, &registry, requester, op, &targets)?;
    if args.json {
        let out = serde_json::json!({ "allowed": allowed, "code": code, "reason": reason });
        println!("{out}");
    } else if allowed {
        println!("allowed: {reason}");
    } else {
        println!("denied: {} {reason}", code.unwrap_or(""));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_state_example_loads() {
        let ac = load_state(
            r#"{"servers":[101,102],
                "instances":["/3/0","/5/0"],
                "acl":[{"object":3,"instance":0,"acl":{"102":1},"owner":101},
                       {"object":5,"instance":65535,"acl":{"102":16},"owner":65535}]}"#,
        )
        .unwrap();
        assert_eq!(ac.servers().count(), 2);
        assert_eq!(ac.rights(ShortServerId(102), 3, 0), AccessRights::READ);
        assert_eq!(
            ac.create_rights(ShortServerId(102), 5),
            AccessRights::CREATE
        );
    }

    #[test]
    fn bad_states_are_rejected() {
        for bad in [
            r#"{"servers":[0]}"#,
            r#"{"servers":[101],"instances":["/3"]}"#,
            r#"{"servers":[101],"acl":[{"object":3,"instance":0,"acl":{"x":1},"owner":101}]}"#,
            r#"{"servers":[101],"acl":[{"object":3,"instance":0,"acl":{"101":32},"owner":101}]}"#,
            r#"{"servers":[101],"acl":[{"object":0,"instance":0,"owner":101}]}"#,
            r#"{"servers":[101],"extra":1}"#,
        ] {
            assert!(load_state(bad).is_err(), "{bad}");
        }
    }
}
