//! Structured logs with `tracing`: every line inside a session carries its ID (the span
//! `session{id=…}`), every queue and relay line its queue ID (`relay{queue_id=…}`);
//! passwords and AUTH payloads are never logged (they stay in `Secret` values, and
//! [`crate::trace`] redacts them from protocol traces).
//!
//! The level filter sits behind a reload layer: `log_level` in the config (re-read on
//! SIGHUP / `gradwell reload`) and `gradwell log-level FILTER` change it while running.

use std::sync::OnceLock;

use tracing_subscriber::{EnvFilter, Registry, layer::SubscriberExt, reload};

use crate::config::LogFormat;

type FilterHandle = reload::Handle<EnvFilter, Registry>;

static FILTER: OnceLock<FilterHandle> = OnceLock::new();

/// Installs the global subscriber with `level` (an `EnvFilter` directive such as `info` or
/// `info,gradwell_server::trace=debug`); `RUST_LOG`, when set, wins at start.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
    });
    let json = (format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
    });
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json);
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        let _ = FILTER.set(handle);
    }
}

/// Whether `level` is a valid filter.
pub fn check_level(level: &str) -> anyhow::Result<()> {
    parse(level).map(|_| ())
}

fn parse(level: &str) -> anyhow::Result<EnvFilter> {
    EnvFilter::try_new(level).map_err(|e| anyhow::anyhow!("log level {level:?}: {e}"))
}

/// Replaces the level filter of the running process.
pub fn set_level(level: &str) -> anyhow::Result<()> {
    let filter = parse(level)?;
    let Some(handle) = FILTER.get() else {
        anyhow::bail!("logging is not initialised in this process");
    };
    handle
        .reload(filter)
        .map_err(|e| anyhow::anyhow!("changing the log level: {e}"))?;
    tracing::info!(level, "log level changed");
    Ok(())
}

/// `tokio::task::spawn_blocking` that keeps the caller's span (session ID, queue ID) on the
/// lines the blocking work logs; a plain `spawn_blocking` runs outside every span.
pub fn spawn_blocking<F, R>(work: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
}
