//! Async SMP client used by tests, the proxy role and the tools.
//!
//! [`SmpClient::connect`] opens a TLS connection to a server address, validates the server's
//! certificate chain against the address's key hash, runs the SMP handshake (with a chosen
//! version range, with or without the hello key), and starts a reader task that routes responses
//! by correlation id and pushes server events (`MSG`, `END`, `DELD`, `NMSG`, `ERR`) to an events
//! queue. Queue operations ([`queue`]) create, secure, send, receive (decrypting), acknowledge,
//! and manage notifiers and short links; [`test_server()`] runs the app's server test.
//! [`proxy`] sends through an SMP proxy (`PRXY`/`PFWD`) and forwards as a proxy (`RFWD`);
//! [`network`] picks the host and the SOCKS5 route ([`socks5`]).

#![forbid(unsafe_code)]

pub mod connection;
pub mod encoding;
pub mod error;
pub mod events;
pub mod keys;
pub mod network;
pub mod proxy;
pub mod queue;
pub mod socks5;
pub mod test_server;

pub use connection::{ClientOptions, Reply, Request, SmpClient, DEFAULT_RESPONSE_TIMEOUT};
pub use encoding::encode_transmission;
pub use error::{ClientError, ClientResult};
pub use events::{Event, EventKind};
pub use keys::{generate_dh_key_pair, AuthAlgorithm, AuthKeyPair};
pub use network::{HostMode, NetworkSettings, SocksMode, SocksSettings};
pub use proxy::{ProxiedRelay, ProxiedResult, ProxyClientError};
pub use queue::{
    decrypt_message, decrypt_notification, sender_id_for, LinkData, LinkRequest, NewQueue,
    NotifierCredentials, ReceivedMessage, RecipientQueue,
};
pub use smp_proto::command::QueueMode;
pub use smp_proto::response::{NMsgMeta, RcvMsgBody};
pub use test_server::{test_server, TestFailure, TestStep};
