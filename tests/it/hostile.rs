//! A hostile server for the network tests, on 127.0.0.1 port 0: it writes down every request
//! it receives, answers those its rule picks as the rule says (a redirect, an id of `..`, a
//! huge body, escape sequences), and passes the others on to an upstream sandbox unchanged.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What the server answers a request with: `Some` to answer it itself, `None` to pass it on.
pub type Rule = Arc<dyn Fn(&Seen) -> Option<Response> + Send + Sync>;

/// The server; stops when dropped.
pub struct Hostile {
    /// `http://127.0.0.1:{port}`.
    pub url: String,
    /// Every request received, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    _shutdown: oneshot::Sender<()>,
}

impl Hostile {
    /// The requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves `rule` in front of `upstream` (a base URL, or none: then what the rule does not
/// answer is a 404).
pub async fn serve(
    upstream: Option<String>,
    rule: impl Fn(&Seen) -> Option<Response> + Send + Sync + 'static,
) -> Hostile {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let rule: Rule = Arc::new(rule);
    let client = crate::util::client();
    let state = (seen.clone(), rule, upstream, client);
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (seen, rule, upstream, client) = state.clone();
            async move {
                let request = Seen {
                    method,
                    path: uri
                        .path_and_query()
                        .map_or_else(|| uri.path().to_string(), |p| p.to_string()),
                    headers,
                    body,
                };
                seen.lock().unwrap().push(request.clone());
                if let Some(answer) = rule(&request) {
                    return answer;
                }
                match upstream {
                    Some(upstream) => forward(&client, &upstream, request).await,
                    None => StatusCode::NOT_FOUND.into_response(),
                }
            }
        },
    );
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Hostile {
        url,
        seen,
        _shutdown: shutdown,
    }
}

/// A path under it is passed on without it: another address of the same resource, at the
/// same origin, for a rule to redirect to.
pub const MOVED: &str = "/moved";

/// `request` sent on to `upstream` (less a [`MOVED`] prefix), and its answer.
async fn forward(client: &reqwest::Client, upstream: &str, request: Seen) -> Response {
    let mut headers = request.headers.clone();
    headers.remove("host");
    let path = request.path.strip_prefix(MOVED).unwrap_or(&request.path);
    let reply = client
        .request(request.method, format!("{upstream}{path}"))
        .headers(headers)
        .body(request.body)
        .send()
        .await
        .unwrap();
    let mut answer = Response::builder().status(reply.status());
    for (name, value) in reply.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            answer = answer.header(name, value);
        }
    }
    answer
        .body(Body::from(reply.bytes().await.unwrap()))
        .unwrap()
}

/// An answer with `status`, `Location: location` and no body.
pub fn redirect(status: u16, location: &str) -> Response {
    Response::builder()
        .status(status)
        .header("location", location)
        .body(Body::empty())
        .unwrap()
}

/// A JSON answer with `status`.
pub fn json(status: u16, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A body of `total` bytes of spaces sent in 64 KiB frames without a length; `sent` counts
/// the bytes the client took.
pub struct Endless {
    pub left: usize,
    pub sent: Arc<std::sync::atomic::AtomicUsize>,
}

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        const FRAME: usize = 64 << 10;
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = self.left.min(FRAME);
        self.left -= n;
        self.sent.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![b' '; n])))))
    }
}
