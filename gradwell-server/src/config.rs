//! The configuration file: TOML, unknown keys are errors, every limit has a default.
//!
//! The doc comments of the fields below are the operator's documentation too:
//! `gradwell print-default-config` prints them, with each key's default or example, through
//! [`print`] (which reads them from the types' JSON Schema).

pub mod print;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name in greetings and `Received:` fields.
    #[schemars(example = &"mx.example.net")]
    pub hostname: String,
    /// Domains whose mail is delivered here; inbound SMTP refuses every other domain
    /// (`554 5.7.1`).
    #[schemars(example = ["example.net", "example.org"])]
    pub local_domains: Vec<String>,
    /// Accounts in Dovecot's passwd-file format
    /// (`user:{SCHEME}hash:uid:gid:gecos:home:shell:extra`). Schemes: ARGON2ID, BLF-CRYPT,
    /// SHA512-CRYPT, SHA256-CRYPT, PLAIN (tests only). Re-read when it changes;
    /// `gradwell user add|passwd|del|list` maintains it.
    #[schemars(example = &"users")]
    pub users_file: PathBuf,
    /// Postfix-style virtual aliases: lines of `address  target, target`, and `@domain` for a
    /// catch-all.
    #[serde(default)]
    #[schemars(example = &"aliases")]
    pub aliases_file: Option<PathBuf>,
    /// The user that receives `postmaster@` mail for every local domain (RFC 5321 §4.5.1)
    /// when the alias file does not say otherwise.
    #[schemars(example = &"admin")]
    pub postmaster: String,
    /// Log line format.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or `tracing`
    /// directives such as `info,gradwell_server::trace=debug` (`RUST_LOG` wins at start).
    /// Re-read on SIGHUP or `gradwell reload`; `gradwell log-level --config FILE FILTER`
    /// changes it until then.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Log every protocol line of every session (`C:`/`S:`) at debug level, target
    /// `gradwell_server::trace`, with AUTH/LOGIN/USER/PASS arguments and SASL responses
    /// redacted (needs `log_level` debug for that target). Re-read on reload.
    #[serde(default)]
    pub protocol_trace: bool,
    /// The internal operations listener, off unless `listen` is set: `GET /metrics`
    /// (Prometheus / OpenMetrics), `GET /healthz/live`, `GET /healthz/ready` (503 unless
    /// every listener is bound and every mirror set has a writable replica; the body says
    /// which set is degraded), and the admin requests of `gradwell reload` and
    /// `gradwell log-level`, accepted from loopback clients only.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Certificate chain and private key, PEM. Needed by every listener whose `tls` is not
    /// `none`; re-read on reload.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Where mail lives.
    pub storage: Storage,
    /// Limits and timeouts.
    #[serde(default)]
    pub limits: Limits,
    /// A Unix socket for LMTP (RFC 2033), the way a local MTA hands over mail (Postfix:
    /// `virtual_transport = lmtp:unix:/run/gradwell/lmtp`). A stale socket file is replaced
    /// at start-up; TCP LMTP listeners work too.
    #[serde(default)]
    #[schemars(example = &"/run/gradwell/lmtp")]
    pub lmtp_socket: Option<PathBuf>,
    /// One entry per listening socket (none by default: uncomment the ones to serve).
    #[serde(rename = "listener", default)]
    #[schemars(example = example_listeners())]
    pub listeners: Vec<Listener>,
    /// The outbound queue (submitted mail for other domains), in `.gradwell-queue` under
    /// every replica root of the first mirror set.
    /// `gradwell queue --config FILE list|show|retry|hold|release|delete [--json]`
    /// manages it.
    #[serde(default)]
    pub queue: crate::queue::QueueConfig,
    /// The next hop for outbound mail: with `smart_host`, everything goes there; without
    /// it, straight to each domain's MX hosts. Without `[relay]` queued mail waits (and
    /// eventually bounces); submission still accepts it.
    #[serde(default)]
    pub relay: Option<crate::relay::RelayConfig>,
}

fn default_log_level() -> String {
    "info".to_owned()
}

