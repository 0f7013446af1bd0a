//! `smp queue new|send|recv|del`: a queue driven from a terminal. The queue's ids and keys live
//! in a small JSON file the user names (`--queue-file`), so that `send` and `recv` can run in
//! different shells or on different machines.
//!
//! The file holds the server address (with its password, if any), the recipient and sender ids,
//! the recipient's Ed25519 seed and X25519 secret, the server's DH key and the sender's Ed25519
//! seed — it grants full control of the queue: keep it private (it is created with mode 0600).

use std::path::Path;
use std::time::Duration;

use rand::RngCore;
use serde_json::{json, Value};
use smp_client::{decrypt_message, AuthKeyPair, RcvMsgBody, RecipientQueue, SmpClient};
use smp_proto::address::ServerAddress;
use smp_proto::command::{Command, MsgFlags, NewQueueRequest, QueueReqData, SubscriptionMode};
use smp_proto::crypto::X25519KeyPair;
use smp_proto::ids::EntityId;
use smp_proto::keys::DhPublicKey;
use smp_proto::response::Response;
use smp_proto::text::{decode_base64url, encode_base64url};
use smp_proto::version::Version;

use crate::failure::{classify, classify_proxy, Failure, FailureClass};

/// What the queue file holds.
pub struct QueueFile {
    pub server: String,
    pub recipient_id: Vec<u8>,
    pub sender_id: Vec<u8>,
    pub recipient_seed: [u8; 32],
    pub dh_secret: [u8; 32],
    pub server_dh_key: [u8; 32],
    pub sender_seed: [u8; 32],
}

fn file_error(path: &Path, what: impl std::fmt::Display) -> Failure {
    Failure::new(
        FailureClass::QueueFile,
        format!("{}: {what}", path.display()),
    )
}

impl QueueFile {
    pub fn to_json(&self) -> Value {
        json!({
            "server": self.server,
            "recipient_id": encode_base64url(&self.recipient_id),
            "sender_id": encode_base64url(&self.sender_id),
            "recipient_key_seed": encode_base64url(&self.recipient_seed),
            "dh_secret_key": encode_base64url(&self.dh_secret),
            "server_dh_key": encode_base64url(&self.server_dh_key),
            "sender_key_seed": encode_base64url(&self.sender_seed),
        })
    }

    pub fn from_json(value: &Value) -> Result<Self, String> {
        let text = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("missing field {name}"))
        };
        let bytes = |name: &str| {
            decode_base64url(text(name)?.as_bytes()).map_err(|_| format!("{name} is not base64url"))
        };
        let key = |name: &str| -> Result<[u8; 32], String> {
            bytes(name)?
                .try_into()
                .map_err(|_| format!("{name} is not 32 bytes"))
        };
        Ok(QueueFile {
            server: text("server")?.to_string(),
            recipient_id: bytes("recipient_id")?,
            sender_id: bytes("sender_id")?,
            recipient_seed: key("recipient_key_seed")?,
            dh_secret: key("dh_secret_key")?,
            server_dh_key: key("server_dh_key")?,
            sender_seed: key("sender_key_seed")?,
        })
    }

    pub fn read(path: &Path) -> Result<Self, Failure> {
        let text = std::fs::read_to_string(path).map_err(|error| file_error(path, error))?;
        let value: Value = serde_json::from_str(&text).map_err(|error| file_error(path, error))?;
        QueueFile::from_json(&value).map_err(|error| file_error(path, error))
    }

    pub fn write_new(&self, path: &Path) -> Result<(), Failure> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|error| file_error(path, error))?;
        let text = serde_json::to_string_pretty(&self.to_json())
            .map_err(|error| file_error(path, error))?;
        file.write_all(format!("{text}\n").as_bytes())
            .map_err(|error| file_error(path, error))
    }

    pub fn address(&self) -> Result<ServerAddress, Failure> {
        ServerAddress::parse(&self.server).map_err(|error| {
            Failure::new(
                FailureClass::QueueFile,
                format!("invalid server address in the queue file: {error}"),
            )
        })
    }

    /// The queue as the client library holds it.
    pub fn recipient_queue(&self) -> Result<RecipientQueue, Failure> {
        let id = |bytes: &[u8]| {
            EntityId::new(bytes.to_vec())
                .map_err(|_| Failure::new(FailureClass::QueueFile, "invalid queue id"))
        };
        let dh_key = X25519KeyPair::from_secret_bytes(self.dh_secret);
        let server_dh_key = DhPublicKey(self.server_dh_key);
        Ok(RecipientQueue {
            recipient_id: id(&self.recipient_id)?,
            sender_id: id(&self.sender_id)?,
            recipient_key: AuthKeyPair::ed25519_from_seed(&self.recipient_seed),
            shared_secret: dh_key.diffie_hellman(&server_dh_key),
            dh_key,
            server_dh_key,
            mode: None,
            link_id: None,
            service_id: None,
            notifier: None,
        })
    }
}

