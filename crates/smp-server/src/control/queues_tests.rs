//! Queue commands against an in-memory server state.

use super::*;
use crate::clock::{ManualClock, Random};
use crate::state::{ServerSettings, ServerState};
use crate::store::backend::StoreBackend;
use crate::store::{QueueRecord as ServerQueue, QueueStatus as ServerStatus, StoredMessage};
use smp_proto::codec::SystemTime;
use smp_proto::crypto::DhSecret;
use smp_proto::error::BlockingReason;
use smp_proto::ids::MsgId;
use smp_proto::keys::AuthKey;
use std::sync::Arc;

const NOW: i64 = 1_700_000_000;
const SENDER: [u8; 24] = [2; 24];

pub(crate) fn test_context(quota: i64) -> (ControlContext, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at_seconds(NOW));
    let backend = Arc::new(StoreBackend::new(128, clock.clone()));
    let state = ServerState::with(
        ServerSettings::default(),
        clock.clone(),
        Random::from_seed(1),
    )
    .with_store(backend.clone());
    let settings = super::super::ControlSettings {
        port: 0,
        admin_password: Some(b"admin".to_vec()),
        user_password: Some(b"user".to_vec()),
        daily_block_queue_quota: quota,
    };
    let context = ControlContext::new(Arc::new(state), backend, &settings, Default::default());
    (context, clock)
}

pub(crate) fn add_queue(context: &ControlContext, byte: u8) -> EntityId {
    let recipient_id = EntityId::from([byte; 24]);
    context
        .state
        .store
        .add_queue(ServerQueue {
            recipient_id: recipient_id.clone(),
            sender_id: EntityId::from([byte + 100; 24]),
            recipient_keys: vec![AuthKey::Ed25519([3; 32])],
            rcv_dh_secret: DhSecret([4; 32]),
            sender_key: None,
            queue_mode: None,
            link: None,
            notifier: None,
            status: ServerStatus::Active,
        })
        .unwrap();
    recipient_id
}

fn spam() -> BlockingInfo {
    BlockingInfo {
        reason: BlockingReason::Spam,
        notice: None,
    }
}

#[test]
fn status_block_unblock_and_delete() {
    let (context, _) = test_context(20);
    let recipient_id = add_queue(&context, 1);
    let sender = [101u8; 24];
    assert_eq!(
        status(&context, &sender),
        "status: EntityActive, updatedAt: Just (RoundedSystemTime {roundedSeconds = 1699920000}), \
         queueMode: Nothing"
    );
    assert_eq!(status(&context, &SENDER), "error: AUTH");
    assert_eq!(
        status(&context, &[1; 24]),
        "error: AUTH",
        "not by recipient id"
    );
    assert_eq!(
        block(&context, &sender, spam()),
        "ok, queue blocked: EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing})"
    );
    assert_eq!(context.state.stats.counters.q_blocked.get(), 1);
    assert_eq!(
        block(&context, &sender, spam()),
        "ok, already inactive: EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing})"
    );
    assert!(status(&context, &sender).starts_with("status: EntityBlocked"));
    assert_eq!(
        unblock(&context, &sender),
        "ok, queue unblocked, reason to block was: BlockingInfo {reason = BRSpam, notice = Nothing}"
    );
    assert_eq!(unblock(&context, &sender), "ok, queue was active");
    context.state.store.suspend_queue(&recipient_id).unwrap();
    assert_eq!(unblock(&context, &sender), "error, queue is inactive");
    let message = StoredMessage::Message {
        msg_id: MsgId::from([5; 24]),
        timestamp: SystemTime(NOW),
        flags: Default::default(),
        body: b"hello".to_vec(),
    };
    context.state.store.suspend_queue(&recipient_id).unwrap();
    let other = add_queue(&context, 2);
    context.state.store.write_message(&other, message).unwrap();
    assert_eq!(delete(&context, &[102; 24]), "ok, 1 messages deleted");
    assert_eq!(delete(&context, &[102; 24]), "error: AUTH");
    assert_eq!(context.state.stats.counters.q_deleted_all.get(), 1);
    assert_eq!(context.state.stats.counters.q_deleted_new.get(), 1);
}

#[test]
fn quota_limits_blocks_per_day_and_resets_at_midnight() {
    let (context, clock) = test_context(1);
    add_queue(&context, 1);
    add_queue(&context, 2);
    assert!(block(&context, &[101; 24], spam()).starts_with("ok, queue blocked"));
    assert_eq!(
        block(&context, &[102; 24], spam()),
        "error: reached limit of 1 queues blocked daily"
    );
    // 1700000000 is 22:13:20 UTC; two hours later is the next day.
    clock.advance(Duration::from_secs(7_200));
    assert!(block(&context, &[102; 24], spam()).starts_with("ok, queue blocked"));

    let (forbidden, _) = test_context(-1);
    add_queue(&forbidden, 1);
    assert_eq!(
        block(&forbidden, &[101; 24], spam()),
        "error: reached limit of -1 queues blocked daily"
    );
    let (unlimited, _) = test_context(0);
    for byte in 1..5 {
        add_queue(&unlimited, byte);
        assert!(block(&unlimited, &[byte + 100; 24], spam()).starts_with("ok"));
    }
}
