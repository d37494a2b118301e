//! LOGIN, AUTHENTICATE (PLAIN, LOGIN; SASL-IR), STARTTLS, UNAUTHENTICATE, and what follows
//! a login: ENABLE, ID and the special-use mailboxes every user gets.

use base64::Engine;
use imap_proto::types::{
    command::Base64,
    core::{Atom, IString, NString, Tag},
    non_empty::NonEmpty,
    response::{Code, Data, SimpleCode},
    secret::Secret,
};
use maildir_store::{MailboxName, SpecialUse, UserId};

use super::{Reply, Sasl, Session};

/// The special-use mailboxes created for a user who has none (RFC 6154).
const SPECIAL: [(&str, SpecialUse); 5] = [
    ("Sent", SpecialUse::Sent),
    ("Drafts", SpecialUse::Drafts),
    ("Trash", SpecialUse::Trash),
    ("Junk", SpecialUse::Junk),
    ("Archive", SpecialUse::Archive),
];

fn b64(text: &str) -> Base64 {
    // Base64 of fixed ASCII prompts is valid by construction.
    Base64::try_from(
        base64::engine::general_purpose::STANDARD
            .encode(text)
            .as_str(),
    )
    .unwrap_or_else(|_| unreachable!("standard base64 output"))
}

fn decode(data: &Base64) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(data.as_str())
        .ok()
}

impl Session {
    /// Passwords may be sent now: under TLS, or where the listener allows cleartext.
    fn auth_allowed(&self) -> bool {
        self.tls || self.allow_cleartext
    }

    pub(super) fn starttls(&mut self) -> Reply {
        if !self.can_starttls {
            return Reply::bad("TLS is not available here");
        }
        Reply::ok("Begin TLS negotiation now")
    }

    /// Checks the credentials and, on success, logs the user in.
    pub(super) async fn login(&mut self, user: &[u8], password: &[u8]) -> Reply {
        if !self.auth_allowed() {
            // RFC 3501 §6.2.3 with LOGINDISABLED advertised.
            return Reply::no("Use STARTTLS first").simple(SimpleCode::PrivacyRequired);
        }
        let name = String::from_utf8_lossy(user).into_owned();
        match self
            .app
            .login(self.peer, name.clone(), password.to_vec())
            .await
        {
            Some(id) => {
                let Some(slot) = self.app.per_user.take(id.clone()) else {
                    crate::metrics::global().limit_refused("max_connections_per_user");
                    tracing::info!(user = %id.as_str(), "refused: too many sessions for this user");
                    // RFC 5530 §3: LIMIT, "a server-imposed limit ... has been reached".
                    return Reply::no("Too many connections for this user")
                        .simple(SimpleCode::Limit);
                };
                self.user_slot = Some(slot);
                tracing::info!(user = %id.as_str(), "logged in");
                super::blocking(|| self.provision(&id));
                self.user = Some(id);
                let caps = self.capabilities();
                let reply = Reply::ok("Logged in");
                match NonEmpty::try_from(caps) {
                    Ok(caps) => reply.with_code(Code::Capability(caps)),
                    Err(_) => reply,
                }
            }
            None => Reply::no("Authentication failed").simple(SimpleCode::AuthenticationFailed),
        }
    }

    /// Creates the special-use mailboxes a user does not have yet, subscribed.
    fn provision(&self, user: &UserId) {
        let store = &self.app.store;
        let Ok(existing) = store.list_mailboxes(user) else {
            return;
        };
        for (name, usage) in SPECIAL {
            let taken = existing
                .iter()
                .any(|m| m.attributes.special_use == Some(usage) || m.name.as_str() == name);
            if taken {
                continue;
            }
            let Ok(mailbox) = MailboxName::new(name) else {
                continue;
            };
            if store.create_mailbox(user, &mailbox, Some(usage)).is_ok() {
                let _ = store.set_subscribed(user, &mailbox, true);
            }
        }
    }

    /// AUTHENTICATE: `None` when a challenge went out and the answer is awaited.
    pub(super) async fn authenticate(
        &mut self,
        tag: Tag,
        mechanism: &str,
        initial: Option<Secret<Base64>>,
    ) -> Option<Reply> {
        if !self.auth_allowed() {
            return Some(Reply::no("Use STARTTLS first").simple(SimpleCode::PrivacyRequired));
        }
        let state = if mechanism.eq_ignore_ascii_case("PLAIN") {
            Sasl::Plain
        } else if mechanism.eq_ignore_ascii_case("LOGIN") {
            Sasl::LoginUser
        } else {
            return Some(Reply::no("Unsupported mechanism").simple(SimpleCode::Cannot));
        };
        if let Some(initial) = initial {
            // RFC 4959: the initial response saves a round trip; "=" is an empty one.
            let bytes = if initial.declassify().as_str() == "=" {
                Some(Vec::new())
            } else {
                decode(initial.declassify())
            };
            let Some(bytes) = bytes else {
                return Some(Reply::bad("Invalid base64"));
            };
            return self.sasl_answer(tag, state, bytes).await;
        }
        let prompt = match state {
            Sasl::LoginUser => b64("Username:"),
            _ => b64(""),
        };
        self.challenge(tag, state, prompt)
    }

