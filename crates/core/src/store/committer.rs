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

/// How long after the previous group's answers a group waits for the callers it expects (see
/// the module docs): as many as the previous group answered plus those that queued meanwhile.
/// It ends at once when they are all there. Tokio's timers tick in milliseconds, so a wait that
/// runs out ends 1–2 ms after those answers.
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
            // How many callers the previous group answered or left queued, and when it answered.
            let mut expected = 0;
            let mut answered = tokio::time::Instant::now();
            while receiver.recv_many(&mut jobs, max_group).await > 0 {
                // Callers that have not come back within LINGER of their answer are not waited for
                // (after a quiet spell, a lone request commits at once).
                let deadline = answered + LINGER;
                if jobs.len() < expected && tokio::time::Instant::now() < deadline {
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
                // Read before the answers go: a caller answered could queue again before a later
                // read and be counted twice.
                let queued = receiver.len();
                debug_assert_eq!(outcomes.len(), replies.len(), "one outcome per item");
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
                answered = tokio::time::Instant::now();
                expected = (size + queued).min(max_group);
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

    /// On tokio's paused clock, which moves only when every task waits, so the callers'
    /// turnarounds (scheduling hops, not time) always end before a wait runs out.
    #[tokio::test(flavor = "current_thread")]
    async fn callers_answered_together_commit_together_again() {
        let store = Store::connect("sqlite::memory:", 1).await.unwrap();
        tokio::time::pause();
        let committer = Arc::new(Committer::start(store.detached(), 64, record));

        // Nobody is expected: a lone item commits alone at once.
        assert_eq!(committer.submit(7).await, Ok(Some(7)));
        assert_eq!(*SIZES.lock().unwrap(), [1]);

        // Eight callers in a closed loop, 20 rounds each: caller `i` sends again after `i + 1`
        // turns of the scheduler (HTTP round trips differ). Without the wait the first caller
        // back would start a group alone, and the other seven would form the next one.
        let callers: Vec<_> = (0..8u32)
            .map(|caller| {
                let committer = committer.clone();
                tokio::spawn(async move {
                    for _ in 0..20 {
                        assert_eq!(committer.submit(caller).await, Ok(Some(caller)));
                        for _ in 0..=caller {
                            tokio::task::yield_now().await;
                        }
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
        assert!(full >= 18, "groups of eight: {full} of {} ({sizes:?})", sizes.len());

        // A caller back after the wait would have run out is not waited for: the commit's 5 ms,
        // which tokio's timer rounds up by a tick; a wait would add 1–2 ms more.
        tokio::time::sleep(LINGER * 3).await;
        let started = tokio::time::Instant::now();
        assert_eq!(committer.submit(9).await, Ok(Some(9)));
        let took = started.elapsed();
        assert!(took <= Duration::from_millis(6), "no wait expected: {took:?}");
    }
}
