//! The REST API of `mote lwm2m-server --http` (reference: `docs/rest-api.md`): axum handlers
//! that turn HTTP requests into [`Command`]s for the driver task and its answers into JSON.
//!
//! Status mapping: every CoAP answer is HTTP 200 with its `"status"` (and `"diagnostic"`);
//! an unknown client is 404, a client that does not answer 504, a malformed API request 400.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State as Extract};
use axum::http::{Method, StatusCode};
use axum::response::sse::{Event as SseFrame, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::Stream;
use mote_lwm2m::attributes::NotificationAttributes;
use mote_lwm2m::{Format, Path, Record};
use mote_lwm2m_server::operation::{OperationResult, WriteMode};
use mote_lwm2m_server::{OpError, Operation, OperationError, SubmitError};
use serde_json::{Value as Json, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast, mpsc, oneshot};

use super::{Command, Reply, SseEvent};
use crate::commands::lwm2m::{record_json, records_from_json};

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct State {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) waker: Arc<Notify>,
    pub(crate) events: broadcast::Sender<SseEvent>,
    /// The longest wait for the driver task's answer (its own deadline comes first).
    pub(crate) wait: Duration,
}

/// The routes below `/api`.
pub(crate) fn router(state: State) -> Router {
    Router::new()
        .route("/api/clients", get(clients))
        .route("/api/clients/{ep}", get(client))
        .route(
            "/api/clients/{ep}/{*path}",
            get(on_path).put(on_path).post(on_path).delete(on_path),
        )
        .route("/api/events", get(events))
        .with_state(state)
}

/// The records as the JSON array of `mote lwm2m decode --json`.
pub(crate) fn records_json(records: &[Record]) -> Json {
    Json::Array(
        records
            .iter()
            .filter_map(|r| serde_json::from_str(&record_json(r)).ok())
            .collect(),
    )
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

async fn ask<T>(
    state: &State,
    make: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    if state.commands.send(make(tx)).await.is_err() {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "server stopping"));
    }
    state.waker.notify_one();
    match tokio::time::timeout(state.wait, rx).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(error(StatusCode::SERVICE_UNAVAILABLE, "server stopping")),
        Err(_) => Err(error(
            StatusCode::GATEWAY_TIMEOUT,
            "the client did not answer",
        )),
    }
}

async fn clients(Extract(state): Extract<State>) -> Response {
    match ask(&state, Command::Clients).await {
        Ok(list) => axum::Json(Json::Array(list)).into_response(),
        Err(r) => r,
    }
}

async fn client(Extract(state): Extract<State>, UrlPath(ep): UrlPath<String>) -> Response {
    match ask(&state, |tx| Command::Client(ep.clone(), tx)).await {
        Ok(Some(c)) => axum::Json(c).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no client {ep}")),
        Err(r) => r,
    }
}

fn parse_format(q: &std::collections::HashMap<String, String>) -> Result<Option<Format>, Response> {
    let Some(f) = q.get("format") else {
        return Ok(None);
    };
    Ok(Some(match f.as_str() {
        "tlv" => Format::Tlv,
        "senml-json" => Format::SenmlJson,
        "senml-cbor" => Format::SenmlCbor,
        "lwm2m-cbor" => Format::LwM2mCbor,
        "text" => Format::Text,
        "opaque" => Format::Opaque,
        "cbor" => Format::Cbor,
        other => return Err(bad_request(&format!("unknown format {other:?}"))),
    }))
}

fn parse_path(segments: &[&str]) -> Result<Path, Response> {
    let text = format!("/{}", segments.join("/"));
    text.parse::<Path>()
        .map_err(|_| bad_request(&format!("{text} is not an LwM2M path")))
}

fn parse_paths(body: &[u8]) -> Result<Vec<Path>, Response> {
    let j: Json = serde_json::from_slice(body)
        .map_err(|_| bad_request("the body must be {\"paths\":[…]}"))?;
    let arr = j["paths"]
        .as_array()
        .ok_or_else(|| bad_request("the body must be {\"paths\":[…]}"))?;
    arr.iter()
        .map(|p| {
            p.as_str()
                .and_then(|s| s.parse::<Path>().ok())
                .ok_or_else(|| bad_request(&format!("{p} is not an LwM2M path")))
        })
        .collect()
}