/// The example `[[listener]]` entries of the printed configuration: one per kind of socket.
fn example_listeners() -> serde_json::Value {
    serde_json::json!([
        { "service": "smtp", "address": "0.0.0.0:25" },
        { "service": "submission", "address": "0.0.0.0:587" },
        { "service": "submission", "address": "0.0.0.0:465", "tls": "implicit" },
        { "service": "imap", "address": "0.0.0.0:143" },
        { "service": "imap", "address": "0.0.0.0:993", "tls": "implicit" },
        { "service": "pop3", "address": "0.0.0.0:110" },
        { "service": "pop3", "address": "0.0.0.0:995", "tls": "implicit" },
        { "service": "lmtp", "address": "127.0.0.1:24", "tls": "none" },
        { "service": "imap", "address": "0.0.0.0:10143", "proxy_protocol": true },
    ])
}

/// `[metrics]`: the internal HTTP listener for Prometheus (`/metrics`), health checks
/// (`/healthz/live`, `/healthz/ready`) and the admin requests of `gradwell reload` and
/// `gradwell log-level` (from loopback clients only).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address to listen on. Keep it on loopback or an internal network: it has no
    /// authentication.
    #[serde(default)]
    #[schemars(example = &"127.0.0.1:9750")]
    pub listen: Option<SocketAddr>,
}

/// The documented configuration `gradwell print-default-config` prints, generated from the
/// config types by [`print::render`]: every key with its doc comment and its default (or an
/// example where there is none, commented out unless the key is required).
pub fn default_config_text() -> String {
    // The unit tests of `print` render the same text and fail naming any key without a doc
    // comment or without a default or example, so this cannot fail in a tested build.
    print::render(print::Examples::Commented)
        .expect("every config key has a doc comment and a default or an example")
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// PEM files for TLS.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    #[schemars(example = &"cert.pem")]
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    #[schemars(example = &"key.pem")]
    pub key: PathBuf,
}

/// Storage: mirror sets of replica roots.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// Mirror sets of replica roots (each root initialised with `gradwell quickstart` or
    /// maildir-store's `init_replica`). A set of two roots keeps every message on both
    /// arrays: a delivery is acknowledged only once it is durable on every healthy
    /// replica, and a failing or hung replica is fenced while the other serves; a set of
    /// one root is a plain Maildir.
    ///
    /// Several sets spread users over them (as over several file servers): each user lives
    /// on one set, recorded in the placement map at first use (new users go to set 0 until
    /// the map's `default` line says otherwise), e.g.
    ///
    /// ```toml
    /// mirror_sets = [["/srv/mail/a1", "/srv/mail/a2"], ["/srv/mail/b1", "/srv/mail/b2"]]
    /// ```
    ///
    /// `gradwell user move --config FILE USER SET` moves a user to set SET (numbered from 0)
    /// while the server keeps serving them: the running server does the move (copy, catch
    /// up, a brief pause of that user's calls, switch, verify, remove the old copy); with no
    /// server running the command does it itself. With several server processes on the same
    /// storage the move is refused: a live move pauses the user in one process only. The
    /// outbound queue stays on the first set.
    #[schemars(example = [["replica-a", "replica-b"]])]
    pub mirror_sets: Vec<Vec<PathBuf>>,
    /// fsync before acknowledging (turn off only for throwaway trees).
    #[serde(default = "yes")]
    pub fsync: bool,
    /// A set of two roots: milliseconds a replica may take to answer one call before it is
    /// fenced and the other serves alone (DESIGN.md M2).
    #[serde(default = "mirror_deadline_ms")]
    pub mirror_deadline_ms: u64,
    /// A set of two roots: threads serving each replica.
    #[serde(default = "mirror_workers_per_replica")]
    pub mirror_workers_per_replica: usize,
    /// A set of two roots: calls that may wait for a replica's threads before it counts as
    /// hung.
    #[serde(default = "mirror_queue_depth")]
    pub mirror_queue_depth: usize,
    /// A set of two roots: start on one readable replica even when its record does not prove
    /// it was the survivor (an operator override: the lone replica may be stale).
    #[serde(default)]
    pub mirror_trust_lone_replica: bool,
    /// A set of two roots: seconds a fenced replica's root must pass the health probe
    /// (readable, writable, replica marker present) before the server resyncs and readmits
    /// it on its own, while service continues (0 = never: an operator runs
    /// `gradwell mirror rejoin`). Off by default because it is safe on one process only:
    /// with several front ends on the same storage, set it on exactly one of them (the
    /// others may write to the survivor alone for up to a second after a rejoin; the
    /// scale-out test saw duplicated messages with it on every front end).
    #[serde(default = "mirror_rejoin_after_secs")]
    pub mirror_rejoin_after_secs: u64,
    /// Several sets only: the placement map naming each user's set (default
    /// `.gradwell-placement` in the first set's first replica root). Keep it on storage
    /// every server process shares.
    #[serde(default)]
    #[schemars(example = &"/srv/mail/placement")]
    pub placement_file: Option<PathBuf>,
}

