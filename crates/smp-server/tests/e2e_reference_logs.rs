//! End-to-end: a store log and a message log written by hand in the reference's syntax
//! (`StoreLog.hs` `StoreLogRecord` / `QueueRec` string encodings, `MsgStore.hs` `MLRv3`), with
//! every record type, old and new line forms, a newer version's record and a torn last line,
//! placed in the log directory of a stopped server: the server starts, serves those queues with
//! the keys written in the log, drops the expired message, and compacts to the reference syntax.

mod common;

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use common::client::{assert_server_error, body_of};
use common::TestServer;
use smp_client::{AuthKeyPair, NotifierCredentials, QueueMode, RecipientQueue};
use smp_proto::crypto::X25519KeyPair;
use smp_proto::ids::EntityId;
use smp_proto::keys::PublicKey;

/// `strEncode` of a `ByteString`: base64url with padding.
fn b64(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

fn key_text(pair: &AuthKeyPair) -> String {
    b64(&PublicKey::from(pair.public_key()).to_der())
}

fn id(n: u8) -> [u8; 24] {
    let mut bytes = [n; 24];
    bytes[0] = 0xa0;
    bytes
}

/// A queue written into the log: the keys a client needs to use it.
struct LogQueue {
    recipient_id: [u8; 24],
    sender_id: [u8; 24],
    recipient_key: AuthKeyPair,
    /// The client's and the server's queue DH keys; the log holds their shared secret.
    client_dh: X25519KeyPair,
    server_dh: X25519KeyPair,
}

impl LogQueue {
    fn new(n: u8) -> LogQueue {
        LogQueue {
            recipient_id: id(n),
            sender_id: id(n + 100),
            recipient_key: AuthKeyPair::ed25519_from_seed(&[n; 32]),
            client_dh: X25519KeyPair::from_secret_bytes([n + 1; 32]),
            server_dh: X25519KeyPair::from_secret_bytes([n + 2; 32]),
        }
    }

    /// `rid=… rk=… rdh=… sid=… sk=` (the fields every form starts with).
    fn create_prefix(&self) -> String {
        let secret = self.client_dh.diffie_hellman(self.server_dh.public_key());
        format!(
            "CREATE rid={} rk={} rdh={} sid={} sk=",
            b64(&self.recipient_id),
            key_text(&self.recipient_key),
            b64(&secret.0),
            b64(&self.sender_id)
        )
    }

    fn rid(&self) -> String {
        b64(&self.recipient_id)
    }

    fn client_view(self, mode: Option<QueueMode>) -> RecipientQueue {
        RecipientQueue {
            recipient_id: EntityId::from(self.recipient_id),
            sender_id: EntityId::from(self.sender_id),
            shared_secret: self.client_dh.diffie_hellman(self.server_dh.public_key()),
            server_dh_key: *self.server_dh.public_key(),
            recipient_key: self.recipient_key,
            dh_key: self.client_dh,
            mode,
            link_id: None,
            service_id: None,
            notifier: None,
        }
    }
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64)
}

