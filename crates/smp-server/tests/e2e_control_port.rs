//! The control port of the real `smp-server` binary (`[TRANSPORT] control_port` with admin and
//! user passwords): greeting, roles, `stats`, blocking a queue created by `smp-client` (its
//! subscriber is told, SEND and SUB get `ERR BLOCKED`), `unblock`, `delete`, `save`, `quit`.

mod common;

use std::time::Duration;

use common::client::{assert_server_error, new_unsubscribed_queue};
use common::{free_port, ServerOptions, TestServer};
use smp_client::NewQueue;
use smp_proto::error::ErrorType;
use smp_proto::text::encode_base64url;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

const ADMIN: &str = "Adm1nPassw0rd";
const USER: &str = "Us3rPassw0rd";
const HELP: &str = "commands: stats, stats-rts, clients, sockets, socket-threads, threads, \
                    server-info, delete, save, help, quit";
/// Longest wait for an answer or an event (the machine is shared).
const WAIT: Duration = Duration::from_secs(30);

/// A control port session over TCP.
struct Control {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Control {
    /// Connects and checks the greeting.
    async fn connect(port: u16) -> Control {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to the control port");
        let (reader, writer) = stream.into_split();
        let mut control = Control {
            reader: BufReader::new(reader),
            writer,
        };
        assert_eq!(control.line().await, "SMP server control port");
        assert_eq!(control.line().await, "'help' for supported commands");
        control
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        let read = tokio::time::timeout(WAIT, self.reader.read_line(&mut line))
            .await
            .expect("answer in time")
            .expect("read");
        assert!(read > 0, "the control port closed the connection");
        line.trim_end_matches('\n').to_owned()
    }

    /// Sends `command` (with `\r\n`, as `nc -C` does) and returns its answer lines: `help` is
    /// sent after it, and its fixed answer marks the end.
    async fn command(&mut self, command: &str) -> Vec<String> {
        let text = format!("{command}\r\nhelp\n");
        self.writer.write_all(text.as_bytes()).await.expect("write");
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            if line == HELP {
                return lines;
            }
            lines.push(line);
        }
    }
}

fn start_server(control_port: u16) -> TestServer {
    let ini = [
        ("TRANSPORT", "control_port", control_port.to_string()),
        ("AUTH", "control_port_admin_password", ADMIN.to_owned()),
        ("AUTH", "control_port_user_password", USER.to_owned()),
    ];
    TestServer::start_with(ServerOptions {
        ini: ini
            .into_iter()
            .map(|(section, key, value)| (section.to_owned(), key.to_owned(), value))
            .collect(),
        ..ServerOptions::default()
    })
}

