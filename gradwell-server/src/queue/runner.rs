//! The queue runner: hands due messages to the relay, records per-recipient outcomes,
//! schedules retries, expires old messages and sends exactly one DSN per message on final
//! failure (never for a `<>` sender).
//!
//! Delivery is at least once: a crash after the smart host accepted a message but before
//! the envelope recorded it sends it again on restart; nothing accepted is ever lost.

use std::{
    collections::HashSet,
    io::Read,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use maildir_store::UserId;
use smtp_proto::{ForwardPath, Mailbox};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsConnector;
use tracing::Instrument;

use super::{
    dsn,
    store::{Envelope, Queue, RcptState, unix},
};
use crate::{
    app::App,
    delivery::{self, Spool},
    relay::{
        self, RelayConfig,
        client::{Attempt, Content, Deferral, Outcome},
        mx::{MxResolver, Target},
    },
    smtp::rcpt::{Resolved, resolve},
};

/// How queued mail leaves: the TLS connector and, without a smart host, the MX resolver.
#[derive(Clone)]
struct Route {
    connector: TlsConnector,
    mx: Option<MxResolver>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("mx", &self.mx)
            .finish_non_exhaustive()
    }
}

impl Route {
    fn new(relay: &RelayConfig) -> anyhow::Result<Route> {
        let mx = match relay.smart_host {
            Some(_) => None,
            None => Some(MxResolver::new(relay)?),
        };
        Ok(Route {
            connector: relay::tls::connector(relay)?,
            mx,
        })
    }
}

/// Runs until `stop` turns true.
pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let route = match app.config.relay.as_ref().map(Route::new) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "relay set-up failed; queued mail waits");
            None
        }
        None => None,
    };
    let queue = Arc::clone(&app.queue);
    let config = queue.config().clone();
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut scan = true;
    loop {
        // New messages are attempted at once; the periodic scan finds retries and anything
        // queued before a restart.
        let mut due = queue.take_fresh();
        if scan {
            let q = Arc::clone(&queue);
            let listed = tokio::task::spawn_blocking(move || q.list())
                .await
                .unwrap_or_default();
            crate::health::record_queue(&listed);
            let now = unix(SystemTime::now());
            due.extend(
                listed
                    .into_iter()
                    .filter(|e| !e.held && e.next_attempt <= now)
                    .map(|e| e.id),
            );
        }
        for id in due {
            let claimed = busy
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone());
            if !claimed {
                continue;
            }
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let (app, route, busy) = (Arc::clone(&app), route.clone(), Arc::clone(&busy));
            tokio::spawn(async move {
                attempt(&app, route.as_ref(), &id).await;
                busy.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                drop(permit);
            });
        }
        scan = tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(config.scan_interval_ms)) => true,
            _ = queue.woken() => false,
            _ = stop.wait_for(|s| *s) => return,
        };
    }
}

/// One attempt for message `id`.
async fn attempt(app: &Arc<App>, route: Option<&Route>, id: &str) {
    let span = tracing::info_span!("relay", queue_id = %id);
    attempt_in_span(app, route, id).instrument(span).await
}

async fn attempt_in_span(app: &Arc<App>, route: Option<&Route>, id: &str) {
    let queue = Arc::clone(&app.queue);
    // Another server process sharing the storage may be delivering it right now.
    let Some(claim) = blocking(&queue, {
        let id = id.to_owned();
        move |q| q.claim(&id)
    })
    .await
    .flatten() else {
        return;
    };
    let Some(envelope) = blocking(&queue, {
        let id = id.to_owned();
        move |q| q.load(&id)
    })
    .await
    .flatten() else {
        return;
    };
    if envelope.held {
        return;
    }
    let now = SystemTime::now();
    let expired = unix(now).saturating_sub(envelope.created) > queue.config().max_age_secs;
    let pending: Vec<String> = envelope.pending().map(|r| r.address.clone()).collect();
    let outcomes: Result<Vec<Outcome>, Deferral> = if pending.is_empty() {
        Ok(Vec::new())
    } else if expired {
        Ok(vec![
            Outcome::Failed(
                "4.4.7 message expired in the queue".into()
            );
            pending.len()
        ])
    } else {
        relay_once(app, route, &envelope, &pending).await
    };
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(Deferral(why)) => vec![Outcome::Deferred(why); pending.len()],
    };
    for (address, outcome) in pending.iter().zip(&outcomes) {
        tracing::info!(to = %address, outcome = ?outcome, "attempt");
    }
    let app = Arc::clone(app);
    let id = id.to_owned();
    let _ = crate::logging::spawn_blocking(move || {
        record(&app, &id, &pending, &outcomes, now);
        drop(claim);
    })
    .await;
}

