//! Binary primitives of SMP (`Simplex.Messaging.Encoding`): big-endian integers, `T`/`F` booleans,
//! `0`/`1` optionals, 1- and 2-byte length-prefixed byte strings, counted lists, timestamps and the
//! `u16 len || data || '#'…` padding.
//!
//! Decoding works on a borrowed [`Reader`]; every failure is a [`DecodeError`] that keeps
//! "the input ended early" apart from "the input is wrong". Encoding appends to a `Vec<u8>`.

use thiserror::Error;

/// Why a byte sequence could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value was complete.
    #[error("input ended early: {0} more byte(s) needed")]
    NeedMore(usize),
    /// The input is present but not a valid encoding.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A complete value was followed by bytes the unit does not allow.
    #[error("{0} trailing byte(s)")]
    Trailing(usize),
}

/// Result alias for decoders.
pub type DecodeResult<T> = Result<T, DecodeError>;

/// A cursor over borrowed bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input, position: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> &'a [u8] {
        &self.input[self.position..]
    }

    pub fn is_empty(&self) -> bool {
        self.position >= self.input.len()
    }

    pub fn position(&self) -> usize {
        self.position
    }

    /// Fails unless every byte was consumed (the reference's `parseAll`).
    pub fn finish(&self) -> DecodeResult<()> {
        match self.remaining().len() {
            0 => Ok(()),
            n => Err(DecodeError::Trailing(n)),
        }
    }

    pub fn take(&mut self, count: usize) -> DecodeResult<&'a [u8]> {
        let rest = self.remaining();
        if rest.len() < count {
            return Err(DecodeError::NeedMore(count - rest.len()));
        }
        self.position += count;
        Ok(&rest[..count])
    }

    pub fn take_array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let bytes = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    /// The next byte without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.remaining().first().copied()
    }

    pub fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> DecodeResult<u16> {
        Ok(u16::from_be_bytes(self.take_array()?))
    }

    pub fn u32(&mut self) -> DecodeResult<u32> {
        Ok(u32::from_be_bytes(self.take_array()?))
    }

    pub fn i64(&mut self) -> DecodeResult<i64> {
        Ok(i64::from_be_bytes(self.take_array()?))
    }

    /// `T` / `F`; any other byte is malformed.
    pub fn bool(&mut self) -> DecodeResult<bool> {
        match self.u8()? {
            b'T' => Ok(true),
            b'F' => Ok(false),
            _ => Err(DecodeError::Malformed("bool")),
        }
    }

    /// Consumes `expected` or fails without consuming anything.
    pub fn literal(&mut self, expected: &[u8], what: &'static str) -> DecodeResult<()> {
        let rest = self.remaining();
        if rest.len() < expected.len() {
            if expected.starts_with(rest) {
                return Err(DecodeError::NeedMore(expected.len() - rest.len()));
            }
            return Err(DecodeError::Malformed(what));
        }
        if &rest[..expected.len()] != expected {
            return Err(DecodeError::Malformed(what));
        }
        self.position += expected.len();
        Ok(())
    }

    /// A single space (0x20).
    pub fn space(&mut self) -> DecodeResult<()> {
        self.literal(b" ", "separator (space)")
    }

    /// `s8`: one length byte, then that many bytes.
    pub fn short_bytes(&mut self) -> DecodeResult<&'a [u8]> {
        let length = self.u8()? as usize;
        self.take(length)
    }

    /// `s16` ("Large"): two length bytes, then that many bytes.
    pub fn large_bytes(&mut self) -> DecodeResult<&'a [u8]> {
        let length = self.u16()? as usize;
        self.take(length)
    }

    /// Everything left (the reference's `Tail`).
    pub fn tail(&mut self) -> &'a [u8] {
        let rest = self.remaining();
        self.position = self.input.len();
        rest
    }

    /// `opt(X)`: `0` for absent, `1` followed by X.
    pub fn optional<T>(
        &mut self,
        item: impl FnOnce(&mut Self) -> DecodeResult<T>,
    ) -> DecodeResult<Option<T>> {
        match self.u8()? {
            b'0' => Ok(None),
            b'1' => item(self).map(Some),
            _ => Err(DecodeError::Malformed("optional marker")),
        }
    }

    /// `list8(X)`: a count byte, then that many items.
    pub fn list8<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> DecodeResult<T>,
    ) -> DecodeResult<Vec<T>> {
        let count = self.u8()? as usize;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(item(self)?);
        }
        Ok(items)
    }

    /// `ne8(X)`: like [`Reader::list8`] but a zero count is malformed.
    pub fn non_empty8<T>(
        &mut self,
        item: impl FnMut(&mut Self) -> DecodeResult<T>,
    ) -> DecodeResult<Vec<T>> {
        if self.peek() == Some(0) {
            return Err(DecodeError::Malformed("empty list"));
        }
        self.list8(item)
    }

    /// Runs `item` and rewinds if it fails (the reference's optional parsers that backtrack).
    pub fn attempt<T>(&mut self, item: impl FnOnce(&mut Self) -> DecodeResult<T>) -> Option<T> {
        let saved = self.position;
        match item(self) {
            Ok(value) => Some(value),
            Err(_) => {
                self.position = saved;
                None
            }
        }
    }
}

