//! Sans-IO session state machines: [`Server`](server::Server) and [`Client`](client::Client).
//!
//! Both follow the quinn-proto shape: the caller feeds received octets with `handle_input`,
//! takes decoded events from `poll_event`, tells the machine what to send with typed
//! methods, and takes the octets to write from `poll_transmit`. Nothing here does IO, reads
//! a clock or blocks. Misuse (answering a command that was not asked, sending a command in
//! the wrong state) returns an error value and changes nothing.

mod buffers;
pub(crate) mod client;
pub(crate) mod server;

use crate::types::CommandKind;

/// The POP3 session state (RFC 1939 §3).
///
/// "Once the TCP connection has been opened and the POP3 server has sent the greeting, the
/// session enters the AUTHORIZATION state. ... Once the client has successfully done this,
/// the server acquires resources associated with the client's maildrop, and the session
/// enters the TRANSACTION state. ... When the client has issued the QUIT command, the session
/// enters the UPDATE state."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// Before the greeting (client side only).
    Greeting,
    /// Identifying the client: USER/PASS, APOP, AUTH, STLS, UTF8.
    Authorization,
    /// Working on the maildrop.
    Transaction,
    /// QUIT was given in TRANSACTION state: deletions are committed, then the session ends.
    Update,
    /// The session is over; nothing more is read or sent.
    Closed,
}

/// Whether `kind` may be given in `state`.
///
/// RFC 1939 §4 lists USER, PASS, APOP and QUIT for the AUTHORIZATION state and §5 STAT,
/// LIST, RETR, DELE, NOOP, RSET, TOP, UIDL and QUIT for the TRANSACTION state; RFC 2449 §5
/// allows CAPA in both; RFC 2595 §4 and RFC 5034 §4 put STLS and AUTH in AUTHORIZATION;
/// RFC 6856 puts UTF8 in AUTHORIZATION and LANG in both.
pub(crate) fn allowed_in(kind: CommandKind, state: SessionState) -> bool {
    use CommandKind as K;
    match state {
        SessionState::Authorization => matches!(
            kind,
            K::User
                | K::Pass
                | K::Apop
                | K::Auth
                | K::Stls
                | K::Utf8
                | K::Quit
                | K::Capa
                | K::Lang
                | K::LangList
        ),
        SessionState::Transaction => matches!(
            kind,
            K::Stat
                | K::List
                | K::ListAll
                | K::Retr
                | K::Dele
                | K::Noop
                | K::Rset
                | K::Top
                | K::Uidl
                | K::UidlAll
                | K::Quit
                | K::Capa
                | K::Lang
                | K::LangList
        ),
        SessionState::Greeting | SessionState::Update | SessionState::Closed => false,
    }
}
