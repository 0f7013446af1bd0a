//! Failure classes of the `smp` tool and their exit codes, and how a client error maps onto
//! them. Scripts rely on the codes: keep them stable.

use std::io::ErrorKind;

use smp_client::{ClientError, ProxyClientError};
use smp_proto::error::{BrokerError, ErrorType, ProxyError};
use smp_proto::handshake::{HandshakeError, TransportError};

/// Why a command failed; the discriminant is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Anything not classified below (a local failure).
    Other = 1,
    /// Bad command line (also clap's own code for usage errors).
    Usage = 2,
    /// The host name did not resolve.
    Dns = 3,
    /// TCP connection refused, unreachable, or the connection was lost.
    Tcp = 4,
    /// No answer in time (TCP connect, TLS, handshake or a response).
    Timeout = 5,
    /// TLS handshake failed, or the certificate chain is invalid.
    Tls = 6,
    /// The server identity is not the fingerprint in the address.
    Fingerprint = 7,
    /// No common SMP version, or the SMP handshake was refused.
    Version = 8,
    /// `ERR AUTH`: wrong or missing server password (on NEW), or wrong queue key / unknown queue.
    Auth = 9,
    /// Any other server error or an unexpected / undecodable response.
    Protocol = 10,
    /// `smp queue recv`: no message arrived in the wait time.
    NoMessage = 11,
    /// The queue file could not be read, parsed or written.
    QueueFile = 12,
    /// `--via`: the proxy answered `ERR PROXY …` (it could not reach, verify or use the
    /// destination, or refused the password).
    Proxy = 13,
}

/// The exit code table printed in `--help` (and in `docs/operator-guide.md`).
pub const EXIT_CODES: &str = "\
Exit codes:
   0  success
   1  other (local) failure
   2  usage error
   3  DNS: the host name did not resolve
   4  TCP: connection refused / unreachable / lost
   5  timeout (connect, TLS, handshake or response)
   6  TLS handshake or certificate chain failure
   7  fingerprint mismatch: the server identity is not the one in the address
   8  SMP version / handshake refused
   9  ERR AUTH: wrong or missing server password, or wrong queue key / no such queue
  10  protocol error: another ERR from the server, unexpected or undecodable response
  11  no message (smp queue recv)
  12  queue file unreadable, invalid or not writable
  13  --via: the proxy failed (ERR PROXY …: destination unreachable or with another
      identity, proxy password, no session)";

impl FailureClass {
    pub fn exit_code(self) -> u8 {
        self as u8
    }

    pub fn label(self) -> &'static str {
        match self {
            FailureClass::Other => "local failure",
            FailureClass::Usage => "usage",
            FailureClass::Dns => "DNS",
            FailureClass::Tcp => "TCP",
            FailureClass::Timeout => "timeout",
            FailureClass::Tls => "TLS",
            FailureClass::Fingerprint => "fingerprint mismatch",
            FailureClass::Version => "SMP version/handshake",
            FailureClass::Auth => "AUTH",
            FailureClass::Protocol => "protocol error",
            FailureClass::NoMessage => "no message",
            FailureClass::QueueFile => "queue file",
            FailureClass::Proxy => "proxy",
        }
    }
}

/// A failure with its class and an explanation for the operator.
#[derive(Debug)]
pub struct Failure {
    pub class: FailureClass,
    pub message: String,
}

impl Failure {
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Failure {
            class,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class.label(), self.message)
    }
}

/// The class of an I/O error of a TCP connect.
pub fn io_class(error: &std::io::Error) -> FailureClass {
    match error.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => FailureClass::Timeout,
        _ => FailureClass::Tcp,
    }
}

/// Classifies a client error; `creating` says the command was `NEW`, where `ERR AUTH` means a
/// wrong or missing server password.
pub fn classify(error: &ClientError, creating: bool) -> Failure {
    let text = error.to_string();
    let class = match error {
        ClientError::Network(io) => io_class(io),
        ClientError::Tls(detail) if detail.contains("does not match the server key hash") => {
            FailureClass::Fingerprint
        }
        ClientError::Tls(_) => FailureClass::Tls,
        ClientError::Handshake(_) | ClientError::TransportError(_) => FailureClass::Version,
        ClientError::IncompatibleHost => FailureClass::Other,
        ClientError::Transport(_) | ClientError::Closed => FailureClass::Tcp,
        ClientError::Timeout(_) => FailureClass::Timeout,
        ClientError::Server(ErrorType::Auth) => FailureClass::Auth,
        ClientError::Server(ErrorType::Proxy(_)) => FailureClass::Proxy,
        ClientError::Server(_)
        | ClientError::UnexpectedResponse(_)
        | ClientError::Decode(_)
        | ClientError::BadResponse(_)
        | ClientError::Crypto => FailureClass::Protocol,
        ClientError::Local(_) => FailureClass::Other,
    };
    let message = match (class, creating) {
        (FailureClass::Auth, true) => format!(
            "{text} — the server requires a password for new queues: it is missing from the \
             address or wrong (smp://<fingerprint>:<password>@host)"
        ),
        (FailureClass::Auth, false) => {
            format!("{text} — the queue does not exist on this server or the key is wrong")
        }
        (FailureClass::Fingerprint, _) => format!(
            "{text} — the server's identity certificate is not the one whose fingerprint is in \
             the address (wrong fingerprint, or another server at this host/port)"
        ),
        (FailureClass::Proxy, _) => match error {
            ClientError::Server(server @ ErrorType::Proxy(proxy)) => {
                format!("ERR {server} — {}", proxy_hint(proxy))
            }
            _ => text,
        },
        _ => text,
    };
    Failure::new(class, message)
}