/// The placement map's name in the first set's first replica root (a leading dot is never a
/// user name, so Dovecot and the store never take it for a user's tree).
pub const PLACEMENT_FILE: &str = ".gradwell-placement";

fn yes() -> bool {
    true
}

fn mirror_deadline_ms() -> u64 {
    2000
}

fn mirror_workers_per_replica() -> usize {
    4
}

fn mirror_queue_depth() -> usize {
    64
}

fn mirror_rejoin_after_secs() -> u64 {
    0
}

impl Storage {
    /// Where the placement map is: `placement_file`, or `.gradwell-placement` in the first
    /// set's first replica root.
    pub fn placement_path(&self) -> PathBuf {
        match &self.placement_file {
            Some(p) => p.clone(),
            None => self
                .mirror_sets
                .first()
                .and_then(|set| set.first())
                .map(|root| root.join(PLACEMENT_FILE))
                .unwrap_or_else(|| PathBuf::from(PLACEMENT_FILE)),
        }
    }

    /// The mirrored store's options from these keys.
    pub fn mirror_options(&self) -> maildir_store::mirror::Options {
        let mut o = maildir_store::mirror::Options::default();
        o.deadline = Duration::from_millis(self.mirror_deadline_ms);
        o.workers_per_replica = self.mirror_workers_per_replica;
        o.queue_depth = self.mirror_queue_depth;
        o.trust_lone_replica = self.mirror_trust_lone_replica;
        o
    }
}

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Inbound SMTP (MX): local delivery only, no AUTH.
    Smtp,
    /// LMTP (RFC 2033) from a local MTA.
    Lmtp,
    /// POP3.
    Pop3,
    /// Message submission (RFC 6409): AUTH required, mail for other domains is queued.
    Submission,
    /// IMAP4rev1 and IMAP4rev2.
    Imap,
}

/// How TLS is used on a listener.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plaintext only.
    None,
    /// Plaintext with STARTTLS/STLS offered.
    #[default]
    Starttls,
    /// TLS from the first byte (RFC 8314).
    Implicit,
}

/// One listening socket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// The protocol served.
    pub service: Service,
    /// Address and port, e.g. `127.0.0.1:2525`.
    pub address: SocketAddr,
    /// How TLS is used (any mode but `none` needs `[tls]`; LMTP supports `none` and
    /// `starttls`).
    #[serde(default)]
    pub tls: TlsMode,
    /// Expect a PROXY protocol v1/v2 header first (HAProxy in front): the client's real
    /// address is then the one logged, limited and banned.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// Allow passwords before TLS on this listener (when false, AUTH and LOGIN are not
    /// advertised before TLS).
    #[serde(default)]
    pub allow_cleartext_auth: bool,
    /// Submission only: clients in these ranges (CIDR) may send without AUTH and with any
    /// sender, as Postfix's `permit_mynetworks` (web applications, a trusted MTA).
    #[serde(default)]
    #[schemars(example = ["10.0.0.0/8"])]
    pub trusted_networks: Vec<crate::net::network::Network>,
}

