//! The connection's writer scheduling (`Server.hs: send`, `sendMsg`, `tSend`): jobs from the
//! send queue go out as one batch each; `MSG` events that follow a group's responses are sent
//! after them — the first one in the same batch when the group produced at most 4 responses,
//! the rest one per batch from a deliveries queue, interleaved with later jobs so that
//! deliveries never starve responses (nor the reverse).
//!
//! Packing a batch into blocks and block encryption are the [`BatchSink`]'s job.

use crate::client::{EncodedTransmission, SendJob};
use std::collections::VecDeque;
use std::future::Future;
use tokio::sync::mpsc;

/// Responses of a group up to which the first delivery joins their batch (the reference's
/// `testBatchSubResponses` limit).
pub const MAX_RESPONSES_WITH_DELIVERY: usize = 4;

/// Deferred deliveries above which the writer stops taking new jobs until it has sent some
/// (`msgQ` is bounded in the reference; this keeps backpressure on the processor).
pub const MAX_DEFERRED_DELIVERIES: usize = 128 * 255;

/// Where batches go: encodes them into as few blocks as possible and writes them.
pub trait BatchSink {
    type Error;
    fn send_batch(
        &mut self,
        transmissions: Vec<EncodedTransmission>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Splits a job into the batch to send now and the deliveries to send later (`send`).
pub fn plan(job: SendJob) -> (Vec<EncodedTransmission>, Vec<EncodedTransmission>) {
    let SendJob {
        mut transmissions,
        deliveries,
    } = job;
    let mut deliveries = deliveries.into_iter();
    if transmissions.len() <= MAX_RESPONSES_WITH_DELIVERY {
        if let Some(first) = deliveries.next() {
            transmissions.push(first);
        }
    }
    (transmissions, deliveries.collect())
}

/// Runs the writer until the job channel closes or the sink fails.
pub async fn run<S: BatchSink + Send>(
    mut jobs: mpsc::Receiver<SendJob>,
    sink: &mut S,
) -> Result<(), S::Error> {
    let mut deferred: VecDeque<EncodedTransmission> = VecDeque::new();
    loop {
        if deferred.len() < MAX_DEFERRED_DELIVERIES {
            let job = if deferred.is_empty() {
                match jobs.recv().await {
                    Some(job) => Some(job),
                    None => return Ok(()),
                }
            } else {
                match jobs.try_recv() {
                    Ok(job) => Some(job),
                    Err(mpsc::error::TryRecvError::Empty) => None,
                    Err(mpsc::error::TryRecvError::Disconnected) => return Ok(()),
                }
            };
            if let Some(job) = job {
                let (now, later) = plan(job);
                deferred.extend(later);
                if !now.is_empty() {
                    sink.send_batch(now).await?;
                }
            }
        }
        if let Some(delivery) = deferred.pop_front() {
            sink.send_batch(vec![delivery]).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder {
        batches: Vec<Vec<EncodedTransmission>>,
    }

    impl BatchSink for Recorder {
        type Error = ();
        async fn send_batch(&mut self, transmissions: Vec<EncodedTransmission>) -> Result<(), ()> {
            self.batches.push(transmissions);
            Ok(())
        }
    }

    fn t(text: &str) -> EncodedTransmission {
        text.as_bytes().to_vec()
    }

    #[test]
    fn first_delivery_joins_small_groups_only() {
        let job = SendJob {
            transmissions: vec![t("OK1"), t("OK2")],
            deliveries: vec![t("MSG1"), t("MSG2")],
        };
        assert_eq!(
            plan(job),
            (vec![t("OK1"), t("OK2"), t("MSG1")], vec![t("MSG2")])
        );
        let job = SendJob {
            transmissions: (0..5).map(|i| t(&format!("OK{i}"))).collect(),
            deliveries: vec![t("MSG1")],
        };
        let (now, later) = plan(job);
        assert_eq!(now.len(), 5);
        assert_eq!(later, [t("MSG1")]);
    }

    #[tokio::test]
    async fn deferred_deliveries_go_one_per_batch_between_jobs() {
        let (sender, receiver) = mpsc::channel(8);
        sender
            .send(SendJob {
                transmissions: vec![t("OK1")],
                deliveries: vec![t("MSG1"), t("MSG2"), t("MSG3")],
            })
            .await
            .unwrap();
        sender.send(SendJob::of(vec![t("PONG")])).await.unwrap();
        drop(sender);
        let mut recorder = Recorder::default();
        run(receiver, &mut recorder).await.unwrap();
        assert_eq!(
            recorder.batches,
            [
                vec![t("OK1"), t("MSG1")],
                vec![t("MSG2")],
                vec![t("PONG")],
                vec![t("MSG3")],
            ]
        );
    }
}
