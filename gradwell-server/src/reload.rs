//! SIGHUP and `gradwell reload`: re-read the configuration file and apply what can change
//! while serving — the log level, protocol tracing, the TLS certificate (new handshakes get
//! it, established sessions keep theirs), the alias file, and the users file (re-read when it
//! changes, checked here). Keys that need a restart (listeners, storage, limits, queue, relay) are reported
//! when they differ, as mox does for `mox.conf`; a file that does not parse changes nothing.

use std::{path::PathBuf, sync::Weak};

use anyhow::Context;

use crate::{app::App, config::Config, logging, metrics, trace};

/// Applies reloads to a running server.
#[derive(Debug)]
pub struct Reloader {
    config_path: Option<PathBuf>,
    app: Weak<App>,
}

impl Reloader {
    /// For the server `app`, started from `config_path` (none: reload only re-checks the
    /// files of the configuration it started with).
    pub fn new(config_path: Option<PathBuf>, app: Weak<App>) -> Self {
        Self { config_path, app }
    }

    /// Re-reads everything; the report names what changed and what needs a restart.
    pub fn reload(&self) -> anyhow::Result<String> {
        let result = self.reload_inner();
        let label = if result.is_ok() { "ok" } else { "error" };
        metrics::global()
            .reloads
            .get_or_create(&metrics::ResultLabel { result: label })
            .inc();
        match &result {
            Ok(report) => tracing::info!(report = %report, "configuration reloaded"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "reload failed; nothing changed"),
        }
        result
    }

    fn reload_inner(&self) -> anyhow::Result<String> {
        let app = self.app.upgrade().context("the server is shutting down")?;
        let new = match &self.config_path {
            Some(path) => Config::load(path)?,
            None => app.config.clone(),
        };
        crate::check::check_files(&new)?;
        // Everything that can fail is read first, so a failure leaves the server as it was.
        let aliases = match &new.aliases_file {
            Some(path) if new.aliases_file == app.config.aliases_file => {
                Some(crate::accounts::aliases::Aliases::load(path)?)
            }
            _ => None,
        };
        logging::check_level(&new.log_level)?;
        let mut report = Vec::new();
        if let (Some(store), Some(files)) = (&app.cert_store, &new.tls) {
            store.reload(&files.cert, &files.key)?;
            report.push("certificate reloaded".to_owned());
        }
        if let Some(aliases) = aliases {
            app.aliases.replace_with(&aliases);
            report.push("aliases reloaded".to_owned());
        }
        let users = app.users.names().len();
        report.push(format!("{users} users"));
        logging::set_level(&new.log_level)?;
        trace::set_enabled(new.protocol_trace);
        report.push(format!(
            "log_level {} protocol_trace {}",
            new.log_level, new.protocol_trace
        ));
        let restart: Vec<&str> = restart_only_changes(&app.config, &new);
        if !restart.is_empty() {
            report.push(format!("restart needed for: {}", restart.join(", ")));
        }
        Ok(report.join("; "))
    }

    /// `gradwell log-level`: changes the filter until the next reload.
    pub fn set_log_level(&self, filter: &str) -> anyhow::Result<String> {
        logging::set_level(filter)?;
        Ok(format!("log level {filter}"))
    }
}

/// The restart-only sections whose values differ between `old` and `new`.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    // The sections have no PartialEq of their own; their Debug form lists every field.
    let differs =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") != format!("{b:?}");
    let mut out = Vec::new();
    for (name, changed) in [
        ("listener", differs(&old.listeners, &new.listeners)),
        ("storage", differs(&old.storage, &new.storage)),
        ("limits", differs(&old.limits, &new.limits)),
        ("queue", differs(&old.queue, &new.queue)),
        ("relay", differs(&old.relay, &new.relay)),
        ("metrics", old.metrics != new.metrics),
        ("tls", old.tls.is_some() != new.tls.is_some()),
        (
            "aliases_file (a new path)",
            old.aliases_file != new.aliases_file,
        ),
        ("local_domains", old.local_domains != new.local_domains),
        ("hostname", old.hostname != new.hostname),
    ] {
        if changed {
            out.push(name);
        }
    }
    out
}