    fn challenge(&mut self, tag: Tag, state: Sasl, prompt: Base64) -> Option<Reply> {
        match self.proto.authenticate_challenge(prompt) {
            Ok(()) => {
                self.sasl = Some((tag, state));
                None
            }
            Err(_) => Some(Reply::bad("AUTHENTICATE not in progress")),
        }
    }

    /// The client's answer to a challenge.
    pub(super) async fn sasl_step(&mut self, tag: Tag, data: Option<Secret<Base64>>) {
        let Some((_, state)) = self.sasl.take() else {
            return;
        };
        // `None`: the client cancelled with "*"; the session already answered BAD.
        let Some(data) = data else {
            return;
        };
        let reply = match decode(data.declassify()) {
            Some(bytes) => self.sasl_answer(tag.clone(), state, bytes).await,
            None => Some(Reply::bad("Invalid base64")),
        };
        if let Some(reply) = reply {
            self.finish(tag, reply);
        }
    }

    async fn sasl_answer(&mut self, tag: Tag, state: Sasl, bytes: Vec<u8>) -> Option<Reply> {
        match state {
            Sasl::Plain => {
                // RFC 4616: [authzid] NUL authcid NUL passwd.
                let mut fields = bytes.split(|b| *b == 0);
                let (Some(authz), Some(user), Some(password), None) =
                    (fields.next(), fields.next(), fields.next(), fields.next())
                else {
                    return Some(Reply::bad("Malformed PLAIN response"));
                };
                if !authz.is_empty() && authz != user {
                    return Some(
                        Reply::no("Cannot act as another user")
                            .simple(SimpleCode::AuthorizationFailed),
                    );
                }
                Some(self.login(user, password).await)
            }
            Sasl::LoginUser => {
                let user = String::from_utf8_lossy(&bytes).into_owned();
                self.challenge(tag, Sasl::LoginPassword(user), b64("Password:"))
            }
            Sasl::LoginPassword(user) => Some(self.login(user.as_bytes(), &bytes).await),
        }
    }

    /// UNAUTHENTICATE (RFC 8437): back to the not-authenticated state.
    pub(super) fn unauthenticate(&mut self) -> Reply {
        self.selected = None;
        self.user = None;
        self.condstore = false;
        self.qresync = false;
        self.saved_search.clear();
        Reply::ok("Unauthenticated")
    }

    /// ENABLE (RFC 5161): unknown names are ignored; only what got enabled is listed.
    pub(super) fn enable(&mut self, names: &[Atom]) -> Reply {
        let mut enabled = Vec::new();
        for name in names {
            if name.as_str().eq_ignore_ascii_case("CONDSTORE") {
                self.condstore = true;
                enabled.push(name.clone());
            } else if name.as_str().eq_ignore_ascii_case("QRESYNC") {
                // RFC 7162 §3.2.3: enabling QRESYNC also enables CONDSTORE.
                self.qresync = true;
                self.condstore = true;
                enabled.push(name.clone());
            } else if name.as_str().eq_ignore_ascii_case("UTF8=ACCEPT") {
                // RFC 6855 §3; the protocol session switches its grammar (UTF-8 mailbox
                // names, `UTF8 (…)` APPEND) when it sends this `* ENABLED`.
                enabled.push(name.clone());
            }
        }
        self.data(Data::Enabled(enabled));
        Reply::ok("ENABLE completed")
    }

    /// ID (RFC 2971).
    pub(super) fn id(&mut self) -> Reply {
        let pair = |k: &str, v: &str| {
            IString::from_bytes(k.as_bytes())
                .ok()
                .zip(IString::from_bytes(v.as_bytes()).ok())
                .map(|(k, v)| (k, NString(Some(v))))
        };
        let fields = [
            pair("name", "Gradwell"),
            pair("vendor", "Gradwell Mail"),
            pair("version", env!("CARGO_PKG_VERSION")),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.data(Data::Id(Some(fields)));
        Reply::ok("ID completed")
    }
}
