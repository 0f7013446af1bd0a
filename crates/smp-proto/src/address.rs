//! SMP server addresses (`Protocol.ProtocolServer`, `serverStrP`, `strEncodeServer`), hosts
//! (`Transport.Client.TransportHost`) and the server password (`Protocol.BasicAuth`).
//!
//! Text form: `smp://<keyHash base64url>[:<password>]@<host>[,<host>…][:<port>]`. The port is kept
//! as the text that was given (digits, normalised as a decimal number); an absent port is the empty
//! string, printed as nothing and meaning "the default" (5223, or 443 when the client uses the web
//! port). Binary form (inside `PRXY`): `ne8(s8(host text)) s8(port) s8(keyHash)`.

use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};
use crate::keys::KeyHash;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Port used when an address has none (`Transport.Client.defaultSMPPort`).
pub const DEFAULT_SMP_PORT: u16 = 5223;

/// A server host (`Transport.Client.TransportHost`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransportHost {
    Ipv4(Ipv4Addr),
    /// Printed without brackets.
    Ipv6(Ipv6Addr),
    /// `[a-z0-9]*.onion`
    Onion(String),
    /// Any other name (no `:#,;/` or whitespace, not ending in `.onion`).
    Domain(String),
}

impl TransportHost {
    /// Parses the longest host at the start of `text`, returning it and the bytes consumed
    /// (`instance StrEncoding TransportHost: strP`).
    pub(crate) fn parse_prefix(text: &[u8]) -> DecodeResult<(Self, usize)> {
        if let Some(result) = parse_ipv4_prefix(text) {
            return Ok(result);
        }
        // IPv6: `[addr]` or a run of hex digits and colons.
        let (candidate, consumed) = if text.first() == Some(&b'[') {
            match text.iter().position(|byte| *byte == b']') {
                Some(end) if end > 1 => (&text[1..end], end + 1),
                _ => (&text[..0], 0),
            }
        } else {
            let end = text
                .iter()
                .position(|byte| !(byte.is_ascii_hexdigit() || *byte == b':'))
                .unwrap_or(text.len());
            (&text[..end], end)
        };
        if consumed > 0 {
            if let Some(address) = std::str::from_utf8(candidate)
                .ok()
                .and_then(|text| text.parse::<Ipv6Addr>().ok())
            {
                return Ok((TransportHost::Ipv6(address), consumed));
            }
        }
        let label = text
            .iter()
            .position(|byte| !(byte.is_ascii_lowercase() || byte.is_ascii_digit()))
            .unwrap_or(text.len());
        if text[label..].starts_with(b".onion") {
            let end = label + 6;
            let name = String::from_utf8_lossy(&text[..end]).into_owned();
            return Ok((TransportHost::Onion(name), end));
        }
        let end = text
            .iter()
            .position(|byte| b":#,;/ \n\r\t".contains(byte))
            .unwrap_or(text.len());
        if end == 0 || text[..end].ends_with(b".onion") {
            return Err(DecodeError::Malformed("host"));
        }
        let name =
            std::str::from_utf8(&text[..end]).map_err(|_| DecodeError::Malformed("host name"))?;
        Ok((TransportHost::Domain(name.to_owned()), end))
    }

    /// Parses a whole host text.
    pub fn parse(text: &str) -> DecodeResult<Self> {
        let (host, consumed) = TransportHost::parse_prefix(text.as_bytes())?;
        if consumed != text.len() {
            return Err(DecodeError::Malformed("host"));
        }
        Ok(host)
    }
}