fn parse_records(body: &[u8]) -> Result<Vec<Record>, Response> {
    let text = std::str::from_utf8(body).map_err(|_| bad_request("the body is not UTF-8"))?;
    records_from_json(text).map_err(|e| bad_request(&format!("{e:#}")))
}

fn parse_attributes(
    q: &std::collections::HashMap<String, String>,
) -> Result<NotificationAttributes, Response> {
    let mut set = NotificationAttributes::default();
    for (k, v) in q {
        let bad = || bad_request(&format!("attribute {k}={v} is not valid"));
        match k.as_str() {
            "pmin" => set.pmin = Some(v.parse().map_err(|_| bad())?),
            "pmax" => set.pmax = Some(v.parse().map_err(|_| bad())?),
            "gt" => set.gt = Some(v.parse().map_err(|_| bad())?),
            "lt" => set.lt = Some(v.parse().map_err(|_| bad())?),
            "st" => set.st = Some(v.parse().map_err(|_| bad())?),
            other => return Err(bad_request(&format!("unknown attribute {other}"))),
        }
    }
    Ok(set)
}

/// The operation an API request asks for.
fn operation(
    method: &Method,
    rest: &str,
    q: &std::collections::HashMap<String, String>,
    body: &[u8],
) -> Result<Operation, Response> {
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let format = parse_format(q)?;
    let (last, head) = match segs.split_last() {
        Some((l, h)) => (*l, h),
        None => return Err(bad_request("no path")),
    };
    Ok(match (method.clone(), segs.as_slice()) {
        (Method::POST, ["composite", "read"]) => Operation::ReadComposite {
            paths: parse_paths(body)?,
            format,
        },
        (Method::POST, ["composite", "write"]) => Operation::WriteComposite {
            records: parse_records(body)?,
            format,
        },
        (Method::POST, ["composite", "observe"]) => Operation::ObserveComposite {
            paths: parse_paths(body)?,
            format,
        },
        (Method::DELETE, ["composite", "observe"]) => Operation::CancelObserveComposite {
            paths: parse_paths(body)?,
            format,
        },
        (Method::GET, _) if last == "discover" => Operation::Discover {
            path: parse_path(head)?,
        },
        (Method::GET, _) => Operation::Read {
            path: parse_path(&segs)?,
            format,
        },
        (Method::PUT, _) if last == "attributes" => Operation::WriteAttributes {
            path: parse_path(head)?,
            set: parse_attributes(q)?,
            unset: Vec::new(),
        },
        (Method::PUT, _) => Operation::Write {
            path: parse_path(&segs)?,
            mode: WriteMode::Replace,
            format,
            records: parse_records(body)?,
        },
        (Method::POST, _) if last == "execute" => Operation::Execute {
            path: parse_path(head)?,
            arguments: Some(
                String::from_utf8(body.to_vec())
                    .map_err(|_| bad_request("Execute arguments must be UTF-8 text"))?,
            )
            .filter(|a| !a.is_empty()),
        },
        (Method::POST, _) if last == "observe" => Operation::Observe {
            path: parse_path(head)?,
            format,
        },
        (Method::DELETE, _) if last == "observe" => Operation::CancelObserve {
            path: parse_path(head)?,
            format,
        },
        (Method::POST, _) if q.get("mode").is_some_and(|m| m == "update") => Operation::Write {
            path: parse_path(&segs)?,
            mode: WriteMode::PartialUpdate,
            format,
            records: parse_records(body)?,
        },
        (Method::POST, [_]) => Operation::Create {
            path: parse_path(&segs)?,
            format,
            records: parse_records(body)?,
        },
        (Method::DELETE, _) => Operation::Delete {
            path: parse_path(&segs)?,
        },
        _ => return Err(bad_request("no such operation")),
    })
}

fn result_json(result: &OperationResult) -> Json {
    match result {
        OperationResult::Content {
            format, records, ..
        } => json!({
            "status": "2.05",
            "content_format": format.map(|f| f.content_format().0),
            "records": records_json(records),
        }),
        OperationResult::Links(links) => json!({
            "status": "2.05",
            "links": mote_lwm2m::link::write(links, "/").unwrap_or_default(),
        }),
        OperationResult::Changed => json!({"status": "2.04"}),
        OperationResult::Created(p) => {
            json!({"status": "2.01", "location": p.map(|p| p.to_string())})
        }
        OperationResult::Deleted => json!({"status": "2.02"}),
        _ => json!({"status": "2.xx"}),
    }
}