/// The hosts to try for a group of recipients, or the outcome for all of them.
type Hosts = Result<Vec<Target>, Outcome>;

async fn relay_once(
    app: &App,
    route: Option<&Route>,
    envelope: &Envelope,
    pending: &[String],
) -> Result<Vec<Outcome>, Deferral> {
    let (Some(relay), Some(route)) = (&app.config.relay, route) else {
        return Err(Deferral("4.3.5 no relay is configured".into()));
    };
    let queue = Arc::clone(&app.queue);
    let id = envelope.id.clone();
    let content =
        crate::logging::spawn_blocking(move || queue.content_path(&id).and_then(Content::inspect))
            .await
            .map_err(|_| Deferral("4.3.0 reading the queued message failed".into()))?
            .map_err(|e| Deferral(format!("4.3.0 reading the queued message failed: {e}")))?;
    // Recipients grouped by where they go: all to the smart host, or per domain by MX.
    let mut groups: Vec<(Hosts, Vec<usize>)> = Vec::new();
    match (relay.smart_host_target(), &route.mx) {
        (Some(target), _) => groups.push((Ok(vec![target]), (0..pending.len()).collect())),
        (None, Some(mx)) => {
            let mut domains: Vec<(String, Vec<usize>)> = Vec::new();
            for (i, address) in pending.iter().enumerate() {
                let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
                let domain = domain.to_ascii_lowercase();
                match domains.iter_mut().find(|(d, _)| *d == domain) {
                    Some((_, members)) => members.push(i),
                    None => domains.push((domain, vec![i])),
                }
            }
            for (domain, members) in domains {
                groups.push((mx.targets(&domain).await, members));
            }
        }
        (None, None) => return Err(Deferral("4.3.5 no route for outbound mail".into())),
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; pending.len()];
    for (targets, members) in groups {
        let recipients: Vec<String> = members.iter().map(|&i| pending[i].clone()).collect();
        let attempt = Attempt {
            helo: &app.config.hostname,
            sender: &envelope.sender,
            recipients: &recipients,
            content: &content,
        };
        let results = match targets {
            Err(outcome) => vec![outcome; members.len()],
            Ok(targets) => first_verdict(relay, &route.connector, &targets, &attempt).await,
        };
        for (i, outcome) in members.into_iter().zip(results) {
            outcomes[i] = Some(outcome);
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Deferred("4.4.2 no verdict".into())))
        .collect())
}

/// Tries the hosts in order until one gives verdicts (RFC 5321 §5.1: a host that cannot be
/// reached or fails before the transaction means "try the next").
async fn first_verdict(
    relay: &RelayConfig,
    connector: &TlsConnector,
    targets: &[Target],
    attempt: &Attempt<'_>,
) -> Vec<Outcome> {
    let mut last = Deferral("4.4.1 no host to try".into());
    for target in targets {
        match relay::client::deliver(relay, connector, target, attempt).await {
            Ok(outcomes) => return outcomes,
            Err(deferral) => {
                tracing::info!(host = %target.host, why = %deferral.0, "host failed");
                last = deferral;
            }
        }
    }
    vec![Outcome::Deferred(last.0); attempt.recipients.len()]
}