/// `d.d.d.d`; `None` when the text does not start like an address.
fn parse_ipv4_prefix(text: &[u8]) -> Option<(TransportHost, usize)> {
    let mut position = 0;
    let mut octets = [0u8; 4];
    for (index, octet) in octets.iter_mut().enumerate() {
        let digits = text[position..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        // `A.decimal :: Parser Int`: wraps modulo 2^64 like the reference's 64-bit `Int`.
        let value = text[position..position + digits]
            .iter()
            .fold(0i64, |acc, digit| {
                acc.wrapping_mul(10).wrapping_add(i64::from(digit - b'0'))
            });
        position += digits;
        if index < 3 {
            if text.get(position) != Some(&b'.') {
                return None;
            }
            position += 1;
        }
        *octet = match u8::try_from(value) {
            Ok(value) => value,
            // The first three numbers are range-checked (the text is then read as a domain);
            // the last one is read as a `Word8` and wraps, as in the reference.
            Err(_) if index < 3 => return None,
            Err(_) => wrap_decimal(&text[position - digits..position]),
        };
    }
    Some((TransportHost::Ipv4(Ipv4Addr::from(octets)), position))
}

/// A decimal number modulo 256 (`A.decimal :: Parser Word8`).
fn wrap_decimal(digits: &[u8]) -> u8 {
    digits.iter().fold(0u8, |acc, digit| {
        acc.wrapping_mul(10).wrapping_add(digit - b'0')
    })
}

impl std::fmt::Display for TransportHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportHost::Ipv4(address) => address.fmt(f),
            TransportHost::Ipv6(address) => address.fmt(f),
            TransportHost::Onion(name) | TransportHost::Domain(name) => f.write_str(name),
        }
    }
}

impl Encode for TransportHost {
    /// `s8(text form)`.
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_short(self.to_string().as_bytes());
    }
}

impl Decode for TransportHost {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let text = std::str::from_utf8(reader.short_bytes()?)
            .map_err(|_| DecodeError::Malformed("host"))?;
        TransportHost::parse(text)
    }
}

/// The server password (`Protocol.BasicAuth`): bytes that are printable, not white space and not
/// `@`, `:` or `/`, each byte read as a Latin-1 character (`Protocol.basicAuth`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BasicAuth(Vec<u8>);

impl BasicAuth {
    /// Validates `bytes` (at most 255 of them: the wire form is `s8`).
    pub fn new(bytes: impl Into<Vec<u8>>) -> DecodeResult<Self> {
        let bytes = bytes.into();
        if bytes.len() > 255 || !bytes.iter().all(|byte| BasicAuth::valid_byte(*byte)) {
            return Err(DecodeError::Malformed("basic auth"));
        }
        Ok(BasicAuth(bytes))
    }

    /// `isPrint c && not (isSpace c) && c ∉ "@:/"` for a Latin-1 character.
    pub fn valid_byte(byte: u8) -> bool {
        matches!(byte, 0x21..=0x7e | 0xa1..=0xff) && !matches!(byte, b'@' | b':' | b'/' | 0xad)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BasicAuth(<redacted>)")
    }
}

impl Encode for BasicAuth {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_short(&self.0);
    }
}

impl Decode for BasicAuth {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        BasicAuth::new(reader.short_bytes()?.to_vec())
    }
}

/// An SMP server: hosts, port text and identity (`Protocol.ProtocolServer 'PSMP`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmpServer {
    /// At least one host, the preferred first.
    pub hosts: Vec<TransportHost>,
    /// Decimal port, or empty for the default.
    pub port: String,
    pub key_hash: KeyHash,
}

impl SmpServer {
    /// The port to connect to: the given one, else [`DEFAULT_SMP_PORT`].
    pub fn port_or_default(&self) -> u16 {
        self.port.parse().unwrap_or(DEFAULT_SMP_PORT)
    }
}

impl Encode for SmpServer {
    fn encode(&self, out: &mut Vec<u8>) {
        // At most 255 hosts: checked when built by `decode`/`ServerAddress::parse`.
        out.put_u8(self.hosts.len().min(255) as u8);
        for host in self.hosts.iter().take(255) {
            host.encode(out);
        }
        out.put_short(self.port.as_bytes());
        self.key_hash.encode(out);
    }
}

