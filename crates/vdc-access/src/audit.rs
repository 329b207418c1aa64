//! Where management audit entries are written without a commit of their own (issue 11).
//!
//! - A call whose change is one store transaction (creating an offer or a presentation
//!   request) takes its entry from the [`CallAudit`] in its request extensions and hands it
//!   to that transaction (the transactional outbox, `vdc_store::events`): the entry commits
//!   exactly when the change does.
//! - Every other entry goes to the [`AuditLog`], which writes what is queued in one
//!   transaction (group commit). A call that changed something waits for its entry's commit
//!   before it answers, so nothing acknowledged is missing from the log; a call that changed
//!   nothing (a read, a refused call) does not wait, and its entry lingers up to
//!   [`LINGER`] so that many reads share one commit.
//! - [`AuditSink`] stages an entry for every domain event in the event's own transaction.
//! - [`AuditTarget`] is what a handler tells the middleware about the object it created;
//!   [`bounded_audit_id`] keeps recorded ids short.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use vdc_core::rng::RandomSource;
use vdc_store::events::{DomainEvent, EventSink, Outbox};
use vdc_store::{AccessStore, AuditEntry};

/// How long an entry nobody waits for may wait for company before it is written.
pub const LINGER: Duration = Duration::from_millis(100);

/// The most entries one transaction writes.
const MAX_BATCH: usize = 500;

/// Entries queued at most; a call finding the queue full waits (backpressure, bounded
/// memory).
const QUEUE: usize = 10_000;

struct Queued {
    entry: Option<AuditEntry>,
    /// Told when the entry is committed (or could not be).
    done: Option<oneshot::Sender<()>>,
}

/// The group-commit writer of audit entries. Cheap to clone; the writer task starts with
/// the first entry (inside the server's runtime).
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn AccessStore>,
    queue: Arc<OnceLock<mpsc::Sender<Queued>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl AuditLog {
    /// A log writing to `store`.
    pub fn new(store: Arc<dyn AccessStore>) -> Self {
        Self {
            store,
            queue: Arc::new(OnceLock::new()),
        }
    }

    fn sender(&self) -> &mpsc::Sender<Queued> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_loop(self.store.clone(), rx));
            tx
        })
    }

    /// Queues `entry`; with `wait`, returns once it is committed (or its batch failed,
    /// which is logged: the call's action stands).
    pub async fn append(&self, entry: AuditEntry, wait: bool) {
        let (done, committed) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let queued = Queued {
            entry: Some(entry),
            done,
        };
        if self.sender().send(queued).await.is_err() {
            tracing::error!("audit: the writer stopped; entry not recorded");
            return;
        }
        if let Some(rx) = committed {
            let _ = rx.await;
        }
    }

    /// Returns once every entry queued before the call is written (shutdown, tests).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        let queued = Queued {
            entry: None,
            done: Some(tx),
        };
        if self.sender().send(queued).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop(store: Arc<dyn AccessStore>, mut rx: mpsc::Receiver<Queued>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        // Nobody waits: give other entries a moment to share the commit.
        if batch[0].done.is_none() {
            let deadline = tokio::time::Instant::now() + LINGER;
            while batch.len() < MAX_BATCH && batch.iter().all(|q| q.done.is_none()) {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(q)) => batch.push(q),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(q) => batch.push(q),
                Err(_) => break,
            }
        }
        let mut outbox = Outbox::default();
        let mut waiters = Vec::new();
        for q in batch {
            outbox.audit.extend(q.entry);
            waiters.extend(q.done);
        }
        if let Err(e) = store.write_outbox(&outbox).await {
            tracing::error!(error = %e, entries = outbox.audit.len(), "audit entries not recorded");
        }
        for w in waiters {
            let _ = w.send(());
        }
    }
}

/// The audit entry of the management call in progress, for a handler whose change writes it
/// in its own transaction. Taking it tells the middleware not to write it again if the call
/// answers with the status the entry records.
#[derive(Clone)]
pub struct CallAudit(Arc<CallAuditInner>);

/// Builds a call's entry from its target and status.
type MakeEntry = dyn Fn(&str, u16) -> Option<AuditEntry> + Send + Sync;

