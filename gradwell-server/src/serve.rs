//! `gradwell serve`: bind every listener, serve until SIGTERM or SIGINT, then shut down
//! gracefully: listeners close, idle sessions get a goodbye, sessions that are delivering or
//! committing finish first (nothing acknowledged is lost), up to the grace period.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use tokio::{
    net::TcpListener,
    signal::unix::{SignalKind, signal},
    sync::{mpsc, watch},
};

use crate::{app::App, config::Config, logging, net::listener};

/// Runs the server described by `config` until a signal stops it.
pub fn run(config: Config) -> anyhow::Result<()> {
    logging::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
        let stop = async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = int.recv() => tracing::info!("SIGINT: shutting down"),
            }
        };
        serve_until(config, |_| {}, stop).await
    })
}

/// Serves until `stop` completes, then shuts down gracefully. `bound` is told the address
/// of every listener once all are listening (in config order; port 0 becomes the real port).
pub async fn serve_until(
    config: Config,
    bound: impl FnOnce(Vec<SocketAddr>),
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
    let specs = config.listeners.clone();
    let lmtp_socket = config.lmtp_socket.clone();
    let app = App::open(config)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut sockets = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let socket = TcpListener::bind(spec.address).await.with_context(|| {
            format!(
                "key `listener[{i}].address`: cannot listen on {}",
                spec.address
            )
        })?;
        sockets.push((socket, spec.clone()));
    }
    let addresses = sockets
        .iter()
        .map(|(s, spec)| s.local_addr().unwrap_or(spec.address))
        .collect();
    for (socket, spec) in sockets {
        tracing::info!(address = %spec.address, service = ?spec.service, tls = ?spec.tls, "listening");
        tokio::spawn(listener::run(
            app.clone(),
            socket,
            spec,
            stop_rx.clone(),
            alive_tx.clone(),
        ));
    }
    if let Some(path) = &lmtp_socket {
        let socket = bind_unix(path)?;
        tracing::info!(path = %path.display(), "listening for LMTP");
        tokio::spawn(listener::run_unix(
            app.clone(),
            socket,
            stop_rx.clone(),
            alive_tx.clone(),
        ));
    }
    tokio::spawn(crate::queue::runner::run(app.clone(), stop_rx.clone()));
    drop(alive_tx);
    bound(addresses);
    stop.await;
    let _ = stop_tx.send(true);
    // Every session and accept loop holds a sender; recv() returns None once all are gone.
    if tokio::time::timeout(grace, alive_rx.recv()).await.is_err() {
        tracing::warn!("grace period over; remaining sessions are cut off");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Binds the LMTP Unix socket, replacing a stale socket file left by an earlier run (but
/// never any other kind of file).
fn bind_unix(path: &std::path::Path) -> anyhow::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            anyhow::bail!(
                "key `lmtp_socket`: {} exists and is not a socket",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("key `lmtp_socket`: removing stale {}", path.display()))?;
    }
    tokio::net::UnixListener::bind(path)
        .with_context(|| format!("key `lmtp_socket`: cannot listen on {}", path.display()))
}
