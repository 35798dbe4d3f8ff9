//! Typed Device Management & Service Enablement and Information Reporting operations
//! (LwM2M TS 1.2 Core §6.3, §6.4; CoAP mapping in Transport §6.4.4 and §6.4.5), encoded as
//! CoAP request parts, and their responses decoded into typed results.
//!
//! | operation | method | Uri-Path | other options | payload |
//! |---|---|---|---|---|
//! | Read | GET | path | Accept | – |
//! | Discover | GET | path | Accept: 40 | – |
//! | Write (replace) | PUT | path | Content-Format | records |
//! | Write (partial update) | POST | path | Content-Format | records |
//! | Write-Attributes | PUT | path | Uri-Query `pmin=…` | – |
//! | Execute | POST | path | Content-Format: 0 with arguments | arguments |
//! | Create | POST | object | Content-Format | records |
//! | Delete | DELETE | instance | – | – |
//! | Read-Composite | FETCH | root | Content-Format, Accept | SenML paths |
//! | Write-Composite | iPATCH | root | Content-Format | records |
//! | Observe / Cancel | GET | path | Observe 0 / 1, Accept | – |
//! | Observe-Composite / Cancel | FETCH | root | Observe 0 / 1, Content-Format, Accept | SenML paths |
//!
//! The content format is the caller's when given, else chosen per client from its
//! registration ([`ClientProfile::preferred_format`]).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::{OptionList, OptionNumber, OptionRef};
use mote_lwm2m::attributes::NotificationAttributes;
use mote_lwm2m::link::{self, Link};
use mote_lwm2m::object::ObjectDefs;
use mote_lwm2m::{Format, Path, PathLevel, Record};

use crate::registration::{LwM2mVersion, Registration};

/// A CoAP request to send: code, options (in ascending order) and payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestParts {
    /// The method.
    pub code: Code,
    /// The options.
    pub options: OptionList,
    /// The payload.
    pub payload: Vec<u8>,
}

impl RequestParts {
    fn new(code: Code) -> RequestParts {
        RequestParts {
            code,
            options: OptionList::new(),
            payload: Vec::new(),
        }
    }

    /// Writes code, options and payload into `msg` (type, Message ID and token are the
    /// caller's).
    pub fn write_into(&self, msg: &mut OwnedMessage) {
        msg.code = self.code;
        for o in self.options.iter() {
            msg.options.push(o.number, o.value);
        }
        msg.payload.clone_from(&self.payload);
    }

    /// A whole message with these parts.
    #[must_use]
    pub fn to_message(&self, mtype: MessageType, message_id: u16, token: &[u8]) -> OwnedMessage {
        let mut m = OwnedMessage::new(mtype, self.code, message_id).with_token(token);
        self.write_into(&mut m);
        m
    }
}

/// What the server knows of a client's data formats: its Enabler version, the content
/// formats of its root link (`ct`) and its alternate path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientProfile {
    /// The Enabler version.
    pub version: LwM2mVersion,
    /// The announced content formats (empty for 1.0 clients).
    pub content_formats: Vec<ContentFormat>,
    /// `/` or the alternate path (`/lwm2m`).
    pub root_path: String,
}

impl ClientProfile {
    /// The profile of a registration.
    #[must_use]
    pub fn from_registration(reg: &Registration) -> ClientProfile {
        ClientProfile {
            version: reg.version,
            content_formats: reg.content_formats.clone(),
            root_path: reg.root_path.clone(),
        }
    }

    /// A profile with no announced formats and the root `/`.
    #[must_use]
    pub fn new(version: LwM2mVersion) -> ClientProfile {
        ClientProfile {
            version,
            content_formats: Vec::new(),
            root_path: String::from("/"),
        }
    }

    fn announced(&self, f: Format) -> bool {
        self.content_formats
            .iter()
            .any(|c| Format::from_content_format(*c) == Some(f))
    }

