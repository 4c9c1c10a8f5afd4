//! Group commit (issue 15 §1, issue 12's charge target): a committer task fed through a queue.
//!
//! A hot-path write costs one transaction, and at thousands of requests a second a transaction's
//! commit and statements, not its work, are what limit a database. So concurrent writes of one
//! kind queue for one committer task per process, which takes everything waiting (up to its
//! group size) and decides and writes it in one transaction with a fixed number of statements.
//! A group is what queued while the previous one committed, and, when the previous group's
//! callers are expected back, what arrives in a short wait for them ([`LINGER`]): a client
//! answered by one group sends its next request a moment after the next group has started, so
//! without the wait steady load splits into two alternating half-size groups, each paying a
//! whole commit. A lone request commits alone at once (nobody else is expected), and a busy
//! server commits in large groups. Each caller's answer leaves only after its group's commit. What a group does with its items is the caller's
//! `commit` function (`usage::group` for consumes, `balance::group` for charges).

use super::Store;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// Items that may wait for the committer before callers wait to queue.
const QUEUE: usize = 8192;

/// The longest a group waits for the callers it expects (see the module docs): as many as the
/// previous group answered plus those that queued meanwhile. It ends at once when they are all
/// there. Tokio's timers tick in milliseconds, so a wait that runs out lasts 1–2 ms.
pub(crate) const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// What a committer does with one group: decides and commits `items` and returns one outcome
/// per item, in order.
pub(crate) type CommitFn<T, O> = for<'a> fn(&'a Store, Vec<T>) -> Pin<Box<dyn Future<Output = Vec<O>> + Send + 'a>>;

/// The committer of one kind of write for one [`Store`] (see the module docs).
pub(crate) struct Committer<T, O> {
    sender: mpsc::Sender<(T, oneshot::Sender<O>)>,
}

impl<T: Send + 'static, O: Send + 'static> Committer<T, O> {
    /// Starts the committer task on the current runtime, committing groups of at most
    /// `max_group` items with `commit`; it ends when the last holder of this committer drops it
    /// (so `store` must not hold it: pass [`Store::detached`]).
    pub(crate) fn start(store: Store, max_group: usize, commit: CommitFn<T, O>) -> Committer<T, O> {
        let (sender, mut receiver) = mpsc::channel::<(T, oneshot::Sender<O>)>(QUEUE);
        tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(max_group);
            let mut expected = 0;
            while receiver.recv_many(&mut jobs, max_group).await > 0 {
                if jobs.len() < expected {
                    let deadline = tokio::time::Instant::now() + LINGER;
                    while jobs.len() < expected {
                        let wanted = expected - jobs.len();
                        match tokio::time::timeout_at(deadline, receiver.recv_many(&mut jobs, wanted)).await {
                            Ok(received) if received > 0 => {}
                            _ => break,
                        }
                    }
                }
                let size = jobs.len();
                let (items, replies): (Vec<T>, Vec<oneshot::Sender<O>>) =
                    std::mem::replace(&mut jobs, Vec::with_capacity(max_group)).into_iter().unzip();
                let outcomes = commit(&store, items).await;
                debug_assert_eq!(outcomes.len(), replies.len(), "one outcome per item");
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
                expected = (size + receiver.len()).min(max_group);
            }
        });
        Committer { sender }
    }

    /// Queues `item` and waits for its group's commit. `Err(item)` when the committer has
    /// stopped; `Ok(None)` when it dropped the item without an outcome (a panic in `commit`).
    pub(crate) async fn submit(&self, item: T) -> Result<Option<O>, T> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((item, _))) = self.sender.send((item, reply)).await {
            return Err(item);
        }
        Ok(answer.await.ok())
    }

    /// Items queued and not yet taken by the committer.
    pub(crate) fn waiting(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// The size of every group `record` committed.
    static SIZES: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    /// A commit that takes 5 ms and answers each item with itself.
    fn record(_: &Store, items: Vec<u32>) -> Pin<Box<dyn Future<Output = Vec<u32>> + Send + '_>> {
        Box::pin(async move {
            SIZES.lock().unwrap().push(items.len());
            tokio::time::sleep(Duration::from_millis(5)).await;
            items
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_answered_together_commit_together_again() {
        let store = Store::connect("sqlite::memory:", 1).await.unwrap();
        let committer = Arc::new(Committer::start(store.detached(), 64, record));

        // Nobody is expected: a lone item commits alone at once.
        assert_eq!(committer.submit(7).await, Ok(Some(7)));
        assert_eq!(*SIZES.lock().unwrap(), [1]);

        // Eight callers in a closed loop, 20 rounds each: caller `i` sends again 0.1 × (i + 1) ms
        // after its answer (HTTP round trips differ). Without the wait the first caller back
        // would start a group nearly alone, and the others would form the next one.
        let callers: Vec<_> = (0..8u32)
            .map(|caller| {
                let committer = committer.clone();
                let turnaround = Duration::from_micros(100 * u64::from(caller + 1));
                tokio::spawn(async move {
                    for _ in 0..20 {
                        assert_eq!(committer.submit(caller).await, Ok(Some(caller)));
                        tokio::task::spawn_blocking(move || std::thread::sleep(turnaround)).await.unwrap();
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.await.unwrap();
        }
        let sizes = SIZES.lock().unwrap()[1..].to_vec();
        assert_eq!(sizes.iter().sum::<usize>(), 160);
        // The groups that waited for their answered callers hold all eight of them.
        let full = sizes.iter().filter(|&&size| size == 8).count();
        assert!(full >= 10, "groups of eight: {full} of {} ({sizes:?})", sizes.len());
    }
}
