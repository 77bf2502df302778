//! The axum router of the Rust server: the routes, and the layers every request passes
//! (outermost first): CORS (off unless origins are configured), the bearer token (constant
//! time), and the body limit (these are GET endpoints: a body over a few KiB is refused, 413).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http_body_util::{BodyExt, Limited};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::fanout::Fanout;
use super::routes::{self, query};
use super::sse::{Client, Refused};
use super::Kill;

/// The page served at `/`: the dashboard (one self-contained file, no build step).
pub const PAGE: &str = include_str!("dashboard/index.html");

/// What the handlers share.
pub struct App {
    /// The fan-out (and through it the hub).
    pub fanout: Arc<Fanout>,
    /// SHA-256 of the token, when one is required.
    pub token: Option<[u8; 32]>,
    /// Origins allowed by CORS (`*`: any); empty: CORS off.
    pub cors: Vec<String>,
    /// Largest request body, in bytes.
    pub max_body: usize,
}

/// SHA-256 of a token (compared digest to digest, so the time does not depend on where the
/// texts differ, nor on their lengths).
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn json_reply(status: u16, v: Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// The router over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/status", get(json_route))
        .route("/events", get(json_route))
        .route("/stream", get(json_route))
        .route("/analytics", get(json_route))
        .route("/realtime", get(realtime))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            json_reply(
                404,
                json!({"error": "not_found", "message": "no such endpoint"}),
            )
        })
        .layer(middleware::from_fn_with_state(app.clone(), limit_body))
        .layer(middleware::from_fn_with_state(app.clone(), auth))
        .layer(middleware::from_fn_with_state(app.clone(), cors))
        .with_state(app)
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

async fn json_route(State(app): State<Arc<App>>, req: Request) -> Response {
    let q = query(req.uri().query());
    match routes::get(app.fanout.hub(), req.uri().path(), &q).await {
        Some((status, v)) => json_reply(status, v),
        None => json_reply(404, json!({"error": "not_found"})),
    }
}

/// `GET /metrics`: the Prometheus text exposition of the hub's metrics.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    match crate::metrics::prometheus(app.fanout.hub()).run().await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            let (s, v) = routes::error(&e);
            json_reply(s, v)
        }
    }
}

async fn realtime(
    State(app): State<Arc<App>>,
    kill: Option<Extension<Kill>>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    let q = query(req.uri().query());
    // The header a browser sends when it reconnects wins over the `after` of the URL.
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| routes::all(&q, "after").pop())
        .filter(|a| !a.is_empty());
    let chans = routes::all(&q, "channel");
    let client = match Client::connect(&app.fanout, &chans, after, kill.map(|k| k.0 .0)).await {
        Ok(c) => c,
        Err(Refused::Bad(e)) | Err(Refused::Store(e)) => {
            let (s, v) = routes::error(&e);
            return json_reply(s, v);
        }
        Err(Refused::Busy) => {
            return json_reply(
                503,
                json!({"error": "busy", "message": "too many realtime clients; retry later"}),
            )
        }
    };
    let stream = futures_util::stream::unfold(client, |mut c| async move {
        c.next().await.map(|b| (Ok::<_, Infallible>(b), c))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn limit_body(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let too_big = || {
        json_reply(
            413,
            json!({"error": "too_large", "message": format!("request bodies are limited to {} bytes", app.max_body)}),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_body as u64) {
        return too_big();
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, app.max_body).collect().await {
        Ok(c) => Body::from(c.to_bytes()),
        Err(_) => return too_big(),
    };
    next.run(Request::from_parts(parts, body)).await
}

fn presented(req: &Request) -> Option<String> {
    if let Some(h) = req.headers().get(header::AUTHORIZATION) {
        let v = h.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    // A browser's EventSource cannot set headers: the token may come as `access_token`.
    routes::all(&query(req.uri().query()), "access_token").pop()
}

async fn auth(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Some(want) = &app.token {
        let ok = presented(&req).is_some_and(|t| bool::from(digest(&t).ct_eq(want)));
        if !ok {
            let mut r = json_reply(
                401,
                json!({"error": "unauthorized", "message": "this service needs a bearer token: Authorization: Bearer <token>"}),
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    next.run(req).await
}

async fn cors(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let allowed = origin
        .filter(|o| app.cors.iter().any(|a| a == "*" || a == o))
        .and_then(|o| HeaderValue::from_str(&o).ok());
    let Some(allowed) = allowed else {
        return next.run(req).await;
    };
    let mut r = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, last-event-id"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    h.insert(header::VARY, HeaderValue::from_static("origin"));
    r
}
