//! End-to-end persistence with the real binary and the store log on (`init -y` enables it):
//! queues with secured keys, notifier credentials, short links and undelivered messages survive
//! SIGTERM and SIGINT; after SIGKILL every queue survives but messages held in memory are lost;
//! `start --maintenance` restores, compacts, saves and exits; a damaged store log stops the
//! start unless `--skip-warnings`; a store log write failure answers `ERR STORE` and the server
//! goes on serving; the counters and metrics files are written with `log_stats = on`.

mod common;

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use common::client::{assert_server_error, contact_with_link, new_unsubscribed_queue, take};
use common::{ServerOptions, TestServer};
use smp_client::{AuthAlgorithm, AuthKeyPair, NewQueue, RecipientQueue, SmpClient};
use smp_proto::ids::EntityId;

const CONTACT_LINK: &[u8; 24] = b"contact-link-id-24-bytes";

/// What one test creates and checks after each restart.
struct Created {
    /// Messaging queue with notifier credentials from `NEW`, secured by the sender (`SKEY`).
    secured: RecipientQueue,
    secured_sender: AuthKeyPair,
    /// Contact address with a short link.
    contact: RecipientQueue,
    /// Queue secured by the recipient (`KEY`) with a notifier from `NKEY`.
    keyed: RecipientQueue,
    keyed_sender: AuthKeyPair,
    keyed_notifier: smp_client::NotifierCredentials,
}

async fn create_everything(client: &SmpClient) -> Created {
    let secured = client
        .create_queue(NewQueue {
            subscribe: false,
            notifier: true,
            ..NewQueue::default()
        })
        .await
        .expect("NEW with notifier");
    let secured_sender = AuthKeyPair::generate(AuthAlgorithm::Ed25519).expect("key");
    client
        .secure_by_sender(&secured.sender_id, &secured_sender)
        .await
        .expect("SKEY");
    let contact = client
        .create_queue(NewQueue {
            subscribe: false,
            ..contact_with_link(CONTACT_LINK, b"fixed", b"user")
        })
        .await
        .expect("NEW contact with link");
    let keyed = new_unsubscribed_queue(client).await;
    let keyed_sender = AuthKeyPair::generate(AuthAlgorithm::Ed25519).expect("key");
    client
        .secure(&keyed, keyed_sender.public_key())
        .await
        .expect("KEY");
    let keyed_notifier = client.enable_notifications(&keyed).await.expect("NKEY");
    Created {
        secured,
        secured_sender,
        contact,
        keyed,
        keyed_sender,
        keyed_notifier,
    }
}

/// Everything created is there: keys, notifier credentials, link data; sends `message` to both
/// secured queues (to be found after the next restart).
async fn check_and_send(client: &SmpClient, created: &Created, message: &[u8]) {
    // The sender key survived: unsigned SEND is refused, signed SEND accepted.
    assert_server_error(
        client
            .send(&created.secured.sender_id, None, false, b"unsigned")
            .await,
        "unsigned SEND to a secured queue",
        "AUTH",
    );
    client
        .send(
            &created.secured.sender_id,
            Some(&created.secured_sender),
            false,
            message,
        )
        .await
        .expect("signed SEND");
    client
        .send(
            &created.keyed.sender_id,
            Some(&created.keyed_sender),
            false,
            message,
        )
        .await
        .expect("signed SEND to the KEY queue");
    // Notifier credentials (from NEW and from NKEY).
    let notifier = created.secured.notifier.as_ref().expect("notifier");
    client
        .subscribe_notifications(notifier)
        .await
        .expect("NSUB (NEW credentials)");
    client
        .subscribe_notifications(&created.keyed_notifier)
        .await
        .expect("NSUB (NKEY credentials)");
    // Short link.
    let link = client
        .link_get(&EntityId::from(*CONTACT_LINK))
        .await
        .expect("LGET");
    assert_eq!(link.sender_id, created.contact.sender_id);
    assert_eq!(link.fixed_data, b"fixed");
    assert_eq!(link.user_data, b"user");
}

/// The next message of both secured queues (taken and ACKed) is `expected`.
async fn assert_both_hold(client: &SmpClient, created: &Created, expected: Option<&[u8]>) {
    assert_eq!(take(client, &created.secured).await.as_deref(), expected);
    assert_eq!(take(client, &created.keyed).await.as_deref(), expected);
}

fn messages_log(server: &TestServer) -> std::path::PathBuf {
    server.log_dir().join("smp-server-messages.log")
}

