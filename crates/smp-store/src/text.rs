//! The text forms used in the reference's log files (`Encoding.String`, `StrEncoding`): a small
//! cursor over one line and the writers for the same forms.
//!
//! Byte strings are base64url: written padded, read as a run of `[A-Za-z0-9_-]` plus optional `=`
//! (`base64urlP`, which never accepts an empty string). Numbers are signed decimals, booleans
//! `T`/`F`, lists comma-separated, tuples space-separated.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use smp_proto::keys::{AuthKey, PublicKey};

/// Why a line did not parse: a short static description of the field that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad {0}")]
pub struct TextError(pub &'static str);

pub type TextResult<T> = Result<T, TextError>;

/// A cursor over one line (without its `\n`).
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Cursor { input, position: 0 }
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.input[self.position..]
    }

    pub fn is_empty(&self) -> bool {
        self.position >= self.input.len()
    }

    /// Succeeds only at the end of the line (`parseAll`).
    pub fn end(&self) -> TextResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(TextError("trailing text"))
        }
    }

    /// Consumes `expected` or fails without consuming.
    pub fn literal(&mut self, expected: &[u8], what: &'static str) -> TextResult<()> {
        if self.rest().starts_with(expected) {
            self.position += expected.len();
            Ok(())
        } else {
            Err(TextError(what))
        }
    }

    /// Whether the rest starts with `prefix` (no consumption).
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.rest().starts_with(prefix)
    }

    pub fn space(&mut self) -> TextResult<()> {
        self.literal(b" ", "space")
    }

    /// Runs `item`; on failure restores the position and returns `None` (attoparsec `optional`).
    pub fn optional<T>(&mut self, item: impl FnOnce(&mut Self) -> TextResult<T>) -> Option<T> {
        let saved = self.position;
        match item(self) {
            Ok(value) => Some(value),
            Err(_) => {
                self.position = saved;
                None
            }
        }
    }

    /// Bytes up to (not including) the first byte in `stops`, possibly empty.
    pub fn take_till(&mut self, stops: &[u8]) -> &'a [u8] {
        let rest = self.rest();
        let length = rest
            .iter()
            .position(|byte| stops.contains(byte))
            .unwrap_or(rest.len());
        self.position += length;
        &rest[..length]
    }

    /// The shape of one base64url string at the cursor (`base64urlP`): the length of its run of
    /// alphabet characters, which must be non-empty, and of the `=` padding after it.
    fn base64_shape(&self) -> TextResult<(usize, usize)> {
        let rest = self.rest();
        let body = rest
            .iter()
            .take_while(|byte| DECODE[usize::from(**byte)] != INVALID)
            .count();
        if body == 0 {
            return Err(TextError("base64url"));
        }
        let padding = rest[body..]
            .iter()
            .take_while(|byte| **byte == b'=')
            .count();
        Ok((body, padding))
    }

    /// One base64url string (`base64urlP`): non-empty, padded or not.
    pub fn base64(&mut self) -> TextResult<Vec<u8>> {
        let (body, padding) = self.base64_shape()?;
        let mut decoded = vec![0u8; shaped_length(body, padding)?];
        decode_body_into(&self.rest()[..body], &mut decoded)?;
        self.position += body + padding;
        Ok(decoded)
    }

    /// A base64url string of exactly `N` bytes, decoded without allocating.
    pub fn base64_array<const N: usize>(&mut self, what: &'static str) -> TextResult<[u8; N]> {
        let (body, padding) = self.base64_shape()?;
        if shaped_length(body, padding)? != N {
            return Err(TextError(what));
        }
        let mut out = [0u8; N];
        decode_body_into(&self.rest()[..body], &mut out)?;
        self.position += body + padding;
        Ok(out)
    }

    /// A signed decimal (`A.signed A.decimal`) fitting an `i64`.
    pub fn int64(&mut self) -> TextResult<i64> {
        let rest = self.rest();
        let (negative, sign_length) = match rest.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let digits = rest[sign_length..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if digits == 0 {
            return Err(TextError("number"));
        }
        let mut value: i64 = 0;
        for digit in &rest[sign_length..sign_length + digits] {
            let digit = i64::from(digit - b'0');
            value = value
                .checked_mul(10)
                .and_then(|value| {
                    if negative {
                        value.checked_sub(digit)
                    } else {
                        value.checked_add(digit)
                    }
                })
                .ok_or(TextError("number"))?;
        }
        self.position += sign_length + digits;
        Ok(value)
    }

    /// `T` or `F` (`smpP :: Bool`).
    pub fn boolean(&mut self) -> TextResult<bool> {
        match self.rest().first() {
            Some(b'T') => {
                self.position += 1;
                Ok(true)
            }
            Some(b'F') => {
                self.position += 1;
                Ok(false)
            }
            _ => Err(TextError("boolean")),
        }
    }

    /// Any one byte (`A.anyChar`).
    pub fn any_byte(&mut self) -> TextResult<u8> {
        let byte = *self.rest().first().ok_or(TextError("character"))?;
        self.position += 1;
        Ok(byte)
    }

    /// A comma-separated list; each item runs to the next `,`, ` ` or end and must parse whole
    /// (`listItem`). With `non_empty` at least one item is required (`sepBy1'`).
    pub fn list<T>(
        &mut self,
        non_empty: bool,
        mut item: impl FnMut(&mut Cursor<'a>) -> TextResult<T>,
    ) -> TextResult<Vec<T>> {
        let mut items = Vec::new();
        loop {
            let saved = self.position;
            let raw = self.take_till(b", \n");
            let mut inner = Cursor::new(raw);
            match item(&mut inner).and_then(|value| inner.end().map(|()| value)) {
                Ok(value) => items.push(value),
                Err(error) => {
                    self.position = saved;
                    if items.is_empty() && non_empty {
                        return Err(error);
                    }
                    // A failed item after a comma: the comma was part of the next token.
                    if !items.is_empty() {
                        self.position = saved.saturating_sub(1);
                    }
                    return Ok(items);
                }
            }
            if self.literal(b",", "comma").is_err() {
                return Ok(items);
            }
        }
    }

    /// A public key that may authorize commands, as base64url of its DER form.
    pub fn auth_key(&mut self) -> TextResult<AuthKey> {
        let (body, padding) = self.base64_shape()?;
        let length = shaped_length(body, padding)?;
        let text = &self.rest()[..body];
        // DER keys are at most 69 bytes (Ed448): decode those on the stack.
        let mut buffer = [0u8; 96];
        let heap;
        let der: &[u8] = match buffer.get_mut(..length) {
            Some(der) => {
                decode_body_into(text, der)?;
                der
            }
            None => {
                heap = decode_base64(text)?;
                &heap
            }
        };
        let key = PublicKey::from_der(der)
            .ok()
            .and_then(|key| AuthKey::try_from(key).ok())
            .ok_or(TextError("public key"))?;
        self.position += body + padding;
        Ok(key)
    }
}

/// Marks a byte outside the base64url alphabet in [`DECODE`].
const INVALID: u8 = 0xff;

/// The 6-bit value of each base64url character (`A–Z a–z 0–9 - _`), else [`INVALID`].
static DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut index = 0;
    while index < alphabet.len() {
        table[alphabet[index] as usize] = index as u8;
        index += 1;
    }
    table
};

