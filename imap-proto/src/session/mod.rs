//! Sans-IO session flows: what may be sent and read next, for each side.
//!
//! Both sides follow the same call order:
//!
//! 1. [`handle_input`](server::ServerSession::handle_input) with every byte read from the
//!    peer;
//! 2. [`poll_event`](server::ServerSession::poll_event) until it returns `None`, acting on
//!    each event (a server answers commands with `send_*`, a client reads responses);
//! 3. [`poll_transmit`](server::ServerSession::poll_transmit) and write what it returns;
//! 4. read again; a server that wants inactivity timeouts passes the time of each read with
//!    [`handle_input_at`](server::ServerSession::handle_input_at), asks
//!    [`poll_timeout`](server::ServerSession::poll_timeout) how long it may wait, and calls
//!    [`handle_timeout`](server::ServerSession::handle_timeout) when that time comes.
//!
//! No method blocks, reads a clock or touches a socket; misuse returns a [`SessionError`].

pub mod client;
pub mod server;

use thiserror::Error;

use crate::types::command::CommandBody;

/// A call the session's current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The call needs a state the session is not in (e.g. `idle_accept` without IDLE).
    #[error("not allowed now: {0}")]
    WrongState(&'static str),
    /// The tag does not belong to a command in progress.
    #[error("no command in progress has this tag")]
    UnknownTag,
}

/// The protocol states of RFC 9051 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Before LOGIN or AUTHENTICATE succeeded.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// LOGOUT was answered (or the server said BYE); the connection ends.
    Logout,
}

/// The state after a command's tagged response: OK to LOGIN/AUTHENTICATE authenticates, OK
/// to SELECT/EXAMINE selects, CLOSE/UNSELECT return to authenticated, UNAUTHENTICATE to not
/// authenticated, LOGOUT ends the session.
pub(crate) fn state_after(state: State, body: &CommandBody, ok: bool) -> State {
    match (body, ok) {
        (CommandBody::Login { .. } | CommandBody::Authenticate { .. }, true) => {
            State::Authenticated
        }
        (CommandBody::Select { .. } | CommandBody::Examine { .. }, true) => State::Selected,
        // RFC 3501 §6.3.1: "if a mailbox is selected and a SELECT command that fails is
        // attempted, no mailbox is selected."
        (CommandBody::Select { .. } | CommandBody::Examine { .. }, false) => State::Authenticated,
        (CommandBody::Close | CommandBody::Unselect, true) => State::Authenticated,
        (CommandBody::Unauthenticate, true) => State::NotAuthenticated,
        (CommandBody::Logout, _) => State::Logout,
        _ => state,
    }
}