/// Limits; every field has a default.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Concurrent connections from one IP address (default 50).
    pub max_connections_per_ip: usize,
    /// Seconds a client may take to log in (POP3) or to say HELO/EHLO (SMTP) (default 60).
    pub pre_auth_timeout_secs: u64,
    /// Seconds of silence after login or during a transaction (default 600, RFC 1939 §3's
    /// ten minutes; RFC 5321 §4.5.3.2.7 asks for five minutes at least). IMAP uses at least
    /// 30 minutes (RFC 9051 §5.4).
    pub idle_timeout_secs: u64,
    /// First failed-login delay from one address in milliseconds (default 2000, as Dovecot);
    /// each further failure doubles it, up to `auth_penalty_max_ms`.
    pub auth_penalty_initial_ms: u64,
    /// Largest failed-login delay in milliseconds (default 15000, as Dovecot).
    pub auth_penalty_max_ms: u64,
    /// SMTP: largest message in octets (default 25 MiB; advertised as SIZE, RFC 1870).
    pub smtp_max_message_size: u64,
    /// SMTP: recipients per transaction (default 100).
    pub smtp_max_recipients: usize,
    /// SMTP: protocol errors before 421 (default 20).
    pub smtp_max_errors: u32,
    /// SMTP: longest command line (default 512).
    pub smtp_max_command_line: usize,
    /// POP3: bad commands before the session closes (default 20).
    pub pop3_max_bad_commands: u32,
    /// Seconds a graceful shutdown (SIGTERM) waits for sessions to finish what they are
    /// delivering or committing (default 10).
    pub shutdown_grace_secs: u64,
    /// Submission: messages one authenticated user may submit per hour (default 500,
    /// then `451 4.7.1`).
    pub submission_max_messages_per_hour: u32,
    /// Submission: recipients one authenticated user may name per hour (default 2000, then
    /// `451 4.7.1`).
    pub submission_max_recipients_per_hour: u32,
    /// IMAP: longest command line, CRLF included, literals not counted (default 64 KiB,
    /// Dovecot's `imap_max_line_length`).
    pub imap_max_line_length: usize,
    /// IMAP: largest literal, and so the largest APPEND (default 25 MiB; advertised as
    /// APPENDLIMIT).
    pub imap_max_literal_size: u64,
    /// IMAP: literals longer than this are streamed in chunks, never buffered whole
    /// (default 1 MiB).
    pub imap_literal_stream_threshold: u64,
    /// IMAP: refused commands in a row before BYE (default 20).
    pub imap_max_bad_commands: usize,
    /// IMAP: deepest nesting of parentheses and NOT/OR search keys (default 64).
    pub imap_max_nesting_depth: usize,
    /// IMAP: storage quota per user in KiB reported by GETQUOTA (default 0: no limit, and
    /// QUOTA reports none).
    pub imap_quota_kib: u64,
    /// IMAP: milliseconds between checks of a mailbox that IDLE sessions wait on (default
    /// 250, so mail written by another process is reported well within a second; writes
    /// through this process wake them at once). One check per mailbox, however many
    /// sessions idle on it.
    pub imap_idle_poll_ms: u64,
    /// IMAP and POP3 sessions one logged-in user may hold at once, from all addresses and
    /// front ends of this process together (default 20; Dovecot's
    /// `mail_max_userip_connections` is 10 per user and address). Over it, login fails with
    /// `NO [LIMIT]` / `-ERR [SYS/TEMP]`.
    pub max_connections_per_user: usize,
    /// Failed logins from one address within `ban_window_secs` that ban it (default 10; 0
    /// turns bans off). Banned addresses are refused at accept with `* BYE`, `-ERR` or `421`.
    pub ban_after_auth_failures: u32,
    /// Seconds over which failed logins add up towards a ban (default 600).
    pub ban_window_secs: u64,
    /// Length of an address's first ban in seconds (default 600); each further ban of the
    /// same address doubles it.
    pub ban_initial_secs: u64,
    /// Longest ban in seconds (default 86400); an address quiet this long after its last ban
    /// starts again from `ban_initial_secs`.
    pub ban_max_secs: u64,
    /// Address ranges never banned (default loopback: `127.0.0.0/8` and `::1`). The address
    /// is the client's real one when the listener reads PROXY headers.
    pub ban_exempt_networks: Vec<crate::net::network::Network>,
    /// Seconds a write to a client may make no progress (a reader that stopped reading)
    /// before the connection is closed: each 64 KiB of output must be taken within it
    /// (default 300, Postfix's `smtpd_timeout`). Output waits for the client, so a slow
    /// reader costs one buffer, never a growing one.
    pub write_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections_per_ip: 50,
            pre_auth_timeout_secs: 60,
            idle_timeout_secs: 600,
            auth_penalty_initial_ms: 2000,
            auth_penalty_max_ms: 15000,
            smtp_max_message_size: 25 * 1024 * 1024,
            smtp_max_recipients: 100,
            smtp_max_errors: 20,
            smtp_max_command_line: 512,
            pop3_max_bad_commands: 20,
            shutdown_grace_secs: 10,
            submission_max_messages_per_hour: 500,
            submission_max_recipients_per_hour: 2000,
            imap_max_line_length: 64 * 1024,
            imap_max_literal_size: 25 * 1024 * 1024,
            imap_literal_stream_threshold: 1024 * 1024,
            imap_max_bad_commands: 20,
            imap_max_nesting_depth: 64,
            imap_quota_kib: 0,
            imap_idle_poll_ms: 250,
            max_connections_per_user: 20,
            ban_after_auth_failures: 10,
            ban_window_secs: 600,
            ban_initial_secs: 600,
            ban_max_secs: 86400,
            ban_exempt_networks: ["127.0.0.0/8", "::1"]
                .into_iter()
                .filter_map(|n| crate::net::network::Network::try_from(n.to_owned()).ok())
                .collect(),
            write_timeout_secs: 300,
        }
    }
}

