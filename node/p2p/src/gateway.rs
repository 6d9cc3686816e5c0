//! A read-only HTTP gateway to the node's content: `GET /ipfs/<cid>` and
//! `GET /ipfs/<cid>/<path>` (a file in a UnixFS directory, such as an item's
//! `ipfs://<batch>/<index>.json`), on loopback by default, so a browser or
//! wallet on this machine resolves the `ipfs://` URIs of Cyteria items. Raw
//! blocks are served as they are; UnixFS files are reassembled. What the
//! node lacks it fetches from the network within a timeout.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::content::{Content, ContentError, parse_cid};

/// How long the gateway waits for content it does not hold.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

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
    respond(content.get_record(&cid, &[], FETCH_TIMEOUT).await)
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
            .cat_path(&cid, path.trim_end_matches('/'), &[], FETCH_TIMEOUT)
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
        .with_state(content);
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
}
