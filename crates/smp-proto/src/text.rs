//! Text forms (`Encoding.String`): byte strings as base64url.

use crate::codec::{DecodeError, DecodeResult};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

/// Base64url with `=` padding (`StrEncoding ByteString`).
pub fn encode_base64url(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// Base64url, accepting the padded and the unpadded form.
pub fn decode_base64url(text: &[u8]) -> DecodeResult<Vec<u8>> {
    let engine = if text.ends_with(b"=") {
        &URL_SAFE
    } else {
        &URL_SAFE_NO_PAD
    };
    engine
        .decode(text)
        .map_err(|_| DecodeError::Malformed("base64url text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_and_unpadded_forms() {
        assert_eq!(encode_base64url(b"\xfb\xff"), "-_8=");
        assert_eq!(decode_base64url(b"-_8="), Ok(b"\xfb\xff".to_vec()));
        assert_eq!(decode_base64url(b"-_8"), Ok(b"\xfb\xff".to_vec()));
        assert!(decode_base64url(b"+/8=").is_err());
    }
}