fn seed() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

async fn connect(
    address: &ServerAddress,
    options: smp_client::ClientOptions,
) -> Result<SmpClient, Failure> {
    SmpClient::connect(address, options)
        .await
        .map_err(|error| classify(&error, false))
}

/// `smp queue new`: creates a queue (not subscribed), secures it for a fresh sender key and
/// writes the queue file (which must not exist).
pub async fn new_queue(
    server: &str,
    address: &ServerAddress,
    options: smp_client::ClientOptions,
    path: &Path,
) -> Result<(), Failure> {
    if path.exists() {
        return Err(file_error(
            path,
            "already exists (choose another --queue-file)",
        ));
    }
    let client = connect(address, options).await?;
    let recipient_seed = seed();
    let sender_seed = seed();
    let recipient_key = AuthKeyPair::ed25519_from_seed(&recipient_seed);
    let sender_key = AuthKeyPair::ed25519_from_seed(&sender_seed);
    let dh_key = X25519KeyPair::from_secret_bytes(seed());
    let messaging = Version(client.version()) >= Version::SND_AUTH_KEY;
    let command = Command::New(Box::new(NewQueueRequest {
        recipient_key: recipient_key.public_key(),
        recipient_dh_key: *dh_key.public_key(),
        basic_auth: address.basic_auth.clone(),
        subscribe_mode: SubscriptionMode::OnlyCreate,
        queue_data: messaging.then_some(QueueReqData::Messaging(None)),
        ntf_creds: None,
    }));
    let ids = match client
        .request(&EntityId::empty(), Some(&recipient_key), &command)
        .await
        .map_err(|error| classify(&error, true))?
    {
        Response::Ids(ids) => ids,
        other => {
            return Err(Failure::new(
                FailureClass::Protocol,
                format!("unexpected response to NEW: {other:?}"),
            ))
        }
    };
    let file = QueueFile {
        server: server.to_string(),
        recipient_id: ids.recipient_id.as_bytes().to_vec(),
        sender_id: ids.sender_id.as_bytes().to_vec(),
        recipient_seed,
        dh_secret: dh_key.secret_bytes(),
        server_dh_key: ids.server_dh_key.0,
        sender_seed,
    };
    let queue = file.recipient_queue()?;
    let secured = if messaging {
        client.secure_by_sender(&queue.sender_id, &sender_key).await
    } else {
        client.secure(&queue, sender_key.public_key()).await
    };
    secured.map_err(|error| classify(&error, false))?;
    file.write_new(path)?;
    let version = client.version();
    client.close().await;
    println!(
        "created queue: recipient id {}, sender id {} (version {}); saved to {}",
        encode_base64url(&file.recipient_id),
        encode_base64url(&file.sender_id),
        version,
        path.display()
    );
    Ok(())
}

/// `smp queue send`: one message, signed with the sender key; with `via`, through that proxy
/// (`PRXY` naming the queue's server, then `SEND` inside `PFWD`) without connecting to the
/// queue's server.
pub async fn send(
    path: &Path,
    options: smp_client::ClientOptions,
    body: &[u8],
    notification: bool,
    via: Option<&ServerAddress>,
) -> Result<(), Failure> {
    let file = QueueFile::read(path)?;
    let destination = file.address()?;
    let queue = file.recipient_queue()?;
    let sender_key = AuthKeyPair::ed25519_from_seed(&file.sender_seed);
    if let Some(proxy) = via {
        let client = connect(proxy, options).await?;
        let relay = crate::proxy_test::open_session(&client, &destination, proxy).await?;
        client
            .proxy_send(
                &relay,
                &queue.sender_id,
                Some(&sender_key),
                notification,
                body,
            )
            .await
            .map_err(|error| classify(&error, false))?
            .map_err(|error| classify_proxy(&error))?;
        client.close().await;
        eprintln!(
            "sent {} bytes through the proxy {}",
            body.len(),
            crate::server_test::address_for_display(proxy)
        );
        return Ok(());
    }
    let client = connect(&destination, options).await?;
    let command = Command::Send {
        flags: MsgFlags { notification },
        body: body.to_vec(),
    };
    match client
        .request(&queue.sender_id, Some(&sender_key), &command)
        .await
        .map_err(|error| classify(&error, false))?
    {
        Response::Ok => {}
        other => {
            return Err(Failure::new(
                FailureClass::Protocol,
                format!("unexpected response to SEND: {other:?}"),
            ))
        }
    }
    client.close().await;
    eprintln!("sent {} bytes", body.len());
    Ok(())
}

