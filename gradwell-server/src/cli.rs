//! The command line: `serve`, `user`, `quickstart`, `version`, `queue`, the migration verbs
//! `import`, `export`, `restructure`, and the operations verbs `check-config`,
//! `print-default-config`, `print-systemd-unit`, `reload`, `log-level`, `stop`, `mirror`.

use std::{
    io::{BufRead, IsTerminal, Write},
    path::PathBuf,
};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{accounts::userdb::admin, config::Config, moves, quickstart, serve};

/// Gradwell Mail: POP3 and inbound SMTP over Dovecot-compatible Maildir.
#[derive(Debug, Parser)]
#[command(name = "gradwell", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Run the server with a configuration file.
    Serve {
        /// The TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Maintain the users file (Dovecot passwd-file format).
    User {
        /// The configuration whose `users_file` to change.
        #[arg(long, short, conflicts_with = "users_file")]
        config: Option<PathBuf>,
        /// The users file itself.
        #[arg(long)]
        users_file: Option<PathBuf>,
        #[command(subcommand)]
        action: UserAction,
    },
    /// Create a ready-to-run setup in DIR (once) and serve it on loopback.
    Quickstart(quickstart::Args),
    /// Print the version.
    Version,
    /// Inspect and manage the outbound queue.
    Queue {
        /// The configuration whose storage holds the queue.
        #[arg(long, short)]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: crate::queue::admin::Action,
    },
    /// Check a configuration: parse it, then the files, certificates, listener addresses
    /// and replica roots it names; prints every problem and exits non-zero on any.
    CheckConfig {
        /// The TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print a configuration with every key, its default and what it means.
    PrintDefaultConfig,
    /// Print a systemd unit (Type=notify, hardened) for `gradwell serve`.
    PrintSystemdUnit(crate::systemd::UnitArgs),
    /// Make a running server re-read its configuration, users and certificates (through its
    /// `[metrics] listen` address; SIGHUP does the same).
    Reload {
        /// The configuration the server runs with.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Stop a running server gracefully, as SIGTERM does (through its `[metrics] listen`
    /// address); returns once the server has been told.
    Stop {
        /// The configuration the server runs with.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Change a running server's log filter (e.g. `debug`, or
    /// `info,gradwell_server::trace=debug` for protocol traces) until the next reload.
    LogLevel {
        /// The configuration the server runs with.
        #[arg(long, short)]
        config: PathBuf,
        /// A level or `tracing` filter directives.
        filter: String,
    },
    /// Mirror sets: status, rejoin a fenced replica, scrub (through the running server, or
    /// directly when none runs).
    Mirror {
        /// The configuration naming the mirror sets.
        #[arg(long, short)]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// No server runs (needed when `[metrics] listen` is not set, as then a running one
        /// cannot be asked).
        #[arg(long)]
        offline: bool,
        #[command(subcommand)]
        action: crate::mirror_admin::Action,
    },
    /// Import users' mail from Dovecot or Courier Maildirs or mbox files, keeping UIDVALIDITY,
    /// UIDs, flags, dates, subscriptions and POP3 UIDLs (bulk runs from a manifest).
    Import(crate::migrate::run::ImportArgs),
    /// Export a user's mail to a Dovecot Maildir tree or mbox files (to roll back).
    Export(crate::migrate::run::ExportArgs),
    /// Reorganise in place: Maildir++ <-> LAYOUT=fs, rehashed home paths, re-sharding.
    #[command(subcommand)]
    Restructure(crate::migrate::restructure::RestructureArgs),
}

/// Sends an admin request to the server running with `config` and prints its answer.
fn admin_request(config: &std::path::Path, path: &str) -> anyhow::Result<()> {
    let body = crate::ops_http::request(ops_address(config)?, "POST", path)?;
    print!("{body}");
    Ok(())
}

/// The running server's operations listener named by `config`.
fn ops_address(config: &std::path::Path) -> anyhow::Result<std::net::SocketAddr> {
    let config = Config::load(config)?;
    config.metrics.listen.ok_or_else(|| {
        anyhow::anyhow!("key `metrics.listen`: not set, so the server has no admin channel; send it SIGHUP instead")
    })
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Add a user; the password is read from standard input (new hashes are ARGON2ID).
    Add {
        /// Login name.
        name: String,
    },
    /// Change a user's password, read from standard input.
    Passwd {
        /// Login name.
        name: String,
    },
    /// Remove a user (the mailbox stays on disk).
    Del {
        /// Login name.
        name: String,
    },
    /// List login names.
    List,
    /// Move a user's mail to another mirror set (numbered from 0 in `storage.mirror_sets`),
    /// live through the running server, or directly when no server runs (needs --config).
    Move {
        /// Login name.
        name: String,
        /// The mirror set to move to.
        set: usize,
        /// Seconds to wait for a running server to finish the move.
        #[arg(long, default_value_t = 600)]
        wait_secs: u64,
    },
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Verb::Serve { config } => serve::run_from(Config::load(&config)?, Some(config)),
        Verb::CheckConfig { config } => {
            let parsed = Config::load(&config)?;
            crate::check::check_files(&parsed)?;
            println!("{}: OK", config.display());
            Ok(())
        }
        Verb::PrintDefaultConfig => {
            print!("{}", crate::config::default_config_text());
            Ok(())
        }
        Verb::PrintSystemdUnit(args) => {
            print!("{}", crate::systemd::unit(&args));
            Ok(())
        }
        Verb::Reload { config } => admin_request(&config, "/admin/reload"),
        Verb::Stop { config } => admin_request(&config, "/admin/stop"),
        Verb::LogLevel { config, filter } => {
            if filter.contains(['/', ' ', '?', '#']) {
                anyhow::bail!("log filter {filter:?}: no spaces, slashes, `?` or `#`");
            }
            admin_request(&config, &format!("/admin/log-level/{filter}"))
        }
        Verb::User {
            config,
            action:
                UserAction::Move {
                    name,
                    set,
                    wait_secs,
                },
            ..
        } => {
            let Some(config) = config else {
                anyhow::bail!("name the configuration with --config to move a user");
            };
            let wait = std::time::Duration::from_secs(wait_secs);
            println!(
                "{}",
                moves::move_user(&Config::load(&config)?.storage, &name, set, wait)?
            );
            Ok(())
        }
        Verb::User {
            config,
            users_file,
            action,
        } => {
            let path = match (config, users_file) {
                (Some(c), _) => Config::load(&c)?.users_file,
                (None, Some(u)) => u,
                (None, None) => anyhow::bail!("name the users file with --config or --users-file"),
            };
            match action {
                UserAction::Add { name } => admin::add(&path, &name, &read_password()?),
                UserAction::Passwd { name } => admin::passwd(&path, &name, &read_password()?),
                UserAction::Del { name } => admin::del(&path, &name),
                // Served by the arm above (it needs the whole configuration, not only the
                // users file); kept an error should that arm ever stop matching.
                UserAction::Move { .. } => anyhow::bail!("`user move` needs --config"),
                UserAction::List => {
                    for name in admin::list(&path)? {
                        println!("{name}");
                    }
                    Ok(())
                }
            }
        }
        Verb::Quickstart(args) => quickstart::run(args),
        Verb::Version => {
            println!("gradwell {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Verb::Queue {
            config,
            json,
            action,
        } => crate::queue::admin::run(&Config::load(&config)?, action, json),
        Verb::Mirror {
            config,
            json,
            offline,
            action,
        } => crate::mirror_admin::run(&Config::load(&config)?, action, json, offline),
        Verb::Import(args) => crate::migrate::run::import(args),
        Verb::Export(args) => crate::migrate::run::export(args),
        Verb::Restructure(args) => crate::migrate::restructure::run(args),
    }
}

/// One line from standard input; on a terminal, prompts with echo turned off.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let stty = |arg: &str| {
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(
                std::fs::File::open("/dev/tty")
                    .ok()
                    .map_or_else(std::process::Stdio::inherit, Into::into),
            )
            .status();
    };
    if terminal {
        eprint!("Password: ");
        let _ = std::io::stderr().flush();
        stty("-echo");
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        stty("echo");
        eprintln!();
    }
    read.context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        anyhow::bail!("empty password");
    }
    Ok(password)
}
