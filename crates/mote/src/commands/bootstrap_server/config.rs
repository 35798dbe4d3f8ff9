//! The `--config FILE` of `mote bootstrap-server`: per Endpoint Client Name, the instances of
//! the Security (/0), Server (/1), Access Control (/2) and OSCORE (/21) Objects to write
//! (LwM2M TS 1.2 Core §E.1, §E.2, §E.3, and the OSCORE Object of §E.11), parsed into the
//! [`BootstrapConfig`] of mote-lwm2m-server. The format is documented with a complete example
//! in `docs/cli.md`.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, anyhow, bail};
use mote_lwm2m::{Format, Path};
use mote_lwm2m_server::BootstrapConfig;
use mote_lwm2m_server::bootstrap::{
    AccessControlInstance, OscoreInstance, SecurityInstance, SecurityMode, ServerInstance,
};
use serde::Deserialize;

use crate::input::parse_hex;

/// The whole file: `{"endpoints": {"NAME": {…}, …}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    endpoints: BTreeMap<String, EndpointPlan>,
}

/// One endpoint's plan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointPlan {
    /// The OSCORE context a Bootstrap-Request for this endpoint must arrive in: the kid the
    /// client sends (the server's Recipient ID, hex) and, when the context has one, its ID
    /// Context (kid context, hex).
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    kid_context: Option<String>,
    /// The write format without `pct`: "tlv" (default), "senml-json", "senml-cbor",
    /// "lwm2m-cbor".
    #[serde(default)]
    format: Option<String>,
    /// Paths to Bootstrap-Delete first (default `["/"]`).
    #[serde(default)]
    delete: Option<Vec<String>>,
    /// Bootstrap-Discover and -Read of /1 and /2 first (LightweightM2M-BsR-001; default true).
    #[serde(default)]
    read_before_write: Option<bool>,
    /// Whether a Bootstrap-Pack-Request (`GET /bspack`) gets the plan as one pack (default
    /// true; false: 4.05 Method Not Allowed).
    #[serde(default)]
    pack: Option<bool>,
    #[serde(default)]
    security: Vec<Security>,
    #[serde(default)]
    servers: Vec<Server>,
    #[serde(default)]
    access_control: Vec<AccessControl>,
    #[serde(default)]
    oscore: Vec<Oscore>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Security {
    instance: u16,
    /// /0/x/0
    uri: String,
    /// /0/x/1
    #[serde(default)]
    bootstrap_server: bool,
    /// /0/x/2: "psk", "rpk", "certificate", "nosec", "est" (default "nosec").
    #[serde(default)]
    mode: Option<String>,
    /// /0/x/3, hex
    #[serde(default)]
    public_key_or_identity: Option<String>,
    /// /0/x/4, hex
    #[serde(default)]
    server_public_key: Option<String>,
    /// /0/x/5, hex
    #[serde(default)]
    secret_key: Option<String>,
    /// /0/x/10
    #[serde(default)]
    ssid: Option<u16>,
    /// /0/x/11
    #[serde(default)]
    client_hold_off_time: Option<u32>,
    /// /0/x/17: the /21 instance.
    #[serde(default)]
    oscore: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Server {
    instance: u16,
    /// /1/x/0
    ssid: u16,
    /// /1/x/1
    lifetime: u32,
    /// /1/x/2
    #[serde(default)]
    pmin: Option<u32>,
    /// /1/x/3
    #[serde(default)]
    pmax: Option<u32>,
    /// /1/x/6
    #[serde(default)]
    notification_storing: bool,
    /// /1/x/7 (default "U")
    #[serde(default)]
    binding: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessControl {
    instance: u16,
    /// /2/x/0
    object: u16,
    /// /2/x/1 (65535: the Object, for Create)
    object_instance: u16,
    /// /2/x/2: Short Server ID (as a string key) → rights (R 1, W 2, E 4, D 8, C 16).
    #[serde(default)]
    acl: BTreeMap<String, u16>,
    /// /2/x/3
    owner: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Oscore {
    instance: u16,
    /// /21/x/0, hex
    master_secret: String,
    /// /21/x/1: the client's Sender ID, hex
    sender_id: String,
    /// /21/x/2: the client's Recipient ID, hex
    recipient_id: String,
    /// /21/x/3: COSE AEAD algorithm (e.g. 10, AES-CCM-16-64-128)
    #[serde(default)]
    aead: Option<i64>,
    /// /21/x/4: COSE HMAC algorithm (e.g. 5, HMAC 256/256)
    #[serde(default)]
    hmac: Option<i64>,
    /// /21/x/5, hex
    #[serde(default)]
    master_salt: Option<String>,
    /// /21/x/6, hex
    #[serde(default)]
    id_context: Option<String>,
}

/// The OSCORE context a Bootstrap-Request for an endpoint must come in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequiredContext {
    /// The kid (the server's Recipient ID).
    pub(crate) kid: Vec<u8>,
    /// The kid context, if the context has an ID Context.
    pub(crate) kid_context: Option<Vec<u8>>,
}

/// One endpoint of the configuration file.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The Endpoint Client Name.
    pub(crate) endpoint: String,
    /// The provisioning plan.
    pub(crate) config: BootstrapConfig,
    /// The context its Bootstrap-Request must arrive in, if any.
    pub(crate) context: Option<RequiredContext>,
}

fn hex_or_empty(v: Option<&String>) -> Result<Vec<u8>> {
    v.map_or(Ok(Vec::new()), |s| parse_hex(s))
}

fn security_mode(name: Option<&str>) -> Result<SecurityMode> {
    Ok(match name.unwrap_or("nosec") {
        "psk" => SecurityMode::PreSharedKey,
        "rpk" => SecurityMode::RawPublicKey,
        "certificate" => SecurityMode::Certificate,
        "nosec" => SecurityMode::NoSec,
        "est" => SecurityMode::CertificateWithEst,
        other => bail!("unknown security mode {other:?} (psk, rpk, certificate, nosec, est)"),
    })
}

fn format(name: &str) -> Result<Format> {
    Ok(match name {
        "tlv" => Format::Tlv,
        "senml-json" => Format::SenmlJson,
        "senml-cbor" => Format::SenmlCbor,
        "lwm2m-cbor" => Format::LwM2mCbor,
        other => bail!("unknown format {other:?} (tlv, senml-json, senml-cbor, lwm2m-cbor)"),
    })
}

fn plan(name: &str, p: EndpointPlan) -> Result<Plan> {
    let mut config = BootstrapConfig::default();
    if let Some(f) = &p.format {
        config.format = Some(format(f)?);
    }
    if let Some(delete) = &p.delete {
        config.delete = delete
            .iter()
            .map(|s| {
                s.parse::<Path>()
                    .map_err(|e| anyhow!("delete path {s:?}: {e}"))
            })
            .collect::<Result<_>>()?;
    }
    if let Some(read) = p.read_before_write {
        config.read_before_write = read;
    }
    if let Some(pack) = p.pack {
        config.allow_pack = pack;
    }
    for s in p.security {
        config.security.push(SecurityInstance {
            instance: s.instance,
            server_uri: s.uri,
            bootstrap_server: s.bootstrap_server,
            security_mode: security_mode(s.mode.as_deref())?,
            public_key_or_identity: hex_or_empty(s.public_key_or_identity.as_ref())
                .context("public_key_or_identity")?,
            server_public_key: hex_or_empty(s.server_public_key.as_ref())
                .context("server_public_key")?,
            secret_key: hex_or_empty(s.secret_key.as_ref()).context("secret_key")?,
            short_server_id: s.ssid,
            client_hold_off_time: s.client_hold_off_time,
            oscore_security_mode: s.oscore,
        });
    }
    for s in p.servers {
        config.servers.push(ServerInstance {
            instance: s.instance,
            short_server_id: s.ssid,
            lifetime: s.lifetime,
            default_pmin: s.pmin,
            default_pmax: s.pmax,
            notification_storing: s.notification_storing,
            binding: s.binding.unwrap_or_else(|| "U".into()),
        });
    }
    for a in p.access_control {
        let acl = a
            .acl
            .iter()
            .map(|(ssid, rights)| {
                ssid.parse::<u16>()
                    .map(|s| (s, *rights))
                    .map_err(|_| anyhow!("acl key {ssid:?} is not a Short Server ID"))
            })
            .collect::<Result<_>>()?;
        config.access_control.push(AccessControlInstance {
            instance: a.instance,
            object_id: a.object,
            object_instance_id: a.object_instance,
            acl,
            owner: a.owner,
        });
    }
    for o in p.oscore {
        config.oscore.push(OscoreInstance {
            instance: o.instance,
            master_secret: parse_hex(&o.master_secret).context("master_secret")?,
            sender_id: parse_hex(&o.sender_id).context("sender_id")?,
            recipient_id: parse_hex(&o.recipient_id).context("recipient_id")?,
            aead_algorithm: o.aead,
            hmac_algorithm: o.hmac,
            master_salt: o
                .master_salt
                .as_deref()
                .map(parse_hex)
                .transpose()
                .context("master_salt")?,
            id_context: o
                .id_context
                .as_deref()
                .map(parse_hex)
                .transpose()
                .context("id_context")?,
        });
    }
    let context = match (&p.kid, &p.kid_context) {
        (Some(kid), ctx) => Some(RequiredContext {
            kid: parse_hex(kid).context("kid")?,
            kid_context: ctx
                .as_deref()
                .map(parse_hex)
                .transpose()
                .context("kid_context")?,
        }),
        (None, Some(_)) => bail!("kid_context without kid"),
        (None, None) => None,
    };
    Ok(Plan {
        endpoint: name.to_string(),
        config,
        context,
    })
}

/// Parses the configuration file's text.
pub(crate) fn parse(text: &str) -> Result<Vec<Plan>> {
    let file: File = serde_json::from_str(text)?;
    if file.endpoints.is_empty() {
        bail!("no endpoints");
    }
    file.endpoints
        .into_iter()
        .map(|(name, p)| {
            if name.is_empty() {
                bail!("an empty endpoint name");
            }
            plan(&name, p).with_context(|| format!("endpoint {name:?}"))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn full_example_parses() {
        let text = r#"{"endpoints": {"dev1": {
            "kid": "01", "format": "senml-cbor", "delete": ["/0", "/1"], "pack": false,
            "security": [{"instance": 1, "uri": "coap://127.0.0.1:5683", "ssid": 101,
                          "oscore": 0, "client_hold_off_time": 5}],
            "servers": [{"instance": 0, "ssid": 101, "lifetime": 300, "pmin": 1, "binding": "UQ"}],
            "access_control": [{"instance": 0, "object": 3, "object_instance": 0,
                                "acl": {"101": 7, "102": 1}, "owner": 101}],
            "oscore": [{"instance": 0, "master_secret": "0102", "sender_id": "01",
                        "recipient_id": "", "aead": 10, "id_context": "37cbf3210017a2d3"}]
        }}}"#;
        let plans = parse(text).unwrap();
        assert_eq!(plans.len(), 1);
        let p = &plans[0];
        assert_eq!(p.endpoint, "dev1");
        assert_eq!(
            p.context,
            Some(RequiredContext {
                kid: vec![1],
                kid_context: None
            })
        );
        let c = &p.config;
        assert_eq!(c.format, Some(Format::SenmlCbor));
        assert_eq!(c.delete, vec!["/0".parse().unwrap(), "/1".parse().unwrap()]);
        assert!(c.read_before_write);
        assert!(!c.allow_pack);
        assert_eq!(c.security[0].security_mode, SecurityMode::NoSec);
        assert_eq!(c.security[0].short_server_id, Some(101));
        assert_eq!(c.security[0].oscore_security_mode, Some(0));
        assert_eq!(c.servers[0].binding, "UQ");
        assert_eq!(c.access_control[0].acl, vec![(101, 7), (102, 1)]);
        assert_eq!(c.oscore[0].master_secret, vec![1, 2]);
        assert_eq!(c.oscore[0].recipient_id, Vec::<u8>::new());
        assert_eq!(
            c.oscore[0].id_context,
            Some(vec![0x37, 0xcb, 0xf3, 0x21, 0x00, 0x17, 0xa2, 0xd3])
        );
    }

    /// The complete example of docs/cli.md parses and means what its table says.
    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("../../../../../docs/cli.md");
        let section = doc.split("### `mote bootstrap-server`").nth(1).unwrap();
        let example = section
            .split("```json\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .unwrap();
        let plans = parse(example).unwrap();
        let p = &plans[0];
        assert_eq!(p.endpoint, "device-0001");
        let c = &p.config;
        assert_eq!(c.security[0].oscore_security_mode, Some(0));
        assert_eq!(c.oscore[0].sender_id, vec![0x01]);
        assert_eq!(c.oscore[0].hmac_algorithm, Some(5));
        assert_eq!(c.servers[0].default_pmax, Some(60));
        assert!(c.servers[0].notification_storing);
        assert!(c.allow_pack);
        assert_eq!(c.access_control[0].owner, 101);
        assert_eq!(c.delete, vec![Path::ROOT]);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (r#"{"endpoints": {}}"#, "no endpoints"),
            (r#"{"endpoints": {"d": {"colour": 1}}}"#, "unknown field"),
            (
                r#"{"endpoints": {"d": {"security": [{"instance": 0, "uri": "x", "mode": "dtls"}]}}}"#,
                "unknown security mode",
            ),
            (
                r#"{"endpoints": {"d": {"format": "xml"}}}"#,
                "unknown format",
            ),
            (
                r#"{"endpoints": {"d": {"access_control": [{"instance": 0, "object": 3, "object_instance": 0, "acl": {"x": 1}, "owner": 1}]}}}"#,
                "not a Short Server ID",
            ),
            (
                r#"{"endpoints": {"d": {"oscore": [{"instance": 0, "master_secret": "zz", "sender_id": "", "recipient_id": ""}]}}}"#,
                "master_secret",
            ),
            (
                r#"{"endpoints": {"d": {"kid_context": "01"}}}"#,
                "kid_context without kid",
            ),
            (r#"{"endpoints": {"d": {"delete": ["/a"]}}}"#, "delete path"),
        ];
        for (text, want) in cases {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
