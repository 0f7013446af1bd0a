//! `smp test <destination> --via <proxy>`: the server test with private message routing, as a
//! SimpleX client with private routing uses two servers.
//!
//! The sender connects only to the proxy and asks it for a session to the destination
//! (`PRXY` → `PKEY`, whose certificate chain and signed key this tool checks against the
//! destination's fingerprint). The recipient connects to the destination directly and creates a
//! queue there; the sender secures it (`SKEY`, for a messaging queue) and sends the test message
//! through the proxy (`PFWD`, forwarded by the proxy as `RFWD`). The recipient then receives the
//! message on its direct connection, checks that it decrypts to what was sent, acknowledges it
//! and deletes the queue. Both servers are probed first (DNS, TCP, TLS with the identity check,
//! SMP handshake) so that a failure names the server and the step; when `PRXY` fails, the
//! destination is probed directly as well, to tell a destination that is down from one only the
//! proxy cannot reach.
//!
//! The app's own "Test server" (`Agent.Client.runSMPServerTest`) always connects directly; this
//! command adds the proxied path a real message takes when private routing is on.

use std::time::Duration;

use smp_client::{
    AuthAlgorithm, AuthKeyPair, ClientOptions, NewQueue, ProxiedRelay, RecipientQueue, SmpClient,
};
use smp_proto::address::ServerAddress;
use smp_proto::command::QueueMode;
use smp_proto::version::Version;

use crate::failure::{classify, classify_proxy, Failure, FailureClass};
use crate::server_test::{address_for_display, format_time, probe, receive_and_ack, Steps};

/// Longest wait for closing both connections.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn section(title: &str) {
    println!("{title}");
}

/// The proxy must speak at least SMP v8 on the sender's connection to accept `PRXY`.
pub fn check_proxy_version(client: &SmpClient) -> Result<(), Failure> {
    if Version(client.version()) < Version::SENDING_PROXY {
        return Err(Failure::new(
            FailureClass::Version,
            format!(
                "the connection to the proxy uses SMP version {}; sending through a proxy \
                 needs version {} or higher (server and --max-version)",
                client.version(),
                Version::SENDING_PROXY.0
            ),
        ));
    }
    Ok(())
}

/// `PRXY` to `proxy` naming `destination`, checked; the error is classified.
pub async fn open_session(
    sender: &SmpClient,
    destination: &ServerAddress,
    proxy: &ServerAddress,
) -> Result<ProxiedRelay, Failure> {
    check_proxy_version(sender)?;
    sender
        .proxy_connect(&destination.server, proxy.basic_auth.clone())
        .await
        .map_err(|error| classify(&error, false))
}

async fn connect(address: &ServerAddress, options: &ClientOptions) -> Result<SmpClient, Failure> {
    SmpClient::connect(address, options.clone())
        .await
        .map_err(|error| classify(&error, false))
}

/// Runs the whole test; prints every step.
pub async fn run(
    destination: &ServerAddress,
    proxy: &ServerAddress,
    options: ClientOptions,
) -> Result<(), Failure> {
    let mut steps = Steps::new(false);
    let destination_name = address_for_display(destination);
    let proxy_name = address_for_display(proxy);
    println!("Testing {destination_name} through the proxy {proxy_name}");
    section(&format!(
        "Proxy {proxy_name} (the sender connects only here):"
    ));
    probe(&mut steps, proxy, &options).await?;
    let sender = steps
        .run("connect (sender)", async {
            let client = connect(proxy, &options).await?;
            let detail = format!("version {}", client.version());
            Ok((client, detail))
        })
        .await?;
    let relay = steps
        .run("proxy session (PRXY)", async {
            let relay = open_session(&sender, destination, proxy).await?;
            let detail = format!(
                "PKEY: destination identity verified, proxied version {}",
                relay.version.0
            );
            Ok((relay, detail))
        })
        .await;
    let relay = match relay {
        Ok(relay) => relay,
        Err(failure) => {
            sender.close().await;
            compare_directly(&mut steps, destination, &options).await;
            return Err(failure);
        }
    };
    section(&format!(
        "Destination {destination_name} (the recipient connects directly):"
    ));
    let recipient = async {
        probe(&mut steps, destination, &options).await?;
        steps
            .run("connect (recipient)", async {
                let client = connect(destination, &options).await?;
                let detail = format!("version {}", client.version());
                Ok((client, detail))
            })
            .await
    }
    .await;
    let recipient = match recipient {
        Ok(recipient) => recipient,
        Err(failure) => {
            sender.close().await;
            return Err(failure);
        }
    };
    let result = exchange(&mut steps, &recipient, &sender, &relay, destination).await;
    let closed = steps
        .run("disconnect", async {
            tokio::time::timeout(DISCONNECT_TIMEOUT, async {
                sender.close().await;
                recipient.close().await;
            })
            .await
            .map_err(|_| Failure::new(FailureClass::Timeout, "closing timed out"))?;
            Ok(((), "both connections".to_string()))
        })
        .await;
    result?;
    closed?;
    println!(
        "Server test through the proxy passed in {}",
        format_time(steps.total())
    );
    Ok(())
}