impl Limits {
    /// The pre-auth timeout.
    pub fn pre_auth_timeout(&self) -> Duration {
        Duration::from_secs(self.pre_auth_timeout_secs)
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> Duration {
        Duration::from_secs(self.write_timeout_secs)
    }

    /// The automatic ban policy these keys describe.
    pub fn ban_policy(&self) -> crate::net::bans::BanPolicy {
        crate::net::bans::BanPolicy {
            threshold: self.ban_after_auth_failures,
            window: Duration::from_secs(self.ban_window_secs),
            initial: Duration::from_secs(self.ban_initial_secs),
            max: Duration::from_secs(self.ban_max_secs),
            exempt: self.ban_exempt_networks.clone(),
        }
    }
}

impl Config {
    /// Reads, parses and checks `path`; relative paths in it are taken from its directory.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let mut config =
            Config::parse(&text).with_context(|| format!("config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Parses and checks the text of a config file.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.hostname.is_empty() || !self.hostname.bytes().all(|b| b.is_ascii_graphic()) {
            bail!("key `hostname`: must be a non-empty name without spaces");
        }
        if self.local_domains.is_empty() {
            bail!("key `local_domains`: list at least one domain");
        }
        for d in &self.local_domains {
            if d.is_empty() || d.contains(['@', ' ', '[']) {
                bail!("key `local_domains`: {d:?} is not a domain name");
            }
        }
        if maildir_store::UserId::new(&self.postmaster).is_err() {
            bail!(
                "key `postmaster`: {:?} is not a valid user name",
                self.postmaster
            );
        }
        self.check_storage()?;
        for (i, l) in self.listeners.iter().enumerate() {
            if l.tls != TlsMode::None && self.tls.is_none() {
                bail!(
                    "key `listener[{i}].tls`: {:?} needs a [tls] section with cert and key",
                    l.tls
                );
            }
            if l.service == Service::Lmtp && l.tls == TlsMode::Implicit {
                bail!("key `listener[{i}].tls`: LMTP supports none or starttls");
            }
        }
        self.queue.check()?;
        if let Some(relay) = &self.relay {
            relay.check()?;
        }
        if self.limits.max_connections_per_ip == 0 {
            bail!("key `limits.max_connections_per_ip`: must be at least 1");
        }
        if self.limits.max_connections_per_user == 0 {
            bail!("key `limits.max_connections_per_user`: must be at least 1");
        }
        if self.limits.ban_after_auth_failures > 0
            && (self.limits.ban_window_secs == 0
                || self.limits.ban_initial_secs == 0
                || self.limits.ban_max_secs < self.limits.ban_initial_secs)
        {
            bail!(
                "keys `limits.ban_*`: window and first ban must be at least 1 s, and \
                 `ban_max_secs` at least `ban_initial_secs`"
            );
        }
        if self.limits.write_timeout_secs == 0 {
            bail!("key `limits.write_timeout_secs`: must be at least 1");
        }
        Ok(())
    }

