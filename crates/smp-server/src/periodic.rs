//! Server-wide periodic work that sends to connections: flushing pending `END`/`DELD` events
//! (`Server.hs: sendPendingEvtsThread`, every 15 s in production) and delivering `NMSG`
//! notifications to subscribed notifier connections (`deliverNtfsThread`, every 1.5 s).
//!
//! Encoding is the caller's: it knows each connection's version and session.

use crate::client::{ClientHandle, SendJob};
use crate::notifications::{MsgNtf, NtfStore};
use crate::stats::ServerStats;
use crate::subscriptions::{HubEvent, Subscriber, SubscriptionHub};
use smp_proto::ids::EntityId;
use std::sync::Arc;
use tokio::sync::mpsc::error::TrySendError;

/// Sends every pending hub event, one job per connection (the writer packs up to 255 per
/// block). A connection whose send queue is full gets its events from a task that waits for
/// room, as the reference forks a thread. Returns the number of events sent or queued.
pub fn flush_pending_events(
    hub: &SubscriptionHub<ClientHandle>,
    stats: &ServerStats,
    encode: impl Fn(&ClientHandle, &EntityId, HubEvent) -> Vec<u8>,
) -> usize {
    let mut count = 0;
    for (client, events) in hub.take_pending() {
        count += events.len();
        // `qSubEnd`, and `qSubEndB` counting up to 255 events per block.
        let sent = i64::try_from(events.len()).unwrap_or(i64::MAX);
        stats.counters.q_sub_end.add(sent);
        stats.counters.q_sub_end_b.add(sent / 255 + 1);
        let job = SendJob::of(
            events
                .iter()
                .map(|(entity, event)| encode(&client, entity, *event))
                .collect(),
        );
        send_or_wait(client, job);
    }
    count
}

fn send_or_wait(client: Arc<ClientHandle>, job: SendJob) {
    if let Err(TrySendError::Full(job)) = client.send_jobs().try_send(job) {
        tokio::spawn(async move {
            // An error means the connection closed meanwhile: nothing to deliver to.
            let _ = client.send_jobs().send(job).await;
        });
    }
}

/// Notifications taken from the store for one connection, by notifier id.
type ClientNotifications = (Arc<ClientHandle>, Vec<(EntityId, Vec<MsgNtf>)>);