#[tokio::test]
async fn hand_written_reference_logs_load_and_serve() {
    let mut server = TestServer::start();
    server.stop_with_signal("TERM");
    let now = now_seconds();
    let day = now / 86_400 * 86_400;

    // A: messaging queue, secured by the sender, with a notifier; messages in the message log.
    let a = LogQueue::new(1);
    let a_sender = AuthKeyPair::ed25519_from_seed(&[51; 32]);
    let a_notifier_key = AuthKeyPair::ed25519_from_seed(&[52; 32]);
    let a_notifier_id = id(53);
    let a_ntf_secret = [54u8; 32];
    // B: contact address with a short link, its user data replaced by a second LINK.
    let b = LogQueue::new(2);
    let b_link = id(55);
    // C: 2023 form, recipient keys replaced (KEYS), then suspended.
    let c = LogQueue::new(3);
    let c_second_key = AuthKeyPair::ed25519_from_seed(&[56; 32]);
    // D: blocked then unblocked, associated with a notifier service. E: blocked.
    let d = LogQueue::new(4);
    let e = LogQueue::new(5);
    let d_notifier_id = id(57);
    let d_notifier_key = AuthKeyPair::ed25519_from_seed(&[58; 32]);
    let service_id = id(59);
    // F: deleted. G: notifier added then removed. H: link added then removed.
    let f = LogQueue::new(6);
    let g = LogQueue::new(7);
    let g_notifier_id = id(60);
    let g_notifier_key = AuthKeyPair::ed25519_from_seed(&[61; 32]);
    let h = LogQueue::new(8);
    let h_link = id(62);

    let fixed = b64(b"fixed data");
    let store_log = [
        format!(
            "NEW_SERVICE service_id={} role=N cert=MIJjZXJ0 cert_hash=aGFzaA== created_at={day}",
            b64(&service_id)
        ),
        format!("{} queue_mode=M updated_at={day}", a.create_prefix()),
        format!("SECURE {} {}", a.rid(), key_text(&a_sender)),
        format!(
            "NOTIFIER {} {} {} {}",
            a.rid(),
            b64(&a_notifier_id),
            key_text(&a_notifier_key),
            b64(&a_ntf_secret)
        ),
        format!("TIME {} {day}", a.rid()),
        format!(
            "{} queue_mode=C link_id={} queue_data={fixed} {} updated_at={day}",
            b.create_prefix(),
            b64(&b_link),
            b64(b"user data")
        ),
        format!(
            "LINK {} {} {fixed} {}",
            b.rid(),
            b64(&b_link),
            b64(b"user data 2")
        ),
        // The 2023 form: no queue mode, no time.
        c.create_prefix(),
        format!(
            "KEYS {} {},{}",
            c.rid(),
            key_text(&c.recipient_key),
            key_text(&c_second_key)
        ),
        format!("SUSPEND {}", c.rid()),
        // The v9..v14 form with `sndSecure`.
        format!(
            "{} sndSecure=T notifier={} {} {}",
            d.create_prefix(),
            b64(&d_notifier_id),
            key_text(&d_notifier_key),
            b64(&[63; 32])
        ),
        format!("BLOCK {} reason=spam,notice={{\"ttl\":60}}", d.rid()),
        format!("UNBLOCK {}", d.rid()),
        format!("QUEUE_SERVICE {} N {}", d.rid(), b64(&service_id)),
        format!("{} queue_mode=M status=active", e.create_prefix()),
        format!("BLOCK {} reason=content", e.rid()),
        format!("{} queue_mode=M", f.create_prefix()),
        format!("DELETE {}", f.rid()),
        format!("{} queue_mode=M", g.create_prefix()),
        format!(
            "NOTIFIER {} {} {} {}",
            g.rid(),
            b64(&g_notifier_id),
            key_text(&g_notifier_key),
            b64(&[64; 32])
        ),
        format!("NDELETE {}", g.rid()),
        format!("{} queue_mode=C", h.create_prefix()),
        format!("LINK {} {} {fixed} {fixed}", h.rid(), b64(&h_link)),
        format!("LDELETE {}", h.rid()),
        // A record type from a newer version: skipped with a warning.
        format!("FUTURE_RECORD {} x", a.rid()),
    ]
    .join("\n")
        // A torn last line: dropped.
        + &format!("\nSECURE {} MCowBQYD", c.rid());
    fs::write(server.log_dir().join("smp-server-store.log"), &store_log).expect("store log");

    let expired = now - 30 * 86_400; // older than the 21 days of `expire_messages_days`
    let message_log = [
        format!(
            "v3 {} {} {expired} flags=F {}",
            a.rid(),
            b64(&id(70)),
            b64(b"expired")
        ),
        format!(
            "v3 {} {} {now} flags=T {}",
            a.rid(),
            b64(&id(71)),
            b64(b"hello from the log")
        ),
        // No flags (older form).
        format!("v3 {} {} {now} {}", a.rid(), b64(&id(72)), b64(b"second")),
    ]
    .join("\n")
        + "\n";
    fs::write(
        server.log_dir().join("smp-server-messages.log"),
        message_log,
    )
    .expect("msg log");

    server.launch_again();
    let output = server.output();
    assert!(output.contains("FUTURE_RECORD"), "{output}");
    assert!(output.contains("torn"), "{output}");
    assert!(
        output.contains("messages stored: 2, expired: 1"),
        "{output}"
    );

    let client = server.connect().await;
    // A: the restored messages, then SEND with the sender key from the log, NSUB with the
    // notifier key from the log.
    let a_sender_id = EntityId::from(a.sender_id);
    let a_prefix = a.create_prefix();
    let queue_a = a.client_view(Some(QueueMode::Messaging));
    for expected in [&b"hello from the log"[..], b"second"] {
        let message = client
            .get(&queue_a)
            .await
            .expect("GET")
            .expect("a restored message");
        assert_eq!(body_of(&message.body), expected);
        client.ack(&queue_a, &message.msg_id).await.expect("ACK");
    }
    assert_eq!(client.get(&queue_a).await.expect("GET"), None);
    assert_server_error(
        client.send(&a_sender_id, None, false, b"unsigned").await,
        "secured",
        "AUTH",
    );
    let notifier = NotifierCredentials {
        notifier_id: EntityId::from(a_notifier_id),
        notifier_key: AuthKeyPair::ed25519_from_seed(&[52; 32]),
        dh_key: X25519KeyPair::from_secret_bytes([65; 32]),
        server_ntf_dh_key: *X25519KeyPair::from_secret_bytes([66; 32]).public_key(),
        shared_secret: smp_proto::crypto::DhSecret(a_ntf_secret),
    };
    client
        .subscribe_notifications(&notifier)
        .await
        .expect("NSUB with the logged key");
    client
        .send(
            &a_sender_id,
            Some(&a_sender),
            true,
            b"sent to a logged queue",
        )
        .await
        .expect("SEND with the logged sender key");
    let meta = client
        .receive_notification(&notifier, Duration::from_secs(20))
        .await
        .expect("NMSG decrypted with the logged secret");
    let message = client.get(&queue_a).await.expect("GET").expect("message");
    assert_eq!(meta.msg_id, message.msg_id);

    // B: LGET gives the second LINK's data.
    let link = client
        .link_get(&EntityId::from(b_link))
        .await
        .expect("LGET");
    assert_eq!(link.sender_id, EntityId::from(b.sender_id));
    assert_eq!(link.fixed_data, b"fixed data");
    assert_eq!(link.user_data, b"user data 2");

    // C: suspended (the recipient can still read it, with the key from KEYS).
    let c_sender_id = EntityId::from(c.sender_id);
    let queue_c = c.client_view(None);
    assert_eq!(client.get(&queue_c).await.expect("GET suspended"), None);
    assert!(client.send(&c_sender_id, None, false, b"x").await.is_err());

    // D: unblocked; E: blocked.
    client
        .send(&EntityId::from(d.sender_id), None, false, b"to D")
        .await
        .expect("SEND to the unblocked queue");
    let error = client
        .send(&EntityId::from(e.sender_id), None, false, b"to E")
        .await
        .expect_err("blocked");
    let text = error.server_error().unwrap_or_default();
    assert!(text.starts_with("BLOCKED"), "{text}");

    // F deleted, G's notifier removed, H's link removed.
    assert_server_error(
        client
            .send(&EntityId::from(f.sender_id), None, false, b"to F")
            .await,
        "deleted",
        "AUTH",
    );
    let g_notifier = NotifierCredentials {
        notifier_id: EntityId::from(g_notifier_id),
        notifier_key: g_notifier_key,
        dh_key: X25519KeyPair::from_secret_bytes([67; 32]),
        server_ntf_dh_key: *X25519KeyPair::from_secret_bytes([68; 32]).public_key(),
        shared_secret: smp_proto::crypto::DhSecret([64; 32]),
    };
    assert_server_error(
        client.subscribe_notifications(&g_notifier).await,
        "NDELETE",
        "AUTH",
    );
    assert_server_error(
        client.link_get(&EntityId::from(h_link)).await,
        "LDELETE",
        "AUTH",
    );
    drop(client);

    // The compacted log is in the reference syntax (`QueueRec` field order).
    server.stop_with_signal("TERM");
    let compacted =
        fs::read_to_string(server.log_dir().join("smp-server-store.log")).expect("store log");
    let expected_a = format!(
        "{}{} queue_mode=M notifier={} {} {} updated_at=",
        a_prefix,
        key_text(&a_sender),
        b64(&a_notifier_id),
        key_text(&a_notifier_key),
        b64(&a_ntf_secret),
    );
    assert!(
        compacted.lines().any(|line| line.starts_with(&expected_a)),
        "{expected_a}\nnot in\n{compacted}"
    );
    assert!(
        compacted
            .lines()
            .any(|line| line.starts_with("NEW_SERVICE service_id=")),
        "{compacted}"
    );
    assert!(
        compacted
            .lines()
            .any(|line| line.contains("status=blocked,reason=content")),
        "{compacted}"
    );
}
