//! Tests of the relay connection bookkeeping and the error mapping.

use super::*;
use smp_proto::address::TransportHost;
use smp_proto::error::CommandError;
use smp_proto::handshake::TransportError;
use smp_proto::keys::KeyHash;

fn text(error: &ErrorType) -> String {
    String::from_utf8(error.to_bytes()).unwrap()
}

fn server(host: &str, port: u16) -> SmpServer {
    SmpServer {
        hosts: vec![TransportHost::parse(host).unwrap()],
        port: port.to_string(),
        key_hash: KeyHash([7; 32]),
    }
}

#[test]
fn client_errors_map_to_the_reference_proxy_errors() {
    // `Client.smpProxyError`, `temporaryClientError`.
    let cases: Vec<(ClientError, &str, bool)> = vec![
        (
            ClientError::Server(ErrorType::Auth),
            "PROXY PROTOCOL AUTH",
            false,
        ),
        (
            ClientError::Network(std::io::Error::other("refused")),
            "PROXY BROKER NETWORK",
            true,
        ),
        (
            ClientError::Tls("unknown CA".into()),
            "PROXY BROKER NETWORK",
            true,
        ),
        (
            ClientError::Timeout("connection"),
            "PROXY BROKER NETWORK",
            true,
        ),
        (
            ClientError::Timeout("response"),
            "PROXY BROKER TIMEOUT",
            true,
        ),
        (
            ClientError::TransportError(TransportError::Version),
            "PROXY BROKER TRANSPORT VERSION",
            false,
        ),
        (ClientError::IncompatibleHost, "PROXY BROKER HOST", false),
        (ClientError::Crypto, "CRYPTO", false),
        (ClientError::Local("x".into()), "INTERNAL", false),
    ];
    for (error, expected, temporary) in cases {
        let mapped = relay_error(&error);
        assert_eq!(text(&mapped.error), expected, "{error}");
        assert_eq!(mapped.temporary, temporary, "{error}");
    }
    let mapped = relay_error(&ClientError::BadResponse(ErrorType::Cmd(
        CommandError::Syntax,
    )));
    assert_eq!(
        mapped.error,
        broker(BrokerError::Response(
            ShortBytes::new(b"CMD SYNTAX".to_vec()).unwrap()
        ))
    );
    let mapped = relay_error(&ClientError::UnexpectedResponse("Pong".into()));
    assert_eq!(
        mapped.error,
        broker(BrokerError::Unexpected(
            ShortBytes::new(b"Pong".to_vec()).unwrap()
        ))
    );
}

#[test]
fn own_servers_are_the_domains_and_their_subdomains() {
    let agent = ProxyAgent::new(ProxySettings {
        own_server_domains: vec!["example.com".into()],
        ..ProxySettings::default()
    });
    assert!(agent.is_own_server(&server("example.com", 5223)));
    assert!(agent.is_own_server(&server("smp4.example.com", 5223)));
    assert!(!agent.is_own_server(&server("badexample.com", 5223)));
    assert!(!agent.is_own_server(&server("127.0.0.1", 5223)));
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_failed_attempt_is_remembered() {
    let agent = Arc::new(ProxyAgent::new(ProxySettings {
        connect_timeout: Duration::from_secs(10),
        ..ProxySettings::default()
    }));
    let relay = server("127.0.0.1", closed_port());
    assert!(agent.connected(&relay).is_none());
    let error = agent.connect(&relay).await.unwrap_err();
    assert_eq!(text(&error.error), "PROXY BROKER NETWORK");
    assert!(error.temporary);
    // Answered from memory now, without a new attempt.
    assert!(matches!(agent.connected(&relay), Some(Err(remembered)) if remembered == error));
    assert_eq!(agent.connect(&relay).await.unwrap_err(), error);
    assert_eq!(agent.connections_made(), 0);
}

#[tokio::test]
async fn relay_connections_are_bounded() {
    let agent = Arc::new(ProxyAgent::new(ProxySettings {
        max_relays: 0,
        ..ProxySettings::default()
    }));
    let error = agent
        .connect(&server("127.0.0.1", closed_port()))
        .await
        .unwrap_err();
    assert_eq!(text(&error.error), "PROXY BROKER NETWORK");
}

#[tokio::test]
async fn a_silent_destination_times_out_without_holding_up_others() {
    let agent = Arc::new(ProxyAgent::new(ProxySettings {
        connect_timeout: Duration::from_millis(300),
        ..ProxySettings::default()
    }));
    // Accepts TCP and then says nothing: the TLS handshake never completes.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let slow = {
        let agent = Arc::clone(&agent);
        tokio::spawn(async move { agent.connect(&server("127.0.0.1", silent_port)).await })
    };
    // Meanwhile another destination is tried and answered on its own.
    let down = agent
        .connect(&server("127.0.0.1", closed_port()))
        .await
        .unwrap_err();
    assert_eq!(text(&down.error), "PROXY BROKER NETWORK");
    assert!(!slow.is_finished());
    // A connect timeout is a network error (`PCENetworkError NETimeoutError`, which goes on the
    // wire as plain `NETWORK`); `BROKER TIMEOUT` is for a response that does not come.
    let error = slow.await.unwrap().unwrap_err();
    assert_eq!(text(&error.error), "PROXY BROKER NETWORK");
    assert!(error.temporary);
    holder.abort();
}