/// Delivers pending notifications to the current subscriber of each notifier id. Notifications
/// stay stored while there is no subscriber, or when the subscriber's send queue is full
/// (`flushSubscribedNtfs`: "sending queue full, ntfs kept"). Returns the number delivered.
pub fn deliver_notifications(
    store: &NtfStore,
    hub: &SubscriptionHub<ClientHandle>,
    stats: &ServerStats,
    encode: impl Fn(&ClientHandle, &EntityId, &MsgNtf) -> Vec<u8>,
) -> usize {
    let mut by_client: Vec<ClientNotifications> = Vec::new();
    for notifier_id in store.notifiers_with_pending() {
        let Some(subscriber) = hub.subscriber(&notifier_id) else {
            continue;
        };
        if !subscriber.is_connected() {
            continue;
        }
        let notifications = store.take(&notifier_id);
        if notifications.is_empty() {
            continue;
        }
        match by_client
            .iter_mut()
            .find(|(client, _)| Arc::ptr_eq(client, &subscriber))
        {
            Some((_, list)) => list.push((notifier_id, notifications)),
            None => by_client.push((subscriber, vec![(notifier_id, notifications)])),
        }
    }
    let mut delivered = 0;
    for (client, lists) in by_client {
        let transmissions: Vec<Vec<u8>> = lists
            .iter()
            .flat_map(|(notifier_id, notifications)| {
                notifications
                    .iter()
                    .map(|ntf| encode(&client, notifier_id, ntf))
            })
            .collect();
        let count = transmissions.len();
        match client.send_jobs().try_send(SendJob::of(transmissions)) {
            Ok(()) => {
                delivered += count;
                // `msgNtfs`, and `msgNtfsB` counting up to 80 NMSG per block.
                let sent = i64::try_from(count).unwrap_or(i64::MAX);
                stats.counters.ntf_count.sub(sent);
                stats.counters.msg_ntfs.add(sent);
                stats.counters.msg_ntfs_b.add(sent / 80 + 1);
            }
            Err(TrySendError::Full(_)) => {
                for (notifier_id, notifications) in lists {
                    store.restore(&notifier_id, notifications);
                }
            }
            Err(TrySendError::Closed(_)) => {}
        }
    }
    delivered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriptions::HubKind;
    use smp_proto::ids::MsgId;
    use tokio::sync::mpsc;

    fn client(id: u64, capacity: usize) -> (Arc<ClientHandle>, mpsc::Receiver<SendJob>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Arc::new(ClientHandle::new(id, 9, sender)), receiver)
    }

    fn ntf(byte: u8) -> MsgNtf {
        MsgNtf {
            msg_id: MsgId::from([byte; 24]),
            timestamp: 1,
            nonce: [byte; 24],
            encrypted_meta: vec![byte],
        }
    }

    #[tokio::test]
    async fn pending_events_are_flushed_once_per_connection() {
        let hub = SubscriptionHub::new(HubKind::Queues);
        let (first, mut rx) = client(1, 4);
        let (second, _rx2) = client(2, 4);
        let (queue_a, queue_b) = (EntityId::from([1; 24]), EntityId::from([2; 24]));
        hub.subscribe(&queue_a, &first);
        hub.subscribe(&queue_b, &first);
        hub.subscribe(&queue_a, &second);
        hub.delete(&queue_b, second.id());
        let encode = |client: &ClientHandle, entity: &EntityId, event: HubEvent| {
            let mut out = vec![entity.as_bytes()[0]];
            // DELD is END before v10; the test client is v9
            out.extend_from_slice(match event {
                HubEvent::Deleted if client.version() >= 10 => b"DELD".as_slice(),
                _ => b"END".as_slice(),
            });
            out
        };
        let stats = ServerStats::default();
        assert_eq!(flush_pending_events(&hub, &stats, encode), 2);
        assert_eq!(stats.counters.q_sub_end.get(), 2);
        let job = rx.recv().await.unwrap();
        assert_eq!(
            job.transmissions,
            [b"\x01END".to_vec(), b"\x02END".to_vec()]
        );
        assert_eq!(flush_pending_events(&hub, &stats, encode), 0);
    }

    #[tokio::test]
    async fn notifications_go_to_the_subscriber_or_stay() {
        let store = NtfStore::new();
        let hub = SubscriptionHub::new(HubKind::Notifiers);
        let (notifier, mut rx) = client(1, 1);
        let (subscribed, unsubscribed) = (EntityId::from([1; 24]), EntityId::from([2; 24]));
        store.store(&subscribed, ntf(1));
        store.store(&subscribed, ntf(2));
        store.store(&unsubscribed, ntf(3));
        hub.subscribe(&subscribed, &notifier);
        let encode = |_: &ClientHandle, _: &EntityId, ntf: &MsgNtf| vec![ntf.nonce[0]];
        let stats = ServerStats::default();
        assert_eq!(deliver_notifications(&store, &hub, &stats, encode), 2);
        assert_eq!(stats.counters.msg_ntfs.get(), 2);
        assert_eq!(
            rx.recv().await.unwrap().transmissions,
            [vec![1u8], vec![2u8]]
        );
        assert_eq!(store.len(), 1);
        // queue full: kept
        store.store(&subscribed, ntf(4));
        notifier.send_jobs().try_send(SendJob::default()).unwrap();
        assert_eq!(deliver_notifications(&store, &hub, &stats, encode), 0);
        assert_eq!(store.len(), 2);
    }
}