/// `smp queue recv`: subscribes, waits up to `wait` for a message, prints its body to stdout
/// and acknowledges it.
pub async fn receive(
    path: &Path,
    options: smp_client::ClientOptions,
    wait: Duration,
) -> Result<(), Failure> {
    let file = QueueFile::read(path)?;
    let client = connect(&file.address()?, options).await?;
    let queue = file.recipient_queue()?;
    let message = match client
        .request(
            &queue.recipient_id,
            Some(&queue.recipient_key),
            &Command::Sub,
        )
        .await
        .map_err(|error| classify(&error, false))?
    {
        Response::Msg {
            msg_id,
            encrypted_body,
        } => {
            let body = decrypt_message(&queue.shared_secret, &msg_id, &encrypted_body)
                .map_err(|error| classify(&error, false))?;
            smp_client::ReceivedMessage { msg_id, body }
        }
        Response::Ok | Response::Sok(_) => match client.receive_within(&queue, wait).await {
            Ok(message) => message,
            Err(smp_client::ClientError::Timeout(_)) => {
                return Err(Failure::new(
                    FailureClass::NoMessage,
                    format!("no message within {} s", wait.as_secs_f64()),
                ))
            }
            Err(error) => return Err(classify(&error, false)),
        },
        other => {
            return Err(Failure::new(
                FailureClass::Protocol,
                format!("unexpected response to SUB: {other:?}"),
            ))
        }
    };
    match &message.body {
        RcvMsgBody::Message { body, .. } => {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(body);
            let _ = out.write_all(b"\n");
        }
        RcvMsgBody::Quota { .. } => {
            eprintln!("(quota marker: the queue was full; later messages were refused)")
        }
    }
    client
        .ack(&queue, &message.msg_id)
        .await
        .map_err(|error| classify(&error, false))?;
    client.close().await;
    Ok(())
}

/// `smp queue del`: deletes the queue on the server, then the queue file.
pub async fn delete(path: &Path, options: smp_client::ClientOptions) -> Result<(), Failure> {
    let file = QueueFile::read(path)?;
    let client = connect(&file.address()?, options).await?;
    let queue = file.recipient_queue()?;
    client
        .delete(&queue)
        .await
        .map_err(|error| classify(&error, false))?;
    client.close().await;
    std::fs::remove_file(path).map_err(|error| file_error(path, error))?;
    eprintln!("queue deleted; removed {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_file(server: &str) -> QueueFile {
        QueueFile {
            server: server.into(),
            recipient_id: vec![1; 24],
            sender_id: vec![2; 24],
            recipient_seed: [3; 32],
            dh_secret: [4; 32],
            server_dh_key: [5; 32],
            sender_seed: [6; 32],
        }
    }

    #[test]
    fn queue_file_round_trip() {
        let file = sample_file("smp://abc@127.0.0.1:5223");
        let back = QueueFile::from_json(&file.to_json()).unwrap();
        assert_eq!(back.server, file.server);
        assert_eq!(back.recipient_id, file.recipient_id);
        assert_eq!(back.sender_seed, file.sender_seed);
        assert_eq!(back.server_dh_key, file.server_dh_key);
    }

    #[test]
    fn queue_file_rejects_missing_and_bad_fields() {
        assert!(QueueFile::from_json(&json!({})).is_err());
        let mut value = sample_file("x").to_json();
        value["dh_secret_key"] = json!("AAAA");
        assert!(QueueFile::from_json(&value).is_err());
    }
}
