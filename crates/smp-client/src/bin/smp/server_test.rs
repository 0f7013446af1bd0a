//! `smp test`: the app's "Test server" steps plus a real message round trip, each step printed
//! with its time, and the precise cause of a failure.
//!
//! First a probe takes the connection apart — DNS, TCP connect, TLS with the identity check,
//! SMP handshake — with typed errors, so that a refused port, a wrong fingerprint and a version
//! mismatch are told apart. Then, on a fresh connection as the app does
//! (`Agent.Client.runSMPServerTest`): connect, create a queue, secure it, then send a message,
//! receive it, acknowledge it, delete the queue and disconnect.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use smp_client::{AuthAlgorithm, AuthKeyPair, ClientOptions, NewQueue, RcvMsgBody, SmpClient};
use smp_proto::address::ServerAddress;
use smp_proto::command::QueueMode;
use smp_proto::handshake::TransportError;
use smp_transport::handshake::{client_handshake, ClientHandshakeSettings, HandshakeFailure};
use smp_transport::tls::{self, CertificateError, TlsError};
use tokio::net::TcpStream;

use crate::failure::{classify, io_class, Failure, FailureClass};

/// Prints step lines and keeps the time of the current step.
pub struct Steps {
    started: Instant,
    quiet: bool,
}

impl Steps {
    pub fn new(quiet: bool) -> Self {
        Steps {
            started: Instant::now(),
            quiet,
        }
    }

    /// Runs one step, printing `ok <name> <time> <detail>` or `FAIL <name> <time> <cause>`.
    pub async fn run<T>(
        &mut self,
        name: &str,
        step: impl std::future::Future<Output = Result<(T, String), Failure>>,
    ) -> Result<T, Failure> {
        let started = Instant::now();
        let result = step.await;
        let elapsed = started.elapsed();
        match result {
            Ok((value, detail)) => {
                if !self.quiet {
                    println!("  ok    {name:<22} {:>9}  {detail}", format_time(elapsed));
                }
                Ok(value)
            }
            Err(failure) => {
                println!("  FAIL  {name:<22} {:>9}  {failure}", format_time(elapsed));
                Err(failure)
            }
        }
    }

    pub fn total(&self) -> Duration {
        self.started.elapsed()
    }
}

pub fn format_time(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros < 10_000 {
        format!("{:.2} ms", micros as f64 / 1000.0)
    } else {
        format!("{:.0} ms", micros as f64 / 1000.0)
    }
}

/// Resolves the address's first host and port.
pub async fn resolve(address: &ServerAddress) -> Result<(Vec<SocketAddr>, String), Failure> {
    let server = &address.server;
    let host = server
        .hosts
        .first()
        .ok_or_else(|| Failure::new(FailureClass::Usage, "server address without host"))?
        .to_string();
    let port = server.port_or_default();
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|error| {
            Failure::new(FailureClass::Dns, format!("cannot resolve {host}: {error}"))
        })?
        .collect();
    if found.is_empty() {
        return Err(Failure::new(
            FailureClass::Dns,
            format!("{host} has no address"),
        ));
    }
    let detail = found
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Ok((found, detail))
}

fn tls_failure(error: TlsError) -> Failure {
    match error {
        TlsError::Certificate(CertificateError::UnknownIdentity) => Failure::new(
            FailureClass::Fingerprint,
            "the server's identity certificate does not match the fingerprint in the address \
             (wrong fingerprint, or another server listens at this host/port)",
        ),
        TlsError::Certificate(other) => Failure::new(
            FailureClass::Tls,
            format!("invalid server certificate chain: {other}"),
        ),
        other => Failure::new(
            FailureClass::Tls,
            format!("{other} (is this an SMP server? TLS 1.2/1.3 with ChaCha20-Poly1305 and EdDSA certificates is required)"),
        ),
    }
}

fn handshake_failure(error: HandshakeFailure) -> Failure {
    match error {
        HandshakeFailure::Transport(TransportError::Version) => Failure::new(
            FailureClass::Version,
            "no common SMP version (the server's range does not overlap this client's)",
        ),
        HandshakeFailure::Transport(other) => Failure::new(
            FailureClass::Version,
            format!("SMP handshake refused: {other:?}"),
        ),
        HandshakeFailure::Stream(error) => Failure::new(
            FailureClass::Version,
            format!("the server closed the connection during the SMP handshake ({error}); an incompatible version or an overloaded server"),
        ),
        HandshakeFailure::Crypto(error) => {
            Failure::new(FailureClass::Other, format!("local crypto failure: {error}"))
        }
    }
}