/// The decoded length of a base64url string of `body` alphabet characters followed by `padding`
/// `=`, checking its shape: padding, when present, must be the canonical amount (as the `base64`
/// crate's padded engine requires) and a body length of 1 mod 4 is never valid.
fn shaped_length(body: usize, padding: usize) -> TextResult<usize> {
    let canonical_padding = match body % 4 {
        0 => 0,
        2 => 2,
        3 => 1,
        _ => return Err(TextError("base64url")),
    };
    if padding != 0 && padding != canonical_padding {
        return Err(TextError("base64url"));
    }
    Ok(body / 4 * 3 + (body % 4).saturating_sub(1))
}

/// The decoded length of base64url `text` (alphabet characters then only `=`), as
/// [`shaped_length`] checks it.
fn decoded_length(text: &[u8]) -> TextResult<usize> {
    let body = text
        .iter()
        .take_while(|byte| DECODE[usize::from(**byte)] != INVALID)
        .count();
    if text[body..].iter().any(|byte| *byte != b'=') {
        return Err(TextError("base64url"));
    }
    shaped_length(body, text.len() - body)
}

/// Decodes `body`, base64url alphabet characters without padding, into `out`, which must be
/// exactly as long as [`shaped_length`] says (else, or when the unused low bits of the last
/// character are not zero, the text is refused).
fn decode_body_into(body: &[u8], out: &mut [u8]) -> TextResult<()> {
    if shaped_length(body.len(), 0)? != out.len() {
        return Err(TextError("base64url"));
    }
    let value = |byte: u8| u32::from(DECODE[usize::from(byte)]);
    let mut quads = body.chunks_exact(4);
    let mut triples = out.chunks_exact_mut(3);
    for (quad, triple) in quads.by_ref().zip(triples.by_ref()) {
        let bits =
            value(quad[0]) << 18 | value(quad[1]) << 12 | value(quad[2]) << 6 | value(quad[3]);
        triple.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    match (quads.remainder(), triples.into_remainder()) {
        ([], []) => Ok(()),
        ([first, second], [byte]) => {
            let (first, second) = (value(*first), value(*second));
            if second & 0x0f != 0 {
                return Err(TextError("base64url"));
            }
            *byte = (first << 2 | second >> 4) as u8;
            Ok(())
        }
        ([first, second, third], [high, low]) => {
            let (first, second, third) = (value(*first), value(*second), value(*third));
            if third & 0x03 != 0 {
                return Err(TextError("base64url"));
            }
            let bits = first << 10 | second << 4 | third >> 2;
            [*high, *low] = (bits as u16).to_be_bytes();
            Ok(())
        }
        // `shaped_length` refused a length of 1 mod 4.
        _ => Err(TextError("base64url")),
    }
}

/// Base64url, padded or not.
pub fn decode_base64(text: &[u8]) -> TextResult<Vec<u8>> {
    let mut out = vec![0u8; decoded_length(text)?];
    let body = text.len() - text.iter().rev().take_while(|b| **b == b'=').count();
    decode_body_into(&text[..body], &mut out)?;
    Ok(out)
}

/// Appends padded base64url (`strEncode :: ByteString`).
pub fn put_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), true).unwrap_or(0),
        0,
    );
    let written = URL_SAFE.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// Appends a key as base64url of its DER form.