/// After a failed `PRXY`: the destination probed from here, to tell a destination that is down
/// (or has another identity) from one the proxy alone cannot reach. The `PRXY` failure stays the
/// result.
async fn compare_directly(steps: &mut Steps, destination: &ServerAddress, options: &ClientOptions) {
    section(&format!(
        "Destination {} probed directly from here, for comparison:",
        address_for_display(destination)
    ));
    match probe(steps, destination, options).await {
        Ok(()) => println!(
            "The destination answers here: the proxy cannot reach or use it (its network, \
             firewall, DNS or SOCKS settings)."
        ),
        Err(_) => println!("The destination fails from here too (see above)."),
    }
}

/// Create the queue, deliver through the proxy, receive, delete; a queue left over by a failure
/// is deleted without a step line.
async fn exchange(
    steps: &mut Steps,
    recipient: &SmpClient,
    sender: &SmpClient,
    relay: &ProxiedRelay,
    destination: &ServerAddress,
) -> Result<(), Failure> {
    let queue = steps
        .run("create queue (NEW)", async {
            let queue = recipient
                .create_queue(NewQueue::default())
                .await
                .map_err(|error| classify(&error, true))?;
            Ok((queue, String::new()))
        })
        .await?;
    let delivered = deliver(steps, recipient, sender, relay, destination, &queue).await;
    if delivered.is_err() {
        // Best effort: do not leave the test queue behind; the first failure is what counts.
        let _ = recipient.delete(&queue).await;
        return delivered;
    }
    steps
        .run("delete queue (DEL)", async {
            recipient
                .delete(&queue)
                .await
                .map_err(|error| classify(&error, false))?;
            Ok(((), String::new()))
        })
        .await
}

async fn deliver(
    steps: &mut Steps,
    recipient: &SmpClient,
    sender: &SmpClient,
    relay: &ProxiedRelay,
    destination: &ServerAddress,
    queue: &RecipientQueue,
) -> Result<(), Failure> {
    section("Sending through the proxy:");
    let sender_key =
        AuthKeyPair::generate(AuthAlgorithm::Ed25519).map_err(|error| classify(&error, false))?;
    if queue.mode == Some(QueueMode::Messaging) {
        steps
            .run("secure queue (SKEY)", async {
                sender
                    .proxy_secure(relay, &queue.sender_id, &sender_key)
                    .await
                    .map_err(|error| classify(&error, false))?
                    .map_err(|error| classify_proxy(&error))?;
                Ok(((), "by the sender, through the proxy (PFWD)".to_string()))
            })
            .await?;
    } else {
        steps
            .run("secure queue (KEY)", async {
                recipient
                    .secure(queue, sender_key.public_key())
                    .await
                    .map_err(|error| classify(&error, false))?;
                Ok(((), "by the recipient, directly".to_string()))
            })
            .await?;
    }
    let text = format!("smp test via proxy {}", std::process::id());
    steps
        .run("send message (SEND)", async {
            sender
                .proxy_send(
                    relay,
                    &queue.sender_id,
                    Some(&sender_key),
                    false,
                    text.as_bytes(),
                )
                .await
                .map_err(|error| classify(&error, false))?
                .map_err(|error| classify_proxy(&error))?;
            Ok((
                (),
                format!("{} bytes in PFWD, forwarded as RFWD", text.len()),
            ))
        })
        .await?;
    section(&format!(
        "Destination {}:",
        address_for_display(destination)
    ));
    receive_and_ack(steps, recipient, queue, &text).await
}
