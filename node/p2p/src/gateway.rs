//! A read-only HTTP gateway to the node's content: `GET /ipfs/<cid>` and
//! `GET /ipfs/<cid>/<path>` (a file in a UnixFS directory, such as an item's
//! `ipfs://<batch>/<index>.json`), on loopback by default, so a browser or
//! wallet on this machine resolves the `ipfs://` URIs of Cyteria items. Raw
//! blocks are served as they are; UnixFS files are reassembled. What the
//! node lacks it fetches from the network within a timeout.
//!
//! A web page the browser loaded from elsewhere must not read it through a
//! name it points at 127.0.0.1 (DNS rebinding): a request whose `Host` is
//! a name other than `localhost` is refused. At most [`MAX_REQUESTS`] are
//! served at once (more are answered 503 at once) and a response holds at
//! most [`MAX_RESPONSE_BYTES`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::content::{Content, ContentError, parse_cid};

/// How long the gateway waits for content it does not hold.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// Requests served at once.
pub const MAX_REQUESTS: usize = 16;

/// The largest response (items' metadata and sprites are kilobytes).
pub const MAX_RESPONSE_BYTES: usize = 32 << 20;

/// Whether a request's `Host` header may reach the gateway: an IP address
/// (with a port or not) or `localhost`; no other name, which a page could
/// have pointed at this machine.
pub fn host_allowed(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest.split_once(']').is_some_and(|(ip, port)| {
            ip.parse::<std::net::Ipv6Addr>().is_ok()
                && (port.is_empty() || port.strip_prefix(':').is_some_and(valid_port))
        });
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if valid_port(port) => name,
            Some(_) => return false,
            None => host,
        }
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok()
}

async fn guard(
    State(permits): State<Arc<tokio::sync::Semaphore>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host) {
        return (
            StatusCode::FORBIDDEN,
            "this gateway answers only to localhost",
        )
            .into_response();
    }
    let Ok(_permit) = permits.try_acquire() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy; try again").into_response();
    };
    next.run(req).await
}

/// The content type of `bytes`, sniffed (the gateway has no file names).
pub fn content_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.first().is_some_and(|b| *b == b'{' || *b == b'[')
        && serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
    {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

async fn get(State(content): State<Content>, Path(cid): Path<String>) -> Response {
    let cid = match parse_cid(&cid) {
        Ok(c) => c,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    respond(
        content
            .get_record_within(&cid, &[], FETCH_TIMEOUT, MAX_RESPONSE_BYTES)
            .await,
    )
}

async fn get_path(
    State(content): State<Content>,
    Path((cid, path)): Path<(String, String)>,
) -> Response {
    let cid = match parse_cid(&cid) {
        Ok(c) => c,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if path.len() > 1024 || path.split('/').any(|s| s == ".." || s == ".") {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    }
    respond(
        content
            .cat_path_within(
                &cid,
                path.trim_end_matches('/'),
                &[],
                FETCH_TIMEOUT,
                MAX_RESPONSE_BYTES,
            )
            .await,
    )
}

fn respond(bytes: Result<Vec<u8>, ContentError>) -> Response {
    match bytes {
        Ok(b) => {
            let immutable = "public, max-age=29030400, immutable";
            (
                [
                    (header::CONTENT_TYPE, content_type(&b)),
                    (header::CACHE_CONTROL, immutable),
                ],
                b,
            )
                .into_response()
        }
        Err(e @ ContentError::NotFound { .. }) => {
            (StatusCode::NOT_FOUND, e.to_string()).into_response()
        }
        Err(e @ ContentError::BadCid(_)) => {
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
        Err(e @ ContentError::NoSuchPath(_)) => {
            (StatusCode::NOT_FOUND, e.to_string()).into_response()
        }
        Err(e @ (ContentError::TooLarge(_) | ContentError::Mismatch(_))) => {
            (StatusCode::BAD_GATEWAY, e.to_string()).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Serves the gateway on `addr` until the task is dropped; returns the bound address.
pub async fn serve(
    content: Content,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let app = axum::Router::new()
        .route("/ipfs/{cid}", axum::routing::get(get))
        .route("/ipfs/{cid}/{*path}", axum::routing::get(get_path))
        .with_state(content)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(tokio::sync::Semaphore::new(MAX_REQUESTS)),
            guard,
        ));
    crate::metrics::serve_router(app, addr, "gateway").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_sniffed() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(br#"{"name":"x"}"#), "application/json");
        assert_eq!(content_type(b"{not json"), "application/octet-stream");
        assert_eq!(content_type(b""), "application/octet-stream");
    }

    #[test]
    fn only_addresses_and_localhost_may_be_the_host() {
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "[::1]",
            "192.168.1.4:80",
        ] {
            assert!(host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "evil.example",
            "",
            "127.0.0.1:99999",
            "localhost:",
            "[::1",
            "[nope]:80",
            "127.0.0.1.nip.io:8080",
        ] {
            assert!(!host_allowed(bad), "{bad}");
        }
    }
}
