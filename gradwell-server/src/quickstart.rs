//! `gradwell quickstart [--dir DIR]`: the embedded default a newcomer runs first. The first
//! run creates DIR with a configuration, a self-signed certificate, two replica roots and a
//! demo user with a random password; every run then serves DIR on loopback and prints the
//! ports, the user and the password.

use std::{
    fs,
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use anyhow::Context;
use maildir_store::maildir::Maildir;

use crate::{accounts::userdb::admin, config::Config, serve};

/// Options of `gradwell quickstart`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the setup lives.
    #[arg(long, default_value = "gradwell-data")]
    dir: PathBuf,
    /// POP3 with STLS.
    #[arg(long, default_value_t = 1110)]
    pop3_port: u16,
    /// POP3 over implicit TLS.
    #[arg(long, default_value_t = 1995)]
    pop3s_port: u16,
    /// Inbound SMTP (MX) with STARTTLS.
    #[arg(long, default_value_t = 2525)]
    smtp_port: u16,
    /// Submission with STARTTLS (587 style).
    #[arg(long, default_value_t = 1587)]
    submission_port: u16,
    /// Submission over implicit TLS (465 style).
    #[arg(long, default_value_t = 1465)]
    submissions_port: u16,
    /// IMAP with STARTTLS.
    #[arg(long, default_value_t = 1143)]
    imap_port: u16,
    /// IMAP over implicit TLS.
    #[arg(long, default_value_t = 1993)]
    imaps_port: u16,
    /// Create the setup and print it, but do not serve (for scripts and tests).
    #[arg(long)]
    no_serve: bool,
}

const CONFIG: &str = "gradwell.toml";
const CREDENTIALS: &str = "demo-credentials";
const DEMO_USER: &str = "demo";
const DOMAIN: &str = "localhost";

/// Writes `contents` to a new file readable by the owner only.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(())
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..16)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

fn config_text(args: &Args) -> String {
    format!(
        r#"# Written by `gradwell quickstart`. Edit freely; `gradwell serve --config {CONFIG}` runs it.
hostname = "localhost"
local_domains = ["{DOMAIN}"]
users_file = "users"
aliases_file = "aliases"
postmaster = "{DEMO_USER}"
log_format = "text"

[tls]
cert = "cert.pem"
key = "key.pem"

[storage]
# Two replica roots: every message is durable on both before it is acknowledged.
mirror_sets = [["replica-a", "replica-b"]]

[limits]
max_connections_per_ip = 50

[[listener]]
service = "pop3"
address = "127.0.0.1:{pop3}"
tls = "starttls"

[[listener]]
service = "pop3"
address = "127.0.0.1:{pop3s}"
tls = "implicit"

[[listener]]
service = "smtp"
address = "127.0.0.1:{smtp}"
tls = "starttls"

[[listener]]
service = "submission"
address = "127.0.0.1:{submission}"
tls = "starttls"

[[listener]]
service = "submission"
address = "127.0.0.1:{submissions}"
tls = "implicit"

[[listener]]
service = "imap"
address = "127.0.0.1:{imap}"
tls = "starttls"

[[listener]]
service = "imap"
address = "127.0.0.1:{imaps}"
tls = "implicit"

# Mail for other domains is queued and handed to a smart host once one is configured:
# [relay]
# smart_host = "relay.example.net:587"
# tls = "required"
# username = "user"
# password = "secret"
"#,
        pop3 = args.pop3_port,
        pop3s = args.pop3s_port,
        smtp = args.smtp_port,
        submission = args.submission_port,
        submissions = args.submissions_port,
        imap = args.imap_port,
        imaps = args.imaps_port,
    )
}

/// Creates everything under `args.dir` that is not there yet.
fn create(args: &Args) -> anyhow::Result<()> {
    let dir = &args.dir;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for replica in ["replica-a", "replica-b"] {
        let root = dir.join(replica);
        fs::create_dir_all(&root)?;
        Maildir::init_replica(&root).with_context(|| format!("initialising {}", root.display()))?;
    }
    if !dir.join("cert.pem").exists() {
        let cert = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .context("generating the self-signed certificate")?;
        write_private(
            &dir.join("key.pem"),
            cert.signing_key.serialize_pem().as_bytes(),
        )?;
        fs::write(dir.join("cert.pem"), cert.cert.pem())?;
    }
    if !dir.join("users").exists() {
        let password = random_password();
        admin::add(&dir.join("users"), DEMO_USER, &password)?;
        write_private(
            &dir.join(CREDENTIALS),
            format!("{DEMO_USER}:{password}\n").as_bytes(),
        )?;
    }
    if !dir.join("aliases").exists() {
        fs::write(
            dir.join("aliases"),
            format!(
                "# Postfix-style virtual aliases: address  target, target\nabuse@{DOMAIN}  {DEMO_USER}\n"
            ),
        )?;
    }
    if !dir.join(CONFIG).exists() {
        fs::write(dir.join(CONFIG), config_text(args))?;
    }
    Ok(())
}

/// `gradwell quickstart`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let fresh = !args.dir.join(CONFIG).exists();
    create(&args)?;
    let config_path = args.dir.join(CONFIG);
    let config = Config::load(&config_path)?;
    let credentials = fs::read_to_string(args.dir.join(CREDENTIALS)).unwrap_or_default();
    let (user, password) = credentials
        .trim()
        .split_once(':')
        .unwrap_or((DEMO_USER, "(changed; see `gradwell user passwd`)"));
    println!(
        "Gradwell {} in {} ({})",
        if fresh { "set up" } else { "reusing the setup" },
        args.dir.display(),
        config_path.display()
    );
    for l in &config.listeners {
        println!("  {:?} {:?} on {}", l.service, l.tls, l.address);
    }
    println!("  user:     {user}@{DOMAIN} (log in as {user})");
    println!("  password: {password}");
    println!(
        "  certificate: {} (self-signed)",
        args.dir.join("cert.pem").display()
    );
    println!(
        "Try: swaks --server 127.0.0.1:{} --to {user}@{DOMAIN} -tls",
        args.smtp_port
    );
    if args.no_serve {
        return Ok(());
    }
    serve::run_from(config, Some(config_path))
}
