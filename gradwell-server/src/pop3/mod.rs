//! POP3 (RFC 1939 and the extensions pop3-proto implements) on pop3-proto's server session.
//!
//! One file per command group: [`capa`], [`auth`] (USER, PASS, AUTH, STLS), [`listing`]
//! (STAT, LIST, UIDL), [`retr`] (RETR, TOP), [`dele`] (DELE, RSET) and [`quit`] (QUIT and
//! the UPDATE state); [`lock`] is the maildrop lock shared across processes.

mod auth;
mod capa;
mod dele;
mod listing;
pub mod lock;
mod quit;
mod retr;

use std::{net::IpAddr, sync::Arc};

use maildir_store::{Pop3Entry, UserId};
use pop3_proto::{
    Command, MsgNo, Options, RespCode, Response, Server, ServerEvent, Status, StatusKind,
};
use tokio::sync::watch;

use crate::{
    app::App,
    config::Listener,
    net::conn::{Conn, Goodbye, Handler, Next, drive},
};

/// Input kept beyond what the state machine takes at once.
const MAX_BACKLOG: usize = 64 * 1024;

/// Runs one POP3 session.
pub async fn serve(
    app: Arc<App>,
    mut conn: Conn,
    spec: &Listener,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut options = Options::default();
    options.max_bad_commands = app.config.limits.pop3_max_bad_commands;
    let mut proto = Server::new(
        options,
        &Status::new_lossy(StatusKind::Ok, "Gradwell POP3 ready"),
    );
    if conn.is_tls() {
        proto.set_tls_active();
    }
    let timeouts = app.timeouts();
    let mut session = Session {
        proto,
        peer: conn.peer.ip(),
        allow_cleartext: spec.allow_cleartext_auth,
        can_stls: conn.can_start_tls(),
        tls: conn.is_tls(),
        login_name: None,
        sasl: None,
        user: None,
        maildrop: None,
        user_slot: None,
        entries: Vec::new(),
        deleted: Vec::new(),
        ahead: retr::Ahead::new(),
        backlog: Vec::new(),
        extra: Vec::new(),
        app,
    };
    let result = drive(&mut conn, &mut session, timeouts, shutdown).await;
    session.unlock();
    result
}

/// Where a SASL exchange stands.
#[derive(Debug)]
enum Sasl {
    /// PLAIN, waiting for the initial response.
    Plain,
    /// LOGIN, waiting for the user name.
    LoginUser,
    /// LOGIN, waiting for the password of this user.
    LoginPassword(String),
}

/// One POP3 session.
#[derive(Debug)]
struct Session {
    app: Arc<App>,
    proto: Server,
    peer: IpAddr,
    allow_cleartext: bool,
    can_stls: bool,
    tls: bool,
    /// The name from an accepted USER.
    login_name: Option<String>,
    sasl: Option<Sasl>,
    /// The logged-in user, whose maildrop this session holds.
    user: Option<UserId>,
    /// This session's place in the per-user connection count, held until it ends.
    user_slot: Option<crate::net::limits::Slot<UserId>>,
    /// The lock file(s) behind `user`, shared with other processes on the same roots.
    maildrop: Option<lock::MaildropLock>,
    /// The maildrop as it was at login (RFC 1939 §5: numbers stay fixed for the session).
    entries: Vec<Pop3Entry>,
    /// DELE marks, one per entry.
    deleted: Vec<bool>,
    /// Messages read ahead of the client's next RETR (see [`retr`]).
    ahead: retr::Ahead,
    backlog: Vec<u8>,
    extra: Vec<u8>,
}

fn status(ok: bool, text: &str) -> Response {
    let kind = if ok { StatusKind::Ok } else { StatusKind::Err };
    Response::Status(Status::new_lossy(kind, text))
}

fn status_code(ok: bool, code: RespCode, text: &str) -> Response {
    let kind = if ok { StatusKind::Ok } else { StatusKind::Err };
    Response::Status(Status::new_lossy(kind, text).with_code(code))
}

impl Session {
    fn respond(&mut self, r: Response) {
        if let Err(e) = self.proto.respond(r) {
            tracing::error!(error = %e, "response does not fit the POP3 session");
        }
    }