#[tokio::test]
async fn everything_survives_sigterm_and_sigint_and_queues_survive_sigkill() {
    let mut server = TestServer::start();
    let client = server.connect().await;
    let created = create_everything(&client).await;
    check_and_send(&client, &created, b"before SIGTERM").await;
    drop(client);

    // SIGTERM saves undelivered messages too (the reference saves them only on SIGINT).
    server.stop_with_signal("TERM");
    assert!(messages_log(&server).exists(), "{}", server.output());
    server.launch_again();
    let client = server.connect().await;
    assert_both_hold(&client, &created, Some(b"before SIGTERM")).await;
    check_and_send(&client, &created, b"before SIGINT").await;
    drop(client);

    server.stop_with_signal("INT");
    server.launch_again();
    let client = server.connect().await;
    assert_both_hold(&client, &created, Some(b"before SIGINT")).await;
    check_and_send(&client, &created, b"lost on SIGKILL").await;
    drop(client);

    // SIGKILL: every queue (written to the store log as it changed) is there, but messages
    // that were only in memory are gone.
    server.stop_with_signal("KILL");
    server.launch_again();
    let client = server.connect().await;
    assert_both_hold(&client, &created, None).await;
    check_and_send(&client, &created, b"after SIGKILL").await;
    assert_eq!(
        take(&client, &created.secured).await.as_deref(),
        Some(&b"after SIGKILL"[..])
    );
}

#[tokio::test]
async fn pending_notifications_survive_a_restart() {
    let mut server = TestServer::start();
    let client = server.connect().await;
    let created = create_everything(&client).await;
    // No NSUB yet: the notification waits in the server.
    client
        .send(
            &created.secured.sender_id,
            Some(&created.secured_sender),
            true,
            b"notify me",
        )
        .await
        .expect("SEND with notification");
    drop(client);
    server.stop_with_signal("TERM");
    assert!(
        server.log_dir().join("smp-server-ntfs.log").exists(),
        "{}",
        server.output()
    );
    server.launch_again();
    let client = server.connect().await;
    let notifier = created.secured.notifier.as_ref().expect("notifier");
    client
        .subscribe_notifications(notifier)
        .await
        .expect("NSUB");
    client
        .receive_notification(notifier, Duration::from_secs(20))
        .await
        .unwrap_or_else(|error| panic!("NMSG after restart: {error}\n{}", server.output()));
    assert_eq!(
        take(&client, &created.secured).await.as_deref(),
        Some(&b"notify me"[..])
    );
}

fn store_log_backups(server: &TestServer) -> usize {
    fs::read_dir(server.log_dir())
        .expect("log dir")
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with("smp-server-store.log.")
                && !name.ends_with(".start")
                && !name.ends_with(".bak")
        })
        .count()
}