    fn check_storage(&self) -> anyhow::Result<()> {
        let s = &self.storage;
        if s.mirror_sets.is_empty() {
            bail!("key `storage.mirror_sets`: list one mirror set");
        }
        for set in &s.mirror_sets {
            match set.as_slice() {
                [] => bail!("key `storage.mirror_sets`: a set needs a replica root"),
                [a, b] if a == b => {
                    bail!("key `storage.mirror_sets`: the two replica roots must differ")
                }
                [_] | [_, _] => {}
                _ => bail!(
                    "key `storage.mirror_sets`: a mirror set has one or two replica roots, not {}",
                    set.len()
                ),
            }
        }
        let mut roots: Vec<&PathBuf> = s.mirror_sets.iter().flatten().collect();
        roots.sort();
        if roots.windows(2).any(|w| w[0] == w[1]) {
            bail!("key `storage.mirror_sets`: a replica root belongs to one set only");
        }
        if s.placement_file.is_some() && s.mirror_sets.len() == 1 {
            bail!("key `storage.placement_file`: only used with several mirror sets");
        }
        if s.mirror_deadline_ms == 0 {
            bail!("key `storage.mirror_deadline_ms`: must be at least 1");
        }
        if s.mirror_workers_per_replica == 0 {
            bail!("key `storage.mirror_workers_per_replica`: must be at least 1");
        }
        if s.mirror_queue_depth == 0 {
            bail!("key `storage.mirror_queue_depth`: must be at least 1");
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.users_file);
        if let Some(a) = &mut self.aliases_file {
            fix(a);
        }
        if let Some(s) = &mut self.lmtp_socket {
            fix(s);
        }
        if let Some(t) = &mut self.tls {
            fix(&mut t.cert);
            fix(&mut t.key);
        }
        for set in &mut self.storage.mirror_sets {
            set.iter_mut().for_each(fix);
        }
        if let Some(p) = &mut self.storage.placement_file {
            fix(p);
        }
        if let Some(ca) = self.relay.as_mut().and_then(|r| r.ca_file.as_mut()) {
            fix(ca);
        }
    }

    /// Whether `domain` is one of ours (case-insensitive, RFC 5321 §2.4).
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Every section of the file and the keys it accepts, read from the config types' own
/// `Deserialize` implementations (so a new field shows up here without anyone listing it);
/// [`print`] orders each section's keys by them, and its tests check that the printed file
/// names each one.
pub fn sections() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("", field_names::<Config>()),
        ("tls", field_names::<TlsFiles>()),
        ("metrics", field_names::<MetricsConfig>()),
        ("storage", field_names::<Storage>()),
        ("limits", field_names::<Limits>()),
        ("listener", field_names::<Listener>()),
        ("queue", field_names::<crate::queue::QueueConfig>()),
        ("relay", field_names::<crate::relay::RelayConfig>()),
    ]
}

/// The field names a derived `Deserialize` for a struct asks its deserializer for.
fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    let recorder = FieldRecorder::default();
    // The recorder always fails after taking the names: only the names are wanted.
    let _ = T::deserialize(&recorder);
    recorder.0.get()
}

/// A deserializer that records the field list of `deserialize_struct` and fails.
#[derive(Default)]
struct FieldRecorder(std::cell::Cell<&'static [&'static str]>);