    /// The format for single-path operations: the first announced of LwM2M CBOR (1.2),
    /// SenML CBOR, SenML JSON, TLV; without announcement TLV for 1.0 and 1.1 (mandatory
    /// for those clients) and SenML CBOR for 1.2 (Core 1.2 §7.4: a client SHOULD support
    /// one of SenML CBOR, SenML JSON, LwM2M CBOR and SHOULD NOT use TLV).
    #[must_use]
    pub fn preferred_format(&self) -> Format {
        let order: &[Format] = &[
            Format::LwM2mCbor,
            Format::SenmlCbor,
            Format::SenmlJson,
            Format::Tlv,
        ];
        for f in order {
            if (*f != Format::LwM2mCbor || self.version >= LwM2mVersion::V1_2) && self.announced(*f)
            {
                return *f;
            }
        }
        match self.version {
            LwM2mVersion::V1_0 | LwM2mVersion::V1_1 => Format::Tlv,
            _ => Format::SenmlCbor,
        }
    }

    /// The format for composite operations (1.1+): the first announced of LwM2M CBOR
    /// (1.2), SenML CBOR, SenML JSON; else SenML CBOR.
    ///
    /// # Errors
    /// [`OperationError::Unsupported`] for a 1.0 client.
    pub fn composite_format(&self) -> Result<Format, OperationError> {
        if self.version == LwM2mVersion::V1_0 {
            return Err(OperationError::Unsupported {
                reason: "composite operations need LwM2M 1.1 or later",
            });
        }
        for f in [Format::LwM2mCbor, Format::SenmlCbor, Format::SenmlJson] {
            if (f != Format::LwM2mCbor || self.version >= LwM2mVersion::V1_2) && self.announced(f) {
                return Ok(f);
            }
        }
        Ok(Format::SenmlCbor)
    }
}

/// Write semantics (Core §6.3.3): Replace (PUT) or Partial Update (POST).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteMode {
    /// Replace: PUT.
    Replace,
    /// Partial Update: POST.
    PartialUpdate,
}

/// One operation the application asks of a client.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Operation {
    /// Read an Object, Instance, Resource or Resource Instance.
    Read {
        /// The target.
        path: Path,
        /// The format to ask for (Accept); `None`: the client's preferred.
        format: Option<Format>,
    },
    /// Discover attributes and structure (link format).
    Discover {
        /// The target (Object or below).
        path: Path,
    },
    /// Write records at `path`.
    Write {
        /// The target (Instance, Resource or Resource Instance).
        path: Path,
        /// Replace or partial update.
        mode: WriteMode,
        /// The payload format; `None`: the client's preferred.
        format: Option<Format>,
        /// The values, at paths under `path`.
        records: Vec<Record>,
    },
    /// Write-Attributes: set the attributes present in `set`, unset the names in `unset`.
    WriteAttributes {
        /// The target.
        path: Path,
        /// Attributes to set.
        set: NotificationAttributes,
        /// Attribute names to unset (`pmin`, …).
        unset: Vec<String>,
    },
    /// Execute a Resource.
    Execute {
        /// The Resource.
        path: Path,
        /// Arguments (Core §5.4.5 syntax, `0='v',1`), sent as text/plain.
        arguments: Option<String>,
    },
    /// Create an Object Instance.
    Create {
        /// The Object.
        path: Path,
        /// The payload format (hierarchical); `None`: the client's preferred.
        format: Option<Format>,
        /// The values, at `/O/I/R` paths (the instance id chosen by the server) or
        /// `/O/I/R` of the instance to create.
        records: Vec<Record>,
    },
    /// Delete an Object Instance.
    Delete {
        /// The Instance.
        path: Path,
    },
    /// Read several paths in one request.
    ReadComposite {
        /// The targets.
        paths: Vec<Path>,
        /// The format; `None`: the client's composite format.
        format: Option<Format>,
    },
    /// Write several resources in one request.
    WriteComposite {
        /// The values.
        records: Vec<Record>,
        /// The format; `None`: the client's composite format.
        format: Option<Format>,
    },
    /// Observe a path.
    Observe {
        /// The target.
        path: Path,
        /// The format; `None`: the client's preferred.
        format: Option<Format>,
    },
    /// Cancel an observation (GET with Observe 1, RFC 7641 §3.6).
    CancelObserve {
        /// The target.
        path: Path,
        /// The format; `None`: the client's preferred.
        format: Option<Format>,
    },
    /// Observe several paths.
    ObserveComposite {
        /// The targets.
        paths: Vec<Path>,
        /// The format; `None`: the client's composite format.
        format: Option<Format>,
    },
    /// Cancel a composite observation.
    CancelObserveComposite {
        /// The targets (exactly those of the observation).
        paths: Vec<Path>,
        /// The format; `None`: the client's composite format.
        format: Option<Format>,
    },
}