/// Appending encoders for the primitives, on the output buffer.
pub trait Writer {
    fn put_u8(&mut self, value: u8);
    fn put_u16(&mut self, value: u16);
    fn put_u32(&mut self, value: u32);
    fn put_i64(&mut self, value: i64);
    fn put_bool(&mut self, value: bool);
    fn put_bytes(&mut self, bytes: &[u8]);
    /// `s8`. The caller guarantees `bytes.len() <= 255` (types that use `s8` are bounded).
    fn put_short(&mut self, bytes: &[u8]);
    /// `s16`. The caller guarantees `bytes.len() <= 65535`.
    fn put_large(&mut self, bytes: &[u8]);
    /// `opt(X)`.
    fn put_optional<T>(&mut self, value: Option<&T>, item: impl FnOnce(&mut Self, &T));
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, value: u8) {
        self.push(value);
    }
    fn put_u16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_u32(&mut self, value: u32) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_i64(&mut self, value: i64) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_bool(&mut self, value: bool) {
        self.push(if value { b'T' } else { b'F' });
    }
    fn put_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn put_short(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.len() <= 255, "s8 value longer than 255 bytes");
        let length = bytes.len().min(255);
        self.push(length as u8);
        self.extend_from_slice(&bytes[..length]);
    }
    fn put_large(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.len() <= 65535, "s16 value longer than 65535 bytes");
        let length = bytes.len().min(65535);
        self.extend_from_slice(&(length as u16).to_be_bytes());
        self.extend_from_slice(&bytes[..length]);
    }
    fn put_optional<T>(&mut self, value: Option<&T>, item: impl FnOnce(&mut Self, &T)) {
        match value {
            None => self.push(b'0'),
            Some(inner) => {
                self.push(b'1');
                item(self, inner);
            }
        }
    }
}

/// A value with one binary wire form.
pub trait Encode {
    fn encode(&self, out: &mut Vec<u8>);

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// A value parsed from its binary wire form.
pub trait Decode: Sized {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self>;