impl<'de> serde::Deserializer<'de> for &FieldRecorder {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("only structs are recorded"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.set(fields);
        Err(serde::de::Error::custom("recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "alice"
[storage]
mirror_sets = [["replica-a"]]
[[listener]]
service = "smtp"
address = "127.0.0.1:2525"
tls = "none"
"#;

    #[test]
    fn default_config_parses_to_the_defaults() {
        let c = Config::parse(&default_config_text()).unwrap();
        assert!(c.listeners.is_empty() && c.relay.is_none() && c.tls.is_none());
        assert_eq!(c.metrics, MetricsConfig::default());
        assert_eq!(c.log_format, LogFormat::default());
        assert_eq!(c.log_level, default_log_level());
        assert_eq!(c.queue.max_messages, 10_000);
        assert_eq!(
            format!("{:?}", c.limits),
            format!("{:?}", Limits::default())
        );
        assert_eq!(c.storage.placement_file, None);
        assert_eq!(c.storage.mirror_rejoin_after_secs, 0);
    }

    #[test]
    fn every_example_listener_and_the_example_relay_pass_the_checks() {
        let mut c = Config::parse(&default_config_text()).unwrap();
        let live = toml::from_str::<Config>(&print::render(print::Examples::Live).unwrap());
        let live = live.unwrap();
        (c.listeners, c.tls, c.relay) = (live.listeners, live.tls, live.relay);
        assert_eq!(c.listeners.len(), 9);
        c.check().unwrap();
    }

    #[test]
    fn minimal_config_parses_with_defaults() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.limits.max_connections_per_ip, 50);
        assert!(c.storage.fsync);
        assert_eq!(c.listeners[0].service, Service::Smtp);
        assert!(c.is_local_domain("EXAMPLE.test"));
    }

    #[test]
    fn unknown_key_is_named() {
        let text = MINIMAL.replace("postmaster =", "postmastr = \"x\"\npostmaster =");
        let err = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(err.contains("postmastr"), "{err}");
    }

    #[test]
    fn unknown_limit_is_named() {
        let text = format!("{MINIMAL}\n[limits]\nmax_conections = 3\n");
        let err = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(err.contains("max_conections"), "{err}");
    }

    #[test]
    fn tls_listener_without_tls_files_names_the_key() {
        let text = MINIMAL.replace("tls = \"none\"", "tls = \"implicit\"");
        let err = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(err.contains("listener[0].tls"), "{err}");
    }

    #[test]
    fn two_replicas_make_a_mirror_with_default_options() {
        let text = MINIMAL.replace(r#"[["replica-a"]]"#, r#"[["a", "b"]]"#);
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.storage.mirror_sets[0].len(), 2);
        let o = c.storage.mirror_options();
        assert_eq!(o.deadline, Duration::from_secs(2));
        assert_eq!(o.workers_per_replica, 4);
        assert_eq!(o.queue_depth, 64);
        assert!(!o.trust_lone_replica);
        let text = text.replace(
            "[storage]",
            "[storage]\nmirror_deadline_ms = 500\nmirror_trust_lone_replica = true",
        );
        let o = Config::parse(&text).unwrap().storage.mirror_options();
        assert_eq!(o.deadline, Duration::from_millis(500));
        assert!(o.trust_lone_replica);
    }

    #[test]
    fn several_sets_place_users_through_a_map_in_the_first_root_by_default() {
        let text = MINIMAL.replace(r#"[["replica-a"]]"#, r#"[["a", "b"], ["c"]]"#);
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.storage.mirror_sets.len(), 2);
        assert_eq!(
            c.storage.placement_path(),
            PathBuf::from("a").join(PLACEMENT_FILE)
        );
        let text = text.replace("[storage]", "[storage]\nplacement_file = \"map\"");
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.storage.placement_path(), PathBuf::from("map"));
    }

    #[test]
    fn storage_shapes_not_served_name_the_key() {
        for (sets, extra) in [
            (r#"[["a", "b"], ["c", "a"]]"#, ""),
            (r#"[["a"]]"#, "placement_file = \"p\"\n"),
            (r#"[["a", "b", "c"]]"#, ""),
            (r#"[["a", "a"]]"#, ""),
            (r#"[[]]"#, ""),
            ("[]", ""),
            (r#"[["a", "b"]]"#, "mirror_queue_depth = 0\n"),
        ] {
            let text = MINIMAL.replace(
                r#"mirror_sets = [["replica-a"]]"#,
                &format!("{extra}mirror_sets = {sets}"),
            );
            let err = format!("{:#}", Config::parse(&text).unwrap_err());
            assert!(err.contains("key `storage."), "{sets}: {err}");
        }
    }
}
