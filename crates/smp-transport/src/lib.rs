//! TLS 1.3 transport for SMP: server credentials, the TLS acceptor and connector, tls-unique, and the block stream.

pub mod block_cipher;
pub mod block_stream;
pub mod credentials;
pub mod handshake;
pub mod tls;
