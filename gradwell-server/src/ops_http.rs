//! The internal operations listener (`[metrics] listen`): a minimal HTTP/1.1 server, one
//! request per connection.
//!
//! - `GET /metrics`: Prometheus/OpenMetrics text ([`crate::metrics`]);
//! - `GET /healthz/live`: 200 while the process serves requests at all;
//! - `GET /healthz/ready`: 200 when listeners are bound and every mirror set is writable,
//!   else 503; the body lists each set and replica (`degraded` when one replica serves);
//! - `POST /admin/reload`, `POST /admin/log-level/<filter>` and `POST /admin/stop`: what
//!   `gradwell reload`, `gradwell log-level` and `gradwell stop` send; accepted from loopback
//!   addresses only;
//! - `GET /admin/mirror/status`, `POST /admin/mirror/rejoin`, `POST /admin/mirror/scrub` and
//!   `/admin/mirror/scrub-repair`: what `gradwell mirror` sends; loopback only.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

use crate::{health::Health, metrics, reload::Reloader};

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests served at once; more wait in the kernel's backlog (scrapers and probes are few).
const MAX_CONCURRENT: usize = 32;

/// What the listener serves.
#[derive(Debug)]
pub struct OpsState {
    /// Readiness.
    pub health: Arc<Health>,
    /// Reloads and log levels.
    pub reloader: Arc<Reloader>,
    /// Notified by `POST /admin/stop`: the graceful shutdown SIGTERM starts.
    pub stop: Arc<tokio::sync::Notify>,
    /// The server, for `gradwell mirror` (its mirror sets).
    pub app: std::sync::Weak<crate::app::App>,
    /// Each mirror set's rejoin thread (`gradwell mirror status|rejoin`).
    pub rejoins: Arc<crate::rejoin::Rejoins>,
}

/// Serves until `shutdown` turns true.
pub async fn run(listener: TcpListener, state: Arc<OpsState>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "metrics listener accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = serve_one(tcp, peer, &state).await {
                tracing::debug!(error = %e, "metrics request failed");
            }
        });
    }
}

/// A response: status line text and body.
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: String,
}

impl Response {
    fn text(status: &'static str, body: impl Into<String>) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

async fn serve_one(mut tcp: TcpStream, peer: SocketAddr, state: &OpsState) -> std::io::Result<()> {
    let head = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut tcp))
        .await
        .map_err(|_| std::io::Error::other("request timed out"))??;
    let response = match request_line(&head) {
        Some((method, path)) => route(method, path, peer, state).await,
        None => Response::text("400 Bad Request", "bad request\n"),
    };
    let header = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    tcp.write_all(header.as_bytes()).await?;
    tcp.write_all(response.body.as_bytes()).await?;
    tcp.shutdown().await
}