/// DNS, TCP, TLS and the SMP handshake as separate timed steps, on a connection that is then
/// closed.
pub async fn probe(
    steps: &mut Steps,
    address: &ServerAddress,
    options: &ClientOptions,
) -> Result<(), Failure> {
    let wait = options.response_timeout;
    let addresses = steps.run("resolve host (DNS)", resolve(address)).await?;
    let tcp = steps
        .run("TCP connect", async {
            let connect = TcpStream::connect(addresses.as_slice());
            let tcp = tokio::time::timeout(wait, connect)
                .await
                .map_err(|_| Failure::new(FailureClass::Timeout, "TCP connect timed out"))?
                .map_err(|error| {
                    Failure::new(io_class(&error), format!("TCP connect failed: {error}"))
                })?;
            let peer = tcp
                .peer_addr()
                .map(|peer| peer.to_string())
                .unwrap_or_default();
            Ok((tcp, peer))
        })
        .await?;
    let tls = steps
        .run("TLS + server identity", async {
            let alpn: Vec<&[u8]> = options.alpn.iter().map(Vec::as_slice).collect();
            let context = tls::client_context(&alpn).map_err(tls_failure)?;
            let connecting = tls::connect(&context, tcp, &address.server.key_hash);
            let tls = tokio::time::timeout(wait, connecting)
                .await
                .map_err(|_| Failure::new(FailureClass::Timeout, "TLS handshake timed out"))?
                .map_err(tls_failure)?;
            let version = tls.stream.ssl().version_str().to_string();
            Ok((tls, format!("{version}, fingerprint matches")))
        })
        .await?;
    steps
        .run("SMP handshake", async {
            let settings = ClientHandshakeSettings {
                version_range: options.version_range,
                key_hash: address.server.key_hash,
                proxy_server: false,
                send_session_key: options.hello_key,
            };
            let connection = tokio::time::timeout(wait, client_handshake(&settings, tls))
                .await
                .map_err(|_| Failure::new(FailureClass::Timeout, "SMP handshake timed out"))?
                .map_err(handshake_failure)?;
            let handshake = &connection.handshake;
            let detail = format!(
                "version {} (server offers {}..{}), block encryption {}",
                handshake.version.0,
                handshake.server_version_range.min().0,
                handshake.server_version_range.max().0,
                if handshake.block_encryption {
                    "on"
                } else {
                    "off"
                }
            );
            let mut writer = connection.writer;
            let _ = writer.shutdown().await;
            Ok(((), detail))
        })
        .await
}

/// Runs the whole test; prints every step.
pub async fn run(address: &ServerAddress, options: ClientOptions) -> Result<(), Failure> {
    let mut steps = Steps::new(false);
    println!("Testing {}", address_for_display(address));
    probe(&mut steps, address, &options).await?;
    let client = steps
        .run("connect (app test)", async {
            let client = SmpClient::connect(address, options.clone())
                .await
                .map_err(|error| classify(&error, false))?;
            let detail = format!("version {}", client.version());
            Ok((client, detail))
        })
        .await?;
    let result = exchange(&mut steps, &client).await;
    let closed = steps
        .run("disconnect", async {
            tokio::time::timeout(Duration::from_secs(10), client.close())
                .await
                .map_err(|_| Failure::new(FailureClass::Timeout, "closing timed out"))?;
            Ok(((), String::new()))
        })
        .await;
    result?;
    closed?;
    println!("Server test passed in {}", format_time(steps.total()));
    Ok(())
}

/// The address without its password.
pub fn address_for_display(address: &ServerAddress) -> String {
    let server = &address.server;
    let host = server
        .hosts
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let password = if address.basic_auth.is_some() {
        " (with password)"
    } else {
        ""
    };
    format!("{host}:{}{password}", server.port_or_default())
}

async fn exchange(steps: &mut Steps, client: &SmpClient) -> Result<(), Failure> {
    let queue = steps
        .run("create queue (NEW)", async {
            let queue = client
                .create_queue(NewQueue::default())
                .await
                .map_err(|error| classify(&error, true))?;
            Ok((queue, String::new()))
        })
        .await?;
    let sender_key =
        AuthKeyPair::generate(AuthAlgorithm::Ed25519).map_err(|error| classify(&error, false))?;
    let by_sender = queue.mode == Some(QueueMode::Messaging);
    steps
        .run(
            if by_sender {
                "secure queue (SKEY)"
            } else {
                "secure queue (KEY)"
            },
            async {
                let secured = if by_sender {
                    client.secure_by_sender(&queue.sender_id, &sender_key).await
                } else {
                    client.secure(&queue, sender_key.public_key()).await
                };
                secured.map_err(|error| classify(&error, false))?;
                Ok(((), String::new()))
            },
        )
        .await?;
    let text = format!("smp test {}", std::process::id());
    steps
        .run("send message (SEND)", async {
            client
                .send(&queue.sender_id, Some(&sender_key), false, text.as_bytes())
                .await
                .map_err(|error| classify(&error, false))?;
            Ok(((), format!("{} bytes", text.len())))
        })
        .await?;
    receive_and_ack(steps, client, &queue, &text).await?;
    steps
        .run("delete queue (DEL)", async {
            client
                .delete(&queue)
                .await
                .map_err(|error| classify(&error, false))?;
            Ok(((), String::new()))
        })
        .await
}

/// Receives the test message on `queue`, checks it decrypts to `text`, and acknowledges it.
pub async fn receive_and_ack(
    steps: &mut Steps,
    recipient: &SmpClient,
    queue: &smp_client::RecipientQueue,
    text: &str,
) -> Result<(), Failure> {
    let received = steps
        .run("receive message (MSG)", async {
            let message = recipient
                .receive(queue)
                .await
                .map_err(|error| classify(&error, false))?;
            match &message.body {
                RcvMsgBody::Message { body, .. } if body == text.as_bytes() => {
                    Ok((message, "decrypted, content matches".to_string()))
                }
                other => Err(Failure::new(
                    FailureClass::Protocol,
                    format!("received a different message: {other:?}"),
                )),
            }
        })
        .await?;
    steps
        .run("acknowledge (ACK)", async {
            recipient
                .ack(queue, &received.msg_id)
                .await
                .map_err(|error| classify(&error, false))?;
            Ok(((), String::new()))
        })
        .await
}
