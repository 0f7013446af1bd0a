//! Keeping failures visible: a panic hook that writes every panic to the server log, and the
//! server-wide tasks (event delivery, message expiry, statistics) run under a watch that stops
//! the server loudly when one of them panics.
//!
//! A panic in one connection's task only ends that connection (tokio catches it, and the
//! connection's cleanup runs from a drop guard); the hook makes sure it is still logged. A panic
//! in a server-wide task cannot be recovered from without losing its work silently, so — like the
//! reference, whose server threads are raced with `raceAny_` so that one failing thread stops the
//! server (`Server.hs: smpServer`) — the server logs it and shuts down with an error.

use std::any::Any;
use std::future::Future;
use std::sync::{Arc, Mutex, Once};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Installs (once per process) a panic hook that logs the panic at `error` level with its
/// thread, location and — with `RUST_BACKTRACE` set — a backtrace, then runs the previous hook
/// when no log subscriber is installed (so the message is never lost).
pub fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !tracing::dispatcher::has_been_set() {
                previous(info);
                return;
            }
            let thread = std::thread::current();
            let location = info
                .location()
                .map_or_else(String::new, |location| location.to_string());
            let backtrace = std::backtrace::Backtrace::capture();
            tracing::error!(
                thread = thread.name().unwrap_or("<unnamed>"),
                %location,
                "panic: {}\n{backtrace}",
                panic_message(info.payload())
            );
        }));
    });
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(non-text panic payload)".to_string()
    }
}

/// Server-wide tasks whose panic stops the server: spawn them here, then [`join`] after the
/// server has stopped to learn whether one failed.
///
/// [`join`]: CriticalTasks::join
#[derive(Debug)]
pub struct CriticalTasks {
    shutdown: CancellationToken,
    failure: Arc<Mutex<Option<String>>>,
    watchers: Vec<JoinHandle<()>>,
}

impl CriticalTasks {
    /// Tasks that cancel `shutdown` when one of them panics.
    pub fn new(shutdown: CancellationToken) -> Self {
        CriticalTasks {
            shutdown,
            failure: Arc::default(),
            watchers: Vec::new(),
        }
    }

    /// Spawns `future` as the task `name`. Ending normally is not a failure (a task may have
    /// nothing to do under the configuration); a panic is logged, remembered and stops the server.
    pub fn spawn<F>(&mut self, name: &'static str, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let task = tokio::spawn(future);
        let shutdown = self.shutdown.clone();
        let failure = Arc::clone(&self.failure);
        self.watchers.push(tokio::spawn(async move {
            let Err(error) = task.await else {
                return;
            };
            if !error.is_panic() {
                return;
            }
            let message = format!(
                "the {name} task panicked: {}",
                panic_message(&*error.into_panic())
            );
            tracing::error!("{message}; stopping the server");
            if let Ok(mut slot) = failure.lock() {
                slot.get_or_insert(message);
            }
            shutdown.cancel();
        }));
    }

    /// Waits for every task (they end at shutdown) and reports the first panic as an error.
    pub async fn join(self) -> anyhow::Result<()> {
        for watcher in self.watchers {
            // The watcher itself does not panic; a cancelled runtime ends it, which is no news.
            let _ = watcher.await;
        }
        let failure = self.failure.lock().ok().and_then(|mut slot| slot.take());
        match failure {
            Some(message) => Err(anyhow::anyhow!(message)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_stops_the_server_with_an_error() {
        let shutdown = CancellationToken::new();
        let mut tasks = CriticalTasks::new(shutdown.clone());
        let waiting = shutdown.clone();
        tasks.spawn("waiting", async move { waiting.cancelled().await });
        tasks.spawn("broken", async { panic!("bad state {}", 42) });
        // The panic cancels the shutdown token, which ends the other task.
        shutdown.cancelled().await;
        let error = tasks.join().await.unwrap_err().to_string();
        assert_eq!(error, "the broken task panicked: bad state 42");
    }

    #[tokio::test]
    async fn tasks_ending_normally_are_no_failure() {
        let shutdown = CancellationToken::new();
        let mut tasks = CriticalTasks::new(shutdown.clone());
        tasks.spawn("idle", async {});
        let waiting = shutdown.clone();
        tasks.spawn("waiting", async move { waiting.cancelled().await });
        tokio::task::yield_now().await;
        assert!(!shutdown.is_cancelled());
        shutdown.cancel();
        tasks.join().await.unwrap();
    }

    #[test]
    fn panic_messages_of_both_payload_kinds() {
        let literal: Box<dyn Any + Send> = Box::new("literal");
        let formatted: Box<dyn Any + Send> = Box::new(String::from("formatted 1"));
        let other: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(&*literal), "literal");
        assert_eq!(panic_message(&*formatted), "formatted 1");
        assert_eq!(panic_message(&*other), "(non-text panic payload)");
    }
}
