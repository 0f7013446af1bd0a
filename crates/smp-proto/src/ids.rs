//! Identifiers carried as `s8` byte strings: correlation ids, entity ids and message ids
//! (`Protocol.CorrId`, `Transport.EntityId`, `Protocol.MsgId`).
//!
//! The reference server accepts any 0..=255-byte value in each position and echoes it back, so these
//! types bound the length (that is what the wire can express) rather than fixing it. Clients and the
//! server generate 24-byte values; [`CorrId::NONCE_LENGTH`] is why.

use crate::codec::{Decode, DecodeResult, Encode, Reader, ShortBytes};

macro_rules! short_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(ShortBytes);

        impl $name {
            /// Wraps at most 255 bytes.
            pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, crate::codec::DecodeError> {
                ShortBytes::new(bytes).map($name)
            }
            pub fn empty() -> Self {
                $name(ShortBytes::empty())
            }
            pub fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl From<[u8; 24]> for $name {
            fn from(bytes: [u8; 24]) -> Self {
                // 24 <= 255, so this cannot fail.
                $name(ShortBytes::new(bytes.to_vec()).unwrap_or_default())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), crate::text::encode_base64url(self.as_bytes()))
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                self.as_bytes()
            }
        }

        impl Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                self.0.encode(out)
            }
        }

        impl Decode for $name {
            fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
                ShortBytes::decode(reader).map($name)
            }
        }
    };
}

short_id!(
    /// Correlation id of a command and its response; empty on server events. Real clients send 24
    /// random bytes because it doubles as the nonce of authenticators and proxy encryption.
    CorrId
);
short_id!(
    /// Queue id (recipient, sender, notifier or link), proxy session id or service id; empty for
    /// NEW, PING, PRXY, RFWD.
    EntityId
);
short_id!(
    /// Message id: 24 random bytes, also the nonce of the MSG encryption.
    MsgId
);

impl CorrId {
    /// Length of a NaCl nonce; `Crypto.cbNonce` pads or truncates a correlation id to it.
    pub const NONCE_LENGTH: usize = 24;

    /// `Crypto.cbNonce`: the first 24 bytes, right-padded with zeros when shorter.
    pub fn to_nonce(&self) -> [u8; 24] {
        crate::crypto::CbNonce::from_prefix(self.as_bytes()).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_from_short_and_long_correlation_ids() {
        let short = CorrId::new(*b"abc").unwrap_or_default();
        let mut expected = [0u8; 24];
        expected[..3].copy_from_slice(b"abc");
        assert_eq!(short.to_nonce(), expected);
        let long = CorrId::new([9u8; 30].to_vec()).unwrap_or_default();
        assert_eq!(long.to_nonce(), [9u8; 24]);
    }

    #[test]
    fn ids_are_short_strings_on_the_wire() {
        let id = EntityId::from([1u8; 24]);
        let bytes = id.to_bytes();
        assert_eq!(bytes[0], 24);
        assert_eq!(EntityId::from_bytes(&bytes), Ok(id));
        assert_eq!(EntityId::empty().to_bytes(), [0]);
    }
}