#[tokio::test]
async fn maintenance_restores_compacts_saves_and_exits() {
    let mut server = TestServer::start();
    let client = server.connect().await;
    let queue = new_unsubscribed_queue(&client).await;
    client
        .send(&queue.sender_id, None, false, b"kept by maintenance")
        .await
        .expect("SEND");
    drop(client);
    server.stop_with_signal("TERM");
    let backups_before = store_log_backups(&server);

    let output = server.run_start(&["--maintenance"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Server started in 'maintenance' mode, exiting"),
        "{stdout}"
    );
    // Restored (the saved file kept as .bak), then saved again; the store log was compacted.
    assert!(messages_log(&server).exists(), "{stderr}");
    assert!(server
        .log_dir()
        .join("smp-server-messages.log.bak")
        .exists());
    assert!(stderr.contains("messages stored: 1"), "{stderr}");
    assert_eq!(store_log_backups(&server), backups_before + 1);

    server.launch_again();
    let client = server.connect().await;
    assert_eq!(
        take(&client, &queue).await.as_deref(),
        Some(&b"kept by maintenance"[..])
    );
}

#[tokio::test]
async fn damaged_store_log_stops_the_start_unless_skip_warnings() {
    let mut server = TestServer::start();
    let client = server.connect().await;
    let mut queues = Vec::new();
    for _ in 0..3 {
        queues.push(new_unsubscribed_queue(&client).await);
    }
    drop(client);
    server.stop_with_signal("TERM");
    let path = server.log_dir().join("smp-server-store.log");
    let text = fs::read_to_string(&path).expect("store log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    // Damage the second line; add a newer version's record and a torn last line.
    let damaged = format!(
        "{}\n{}\nFUTURE_RECORD x y\n{}\nCREATE rid=AAAA",
        lines[0],
        lines[1].replacen("rk=", "rk=!!", 1),
        lines[2]
    );
    fs::write(&path, &damaged).expect("write");

    let output = server.run_start(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("smp-server-store.log, line 2") && stderr.contains("--skip-warnings"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&path).expect("store log"), damaged);

    server.set_start_args(&["--skip-warnings"]);
    server.launch_again();
    let output = server.output();
    assert!(output.contains("FUTURE_RECORD"), "{output}");
    assert!(output.contains("torn"), "{output}");
    let client = server.connect().await;
    assert_eq!(
        client
            .get(&queues[1])
            .await
            .expect_err("skipped queue")
            .server_error()
            .as_deref(),
        Some("AUTH")
    );
    for queue in [&queues[0], &queues[2]] {
        assert_eq!(client.get(queue).await.expect("GET"), None);
    }
}

#[tokio::test]
async fn store_log_write_failure_answers_err_store_and_keeps_serving() {
    let mut server = TestServer::start();
    server.stop_with_signal("TERM");
    // 1 block: the (empty) compacted store log fits, the first records do not all fit. The
    // limit holds for root as well, unlike file permissions.
    server.set_file_size_limit(Some(1));
    server.launch_again();
    let client = server.connect().await;
    let mut created = Vec::new();
    let mut store_error = None;
    for _ in 0..10 {
        match client
            .create_queue(NewQueue {
                subscribe: false,
                ..NewQueue::default()
            })
            .await
        {
            Ok(queue) => created.push(queue),
            Err(error) => {
                store_error = Some(error);
                break;
            }
        }
    }
    let error = store_error.expect("a NEW failed");
    let text = error.server_error().unwrap_or_else(|| panic!("{error}"));
    assert!(text.starts_with("STORE addStoreQueue, withLog"), "{text}");
    // The server goes on serving what does not need the disk.
    client.ping().await.expect("PING");
    let survivor = created.first().expect("the first NEW fitted");
    client
        .send(&survivor.sender_id, None, false, b"still served")
        .await
        .expect("SEND");
    assert_eq!(
        take(&client, survivor).await.as_deref(),
        Some(&b"still served"[..])
    );
    drop(client);
    wait_for(|| server.output().contains("STORE: addStoreQueue, withLog"));
    assert!(server.is_running());
    server.stop_with_signal("TERM");
    // The part of the failed line that fitted was cut off again.
    let log = fs::read_to_string(server.log_dir().join("smp-server-store.log")).expect("log");
    assert_eq!(log.lines().count(), created.len(), "{log}");
    assert!(log.ends_with('\n'), "{log}");
    server.set_file_size_limit(None);
    server.launch_again();
    let client = server.connect().await;
    for queue in &created {
        assert_eq!(client.get(queue).await.expect("GET"), None);
    }
}

fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stats_values(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[tokio::test]
async fn counters_file_and_metrics_file() {
    let options = ServerOptions {
        ini: vec![
            ("STORE_LOG".into(), "log_stats".into(), "on".into()),
            ("STORE_LOG".into(), "prometheus_interval".into(), "1".into()),
        ],
        ..ServerOptions::default()
    };
    let mut server = TestServer::start_with(options);
    let client = server.connect().await;
    let first = new_unsubscribed_queue(&client).await;
    let second = new_unsubscribed_queue(&client).await;
    for body in [&b"one"[..], b"two", b"three"] {
        client
            .send(&first.sender_id, None, false, body)
            .await
            .expect("SEND");
    }
    assert_eq!(take(&client, &first).await.as_deref(), Some(&b"one"[..]));
    assert_eq!(take(&client, &first).await.as_deref(), Some(&b"two"[..]));
    client.delete(&second).await.expect("DEL");
    drop(client);
    let metrics = server.log_dir().join("smp-server-metrics.txt");
    wait_for(|| {
        fs::read_to_string(&metrics).is_ok_and(|text| text.contains("simplex_smp_queues_created"))
    });
    server.stop_with_signal("TERM");
    let text = fs::read_to_string(server.log_dir().join("smp-server-stats.log"))
        .unwrap_or_else(|error| panic!("counters file: {error}\n{}", server.output()));
    let values = stats_values(&text);
    for (key, expected) in [
        ("qCreated", "2"),
        ("qDeletedAll", "1"),
        ("qCount", "1"),
        ("msgSent", "3"),
        ("msgRecv", "2"),
        ("msgRecvGet", "2"),
        ("msgGet", "2"),
    ] {
        assert_eq!(
            values.get(key).map(String::as_str),
            Some(expected),
            "{key} in\n{text}"
        );
    }
    // The next start reads the counters back (and keeps the file as .bak).
    server.launch_again();
    server.stop_with_signal("TERM");
    let text = fs::read_to_string(server.log_dir().join("smp-server-stats.log")).expect("stats");
    assert_eq!(
        stats_values(&text).get("qCreated").map(String::as_str),
        Some("2")
    );
}