pub fn put_auth_key(out: &mut Vec<u8>, key: &AuthKey) {
    put_base64(out, &PublicKey::from(*key).to_der());
}

/// Appends a decimal number.
pub fn put_int(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(value.to_string().as_bytes());
}

/// Appends `T` or `F`.
pub fn put_bool(out: &mut Vec<u8>, value: bool) {
    out.push(if value { b'T' } else { b'F' });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_padded_and_unpadded() {
        let mut out = Vec::new();
        put_base64(&mut out, b"\xfb\xff");
        assert_eq!(out, b"-_8=");
        assert_eq!(Cursor::new(b"-_8=").base64().unwrap(), b"\xfb\xff");
        assert_eq!(Cursor::new(b"-_8").base64().unwrap(), b"\xfb\xff");
        assert!(Cursor::new(b"").base64().is_err());
        assert!(Cursor::new(b"+/8=").base64().is_err());
    }

    #[test]
    fn base64_shapes_like_the_base64_crate() {
        for good in [
            &b""[..],
            b"AA",
            b"AA==",
            b"AAA",
            b"AAA=",
            b"AAAA",
            b"-_-_",
            b"QUJD",
        ] {
            assert!(
                decode_base64(good).is_ok(),
                "{:?}",
                String::from_utf8_lossy(good)
            );
        }
        // Length 1 mod 4, wrong padding amounts, padding after a full quad, non-zero unused
        // bits, characters outside the URL alphabet, text after padding.
        for bad in [
            &b"A"[..],
            b"AA=",
            b"AAA==",
            b"AAAA=",
            b"====",
            b"AB",
            b"AAB",
            b"AB==",
            b"+/8=",
            b"AA==AA",
            b"A A",
        ] {
            assert!(
                decode_base64(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest::proptest! {
        /// The table decoder accepts and refuses exactly what the `base64` crate's padded and
        /// unpadded URL engines do (the decoder this replaced), with the same bytes.
        #[test]
        fn base64_decoder_matches_the_base64_crate(
            text in proptest::collection::vec(
                proptest::sample::select(b"AQgw_-z9=+ ".to_vec()), 0..24)
        ) {
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let engine = if text.ends_with(b"=") { &URL_SAFE } else { &URL_SAFE_NO_PAD };
            proptest::prop_assert_eq!(decode_base64(&text).ok(), engine.decode(&text).ok());
        }

        #[test]
        fn base64_round_trip(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100)) {
            let mut text = Vec::new();
            put_base64(&mut text, &bytes);
            proptest::prop_assert_eq!(decode_base64(&text).unwrap(), bytes.clone());
            let unpadded: Vec<u8> = text.iter().copied().filter(|b| *b != b'=').collect();
            proptest::prop_assert_eq!(decode_base64(&unpadded).unwrap(), bytes);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(Cursor::new(b"-12 ").int64().unwrap(), -12);
        assert_eq!(Cursor::new(b"+7").int64().unwrap(), 7);
        assert!(Cursor::new(b"99999999999999999999").int64().is_err());
        assert!(Cursor::new(b"x").int64().is_err());
    }

    #[test]
    fn lists_stop_at_space() {
        let mut cursor = Cursor::new(b"AQ==,Ag== rest");
        let items = cursor.list(true, |c| c.base64()).unwrap();
        assert_eq!(items, vec![vec![1], vec![2]]);
        assert_eq!(cursor.rest(), b" rest");
        let mut cursor = Cursor::new(b" x");
        assert!(cursor.list(true, |c| c.base64()).is_err());
        assert!(cursor.list(false, |c| c.base64()).unwrap().is_empty());
    }
}