#[tokio::test]
async fn control_port_roles_block_unblock_delete_save() {
    let control_port = free_port();
    let server = start_server(control_port);
    let mut control = Control::connect(control_port).await;

    // Roles.
    assert_eq!(control.command("stats").await, ["AUTH"]);
    assert_eq!(
        control.command("auth wrong").await,
        ["Current role is CPRNone"]
    );
    assert_eq!(
        control.command(&format!("auth {USER}")).await,
        ["Current role is CPRUser"]
    );
    assert_eq!(
        control.command(&format!("auth {ADMIN}")).await,
        ["Current role is CPRUser, start new session to change."]
    );
    assert_eq!(control.command("save").await, ["AUTH"]);
    assert_eq!(
        control.command("bogus").await,
        ["error: Failed reading: bad ControlProtocol command"]
    );

    // A queue created and subscribed by a client.
    let recipient = server.connect_at(18).await;
    let queue = recipient
        .create_queue(NewQueue::default())
        .await
        .expect("NEW");
    let sender_id = encode_base64url(queue.sender_id.as_bytes());
    let stats = control.command("stats").await;
    assert!(stats.iter().any(|line| line == "qCreated: 1"), "{stats:?}");
    assert!(stats.iter().any(|line| line == "qCount 2: 1"), "{stats:?}");
    assert!(!stats.iter().any(|line| line.starts_with("ntfCount 2")));

    // Blocking tells the subscriber and refuses SEND and SUB.
    assert_eq!(
        control
            .command(&format!("block {sender_id} reason=spam"))
            .await,
        ["ok, queue blocked: EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing})"]
    );
    let event = recipient
        .next_event_within(WAIT)
        .await
        .expect("ERR BLOCKED event");
    assert_eq!(event.entity_id, queue.recipient_id);
    assert!(
        matches!(event.error(), Some(ErrorType::Blocked(_))),
        "{event:?}"
    );
    let sender = server.connect_at(18).await;
    assert_server_error(
        sender.send(&queue.sender_id, None, false, b"spam").await,
        "SEND to a blocked queue",
        "BLOCKED reason=spam",
    );
    assert_server_error(
        recipient.subscribe(&queue).await,
        "SUB to a blocked queue",
        "BLOCKED reason=spam",
    );
    let status = control.command(&format!("status {sender_id}")).await;
    assert_eq!(status.len(), 1);
    assert!(
        status[0].starts_with(
            "status: EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing}), \
             updatedAt: Just (RoundedSystemTime {roundedSeconds = "
        ),
        "{status:?}"
    );
    assert!(status[0].ends_with("}), queueMode: Just QMMessaging"));

    // Unblocked, the queue works again.
    assert_eq!(
        control.command(&format!("unblock {sender_id}")).await,
        ["ok, queue unblocked, reason to block was: BlockingInfo {reason = BRSpam, notice = Nothing}"]
    );
    assert_eq!(
        control.command(&format!("unblock {sender_id}")).await,
        ["ok, queue was active"]
    );
    sender
        .send(&queue.sender_id, None, false, b"hello")
        .await
        .expect("SEND after unblock");

    // Deleting needs the admin role (a new session).
    assert_eq!(
        control.command(&format!("delete {sender_id}")).await,
        ["AUTH"]
    );
    let mut admin = Control::connect(control_port).await;
    assert_eq!(
        admin.command(&format!("auth {ADMIN}")).await,
        ["Current role is CPRAdmin"]
    );
    let stats = admin.command("stats").await;
    assert!(stats.iter().any(|line| line.starts_with("ntfCount 2: ")));
    let clients = admin.command("clients").await;
    assert_eq!(
        clients[0],
        "clientId,sessionId,connected,createdAt,rcvActiveAt,sndActiveAt,age,subscriptions"
    );
    assert_eq!(clients.len(), 3, "{clients:?}");
    assert_eq!(
        admin.command(&format!("delete {sender_id}")).await,
        ["ok, 1 messages deleted"]
    );
    assert_eq!(
        admin.command(&format!("delete {sender_id}")).await,
        ["error: AUTH"]
    );
    assert_server_error(
        sender.send(&queue.sender_id, None, false, b"gone").await,
        "SEND to a deleted queue",
        "AUTH",
    );

    // save writes the message file while serving.
    let other = new_unsubscribed_queue(&recipient).await;
    sender
        .send(&other.sender_id, None, false, b"kept")
        .await
        .expect("SEND");
    assert_eq!(
        admin.command("save").await,
        ["saving server state...", "server state saved!"]
    );
    let saved = std::fs::read_to_string(server.log_dir().join("smp-server-messages.log"))
        .expect("saved messages");
    assert_eq!(saved.lines().count(), 1, "{saved}");
    // Nothing was drained: the message is still delivered.
    let message = recipient.get(&other).await.expect("GET");
    assert!(message.is_some());

    // quit closes the session.
    admin.writer.write_all(b"quit\n").await.expect("write");
    let mut rest = String::new();
    let read = tokio::time::timeout(WAIT, admin.reader.read_line(&mut rest))
        .await
        .expect("close in time")
        .expect("read");
    assert_eq!(read, 0, "{rest}");
}