    /// Decodes a whole unit: trailing bytes are an error.
    fn from_bytes(bytes: &[u8]) -> DecodeResult<Self> {
        let mut reader = Reader::new(bytes);
        let value = Self::decode(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}

/// Byte string of at most 255 bytes: the `s8` wire form (`Encoding ByteString`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ShortBytes(Vec<u8>);

impl ShortBytes {
    pub const MAX: usize = 255;

    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, DecodeError> {
        let bytes = bytes.into();
        if bytes.len() > Self::MAX {
            return Err(DecodeError::Malformed("short string longer than 255 bytes"));
        }
        Ok(ShortBytes(bytes))
    }

    pub fn empty() -> Self {
        ShortBytes(Vec::new())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl std::fmt::Debug for ShortBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShortBytes(")?;
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

impl AsRef<[u8]> for ShortBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Encode for ShortBytes {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_short(&self.0);
    }
}

impl Decode for ShortBytes {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(ShortBytes(reader.short_bytes()?.to_vec()))
    }
}

/// Timestamp in whole seconds since the Unix epoch (`Encoding SystemTime`: `i64`, nanoseconds dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SystemTime(pub i64);

impl Encode for SystemTime {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_i64(self.0);
    }
}

impl Decode for SystemTime {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        reader.i64().map(SystemTime)
    }
}

/// Why [`pad`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("message of {length} bytes does not fit in a padded unit of {padded} bytes")]
pub struct PadError {
    pub length: usize,
    pub padded: usize,
}

/// `Crypto.pad`: `u16 len || message || '#'…` to exactly `padded_length` bytes.
pub fn pad(message: &[u8], padded_length: usize) -> Result<Vec<u8>, PadError> {
    let mut out = Vec::with_capacity(padded_length);
    pad_into(message, padded_length, &mut out)?;
    Ok(out)
}

/// [`pad`] appending to `out`.
pub fn pad_into(message: &[u8], padded_length: usize, out: &mut Vec<u8>) -> Result<(), PadError> {
    let length = message.len();
    if length > 65533 || length + 2 > padded_length {
        return Err(PadError {
            length,
            padded: padded_length,
        });
    }
    out.reserve(padded_length);
    out.put_u16(length as u16);
    out.extend_from_slice(message);
    out.resize(out.len() + padded_length - length - 2, b'#');
    Ok(())
}

/// `Crypto.unPad`: the message inside a padded unit. The filler is not checked (as in the reference).
pub fn unpad(padded: &[u8]) -> DecodeResult<&[u8]> {
    let mut reader = Reader::new(padded);
    let length = reader.u16()? as usize;
    reader
        .take(length)
        .map_err(|_| DecodeError::Malformed("padding length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int64_vector_from_reference_encoding_tests() {
        // tests/CoreTests/EncodingTests.hs: Int64 1234567890123456789
        let mut out = Vec::new();
        out.put_i64(1234567890123456789);
        assert_eq!(out, [0x11, 0x22, 0x10, 0xf4, 0x7d, 0xe9, 0x81, 0x15]);
        assert_eq!(Reader::new(&out).i64(), Ok(1234567890123456789));
    }

    #[test]
    fn negative_int64_round_trips() {
        let mut out = Vec::new();
        out.put_i64(-2);
        assert_eq!(out, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(Reader::new(&out).i64(), Ok(-2));
    }

    #[test]
    fn bool_and_optional_markers() {
        assert_eq!(Reader::new(b"T").bool(), Ok(true));
        assert_eq!(Reader::new(b"F").bool(), Ok(false));
        assert_eq!(
            Reader::new(b"t").bool(),
            Err(DecodeError::Malformed("bool"))
        );
        assert_eq!(Reader::new(b"0").optional(|r| r.u8()), Ok(None));
        assert_eq!(Reader::new(b"1\x07").optional(|r| r.u8()), Ok(Some(7)));
        assert!(matches!(
            Reader::new(b"2").optional(|r| r.u8()),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn short_and_large_strings() {
        let mut out = Vec::new();
        out.put_short(b"abc");
        out.put_large(b"de");
        assert_eq!(out, b"\x03abc\x00\x02de");
        let mut reader = Reader::new(&out);
        assert_eq!(reader.short_bytes(), Ok(&b"abc"[..]));
        assert_eq!(reader.large_bytes(), Ok(&b"de"[..]));
        assert!(reader.finish().is_ok());
        assert_eq!(
            Reader::new(b"\x05ab").short_bytes(),
            Err(DecodeError::NeedMore(3))
        );
    }

    #[test]
    fn lists_and_non_empty_lists() {
        assert_eq!(
            Reader::new(b"\x02\x01\x02").list8(|r| r.u8()),
            Ok(vec![1, 2])
        );
        assert_eq!(Reader::new(b"\x00").list8(|r| r.u8()), Ok(vec![]));
        assert_eq!(
            Reader::new(b"\x00").non_empty8(|r| r.u8()),
            Err(DecodeError::Malformed("empty list"))
        );
    }

    #[test]
    fn padding_layout_and_limits() {
        let padded = pad(b"hi", 8).expect("fits");
        assert_eq!(padded, b"\x00\x02hi####");
        assert_eq!(unpad(&padded), Ok(&b"hi"[..]));
        assert!(pad(b"hello!", 7).is_err());
        assert!(pad(b"hello", 7).is_ok());
        assert!(unpad(b"\x00\x09abc").is_err());
        assert!(unpad(b"\x00").is_err());
    }

    #[test]
    fn trailing_bytes_are_reported() {
        assert_eq!(
            ShortBytes::from_bytes(b"\x01a"),
            Ok(ShortBytes::new(*b"a").unwrap_or_default())
        );
        assert_eq!(
            ShortBytes::from_bytes(b"\x01ab"),
            Err(DecodeError::Trailing(1))
        );
    }

    #[test]
    fn attempt_rewinds_on_failure() {
        let mut reader = Reader::new(b"\x05ab");
        assert_eq!(
            reader.attempt(|r| r.short_bytes().map(<[u8]>::to_vec)),
            None
        );
        assert_eq!(reader.position(), 0);
    }
}
