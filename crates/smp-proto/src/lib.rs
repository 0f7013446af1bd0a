//! The SimpleX Messaging Protocol wire format, versions 6 to 18, exactly as the reference server
//! (simplexmq) encodes it. Pure code: no IO, no clock, no async runtime.
//!
//! Module map: [`codec`] primitives, [`text`] base64url forms, [`keys`] public keys and the server
//! identity hash.

#![forbid(unsafe_code)]

pub mod block;
pub mod address;
pub mod codec;
pub mod command;
pub mod error;
pub mod crypto;
pub mod handshake;
pub mod ids;
pub mod keys;
pub mod response;
pub mod text;
pub mod transmission;
pub mod version;
pub mod x509;
