//! base64url decoding with the error texts of the reference's decoder (`base64-bytestring`
//! 1.2 `Data.ByteString.Base64.URL.decode`, padding optional), so that a bad queue id on the
//! control port gets the same `error: Failed reading: <text>` line.
//!
//! Rules (facts of that decoder): a length of 1 modulo 4 is an invalid size; 2 or 3 modulo 4
//! gets the missing `=` added, except that a text of 3 modulo 4 ending in `=` has invalid
//! padding; `=` before the last two positions of the last group is invalid padding; a
//! character outside the alphabet is reported with its offset; unused low bits of the last
//! character before padding must be zero (canonical encoding).

/// Decoded value of a base64url character, or `None`.
fn sextet(byte: u8) -> Option<u32> {
    let value = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Decodes `text` (non-empty); `Err` is the decoder's message.
pub fn decode_base64url(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut padded = text.to_vec();
    match text.len() % 4 {
        0 => {}
        1 => return Err("Base64-encoded bytestring has invalid size".to_owned()),
        2 => padded.extend_from_slice(b"=="),
        _ => {
            if text.last() == Some(&b'=') {
                return Err("Base64-encoded bytestring has invalid padding".to_owned());
            }
            padded.push(b'=');
        }
    }
    let mut out = Vec::with_capacity(padded.len() / 4 * 3);
    let groups = padded.len() / 4;
    for (index, group) in padded.chunks_exact(4).enumerate() {
        let offset = index * 4;
        let last = index + 1 == groups;
        decode_group(group, offset, last, &mut out)?;
    }
    Ok(out)
}

fn decode_group(group: &[u8], offset: usize, last: bool, out: &mut Vec<u8>) -> Result<(), String> {
    let invalid_padding = |at: usize| format!("invalid padding at offset: {}", offset + at);
    let invalid_character = |at: usize| format!("invalid character at offset: {}", offset + at);
    let is_pad = |at: usize| group[at] == b'=';
    // Padding is checked before invalid characters, as the reference does.
    if last {
        if is_pad(0) {
            return Err(invalid_padding(0));
        }
        if is_pad(1) {
            return Err(invalid_padding(1));
        }
        if is_pad(2) && !is_pad(3) {
            return Err(invalid_character(3));
        }
    } else if let Some(at) = (0..4).find(|&at| is_pad(at)) {
        return Err(invalid_padding(at));
    }
    let mut values = [0u32; 4];
    for (at, value) in values.iter_mut().enumerate() {
        if is_pad(at) {
            continue;
        }
        *value = sextet(group[at]).ok_or_else(|| invalid_character(at))?;
    }
    let word = values[0] << 18 | values[1] << 12 | values[2] << 6 | values[3];
    let [_, first, second, third] = word.to_be_bytes();
    if is_pad(2) {
        if values[1] & 0x0f != 0 {
            return Err(format!(
                "non-canonical encoding detected at offset: {}",
                offset + 1
            ));
        }
        out.push(first);
    } else if is_pad(3) {
        if values[2] & 0x03 != 0 {
            return Err(format!(
                "non-canonical encoding detected at offset: {}",
                offset + 2
            ));
        }
        out.extend_from_slice(&[first, second]);
    } else {
        out.extend_from_slice(&[first, second, third]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use smp_proto::text::encode_base64url;

    // Vectors from the behaviour of `Data.ByteString.Base64.URL.decode` (base64-bytestring 1.2).
    #[test]
    fn decodes_padded_and_unpadded() {
        assert_eq!(decode_base64url(b"ZA==").unwrap(), b"d");
        assert_eq!(decode_base64url(b"ZA").unwrap(), b"d");
        assert_eq!(decode_base64url(b"ZmA").unwrap(), b"f`");
        assert_eq!(decode_base64url(b"ZmA=").unwrap(), b"f`");
        assert_eq!(decode_base64url(b"Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64url(b"-_-_").unwrap(), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn errors_match_the_reference_texts() {
        let error = |text: &[u8]| decode_base64url(text).unwrap_err();
        assert_eq!(error(b"a"), "Base64-encoded bytestring has invalid size");
        assert_eq!(
            error(b"abcde"),
            "Base64-encoded bytestring has invalid size"
        );
        assert_eq!(
            error(b"ab="),
            "Base64-encoded bytestring has invalid padding"
        );
        assert_eq!(error(b"=eAoeAo="), "invalid padding at offset: 0");
        assert_eq!(error(b"eAo=eAo="), "invalid padding at offset: 3");
        assert_eq!(error(b"eAoeA=o="), "invalid padding at offset: 5");
        assert_eq!(
            error(b"ZE=="),
            "non-canonical encoding detected at offset: 1"
        );
        assert_eq!(
            error(b"ZmC="),
            "non-canonical encoding detected at offset: 2"
        );
        assert_eq!(
            error(b"Zm9vYE=="),
            "non-canonical encoding detected at offset: 5"
        );
        assert_eq!(error(b"ab\xc0d"), "invalid character at offset: 2");
        assert_eq!(error(b"ab=c"), "invalid character at offset: 3");
    }

    proptest::proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 1..64)) {
            let text = encode_base64url(&bytes);
            proptest::prop_assert_eq!(decode_base64url(text.as_bytes()).unwrap(), bytes.clone());
            let unpadded = text.trim_end_matches('=');
            proptest::prop_assert_eq!(decode_base64url(unpadded.as_bytes()).unwrap(), bytes);
        }
    }
}