/// What went wrong building an operation or reading its response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OperationError {
    /// The path is not at a level the operation accepts.
    #[error("path {path}: {reason}")]
    InvalidPath {
        /// The path.
        path: Path,
        /// What was wrong.
        reason: &'static str,
    },
    /// The operation or format is not available for this client.
    #[error("unsupported: {reason}")]
    Unsupported {
        /// Why.
        reason: &'static str,
    },
    /// The payload could not be encoded.
    #[error("encoding: {0}")]
    Encode(mote_lwm2m::Error),
    /// The client answered with an error code (Transport §6.7).
    #[error("{code}: {diagnostic}")]
    ErrorResponse {
        /// The code.
        code: Code,
        /// The diagnostic payload (may be empty).
        diagnostic: String,
    },
    /// A success code this operation does not produce.
    #[error("unexpected response code {code}")]
    UnexpectedCode {
        /// The code.
        code: Code,
    },
    /// A 2.05 payload without Content-Format.
    #[error("response payload without Content-Format")]
    MissingContentFormat,
    /// A Content-Format this crate cannot decode.
    #[error("unsupported Content-Format {0}")]
    UnknownContentFormat(ContentFormat),
    /// The payload could not be decoded.
    #[error("decoding: {0}")]
    Decode(mote_lwm2m::Error),
    /// A response option is malformed.
    #[error("malformed option {number}")]
    BadOption {
        /// The option.
        number: OptionNumber,
    },
}

/// A decoded success response.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OperationResult {
    /// 2.05 with data (Read, Observe, composite reads, notifications).
    Content {
        /// The Observe sequence number, on notifications and Observe responses.
        observe: Option<u32>,
        /// The payload format.
        format: Option<Format>,
        /// The records with their paths, values and timestamps.
        records: Vec<Record>,
    },
    /// 2.05 link format (Discover).
    Links(Vec<Link>),
    /// 2.04 (Write, Write-Attributes, Execute, Write-Composite).
    Changed,
    /// 2.01 (Create), with the new instance's path from Location-Path when given.
    Created(Option<Path>),
    /// 2.02 (Delete).
    Deleted,
}

fn path_segments(out: &mut RequestParts, root: &str, path: &Path) {
    for seg in root.split('/').filter(|s| !s.is_empty()) {
        out.options.push(OptionNumber::URI_PATH, seg);
    }
    for id in path.ids() {
        out.options.push(OptionNumber::URI_PATH, format!("{id}"));
    }
}

fn cf(f: Format) -> u32 {
    u32::from(f.content_format())
}

fn need_level(path: &Path, ok: &[PathLevel], reason: &'static str) -> Result<(), OperationError> {
    if ok.contains(&path.level()) {
        Ok(())
    } else {
        Err(OperationError::InvalidPath {
            path: *path,
            reason,
        })
    }
}

fn composite_checked(f: Format) -> Result<Format, OperationError> {
    match f {
        Format::SenmlJson | Format::SenmlCbor | Format::LwM2mCbor => Ok(f),
        _ => Err(OperationError::Unsupported {
            reason: "composite operations need SenML JSON, SenML CBOR or LwM2M CBOR",
        }),
    }
}

/// The Content-Format of a composite request's path list: SenML JSON when the client's
/// format is SenML JSON, else SenML CBOR (Transport §6.4.5: "SenML CBOR or SenML JSON").
fn paths_payload(f: Format, paths: &[Path]) -> (Format, Vec<u8>) {
    if f == Format::SenmlJson {
        (f, mote_lwm2m::senml::json::encode_paths(paths))
    } else {
        (
            Format::SenmlCbor,
            mote_lwm2m::senml::cbor::encode_paths(paths),
        )
    }
}