/// What an `ERR PROXY …` means for the person running the tool.
pub fn proxy_hint(error: &ProxyError) -> &'static str {
    match error {
        ProxyError::BasicAuth => {
            "the proxy requires its server password: put it in the --via address \
             (smp://<fingerprint>:<password>@host)"
        }
        ProxyError::NoSession => {
            "the proxy has no session to the destination any more (it restarted or the \
             connection dropped); run the command again"
        }
        ProxyError::Protocol(_) => "the destination answered the proxy with this error",
        ProxyError::Broker(BrokerError::Network(_)) => {
            "the proxy could not connect to the destination: nothing listens there, it is \
             unreachable from the proxy, its identity is not the fingerprint in the destination \
             address, or it is an .onion host and the proxy has no socks_proxy"
        }
        ProxyError::Broker(BrokerError::Timeout) => {
            "the destination did not answer the proxy in time"
        }
        ProxyError::Broker(BrokerError::Host) => {
            "the destination has no host of the kind the proxy requires (its \
             [PROXY] required_host_mode)"
        }
        ProxyError::Broker(BrokerError::Transport(TransportError::Handshake(
            HandshakeError::Identity,
        ))) => {
            "the destination's certificate in the proxy's PKEY answer does not match the \
             fingerprint in the destination address"
        }
        ProxyError::Broker(BrokerError::Transport(TransportError::Version)) => {
            "the proxy and the destination (or this tool) have no common SMP version for \
             proxied sending"
        }
        ProxyError::Broker(_) => "the proxy failed to talk to the destination",
    }
}

/// The failure of a proxied command when the proxy itself answered something other than
/// `PRES` (`ProxyClientError`).
pub fn classify_proxy(error: &ProxyClientError) -> Failure {
    match error {
        ProxyClientError::Protocol(error @ ErrorType::Proxy(proxy)) => Failure::new(
            FailureClass::Proxy,
            format!("the proxy answered ERR {error} — {}", proxy_hint(proxy)),
        ),
        ProxyClientError::Protocol(other) => Failure::new(
            FailureClass::Protocol,
            format!("the proxy answered ERR {other}"),
        ),
        ProxyClientError::Unexpected(text) => Failure::new(
            FailureClass::Protocol,
            format!("unexpected answer from the proxy: {text}"),
        ),
        ProxyClientError::Response(error) => Failure::new(
            FailureClass::Protocol,
            format!("the proxy's answer was refused: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_listed() {
        let all = [
            FailureClass::Other,
            FailureClass::Usage,
            FailureClass::Dns,
            FailureClass::Tcp,
            FailureClass::Timeout,
            FailureClass::Tls,
            FailureClass::Fingerprint,
            FailureClass::Version,
            FailureClass::Auth,
            FailureClass::Protocol,
            FailureClass::NoMessage,
            FailureClass::QueueFile,
            FailureClass::Proxy,
        ];
        for (index, class) in all.iter().enumerate() {
            assert_eq!(usize::from(class.exit_code()), index + 1);
            assert!(EXIT_CODES.contains(&format!("{:>4}  ", class.exit_code())));
        }
    }

    #[test]
    fn errors_map_to_classes() {
        let refused = std::io::Error::from(ErrorKind::ConnectionRefused);
        assert_eq!(
            classify(&ClientError::Network(refused), false).class,
            FailureClass::Tcp
        );
        let mismatch =
            ClientError::Tls("identity certificate does not match the server key hash".into());
        assert_eq!(classify(&mismatch, false).class, FailureClass::Fingerprint);
        let auth = classify(&ClientError::Server(ErrorType::Auth), true);
        assert_eq!(auth.class, FailureClass::Auth);
        assert!(auth.message.contains("password"));
        assert_eq!(
            classify(&ClientError::Timeout("response"), false).class,
            FailureClass::Timeout
        );
    }

    #[test]
    fn proxy_errors_have_their_own_code_and_a_hint() {
        let network = ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Network(
            smp_proto::error::NetworkError::Failed,
        ))));
        let failure = classify(&ClientError::Server(network.clone()), false);
        assert_eq!(failure.class, FailureClass::Proxy);
        assert_eq!(failure.class.exit_code(), 13);
        assert!(failure.message.starts_with("ERR PROXY BROKER NETWORK — "));
        let basic_auth = ErrorType::Proxy(Box::new(ProxyError::BasicAuth));
        let failure = classify_proxy(&ProxyClientError::Protocol(basic_auth));
        assert_eq!(failure.class, FailureClass::Proxy);
        assert!(failure.message.contains("PROXY BASIC_AUTH"));
        assert!(failure.message.contains("password"));
        // The relay's own errors through the proxy keep their classes.
        assert_eq!(
            classify(&ClientError::Server(ErrorType::Auth), false).class,
            FailureClass::Auth
        );
        assert_eq!(
            classify_proxy(&ProxyClientError::Protocol(ErrorType::Internal)).class,
            FailureClass::Protocol
        );
    }
}
