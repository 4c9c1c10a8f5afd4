//! Group commit (issue 15 §1, issue 12's charge target): a committer task fed through a queue.
//!
//! A hot-path write costs one transaction, and at thousands of requests a second a transaction's
//! commit and statements, not its work, are what limit a database. So concurrent writes of one
//! kind queue for one committer task per process, which takes everything waiting (up to its
//! group size) and decides and writes it in one transaction with a fixed number of statements.
//! Nobody waits on purpose: a group is whatever queued while the previous one committed, so a
//! lone request commits alone and a busy server commits in large groups. Each caller's answer
//! leaves only after its group's commit. What a group does with its items is the caller's
//! `commit` function (`usage::group` for consumes, `balance::group` for charges).

use super::Store;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// Items that may wait for the committer before callers wait to queue.
const QUEUE: usize = 8192;

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
            while receiver.recv_many(&mut jobs, max_group).await > 0 {
                let (items, replies): (Vec<T>, Vec<oneshot::Sender<O>>) =
                    std::mem::replace(&mut jobs, Vec::with_capacity(max_group)).into_iter().unzip();
                let outcomes = commit(&store, items).await;
                debug_assert_eq!(outcomes.len(), replies.len(), "one outcome per item");
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
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
