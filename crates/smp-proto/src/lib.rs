//! The SimpleX Messaging Protocol wire format, versions 6 to 18, exactly as the reference server
//! (simplexmq) encodes it. Pure code: no IO, no clock, no async runtime.
//!
//! Module map: [`codec`] primitives, [`text`] base64url forms, [`keys`] public keys and the server
//! identity hash, [`queue_uri`] out-of-band queue addresses; see the crate README for the rest.

#![forbid(unsafe_code)]

pub mod address;
pub mod block;
pub mod codec;
pub mod command;
pub mod crypto;
pub mod error;
pub mod handshake;
pub mod ids;
pub mod keys;
pub mod queue_uri;
pub mod response;
pub mod text;
pub mod transmission;
pub mod version;
pub mod x509;

#[cfg(test)]
mod roundtrip_tests;