impl Decode for SmpServer {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let hosts = reader.non_empty8(TransportHost::decode)?;
        let port = String::from_utf8(reader.short_bytes()?.to_vec())
            .map_err(|_| DecodeError::Malformed("port"))?;
        let key_hash = KeyHash::decode(reader)?;
        Ok(SmpServer {
            hosts,
            port,
            key_hash,
        })
    }
}

/// A server address with an optional password, in text (`Protocol.ProtoServerWithAuth`,
/// `strEncodeServer`, `serverStrP`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerAddress {
    pub server: SmpServer,
    pub basic_auth: Option<BasicAuth>,
}

impl ServerAddress {
    /// Parses `smp://keyHash[:password]@host[,host…][:port]`; the whole text must be used.
    pub fn parse(text: &str) -> DecodeResult<Self> {
        let (address, consumed) = ServerAddress::parse_prefix(text.as_bytes())?;
        if consumed != text.len() {
            return Err(DecodeError::Trailing(text.len() - consumed));
        }
        Ok(address)
    }

    /// Parses an address at the start of `text`; returns it and the bytes used.
    pub fn parse_prefix(text: &[u8]) -> DecodeResult<(Self, usize)> {
        let rest = text
            .strip_prefix(b"smp://")
            .ok_or(DecodeError::Malformed("server address scheme"))?;
        let mut position = 6;
        let hash_end = rest
            .iter()
            .position(|byte| !(byte.is_ascii_alphanumeric() || b"-_=".contains(byte)))
            .unwrap_or(rest.len());
        let hash_text = std::str::from_utf8(&rest[..hash_end])
            .map_err(|_| DecodeError::Malformed("key hash"))?;
        let key_hash = KeyHash::from_text(hash_text)?;
        position += hash_end;
        let mut basic_auth = None;
        if text.get(position) == Some(&b':') {
            let start = position + 1;
            let end = text[start..]
                .iter()
                .position(|byte| *byte == b'@')
                .map_or(text.len(), |offset| start + offset);
            if end == start {
                return Err(DecodeError::Malformed("basic auth"));
            }
            basic_auth = Some(BasicAuth::new(text[start..end].to_vec())?);
            position = end;
        }
        if text.get(position) != Some(&b'@') {
            return Err(DecodeError::Malformed("server address: '@' expected"));
        }
        position += 1;
        let mut hosts = Vec::new();
        loop {
            let (host, consumed) = TransportHost::parse_prefix(&text[position..])?;
            hosts.push(host);
            position += consumed;
            if text.get(position) == Some(&b',') {
                position += 1;
            } else {
                break;
            }
        }
        if hosts.len() > 255 {
            return Err(DecodeError::Malformed("too many hosts"));
        }
        let mut port = String::new();
        if text.get(position) == Some(&b':') {
            let digits = text[position + 1..]
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count();
            if digits > 0 {
                // `A.decimal :: Parser Int`, then `show`: wraps modulo 2^64 (and may print as a
                // negative number), as the reference does.
                let number = text[position + 1..position + 1 + digits]
                    .iter()
                    .fold(0i64, |acc, digit| {
                        acc.wrapping_mul(10).wrapping_add(i64::from(digit - b'0'))
                    });
                port = number.to_string();
                position += 1 + digits;
            }
        }
        Ok((
            ServerAddress {
                server: SmpServer {
                    hosts,
                    port,
                    key_hash,
                },
                basic_auth,
            },
            position,
        ))
    }
}

impl std::fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "smp://{}", self.server.key_hash)?;
        if let Some(auth) = &self.basic_auth {
            write!(f, ":{}", String::from_utf8_lossy(auth.as_bytes()))?;
        }
        f.write_str("@")?;
        for (index, host) in self.server.hosts.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            host.fmt(f)?;
        }
        if !self.server.port.is_empty() {
            write!(f, ":{}", self.server.port)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
