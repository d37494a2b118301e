//! RCPT: which local mailboxes an address reaches, or why it is refused.
//!
//! Only local domains are accepted and only exact local users (after aliases). Every form
//! that some MTA somewhere reads as "relay onward" is refused outright rather than
//! interpreted: `u%ext@local`, `"u@ext"@local`, `ext!u@local`, source routes (already
//! stripped by the parser, leaving a non-local domain) and address literals.

use maildir_store::UserId;
use smtp_proto::ForwardPath;

use crate::{accounts::aliases::Aliases, accounts::userdb::UserDb, config::Config};

/// What a recipient resolves to.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// These local users (at least one).
    Local(Vec<UserId>),
    /// A local domain but no such user: `550 5.1.1`.
    UnknownUser,
    /// Not ours: relaying refused, `554 5.7.1`.
    Relay,
}

/// Resolves a RCPT argument.
pub fn resolve(
    config: &Config,
    users: &UserDb,
    aliases: &Aliases,
    to: &ForwardPath<'_>,
) -> Resolved {
    let (local, domain) = match to {
        // RFC 5321 §4.5.1: "<Postmaster>" without a domain must be accepted.
        ForwardPath::Postmaster => ("postmaster".to_owned(), config.local_domains[0].clone()),
        ForwardPath::Mailbox(m) => {
            let domain = m.domain();
            if domain.starts_with('[') || !config.is_local_domain(domain) {
                return Resolved::Relay;
            }
            let Some(local) = unquote(m.local_part()) else {
                return Resolved::Relay;
            };
            (local, domain.to_owned())
        }
    };
    if local.is_empty() || local.contains(['@', '%', '!', ':', '/']) {
        return Resolved::Relay;
    }
    let address = format!("{}@{}", local, domain).to_ascii_lowercase();
    let mut found = Vec::new();
    for target in aliases.expand(&address) {
        let user = match target.rsplit_once('@') {
            Some((l, d)) if config.is_local_domain(d) => l.to_owned(),
            // Aliases pointing off-site would be forwarding, which this server does not do.
            Some(_) => continue,
            None => target,
        };
        let user = if user == "postmaster" && !users.exists(&user) {
            config.postmaster.clone()
        } else {
            user
        };
        if users.exists(&user)
            && let Ok(id) = UserId::new(&user)
            && !found.contains(&id)
        {
            found.push(id);
        }
    }
    if found.is_empty() {
        Resolved::UnknownUser
    } else {
        Resolved::Local(found)
    }
}

/// The local part without RFC 5321 quoting, or `None` when it is malformed.
fn unquote(local: &str) -> Option<String> {
    let Some(inner) = local.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return Some(local.to_owned());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next()? } else { c });
    }
    Some(out)
}

impl super::Session {
    pub(super) fn rcpt(&mut self, to: &ForwardPath<'_>) {
        let app = &self.app;
        let resolved = resolve(&app.config, &app.users, &app.aliases, to);
        tracing::info!(to = ?to, result = ?resolved, "RCPT");
        match resolved {
            Resolved::Local(users) => {
                self.recipients.push(users);
                self.accept();
            }
            // RFC 5321 §3.6.2 / RFC 3463 5.1.1: "bad destination mailbox address".
            Resolved::UnknownUser => {
                self.answer(super::reply(550, (5, 1, 1), "No such user here"));
            }
            // RFC 3463 5.7.1: "delivery not authorized"; relaying is never open.
            Resolved::Relay => self.answer(super::reply(554, (5, 7, 1), "Relay access denied")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::Mailbox;

    fn setup() -> (Config, UserDb, Aliases, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "alice:{PLAIN}a\nbob:{PLAIN}b\n").unwrap();
        let config = Config::parse(
            "hostname = \"mx.example.test\"\nlocal_domains = [\"example.test\", \"other.test\"]\nusers_file = \"u\"\npostmaster = \"alice\"\n[storage]\nmirror_sets = [[\"r\"]]\n",
        )
        .unwrap();
        let aliases =
            Aliases::parse("team@example.test alice, bob\nfwd@example.test x@elsewhere.net\n")
                .unwrap();
        (config, UserDb::open(&path).unwrap(), aliases, dir)
    }

    fn rcpt(address: &str) -> Resolved {
        let (c, u, a, _dir) = setup();
        let to = ForwardPath::Mailbox(Mailbox::try_from(address).unwrap());
        resolve(&c, &u, &a, &to)
    }

    fn ids(names: &[&str]) -> Resolved {
        Resolved::Local(names.iter().map(|n| UserId::new(n).unwrap()).collect())
    }

    #[test]
    fn local_users_aliases_and_postmaster() {
        assert_eq!(rcpt("alice@example.test"), ids(&["alice"]));
        assert_eq!(rcpt("ALICE@Example.TEST"), ids(&["alice"]));
        assert_eq!(rcpt("\"bob\"@example.test"), ids(&["bob"]));
        assert_eq!(rcpt("bob@other.test"), ids(&["bob"]));
        assert_eq!(rcpt("team@example.test"), ids(&["alice", "bob"]));
        assert_eq!(rcpt("postmaster@other.test"), ids(&["alice"]));
        assert_eq!(rcpt("PostMaster@example.test"), ids(&["alice"]));
        let (c, u, a, _dir) = setup();
        assert_eq!(
            resolve(&c, &u, &a, &ForwardPath::Postmaster),
            ids(&["alice"])
        );
    }

    #[test]
    fn unknown_local_users() {
        assert_eq!(rcpt("nobody@example.test"), Resolved::UnknownUser);
        assert_eq!(
            rcpt("fwd@example.test"),
            Resolved::UnknownUser,
            "no off-site forwarding"
        );
    }

    #[test]
    fn every_relay_form_is_refused() {
        for address in [
            "u@elsewhere.net",
            "alice@example.test.evil.net",
            "u%elsewhere.net@example.test",
            "\"u@elsewhere.net\"@example.test",
            "elsewhere.net!u@example.test",
            "alice@[127.0.0.1]",
            "alice@[IPv6:::1]",
        ] {
            assert_eq!(rcpt(address), Resolved::Relay, "{address}");
        }
    }
}
