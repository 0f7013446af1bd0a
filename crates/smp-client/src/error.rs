//! Errors of the SMP client (`Client.ProtocolClientError`): transport and handshake failures,
//! server `ERR` responses, unexpected responses, and local failures such as a missing server key.

use smp_proto::codec::DecodeError;
use smp_proto::error::ErrorType;
use smp_proto::handshake::TransportError;
use thiserror::Error;

/// Why a client operation failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// TCP connection failed.
    #[error("network: {0}")]
    Network(#[from] std::io::Error),
    /// TLS setup or certificate validation failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// The SMP handshake failed.
    #[error("handshake: {0}")]
    Handshake(String),
    /// The server refused the handshake or a transport rule failed (`PCETransportError`):
    /// `VERSION`, `NO_AUTH`, `HANDSHAKE …`.
    #[error("transport error: {0}")]
    TransportError(TransportError),
    /// No host of the wanted kind (`PCEIncompatibleHost`, with `required_host_mode`).
    #[error("no host of the required kind (public or onion)")]
    IncompatibleHost,
    /// The block stream failed or the connection closed.
    #[error("transport: {0}")]
    Transport(String),
    /// The server answered `ERR`.
    #[error("server error: {0}")]
    Server(ErrorType),
    /// The server answered something other than what the command expects.
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),
    /// A server message could not be decoded.
    #[error("bad response: {0}")]
    Decode(#[from] DecodeError),
    /// A server transmission was refused by the client's checks (`Protocol.tDecodeClient`:
    /// unparsable, wrong session, entity rules).
    #[error("bad response: {0}")]
    BadResponse(ErrorType),
    /// The command needs something this session does not have (e.g. the server session key for
    /// an X25519 authenticator, `Client.TENoServerAuth`).
    #[error("{0}")]
    Local(String),
    /// A message or notification could not be decrypted.
    #[error("decryption failed")]
    Crypto,
    /// The connection closed before the response arrived.
    #[error("connection closed")]
    Closed,
    /// No response or event within the allowed time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

impl ClientError {
    /// The text form of the server's error when this is an `ERR` response (`AUTH`,
    /// `CMD SYNTAX`, …).
    pub fn server_error(&self) -> Option<String> {
        match self {
            ClientError::Server(error) => Some(error.to_string()),
            _ => None,
        }
    }
}

/// Result alias for client operations.
pub type ClientResult<T> = Result<T, ClientError>;
