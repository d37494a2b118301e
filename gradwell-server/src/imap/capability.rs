//! CAPABILITY (RFC 3501 §6.1.1): what the server offers, before and after login.

use imap_proto::types::core::Atom;

use super::Session;

/// What the capability list depends on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Conditions {
    pub(super) tls: bool,
    pub(super) can_starttls: bool,
    pub(super) allow_cleartext: bool,
    pub(super) authenticated: bool,
    pub(super) append_limit: u64,
}

/// Offered in every state.
const ALWAYS: &[&str] = &["IMAP4rev1", "SASL-IR", "ID", "ENABLE", "IDLE", "LITERAL+"];

/// Offered after login (RFC 3501 §7.2.1: the list may change with the state).
const AUTHENTICATED: &[&str] = &[
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "UNSELECT",
    "CHILDREN",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "STATUS=SIZE",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "SEARCHRES",
    "SORT",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "BINARY",
    "MULTIAPPEND",
    "UNAUTHENTICATE",
    "UTF8=ACCEPT",
    // RFC 4978; after login only, so that credentials never pass through the deflater.
    "COMPRESS=DEFLATE",
];

/// The capability atoms for these conditions.
pub(super) fn list(c: &Conditions) -> Vec<Atom> {
    let mut names: Vec<String> = ALWAYS.iter().map(|s| (*s).to_owned()).collect();
    if c.authenticated {
        names.extend(AUTHENTICATED.iter().map(|s| (*s).to_owned()));
        names.push(format!("APPENDLIMIT={}", c.append_limit));
    } else {
        if c.can_starttls {
            names.push("STARTTLS".to_owned());
        }
        if c.tls || c.allow_cleartext {
            names.push("AUTH=PLAIN".to_owned());
            names.push("AUTH=LOGIN".to_owned());
        } else {
            // RFC 3501 §6.2.3: LOGINDISABLED says LOGIN will fail until TLS is active.
            names.push("LOGINDISABLED".to_owned());
        }
    }
    names
        .into_iter()
        .filter_map(|n| Atom::try_from(n.as_str()).ok())
        .collect()
}

impl Session {
    /// The current capability list.
    pub(super) fn capabilities(&self) -> Vec<Atom> {
        list(&Conditions {
            tls: self.tls,
            can_starttls: self.can_starttls,
            allow_cleartext: self.allow_cleartext,
            authenticated: self.user.is_some(),
            append_limit: self.app.config.limits.imap_max_literal_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: &Conditions) -> Vec<String> {
        list(c).iter().map(|a| a.as_str().to_owned()).collect()
    }

    #[test]
    fn cleartext_port_hides_auth_until_tls() {
        let c = Conditions {
            tls: false,
            can_starttls: true,
            allow_cleartext: false,
            authenticated: false,
            append_limit: 10,
        };
        let pre = names(&c);
        assert!(pre.contains(&"STARTTLS".to_owned()));
        assert!(pre.contains(&"LOGINDISABLED".to_owned()));
        assert!(!pre.iter().any(|n| n.starts_with("AUTH=")));
        let tls = names(&Conditions {
            tls: true,
            can_starttls: false,
            ..c
        });
        assert!(tls.contains(&"AUTH=PLAIN".to_owned()) && !tls.contains(&"STARTTLS".to_owned()));
        let post = names(&Conditions {
            authenticated: true,
            ..c
        });
        assert!(post.contains(&"APPENDLIMIT=10".to_owned()) && post.contains(&"MOVE".to_owned()));
        assert!(!pre.contains(&"COMPRESS=DEFLATE".to_owned()));
        assert!(post.contains(&"COMPRESS=DEFLATE".to_owned()));
    }
}
