//! `gradwell serve`: bind every listener, serve until SIGTERM or SIGINT, then shut down
//! gracefully: listeners close, idle sessions get a goodbye, sessions that are delivering or
//! committing finish first (nothing acknowledged is lost), up to the grace period.
//!
//! Around that: the internal operations listener (`[metrics] listen`), the storage health
//! prober, SIGHUP as `gradwell reload`, and systemd `Type=notify` readiness (`READY=1` once
//! every listener is bound, `RELOADING=1` during a reload, `STOPPING=1` at the drain).

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::{
    net::TcpListener,
    signal::unix::{SignalKind, signal},
    sync::{mpsc, watch},
};

use crate::{
    app::App,
    config::Config,
    health::{self, Health},
    logging,
    net::listener,
    ops_http::{self, OpsState},
    rejoin,
    reload::Reloader,
    trace,
};

/// Runs the server described by `config` until a signal stops it.
pub fn run(config: Config) -> anyhow::Result<()> {
    run_from(config, None)
}

/// Runs the server described by `config`, read from `path` (which SIGHUP and
/// `gradwell reload` re-read), until SIGTERM or SIGINT stops it.
pub fn run_from(config: Config, path: Option<PathBuf>) -> anyhow::Result<()> {
    logging::init(config.log_format, &config.log_level);
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
        serve_until_with(config, path, |_| {}, stop).await
    })
}

/// Serves until `stop` completes, then shuts down gracefully. `bound` is told the address
/// of every listener once all are listening (in config order; port 0 becomes the real port).
pub async fn serve_until(
    config: Config,
    bound: impl FnOnce(Vec<SocketAddr>),
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    serve_until_with(config, None, bound, stop).await
}

/// [`serve_until`] for a server whose configuration came from `path`: SIGHUP reloads it.
/// With `[metrics] listen`, the operations listener's address is the last one `bound` gets.
pub async fn serve_until_with(
    config: Config,
    path: Option<PathBuf>,
    bound: impl FnOnce(Vec<SocketAddr>),
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    trace::set_enabled(config.protocol_trace);
    let metrics_address = config.metrics.listen;
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
    let mut addresses: Vec<SocketAddr> = sockets
        .iter()
        .map(|(s, spec)| s.local_addr().unwrap_or(spec.address))
        .collect();
    let health = Arc::new(Health::default());
    let rejoin_after = app.config.storage.mirror_rejoin_after_secs;
    let rejoins = Arc::new(
        rejoin::spawn(
            &app.set_mirrors,
            &app.config.storage.mirror_sets,
            &app.config.hostname,
            (rejoin_after > 0).then(|| Duration::from_secs(rejoin_after)),
        )
        .context("starting the mirror rejoin threads")?,
    );
    let stop_requested = Arc::new(tokio::sync::Notify::new());
    let reloader = Arc::new(Reloader::new(path.clone(), Arc::downgrade(&app)));
    if let Some(address) = metrics_address {
        let socket = TcpListener::bind(address)
            .await
            .with_context(|| format!("key `metrics.listen`: cannot listen on {address}"))?;
        addresses.push(socket.local_addr().unwrap_or(address));
        tracing::info!(%address, "operations listener: /metrics, /healthz");
        let state = Arc::new(OpsState {
            health: Arc::clone(&health),
            reloader: Arc::clone(&reloader),
            stop: Arc::clone(&stop_requested),
            app: Arc::downgrade(&app),
            rejoins: Arc::clone(&rejoins),
        });
        tokio::spawn(ops_http::run(socket, state, stop_rx.clone()));
    }
    let prober_health = Arc::clone(&health);
    let weak_app = Arc::downgrade(&app);
    tokio::task::spawn_blocking(move || health::spawn_prober(weak_app, prober_health))
        .await
        .context("starting the health prober")?
        .context("starting the health prober")?;
    if path.is_some() {
        spawn_sighup(Arc::clone(&reloader))?;
    }
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
    health.set_listeners_bound();
    notify_systemd(&[sd_notify::NotifyState::Ready]);
    bound(addresses);
    tokio::select! {
        _ = stop => {}
        _ = stop_requested.notified() => tracing::info!("stop requested: shutting down"),
    }
    notify_systemd(&[sd_notify::NotifyState::Stopping]);
    crate::metrics::global().listeners_ready.set(0);
    let _ = stop_tx.send(true);
    // Every session and accept loop holds a sender; recv() returns None once all are gone.
    if tokio::time::timeout(grace, alive_rx.recv()).await.is_err() {
        tracing::warn!("grace period over; remaining sessions are cut off");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Tells systemd (when it started us with `Type=notify`) how the service stands; without
/// `NOTIFY_SOCKET` this does nothing.
fn notify_systemd(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(error = %e, "telling systemd the service state failed");
    }
}

/// Reloads on every SIGHUP (what `systemctl reload` sends through `ExecReload`).
fn spawn_sighup(reloader: Arc<Reloader>) -> anyhow::Result<()> {
    let mut hup = signal(SignalKind::hangup()).context("installing SIGHUP handler")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading");
            let usec = sd_notify::NotifyState::monotonic_usec_now().ok();
            let mut states = vec![sd_notify::NotifyState::Reloading];
            states.extend(usec);
            notify_systemd(&states);
            let r = Arc::clone(&reloader);
            let _ = tokio::task::spawn_blocking(move || r.reload()).await;
            notify_systemd(&[sd_notify::NotifyState::Ready]);
        }
    });
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