fn reply_response(reply: Reply) -> Response {
    match reply {
        Reply::Done(Ok(r)) => axum::Json(result_json(&r)).into_response(),
        Reply::Done(Err(OpError::Operation(OperationError::ErrorResponse {
            code,
            diagnostic,
        }))) => {
            let mut j = json!({"status": code.to_string()});
            if !diagnostic.is_empty() {
                j["diagnostic"] = json!(diagnostic);
            }
            axum::Json(j).into_response()
        }
        Reply::Done(Err(OpError::TimedOut)) => {
            error(StatusCode::GATEWAY_TIMEOUT, "the client did not answer")
        }
        Reply::Done(Err(OpError::ProtectionFailed { code, diagnostic })) => {
            let mut j = json!({"error": "the answer did not verify", "status": code.to_string()});
            if !diagnostic.is_empty() {
                j["diagnostic"] = json!(diagnostic);
            }
            (StatusCode::BAD_GATEWAY, axum::Json(j)).into_response()
        }
        Reply::Done(Err(e)) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
        Reply::Refused(SubmitError::UnknownClient { endpoint }) => {
            error(StatusCode::NOT_FOUND, &format!("no client {endpoint}"))
        }
        Reply::Refused(e @ SubmitError::NoObservation { .. }) => {
            error(StatusCode::NOT_FOUND, &e.to_string())
        }
        Reply::Refused(e @ SubmitError::Operation(_)) => bad_request(&e.to_string()),
        Reply::Refused(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

async fn on_path(
    Extract(state): Extract<State>,
    method: Method,
    UrlPath((ep, rest)): UrlPath<(String, String)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if method == Method::POST && rest.trim_matches('/') == "bootstrap" {
        // The Bootstrap-Request Trigger: Execute /1/x/9 of the client's Server instance.
        let server_instance = match ask(&state, |tx| Command::Client(ep.clone(), tx)).await {
            Ok(Some(c)) => c["objects"].as_array().and_then(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .find_map(|p| p.strip_prefix("/1/").map(str::to_string))
            }),
            Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no client {ep}")),
            Err(r) => return r,
        };
        let Some(instance) = server_instance else {
            return bad_request("the client registered no Server Object instance");
        };
        let Ok(path) = format!("/1/{instance}/9").parse::<Path>() else {
            return bad_request("the client's Server Object instance is not a number");
        };
        let op = Operation::Execute {
            path,
            arguments: None,
        };
        return match ask(&state, |reply| Command::Operation {
            endpoint: ep.clone(),
            op,
            reply,
        })
        .await
        {
            Ok(r) => reply_response(r),
            Err(r) => r,
        };
    }
    let op = match operation(&method, &rest, &q, &body) {
        Ok(op) => op,
        Err(r) => return r,
    };
    let cancel = matches!(
        op,
        Operation::CancelObserve { .. } | Operation::CancelObserveComposite { .. }
    );
    if cancel && q.get("mode").is_some_and(|m| m == "reset") {
        // RFC 7641 §3.6: forget the observation; the next notification gets a Reset.
        return match ask(&state, |reply| Command::ForgetObservation {
            endpoint: ep.clone(),
            op,
            reply,
        })
        .await
        {
            Ok(Ok(())) => axum::Json(json!({"cancelled": "reset"})).into_response(),
            Ok(Err(e)) => reply_response(Reply::Refused(e)),
            Err(r) => r,
        };
    }
    match ask(&state, |reply| Command::Operation {
        endpoint: ep.clone(),
        op,
        reply,
    })
    .await
    {
        Ok(r) => reply_response(r),
        Err(r) => r,
    }
}

async fn events(
    Extract(state): Extract<State>,
) -> Sse<impl Stream<Item = Result<SseFrame, Infallible>>> {
    let rx = state.events.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    return Some((Ok(SseFrame::default().event(e.name).data(e.data)), rx));
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