const ALL_BUT_ROOT: &[PathLevel] = &[
    PathLevel::Object,
    PathLevel::Instance,
    PathLevel::Resource,
    PathLevel::ResourceInstance,
];

impl Operation {
    /// The CoAP request parts for a client with `profile`.
    ///
    /// # Errors
    /// [`OperationError`] for a path at the wrong level, a format the operation cannot
    /// use, or records that do not encode.
    pub fn encode(&self, profile: &ClientProfile) -> Result<RequestParts, OperationError> {
        let root = profile.root_path.as_str();
        let pick = |f: &Option<Format>| f.unwrap_or_else(|| profile.preferred_format());
        let pick_composite = |f: &Option<Format>| match f {
            Some(f) => composite_checked(*f),
            None => profile.composite_format(),
        };
        let out = match self {
            Operation::Read { path, format } => {
                need_level(path, ALL_BUT_ROOT, "Read needs an Object or deeper")?;
                let mut r = RequestParts::new(Code::GET);
                path_segments(&mut r, root, path);
                r.options.push_uint(OptionNumber::ACCEPT, cf(pick(format)));
                r
            }
            Operation::Discover { path } => {
                need_level(path, ALL_BUT_ROOT, "Discover needs an Object or deeper")?;
                let mut r = RequestParts::new(Code::GET);
                path_segments(&mut r, root, path);
                r.options.push_uint(
                    OptionNumber::ACCEPT,
                    u32::from(ContentFormat::LINK_FORMAT.0),
                );
                r
            }
            Operation::Write {
                path,
                mode,
                format,
                records,
            } => {
                // Transport §6.4.4: object-level Write is not supported over CoAP.
                need_level(
                    path,
                    &[
                        PathLevel::Instance,
                        PathLevel::Resource,
                        PathLevel::ResourceInstance,
                    ],
                    "Write needs an Object Instance or deeper",
                )?;
                let f = pick(format);
                let code = match mode {
                    WriteMode::Replace => Code::PUT,
                    WriteMode::PartialUpdate => Code::POST,
                };
                let mut r = RequestParts::new(code);
                path_segments(&mut r, root, path);
                r.options.push_uint(OptionNumber::CONTENT_FORMAT, cf(f));
                r.payload = mote_lwm2m::encode(f, path, records).map_err(OperationError::Encode)?;
                r
            }
            Operation::WriteAttributes { path, set, unset } => {
                need_level(
                    path,
                    ALL_BUT_ROOT,
                    "Write-Attributes needs an Object or deeper",
                )?;
                set.validate().map_err(OperationError::Encode)?;
                let mut r = RequestParts::new(Code::PUT);
                path_segments(&mut r, root, path);
                for (name, value) in set.pairs() {
                    r.options
                        .push(OptionNumber::URI_QUERY, format!("{name}={value}"));
                }
                for name in unset {
                    r.options.push(OptionNumber::URI_QUERY, name.as_str());
                }
                if r.options.get(OptionNumber::URI_QUERY).is_none() {
                    return Err(OperationError::Unsupported {
                        reason: "Write-Attributes without attributes",
                    });
                }
                r
            }
            Operation::Execute { path, arguments } => {
                need_level(path, &[PathLevel::Resource], "Execute needs a Resource")?;
                let mut r = RequestParts::new(Code::POST);
                path_segments(&mut r, root, path);
                if let Some(a) = arguments.as_ref().filter(|a| !a.is_empty()) {
                    // Transport §6.4.4: arguments in plain text follow the Core ABNF.
                    r.options.push_uint(
                        OptionNumber::CONTENT_FORMAT,
                        u32::from(ContentFormat::TEXT_PLAIN.0),
                    );
                    r.payload = a.as_bytes().to_vec();
                }
                r
            }
            Operation::Create {
                path,
                format,
                records,
            } => {
                need_level(path, &[PathLevel::Object], "Create needs an Object")?;
                let f = pick(format);
                if !f.is_hierarchical() {
                    // Transport §6.4.4: TLV, LwM2M CBOR, SenML CBOR or SenML JSON.
                    return Err(OperationError::Unsupported {
                        reason: "Create needs TLV, SenML or LwM2M CBOR",
                    });
                }
                let mut r = RequestParts::new(Code::POST);
                path_segments(&mut r, root, path);
                r.options.push_uint(OptionNumber::CONTENT_FORMAT, cf(f));
                r.payload = mote_lwm2m::encode(f, path, records).map_err(OperationError::Encode)?;
                r
            }
            Operation::Delete { path } => {
                need_level(
                    path,
                    &[PathLevel::Instance],
                    "Delete needs an Object Instance",
                )?;
                let mut r = RequestParts::new(Code::DELETE);
                path_segments(&mut r, root, path);
                r
            }
            Operation::ReadComposite { paths, format }
            | Operation::ObserveComposite { paths, format }
            | Operation::CancelObserveComposite { paths, format } => {
                let f = pick_composite(format)?;
                let mut r = RequestParts::new(Code::FETCH);
                match self {
                    Operation::ObserveComposite { .. } => {
                        r.options.push_uint(OptionNumber::OBSERVE, 0);
                    }
                    Operation::CancelObserveComposite { .. } => {
                        r.options.push_uint(OptionNumber::OBSERVE, 1);
                    }
                    _ => {}
                }
                path_segments(&mut r, root, &Path::ROOT);
                let (pf, payload) = paths_payload(f, paths);
                r.options.push_uint(OptionNumber::CONTENT_FORMAT, cf(pf));
                r.options.push_uint(OptionNumber::ACCEPT, cf(f));
                r.payload = payload;
                r
            }
            Operation::WriteComposite { records, format } => {
                let f = pick_composite(format)?;
                let mut r = RequestParts::new(Code::IPATCH);
                path_segments(&mut r, root, &Path::ROOT);
                r.options.push_uint(OptionNumber::CONTENT_FORMAT, cf(f));
                r.payload =
                    mote_lwm2m::encode(f, &Path::ROOT, records).map_err(OperationError::Encode)?;
                r
            }
            Operation::Observe { path, format } | Operation::CancelObserve { path, format } => {
                need_level(path, ALL_BUT_ROOT, "Observe needs an Object or deeper")?;
                let mut r = RequestParts::new(Code::GET);
                let obs = u32::from(matches!(self, Operation::CancelObserve { .. }));
                r.options.push_uint(OptionNumber::OBSERVE, obs);
                path_segments(&mut r, root, path);
                r.options.push_uint(OptionNumber::ACCEPT, cf(pick(format)));
                r
            }
        };
        Ok(out)
    }