/// Reads until the blank line that ends the head (or [`MAX_HEAD`]).
async fn read_head(tcp: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = tcp.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

/// The method and path of `GET /path HTTP/1.1`.
pub(crate) fn request_line(head: &[u8]) -> Option<(&str, &str)> {
    let line = head.split(|&b| b == b'\r' || b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    version.starts_with("HTTP/1.").then_some((method, path))
}

async fn route(method: &str, path: &str, peer: SocketAddr, state: &OpsState) -> Response {
    match (method, path) {
        ("GET", "/metrics") => Response {
            status: "200 OK",
            content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
            body: metrics::global().render(),
        },
        ("GET", "/healthz/live") => Response::text("200 OK", "live\n"),
        ("GET", "/healthz/ready") => {
            let (ready, report) = state.health.ready();
            let status = if ready {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            Response::text(status, report)
        }
        (_, p) if p.starts_with("/admin/mirror/") => {
            if !peer.ip().is_loopback() {
                return Response::text("403 Forbidden", "admin requests only from loopback\n");
            }
            mirror(method, p, state).await
        }
        ("POST", p)
            if p == "/admin/reload" || p == "/admin/stop" || p.starts_with("/admin/log-level/") =>
        {
            if !peer.ip().is_loopback() {
                return Response::text("403 Forbidden", "admin requests only from loopback\n");
            }
            admin(p, state).await
        }
        ("GET" | "POST", _) => Response::text("404 Not Found", "not found\n"),
        _ => Response::text("405 Method Not Allowed", "method not allowed\n"),
    }
}

/// `gradwell mirror`: `GET /admin/mirror/status` (JSON), `POST /admin/mirror/rejoin`
/// (asks every set's rejoin thread for an attempt now), `POST /admin/mirror/scrub` and
/// `/admin/mirror/scrub-repair` (runs the scrub, answers its report).
async fn mirror(method: &str, path: &str, state: &OpsState) -> Response {
    let Some(app) = state.app.upgrade() else {
        return Response::text("503 Service Unavailable", "shutting down\n");
    };
    match (method, path) {
        ("GET", "/admin/mirror/status") => {
            let sets = crate::mirror_admin::status(
                &app.config.storage.mirror_sets,
                &app.set_mirrors,
                Some(&state.rejoins),
            );
            match serde_json::to_string(&sets) {
                Ok(body) => Response {
                    status: "200 OK",
                    content_type: "application/json",
                    body,
                },
                Err(e) => Response::text("500 Internal Server Error", format!("{e}\n")),
            }
        }
        ("POST", "/admin/mirror/rejoin") => {
            let mut asked = 0;
            for (mirror, rejoin) in app.set_mirrors.iter().zip(state.rejoins.iter()) {
                let (Some(mirror), Some(rejoin)) = (mirror, rejoin) else {
                    continue;
                };
                let status = mirror.status();
                if status.primary.is_some() || status.secondary.is_some() {
                    rejoin.request();
                    asked += 1;
                }
            }
            Response::text("200 OK", format!("rejoin requested for {asked} sets\n"))
        }
        ("POST", "/admin/mirror/scrub" | "/admin/mirror/scrub-repair") => {
            let repair = path.ends_with("-repair");
            let result = tokio::task::spawn_blocking(move || {
                crate::mirror_admin::scrub(&app.set_mirrors, repair)
            })
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("scrub task failed: {e}")));
            match result {
                Ok(report) => Response::text("200 OK", report),
                Err(e) => Response::text("500 Internal Server Error", format!("{e:#}\n")),
            }
        }
        _ => Response::text("404 Not Found", "not found\n"),
    }
}

async fn admin(path: &str, state: &OpsState) -> Response {
    if path == "/admin/stop" {
        state.stop.notify_one();
        return Response::text("200 OK", "stopping\n");
    }
    let reloader = Arc::clone(&state.reloader);
    let result = match path.strip_prefix("/admin/log-level/") {
        Some(filter) => {
            let filter = filter.to_owned();
            reloader.set_log_level(&filter)
        }
        // Reading files blocks; keep it off the async threads.
        None => tokio::task::spawn_blocking(move || reloader.reload())
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("reload task failed: {e}"))),
    };
    match result {
        Ok(report) => Response::text("200 OK", format!("{report}\n")),
        Err(e) => Response::text("500 Internal Server Error", format!("{e:#}\n")),
    }
}

/// Sends one request to a running server's operations listener and returns the body;
/// a status other than 200 is an error carrying the body.
pub fn request(address: SocketAddr, method: &str, path: &str) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut tcp =
        std::net::TcpStream::connect_timeout(&address, Duration::from_secs(5)).map_err(|e| {
            anyhow::anyhow!("connecting to the server's [metrics] listener {address}: {e}")
        })?;
    tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        tcp,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    tcp.read_to_string(&mut text)?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or("");
    if status.split(' ').nth(1) == Some("200") {
        Ok(body.to_owned())
    } else {
        anyhow::bail!("{status}: {}", body.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            request_line(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some(("GET", "/metrics"))
        );
        assert_eq!(request_line(b"GET /metrics\r\n\r\n"), None);
        assert_eq!(request_line(b"\xff\xfe HTTP/1.1\r\n\r\n"), None);
    }
}
