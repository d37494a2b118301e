//! Accept loops: one per configured listener. Each connection gets a session ID, a slot in
//! the per-address table, an optional PROXY header, optional implicit TLS, and a session.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
};
use tracing::Instrument;

use crate::{
    app::App,
    config::{Listener, Service, TlsMode},
    imap,
    net::{conn::Conn, proxy},
    pop3, smtp,
};

/// A fresh session ID: 12 hex digits, random so IDs from several front ends never collide.
pub fn session_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// Accepts connections until `shutdown` turns true. Each session holds a clone of `alive`;
/// the caller waits for all of them to drop.
pub async fn run(
    app: Arc<App>,
    listener: TcpListener,
    spec: Listener,
    shutdown: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let mut stop = shutdown.clone();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (tcp, addr) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let id = session_id();
        let span = tracing::info_span!("session", id = %id, service = ?spec.service);
        let app = Arc::clone(&app);
        let spec = spec.clone();
        let shutdown = shutdown.clone();
        let alive = alive.clone();
        tokio::spawn(
            async move {
                let _alive = alive;
                if let Err(e) = serve_one(app, tcp, addr, &spec, &id, shutdown).await {
                    tracing::info!(error = %e, "session ended with an error");
                }
            }
            .instrument(span),
        );
    }
}

async fn serve_one(
    app: Arc<App>,
    mut tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    spec: &Listener,
    id: &str,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let accepted_at = Instant::now();
    let peer = if spec.proxy_protocol {
        let header = tokio::time::timeout(
            app.config.limits.pre_auth_timeout(),
            proxy::read_header(&mut tcp),
        )
        .await
        .map_err(|_| anyhow::anyhow!("timed out waiting for the PROXY header"))??;
        header.unwrap_or(addr)
    } else {
        addr
    };
    if let Some(left) = app.bans.check(peer.ip(), Instant::now()) {
        crate::metrics::global().limit_refused("ban_after_auth_failures");
        tracing::info!(%peer, ban_left_secs = left.as_secs(), "refused: address banned");
        refuse(
            &mut tcp,
            spec,
            "Too many failed logins from your address; try later",
        )
        .await;
        return Ok(());
    }
    let Some(_slot) = app.per_ip.take(peer.ip()) else {
        crate::metrics::global().limit_refused("max_connections_per_ip");
        tracing::warn!(%peer, "too many connections from this address");
        refuse(&mut tcp, spec, "Too many connections from your address").await;
        return Ok(());
    };
    tracing::info!(%peer, "connected");
    let _open = crate::metrics::global().connection(spec.service.into());
    let acceptor = if spec.tls == TlsMode::None {
        None
    } else {
        app.tls.clone()
    };
    let mut conn = Conn::new(tcp, peer, acceptor);
    conn.accepted_at = accepted_at;
    conn.write_timeout = app.config.limits.write_timeout();
    if spec.tls == TlsMode::Implicit {
        let deadline = accepted_at + app.config.limits.pre_auth_timeout();
        tokio::time::timeout_at(deadline.into(), conn.start_tls())
            .await
            .map_err(|_| anyhow::anyhow!("TLS handshake timed out"))??;
    }
    match spec.service {
        Service::Smtp | Service::Lmtp | Service::Submission => {
            smtp::serve(app, conn, spec, id, shutdown).await?
        }
        Service::Pop3 => pop3::serve(app, conn, spec, shutdown).await?,
        Service::Imap => imap::serve(app, conn, spec, shutdown).await?,
    }
    tracing::info!("disconnected");
    Ok(())
}

/// Says why a connection is refused, in the listener's protocol (nothing on implicit TLS,
/// where plaintext would only confuse the client), and closes it.
async fn refuse(tcp: &mut tokio::net::TcpStream, spec: &Listener, why: &str) {
    if spec.tls == TlsMode::Implicit {
        return;
    }
    let refusal = match spec.service {
        Service::Pop3 => format!("-ERR [SYS/TEMP] {why}\r\n"),
        Service::Smtp | Service::Lmtp | Service::Submission => format!("421 4.7.0 {why}\r\n"),
        Service::Imap => format!("* BYE [UNAVAILABLE] {why}\r\n"),
    };
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::io::AsyncWriteExt::write_all(tcp, refusal.as_bytes()),
    )
    .await;
}

/// Accepts LMTP connections on a Unix socket until `shutdown` turns true.
pub async fn run_unix(
    app: Arc<App>,
    listener: tokio::net::UnixListener,
    shutdown: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let spec = Listener {
        service: Service::Lmtp,
        address: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: TlsMode::None,
        proxy_protocol: false,
        allow_cleartext_auth: false,
        trusted_networks: Vec::new(),
    };
    let mut stop = shutdown.clone();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let id = session_id();
        let span = tracing::info_span!("session", id = %id, service = "lmtp-unix");
        let (app, spec, shutdown, alive) = (
            Arc::clone(&app),
            spec.clone(),
            shutdown.clone(),
            alive.clone(),
        );
        tokio::spawn(
            async move {
                let _alive = alive;
                tracing::info!("connected");
                let conn = Conn::new_unix(stream);
                if let Err(e) = smtp::serve(app, conn, &spec, &id, shutdown).await {
                    tracing::info!(error = %e, "session ended with an error");
                }
                tracing::info!("disconnected");
            }
            .instrument(span),
        );
    }
}
