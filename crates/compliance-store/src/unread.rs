//! The caller's side of an operation whose effect must not outlive a caller who stopped
//! waiting (a claim nobody will hear of), shared by both backends.

use tokio::sync::oneshot;

use crate::error::Error;

/// The caller's side of an undoable operation's answer. Dropped before the answer was read
/// (the caller stopped waiting), it closes the channel, so that an answer not yet sent is
/// undone by its sender, and undoes an answer that was sent but not read: whichever side
/// sees the answer last undoes it, exactly once.
pub(crate) struct Unread<T, U: FnOnce(T)> {
    answer: oneshot::Receiver<Result<T, Error>>,
    undo: Option<U>,
}

impl<T, U: FnOnce(T)> Unread<T, U> {
    pub(crate) fn new(answer: oneshot::Receiver<Result<T, Error>>, undo: U) -> Self {
        Self {
            answer,
            undo: Some(undo),
        }
    }
}

impl<T, U: FnOnce(T) + Unpin> std::future::Future for Unread<T, U> {
    type Output = Result<Result<T, Error>, oneshot::error::RecvError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = &mut *self;
        let polled = std::pin::Pin::new(&mut this.answer).poll(cx);
        if polled.is_ready() {
            // Read: nothing left to undo.
            this.undo = None;
        }
        polled
    }
}

impl<T, U: FnOnce(T)> Drop for Unread<T, U> {
    fn drop(&mut self) {
        if let Some(undo) = self.undo.take() {
            self.answer.close();
            if let Ok(Ok(unread)) = self.answer.try_recv() {
                undo(unread);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn recorder() -> (Arc<Mutex<Vec<u32>>>, impl FnOnce(u32) + Unpin) {
        let undone = Arc::new(Mutex::new(Vec::new()));
        let record = undone.clone();
        (undone, move |v| record.lock().unwrap().push(v))
    }

    #[test]
    fn an_answer_sent_but_not_read_is_undone_by_the_caller_side() {
        let (undone, undo) = recorder();
        let (reply, answer) = oneshot::channel();
        let unread = Unread::new(answer, undo);
        assert!(
            reply.send(Ok(7)).is_ok(),
            "sent while the caller still waited"
        );
        drop(unread);
        assert_eq!(*undone.lock().unwrap(), [7]);
    }

    #[test]
    fn an_answer_sent_after_the_caller_left_comes_back_to_the_sender() {
        let (undone, undo) = recorder();
        let (reply, answer) = oneshot::channel::<Result<u32, Error>>();
        drop(Unread::new(answer, undo));
        assert!(
            matches!(reply.send(Ok(7)), Err(Ok(7))),
            "the sender undoes it"
        );
        assert!(undone.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_answer_read_is_never_undone() {
        let (undone, undo) = recorder();
        let (reply, answer) = oneshot::channel();
        let mut unread = Unread::new(answer, undo);
        reply.send(Ok(7)).unwrap();
        assert_eq!((&mut unread).await.unwrap().unwrap(), 7);
        drop(unread);
        assert!(undone.lock().unwrap().is_empty());
    }
}