struct CallAuditInner {
    make: Box<MakeEntry>,
    taken: std::sync::Mutex<Option<u16>>,
    used: AtomicBool,
}

impl std::fmt::Debug for CallAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallAudit").finish_non_exhaustive()
    }
}

impl CallAudit {
    /// A call's audit: `make(target, status)` builds its entry.
    pub fn new(make: impl Fn(&str, u16) -> Option<AuditEntry> + Send + Sync + 'static) -> Self {
        Self(Arc::new(CallAuditInner {
            make: Box::new(make),
            taken: std::sync::Mutex::new(None),
            used: AtomicBool::new(false),
        }))
    }

    /// The entry recording that the call created or changed `target` and answers `status`,
    /// for the change's transaction. Once only: a second call gets `None`. If the call then
    /// answers another status (the transaction failed), the middleware records that answer.
    pub fn take(&self, target: &str, status: u16) -> Option<AuditEntry> {
        if self.0.used.swap(true, Ordering::AcqRel) {
            return None;
        }
        let entry = (self.0.make)(target, status)?;
        *self
            .0
            .taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(status);
        Some(entry)
    }

    /// The status the taken entry records, if one was taken.
    pub fn taken_status(&self) -> Option<u16> {
        *self
            .0
            .taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What a handler may add to its response for the audit log: the id of what it created.
#[derive(Debug, Clone)]
pub struct AuditTarget(pub String);

/// The longest object id an audit entry records, in characters (ids vdc makes are far
/// shorter; a longer one came from a path nobody answered).
pub const MAX_AUDIT_ID_CHARS: usize = 128;

/// `id` as an audit entry records it: unchanged up to [`MAX_AUDIT_ID_CHARS`], otherwise its
/// first characters (cut on a character boundary) and its length in bytes.
pub fn bounded_audit_id(id: String) -> String {
    if id.chars().nth(MAX_AUDIT_ID_CHARS).is_none() {
        return id;
    }
    let head: String = id.chars().take(MAX_AUDIT_ID_CHARS / 2).collect();
    format!("{head}...({} bytes)", id.len())
}

/// Stages an audit entry for every domain event (contract: "every issuance, status change and
/// verification outcome"). Events carry ids and statuses only (G10), and so do the entries.
#[derive(Clone)]
pub struct AuditSink {
    rng: Arc<dyn RandomSource>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink").finish_non_exhaustive()
    }
}

impl AuditSink {
    /// A sink whose entries the change's transaction writes (the transactional outbox).
    pub fn new(rng: Arc<dyn RandomSource>) -> Self {
        Self { rng }
    }
}

impl EventSink for AuditSink {
    fn stage(&self, event: &DomainEvent, outbox: &mut Outbox) {
        let mut random = [0u8; 8];
        if let Err(e) = self.rng.fill(&mut random) {
            tracing::error!(error = %e, "audit: no randomness; event not recorded");
            return;
        }
        outbox.audit.push(AuditEntry {
            id: vdc_store::access::audit_id(
                event.at,
                vdc_store::access::sequenced(u64::from_be_bytes(random)),
            ),
            at: event.at,
            actor: event.actor.clone(),
            actor_key_id: None,
            action: event.kind.as_str().to_owned(),
            tenant: Some(event.tenant.clone()),
            target: Some(event.target.clone()),
            outcome: event.outcome.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_audit_is_taken_once() {
        let audit = CallAudit::new(|target, status| {
            Some(AuditEntry {
                id: "1".into(),
                at: vdc_core::time::UnixTime(1),
                actor: "admin".into(),
                actor_key_id: None,
                action: "POST /x".into(),
                tenant: None,
                target: Some(target.to_owned()),
                outcome: status.to_string(),
            })
        });
        assert_eq!(audit.taken_status(), None);
        let e = audit.take("o1", 201).unwrap();
        assert_eq!(e.target.as_deref(), Some("o1"));
        assert_eq!(e.outcome, "201");
        assert_eq!(audit.taken_status(), Some(201));
        assert!(audit.take("o2", 201).is_none());
    }
}
