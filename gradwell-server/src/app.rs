//! What every session shares: configuration, accounts, the store and the limits.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use maildir_store::{MailStore, UserId, mirror::Mirror, placement::Placement};
use tokio_rustls::TlsAcceptor;

use crate::{
    accounts::{aliases::Aliases, penalty::Penalty, userdb::UserDb},
    config::Config,
    moves,
    net::{
        bans::Bans,
        conn::Timeouts,
        limits::{PerIp, PerUser},
        tls,
    },
    queue::store::Queue,
    smtp::rate::RateLimiter,
    storage,
};

/// Shared state of a running server.
pub struct App {
    /// The configuration it started with.
    pub config: Config,
    /// Accounts.
    pub users: UserDb,
    /// Virtual aliases.
    pub aliases: Aliases,
    /// Mail storage.
    pub store: Arc<dyn MailStore>,
    /// Failed-login delays.
    pub penalty: Penalty,
    /// Connections per address.
    pub per_ip: Arc<PerIp>,
    /// IMAP and POP3 sessions per logged-in user.
    pub per_user: Arc<PerUser>,
    /// Addresses banned after repeated failed logins.
    pub bans: Bans,
    /// TLS, when configured.
    pub tls: Option<TlsAcceptor>,
    /// The certificate behind `tls`, refilled by `gradwell reload`.
    pub cert_store: Option<Arc<tls::CertStore>>,
    /// Mailboxes with a POP3 session in TRANSACTION state (RFC 2449 `[IN-USE]`).
    pub pop3_locked: Mutex<HashSet<UserId>>,
    /// The mirror behind `store` when the set has two replica roots (health, resync).
    pub mirror: Option<Arc<Mirror>>,
    /// The placement behind `store` when there are several mirror sets (moves, `set_of`).
    pub placement: Option<Arc<Placement>>,
    /// This server's registration as serving the placed users (`gradwell user move`).
    _serving: Option<moves::Serving>,
    /// Each mirror set's mirror, in config order (`None` for a one-root set).
    pub set_mirrors: Vec<Option<Arc<Mirror>>>,
    /// The outbound queue, on every replica root of the first mirror set.
    pub queue: Arc<Queue>,
    /// Submission rate limits per authenticated user.
    pub submit_rate: RateLimiter,
    /// Parsed message structure in memory, in front of the store's structure records: per
    /// server, since (user, mailbox, UIDVALIDITY, UID) names one message only within one
    /// storage.
    pub parse_cache: crate::imap::cache::ParseCache,
    /// The mailboxes IDLE sessions wait on, one shared watcher each; `store` wakes them on
    /// its own writes.
    pub idle_watchers: crate::imap::watchers::Watchers,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("hostname", &self.config.hostname)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Opens everything the configuration names; errors say which key is wrong.
    pub fn open(config: Config) -> anyhow::Result<Arc<App>> {
        let users = UserDb::open(&config.users_file).context("key `users_file`")?;
        let aliases = match &config.aliases_file {
            Some(path) => Aliases::load(path).context("key `aliases_file`")?,
            None => Aliases::default(),
        };
        // Several sets: register first, so an offline move ends before the map is read.
        let serving = match config.storage.mirror_sets.len() {
            1 => None,
            _ => Some(moves::register(&config.storage, &config.hostname)?),
        };
        let opened = storage::open(&config.storage)?;
        if let Some(placement) = &opened.placement {
            moves::watch(Arc::downgrade(placement), config.storage.clone())?;
        }
        let (tls, cert_store) = match &config.tls {
            Some(files) => {
                let (acceptor, store) = tls::acceptor_with_store(&files.cert, &files.key)?;
                (Some(acceptor), Some(store))
            }
            None => (None, None),
        };
        let queue = Queue::open_configured(&config)
            .context("key `storage.mirror_sets`: creating the outbound queue")?;
        queue.recover();
        let limits = &config.limits;
        let idle_watchers = crate::imap::watchers::Watchers::new(
            Arc::clone(&opened.store),
            Duration::from_millis(limits.imap_idle_poll_ms.max(10)),
        );
        let store: Arc<dyn MailStore> = Arc::new(crate::imap::notifying::Notifying::new(
            opened.store,
            idle_watchers.clone(),
        ));
        Ok(Arc::new(App {
            queue: Arc::new(queue),
            submit_rate: RateLimiter::new(
                limits.submission_max_messages_per_hour,
                limits.submission_max_recipients_per_hour,
            ),
            penalty: Penalty::new(
                Duration::from_millis(limits.auth_penalty_initial_ms),
                Duration::from_millis(limits.auth_penalty_max_ms),
            ),
            per_ip: PerIp::new(limits.max_connections_per_ip),
            per_user: PerUser::new(limits.max_connections_per_user),
            bans: Bans::new(limits.ban_policy()),
            users,
            aliases,
            store,
            idle_watchers,
            tls,
            cert_store,
            pop3_locked: Mutex::new(HashSet::new()),
            mirror: opened.mirror,
            placement: opened.placement,
            _serving: serving,
            set_mirrors: opened.set_mirrors,
            parse_cache: Default::default(),
            config,
        }))
    }

    /// The replica roots of `user`'s mirror set that are not fenced (all of them for a
    /// one-root set), where cross-process locks such as the POP3 maildrop lock are taken.
    /// With several sets, a user not placed yet is placed on the default set first, so the
    /// lock is on the roots their mail will be on.
    pub fn healthy_roots(&self, user: &UserId) -> Vec<std::path::PathBuf> {
        let set = match &self.placement {
            Some(p) => match p.set_of(user) {
                Some(set) => set,
                // Placing happens at first use; a cheap call makes it happen now.
                None => {
                    let _ = self.store.quota_usage(user);
                    p.set_of(user).unwrap_or_else(|| p.default_set())
                }
            },
            None => 0,
        };
        let roots = self
            .config
            .storage
            .mirror_sets
            .get(set)
            .cloned()
            .unwrap_or_default();
        let Some(Some(mirror)) = self.set_mirrors.get(set) else {
            return roots;
        };
        let status = mirror.status();
        let fenced = [status.primary.is_some(), status.secondary.is_some()];
        roots
            .into_iter()
            .zip(fenced)
            .filter(|(_, f)| !f)
            .map(|(r, _)| r)
            .collect()
    }

    /// Session timeouts.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            pre_auth: self.config.limits.pre_auth_timeout(),
            idle: self.config.limits.idle_timeout(),
        }
    }

    /// Checks a login off the async runtime, applying the per-address penalty to failures.
    pub async fn login(
        self: &Arc<Self>,
        peer: std::net::IpAddr,
        user: String,
        password: Vec<u8>,
    ) -> Option<UserId> {
        let app = Arc::clone(self);
        let result =
            crate::logging::spawn_blocking(move || app.users.authenticate(&user, &password))
                .await
                .ok()
                .flatten();
        match &result {
            Some(_) => self.penalty.succeed(peer),
            None => {
                let metrics = crate::metrics::global();
                metrics.auth_failures.inc();
                let now = std::time::Instant::now();
                // The ban applies to the next connection; this one still waits out its delay.
                if let Some(length) = self.bans.fail(peer, now) {
                    metrics.ban_started();
                    tokio::spawn(async move {
                        tokio::time::sleep(length).await;
                        crate::metrics::global().ban_ended();
                    });
                }
                let delay = self.penalty.fail(peer, now);
                if !delay.is_zero() {
                    metrics.tarpit();
                }
                tracing::info!(delay_ms = delay.as_millis() as u64, "authentication failed");
                tokio::time::sleep(delay).await;
            }
        }
        result
    }
}