async fn blocking<T: Send + 'static>(
    queue: &Arc<Queue>,
    f: impl FnOnce(&Queue) -> T + Send + 'static,
) -> Option<T> {
    let q = Arc::clone(queue);
    crate::logging::spawn_blocking(move || f(&q)).await.ok()
}

/// Applies the outcomes to the envelope as it is on disk now (an operator may have held or
/// deleted it meanwhile), then finishes or reschedules it.
fn record(app: &App, id: &str, pending: &[String], outcomes: &[Outcome], now: SystemTime) {
    let queue = &app.queue;
    let Some(mut envelope) = queue.load(id) else {
        return;
    };
    for (address, outcome) in pending.iter().zip(outcomes) {
        let Some(r) = envelope
            .recipients
            .iter_mut()
            .find(|r| &r.address == address && r.state == RcptState::Pending)
        else {
            continue;
        };
        let (state, reply) = match outcome {
            Outcome::Delivered(t) => (RcptState::Delivered, t),
            Outcome::Deferred(t) => (RcptState::Pending, t),
            Outcome::Failed(t) => (RcptState::Failed, t),
        };
        r.state = state;
        r.last_reply = Some(reply.clone());
    }
    envelope.attempts += 1;
    envelope.next_attempt = unix(now) + queue.config().retry_delay(envelope.attempts);
    if envelope.pending().next().is_some() {
        if let Err(e) = queue.save(&mut envelope) {
            tracing::error!(error = %e, "recording the attempt failed");
        }
        return;
    }
    let failed = envelope
        .recipients
        .iter()
        .any(|r| r.state == RcptState::Failed);
    if failed && !envelope.sender.is_empty() {
        // RFC 3461 §6.2 and RFC 5321 §4.5.5: notify the sender; never answer `<>` (loops).
        if let Err(e) = bounce(app, &envelope, now) {
            tracing::error!(error = %e, "the DSN could not be sent; keeping the message");
            envelope.next_attempt = unix(now) + queue.config().retry_delay(1);
            let _ = queue.save(&mut envelope);
            return;
        }
    }
    if let Err(e) = queue.remove(id) {
        tracing::error!(error = %e, "removing the finished message failed");
    }
    tracing::info!(failed, "finished");
}

/// Sends the DSN: straight into the mailbox when the sender is local (submission senders
/// always are), else queued with a `<>` sender.
fn bounce(app: &App, envelope: &Envelope, now: SystemTime) -> anyhow::Result<()> {
    let mut original = Vec::new();
    app.queue
        .open_content(&envelope.id)?
        .take(dsn::HEADER_LIMIT as u64)
        .read_to_end(&mut original)?;
    let report = dsn::render(&app.config.hostname, envelope, &original, now);
    let local = Mailbox::try_from(envelope.sender.as_str()).ok().map(|m| {
        resolve(
            &app.config,
            &app.users,
            &app.aliases,
            &ForwardPath::Mailbox(m),
        )
    });
    match local {
        Some(Resolved::Local(users)) => deliver_local(app, &users, &report, now),
        _ if app.config.is_local_domain(domain_of(&envelope.sender)) => {
            // A local domain without such a user any more: nobody to tell.
            tracing::warn!(sender = %envelope.sender, "DSN dropped: sender no longer exists");
            Ok(())
        }
        _ => {
            let id = app.queue.enqueue(
                "",
                std::slice::from_ref(&envelope.sender),
                &mut report.as_slice(),
                now,
            )?;
            tracing::info!(dsn_id = %id, "DSN queued");
            Ok(())
        }
    }
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

fn deliver_local(
    app: &App,
    users: &[UserId],
    report: &[u8],
    now: SystemTime,
) -> anyhow::Result<()> {
    let mut spool = Spool::default();
    spool.write(report)?;
    let results = delivery::deliver(&app.store, b"Return-Path: <>\r\n", &mut spool, users, now);
    if results.iter().any(Result::is_err) {
        anyhow::bail!("local delivery of the DSN failed");
    }
    tracing::info!(users = users.len(), "DSN delivered");
    Ok(())
}