    fn base(&self) -> Path {
        match self {
            Operation::Read { path, .. }
            | Operation::Discover { path }
            | Operation::Observe { path, .. }
            | Operation::CancelObserve { path, .. } => *path,
            _ => Path::ROOT,
        }
    }

    /// Decodes a response message to this operation.
    ///
    /// # Errors
    /// As [`Operation::decode_response`].
    pub fn decode_message(
        &self,
        msg: &Message<'_>,
        defs: &(impl ObjectDefs + ?Sized),
    ) -> Result<OperationResult, OperationError> {
        self.decode_response(msg.code(), msg.options(), msg.payload(), defs)
    }

    /// Decodes a response (code, options, payload) to this operation; error codes become
    /// [`OperationError::ErrorResponse`] with the diagnostic payload.
    ///
    /// # Errors
    /// Error responses, unexpected codes and undecodable payloads.
    pub fn decode_response<'a>(
        &self,
        code: Code,
        options: impl IntoIterator<Item = OptionRef<'a>>,
        payload: &[u8],
        defs: &(impl ObjectDefs + ?Sized),
    ) -> Result<OperationResult, OperationError> {
        if code.class() >= 4 {
            return Err(OperationError::ErrorResponse {
                code,
                diagnostic: String::from_utf8_lossy(payload).into_owned(),
            });
        }
        let mut content_format = None;
        let mut observe = None;
        let mut location = Vec::new();
        for o in options {
            let bad = || OperationError::BadOption { number: o.number };
            match o.number {
                OptionNumber::CONTENT_FORMAT => {
                    let v = o.as_uint().map_err(|_| bad())?;
                    content_format = Some(ContentFormat(u16::try_from(v).map_err(|_| bad())?));
                }
                OptionNumber::OBSERVE => observe = Some(o.as_uint().map_err(|_| bad())?),
                OptionNumber::LOCATION_PATH => {
                    location.push(o.as_str().map_err(|_| bad())?);
                }
                _ => {}
            }
        }
        let expected = match self {
            Operation::Write { .. }
            | Operation::WriteAttributes { .. }
            | Operation::Execute { .. }
            | Operation::WriteComposite { .. } => Code::CHANGED,
            Operation::Create { .. } => Code::CREATED,
            Operation::Delete { .. } => Code::DELETED,
            _ => Code::CONTENT,
        };
        if code != expected {
            return Err(OperationError::UnexpectedCode { code });
        }
        Ok(match self {
            Operation::Write { .. }
            | Operation::WriteAttributes { .. }
            | Operation::Execute { .. }
            | Operation::WriteComposite { .. } => OperationResult::Changed,
            Operation::Delete { .. } => OperationResult::Deleted,
            Operation::Create { .. } => {
                let p = if location.is_empty() {
                    None
                } else {
                    let text = format!("/{}", location.join("/"));
                    Some(
                        text.parse::<Path>()
                            .map_err(|_| OperationError::BadOption {
                                number: OptionNumber::LOCATION_PATH,
                            })?,
                    )
                };
                OperationResult::Created(p)
            }
            Operation::Discover { .. } => {
                if content_format.is_some_and(|c| c != ContentFormat::LINK_FORMAT) {
                    return Err(OperationError::UnknownContentFormat(
                        content_format.unwrap_or(ContentFormat::LINK_FORMAT),
                    ));
                }
                let text = core::str::from_utf8(payload).map_err(|_| {
                    OperationError::Decode(mote_lwm2m::Error::Link {
                        reason: "not UTF-8",
                    })
                })?;
                OperationResult::Links(link::parse(text, "/").map_err(OperationError::Decode)?)
            }
            _ => {
                let base = self.base();
                // A 2.05 without Content-Format for a single Resource (or Resource Instance)
                // is read as plain text: LwM2M 1.0 clients answer so (the LwM2M 1.0 default
                // format of a single Resource, TS 1.2 Core "Plain Text"); RFC 7252 §5.10.3
                // leaves the format of an unlabelled payload to the recipient. Anything
                // larger still needs a Content-Format.
                let content_format = content_format.or_else(|| {
                    (base.len() >= 3 && !payload.is_empty()).then_some(ContentFormat::TEXT_PLAIN)
                });
                let (format, records) = decode_content(content_format, &base, payload, defs)?;
                OperationResult::Content {
                    observe,
                    format,
                    records,
                }
            }
        })
    }
}

fn decode_content(
    content_format: Option<ContentFormat>,
    base: &Path,
    payload: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<(Option<Format>, Vec<Record>), OperationError> {
    let Some(c) = content_format else {
        // Transport §6.4.4: a Read of an Object without instances may answer an empty 2.05.
        if payload.is_empty() {
            return Ok((None, Vec::new()));
        }
        return Err(OperationError::MissingContentFormat);
    };
    let f = Format::from_content_format(c).ok_or(OperationError::UnknownContentFormat(c))?;
    let records = mote_lwm2m::decode(f, base, payload, defs).map_err(OperationError::Decode)?;
    Ok((Some(f), records))
}

/// Decodes a notification or Send payload (SenML JSON/CBOR, LwM2M CBOR, TLV, …) received
/// for an observation of `base` (the root for composite observations and Send) into
/// timestamped records.
///
/// # Errors
/// [`OperationError::MissingContentFormat`], [`OperationError::UnknownContentFormat`] or
/// [`OperationError::Decode`].
pub fn decode_notification(
    content_format: Option<ContentFormat>,
    base: &Path,
    payload: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, OperationError> {
    decode_content(content_format, base, payload, defs).map(|(_, r)| r)
}