    /// Passwords may be sent now: under TLS, or where the listener allows cleartext.
    fn auth_allowed(&self) -> bool {
        self.tls || self.allow_cleartext
    }

    /// The entry behind a message number, unless it is out of range or marked deleted.
    fn entry(&self, msg: MsgNo) -> Result<usize, Response> {
        let i = msg.get() as usize - 1;
        match self.deleted.get(i) {
            None => Err(status(false, "no such message")),
            Some(true) => Err(status(false, "message is deleted")),
            Some(false) => Ok(i),
        }
    }

    fn unlock(&mut self) {
        self.maildrop = None;
        self.user_slot = None;
        self.ahead.clear();
        if let Some(user) = self.user.take() {
            self.app
                .pop3_locked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&user);
        }
    }

    fn push_backlog(&mut self) {
        if !self.backlog.is_empty() {
            let n = self.proto.handle_input(&self.backlog);
            self.backlog.drain(..n);
        }
    }

    async fn handle(&mut self, event: ServerEvent, conn: &mut Conn) -> Option<Next> {
        match event {
            ServerEvent::Command(command) => {
                let _timer =
                    crate::metrics::global().command(crate::metrics::Protocol::pop3, &command);
                return self.command(command, conn).await;
            }
            ServerEvent::AuthResponse(data) => self.sasl_step(data.declassify()).await,
            ServerEvent::AuthCancelled => self.sasl = None,
            _ => {}
        }
        None
    }

    async fn command(&mut self, command: Command, conn: &mut Conn) -> Option<Next> {
        match command {
            Command::Capa => self.capa(),
            Command::User(name) => self.user_command(name.as_str()),
            Command::Pass(password) => {
                let name = self.login_name.take().unwrap_or_default();
                self.login(name, password.declassify().to_vec()).await;
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                let initial = initial_response.map(|d| d.declassify().clone());
                self.auth(mechanism.as_str(), initial).await;
            }
            Command::Stls => return self.stls(),
            Command::Stat => self.stat(),
            Command::List(msg) => self.list(msg),
            Command::Uidl(msg) => self.uidl(msg),
            Command::Retr(msg) => self.retr(msg, None, conn).await,
            Command::Top { msg, lines } => self.retr(msg, Some(lines), conn).await,
            Command::Dele(msg) => self.dele(msg),
            Command::Rset => self.rset(),
            Command::Noop => self.respond(status(true, "")),
            Command::Quit => self.quit().await,
            _ => self.respond(status(false, "command not supported")),
        }
        None
    }
}

impl Handler for Session {
    fn take_output(&mut self, out: &mut Vec<u8>) {
        self.proto.poll_transmit(out);
        out.append(&mut self.extra);
    }

    fn input_room(&self) -> usize {
        MAX_BACKLOG.saturating_sub(self.backlog.len())
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.backlog.extend_from_slice(bytes);
        self.push_backlog();
    }

    async fn work(&mut self, conn: &mut Conn) -> Next {
        loop {
            self.push_backlog();
            let Some(event) = self.proto.poll_event() else {
                break;
            };
            if let Some(next) = self.handle(event, conn).await {
                return next;
            }
        }
        if self.proto.is_closed() {
            Next::Close
        } else {
            Next::Read
        }
    }

    fn tls_established(&mut self) {
        self.tls = true;
        self.can_stls = false;
        self.backlog.clear();
        self.login_name = None;
        if let Err(e) = self.proto.tls_established() {
            tracing::error!(error = %e, "TLS state mismatch");
        }
    }

    fn past_greeting(&self) -> bool {
        self.user.is_some()
    }

    fn goodbye(&mut self, why: Goodbye) {
        // A session that ends without QUIT deletes nothing (RFC 1939 §6).
        let text = match why {
            Goodbye::Timeout => "-ERR autologout: idle for too long\r\n",
            Goodbye::Shutdown => "-ERR [SYS/TEMP] server shutting down\r\n",
        };
        self.extra.extend_from_slice(text.as_bytes());
    }
}
