//! A small pool of threads per replica with a bounded queue, so that a hung replica can only
//! ever tie up its own threads and a fixed number of queued jobs (THREATS.md MIR-05).

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
    },
    thread,
    time::{Duration, Instant},
};

use super::replica::Replica;

type Job = Box<dyn FnOnce(&dyn Replica) + Send>;

/// Why a job produced no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoAnswer {
    /// Every queue slot was taken: the replica is not keeping up (or hangs).
    QueueFull,
    /// The deadline passed before the replica answered.
    Deadline,
    /// A worker thread died (the job panicked).
    Lost,
}

/// Threads that run jobs against one replica.
pub(crate) struct Worker {
    queue: SyncSender<Job>,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

/// An answer that will arrive on `rx`, or not.
pub(crate) struct Pending<R> {
    rx: Receiver<R>,
}

impl Worker {
    /// Starts `threads` workers sharing a queue of `depth` jobs. The threads end when the
    /// worker is dropped and the queue drains (a thread stuck in hung IO ends when it returns).
    pub(crate) fn start(
        name: &str,
        replica: Arc<dyn Replica>,
        threads: usize,
        depth: usize,
    ) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::sync_channel::<Job>(depth.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let replica = Arc::clone(&replica);
            thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    loop {
                        // The guard is dropped before the job runs, so one slow job does not
                        // stop the other threads from taking work.
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(job) = job else { return };
                        job(&*replica);
                    }
                })?;
        }
        Ok(Self { queue })
    }

    /// Queues `job`. While the queue is full the caller waits (backpressure, not memory)
    /// until `deadline`, then gives up with [`NoAnswer::QueueFull`].
    pub(crate) fn submit<R, F>(&self, job: F, deadline: Instant) -> Result<Pending<R>, NoAnswer>
    where
        R: Send + 'static,
        F: FnOnce(&dyn Replica) -> R + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let mut boxed: Job = Box::new(move |r| {
            // The caller may have stopped waiting; then nobody wants the answer.
            let _ = tx.send(job(r));
        });
        let mut pause = Duration::from_millis(1);
        loop {
            match self.queue.try_send(boxed) {
                Ok(()) => return Ok(Pending { rx }),
                Err(TrySendError::Disconnected(_)) => return Err(NoAnswer::Lost),
                Err(TrySendError::Full(back)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(NoAnswer::QueueFull);
                    }
                    boxed = back;
                    thread::sleep(pause.min(deadline - now));
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
            }
        }
    }
}

impl<R> Pending<R> {
    /// Waits for the answer until `deadline`.
    pub(crate) fn wait(self, deadline: Instant) -> Result<R, NoAnswer> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.rx.recv_timeout(left).map_err(|e| match e {
            RecvTimeoutError::Timeout => NoAnswer::Deadline,
            RecvTimeoutError::Disconnected => NoAnswer::Lost,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Condvar;

    use super::*;
    use crate::MemStore;

    #[test]
    fn a_stuck_pool_refuses_work_instead_of_queueing_it() {
        // One thread and two queue slots: the fourth job finds no room.
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let w = Worker::start("t", Arc::new(MemStore::new()), 1, 2).expect("spawn");
        let block = |gate: Arc<(Mutex<bool>, Condvar)>| {
            move |_: &dyn Replica| {
                let (open, cv) = &*gate;
                let mut g = open.lock().expect("gate");
                while !*g {
                    g = cv.wait(g).expect("gate");
                }
            }
        };
        let now = Instant::now;
        let first = w.submit(block(Arc::clone(&gate)), now()).expect("runs");
        // Give the thread time to take the first job so the queue holds exactly the next two.
        thread::sleep(Duration::from_millis(50));
        let _q1 = w.submit(block(Arc::clone(&gate)), now()).expect("queued");
        let _q2 = w.submit(block(Arc::clone(&gate)), now()).expect("queued");
        let t = now();
        let full = w.submit(|_| (), t + Duration::from_millis(50)).err();
        assert_eq!(full, Some(NoAnswer::QueueFull));
        assert!(
            t.elapsed() >= Duration::from_millis(50),
            "waited for room first"
        );
        *gate.0.lock().expect("gate") = true;
        gate.1.notify_all();
        first
            .wait(Instant::now() + Duration::from_secs(5))
            .expect("released job answers");
    }

    #[test]
    fn a_late_answer_is_a_missed_deadline() {
        let w = Worker::start("t", Arc::new(MemStore::new()), 1, 1).expect("spawn");
        let p = w
            .submit(
                |_| thread::sleep(Duration::from_millis(300)),
                Instant::now(),
            )
            .expect("queued");
        let r = p.wait(Instant::now() + Duration::from_millis(20));
        assert_eq!(r.err(), Some(NoAnswer::Deadline));
    }
}
