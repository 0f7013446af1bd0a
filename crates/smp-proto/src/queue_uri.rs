//! Queue addresses that clients pass out of band (`Agent.Protocol.SMPQueueUri`,
//! `SMPQueueAddress`, `SMPQueueInfo`): the URI text form and the binary forms.
//!
//! Text (`instance StrEncoding SMPQueueUri`), current form:
//! `smp://<keyHash>@<host>[,<host>…][:<port>]/<senderId>#/?v=<min>[-<max>]&dh=<key>[&q=m|c][&k=s]`
//! where `senderId` is padded base64url, `dh` the base64url of the X25519 DER key, and the query
//! is `k=v` pairs percent-escaped as `Network.HTTP.Types.renderSimpleQuery` does. When the
//! client range starts at version 1 the server part carries only its first host; the others go
//! into an `srv=` parameter. The parser also takes the older forms: the key in the fragment
//! (`#<dh>` alone, or `#<dh>/?v=…`), an optional `/` before `#` and before `?`, extra unknown
//! parameters, `k=s` standing for the messaging mode, and it adds the onion host of the
//! preset servers to a single-host address of a range that ends at version 1.

use crate::address::{ServerAddress, SmpServer, TransportHost};
use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};
use crate::command::{sender_can_secure, QueueMode};
use crate::ids::EntityId;
use crate::keys::{DhPublicKey, KeyHash, PublicKey};
use crate::text::{decode_base64url, encode_base64url};
use crate::version::{Version, VersionRange};

/// SMP client (queue address) versions (`Protocol.VersionSMPC`).
pub mod client_version {
    use crate::version::Version;
    /// `initialSMPClientVersion`.
    pub const INITIAL: Version = Version(1);
    /// `srvHostnamesSMPClientVersion`: all hosts in the server part.
    pub const SRV_HOSTNAMES: Version = Version(2);
    /// `sndAuthKeySMPClientVersion`: the sender may secure the queue (`k=s`, binary `T`/`F`).
    pub const SND_AUTH_KEY: Version = Version(3);
    /// `shortLinksSMPClientVersion`: queue mode (`q=`, binary `M`/`C`).
    pub const SHORT_LINKS: Version = Version(4);
    /// `currentSMPClientVersion`.
    pub const CURRENT: Version = Version(4);
}

/// A queue's address without versions (`Agent.Protocol.SMPQueueAddress`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueAddress {
    pub server: SmpServer,
    pub sender_id: EntityId,
    pub dh_public_key: DhPublicKey,
    pub queue_mode: Option<QueueMode>,
}

/// A queue address with the client version range (`Agent.Protocol.SMPQueueUri`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueUri {
    pub client_versions: VersionRange,
    pub address: QueueAddress,
}

/// A queue address at one client version (`Agent.Protocol.SMPQueueInfo`, binary only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueInfo {
    pub client_version: Version,
    pub address: QueueAddress,
}

/// Onion hosts added to the preset servers (`Agent.Protocol.extraSMPServerHosts`).
pub const EXTRA_SMP_SERVER_HOSTS: [(&str, &str); 6] = [
    (
        "smp4.simplex.im",
        "o5vmywmrnaxalvz6wi3zicyftgio6psuvyniis6gco6bp6ekl4cqj4id.onion",
    ),
    (
        "smp5.simplex.im",
        "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion",
    ),
    (
        "smp6.simplex.im",
        "bylepyau3ty4czmn77q4fglvperknl4bi2eb2fdy2bh4jxtf32kf73yd.onion",
    ),
    (
        "smp8.simplex.im",
        "beccx4yfxxbvyhqypaavemqurytl6hozr47wfc7uuecacjqdvwpw2xid.onion",
    ),
    (
        "smp9.simplex.im",
        "jssqzccmrcws6bhmn77vgmhfjmhwlyr3u7puw4erkyoosywgl67slqqd.onion",
    ),
    (
        "smp10.simplex.im",
        "rb2pbttocvnbrngnwziclp2f4ckjq65kebafws6g4hy22cdaiv5dwjqd.onion",
    ),
];

/// `Agent.Protocol.updateSMPServerHosts`: a single preset host gets its onion host appended.
pub fn update_smp_server_hosts(mut server: SmpServer) -> SmpServer {
    if let [TransportHost::Domain(name)] = server.hosts.as_slice() {
        if let Some((_, onion)) = EXTRA_SMP_SERVER_HOSTS.iter().find(|(host, _)| host == name) {
            server.hosts.push(TransportHost::Onion((*onion).to_owned()));
        }
    }
    server
}

impl QueueUri {
    /// Parses the whole text (`strDecode` of `SMPQueueUri`).
    pub fn parse(text: &str) -> DecodeResult<Self> {
        let bytes = text.as_bytes();
        let (address, mut position) = ServerAddress::parse_prefix(bytes)?;
        if address.basic_auth.is_some() {
            return Err(DecodeError::Malformed(
                "queue URI: server password not allowed",
            ));
        }
        expect(bytes, &mut position, b'/')?;
        let sender_id = EntityId::new(base64url_prefix(bytes, &mut position)?)?;
        if bytes.get(position) == Some(&b'/') {
            position += 1;
        }
        expect(bytes, &mut position, b'#')?;
        let fragment = &bytes[position..];
        let (client_versions, extra_hosts, dh_public_key, queue_mode) =
            match parse_versioned(fragment) {
                Ok(parts) => parts,
                Err(versioned_error) => {
                    // Unversioned: `#<dh key>` and nothing after it.
                    let mut end = 0;
                    let key = base64url_prefix(fragment, &mut end)
                        .and_then(|der| dh_key_from_der(&der))
                        .map_err(|_| versioned_error.clone())?;
                    if end != fragment.len() {
                        return Err(versioned_error);
                    }
                    (
                        VersionRange::single(client_version::INITIAL),
                        Vec::new(),
                        key,
                        None,
                    )
                }
            };
        let mut server = address.server;
        server.hosts.extend(extra_hosts);
        if server.hosts.len() > 255 {
            return Err(DecodeError::Malformed("too many hosts"));
        }
        if client_versions.max() < client_version::SRV_HOSTNAMES {
            server = update_smp_server_hosts(server);
        }
        Ok(QueueUri {
            client_versions,
            address: QueueAddress {
                server,
                sender_id,
                dh_public_key,
                queue_mode,
            },
        })
    }
}

type VersionedParts = (
    VersionRange,
    Vec<TransportHost>,
    DhPublicKey,
    Option<QueueMode>,
);

/// `[<dh key>][/]?<query>` up to a space or newline; the whole fragment must be used.
fn parse_versioned(fragment: &[u8]) -> DecodeResult<VersionedParts> {
    let mut position = 0;
    let mut key_end = 0;
    let fragment_key = base64url_prefix(fragment, &mut key_end)
        .and_then(|der| dh_key_from_der(&der))
        .ok();
    if fragment_key.is_some() {
        position = key_end;
    }
    if fragment.get(position) == Some(&b'/') {
        position += 1;
    }
    expect(fragment, &mut position, b'?')?;
    let query_end = fragment[position..]
        .iter()
        .position(|byte| *byte == b' ' || *byte == b'\n')
        .map_or(fragment.len(), |offset| position + offset);
    if query_end != fragment.len() {
        return Err(DecodeError::Trailing(fragment.len() - query_end));
    }
    let query = parse_simple_query(&fragment[position..query_end]);
    let versions = parse_version_range(
        param(&query, b"v").ok_or(DecodeError::Malformed("queue URI: no v parameter"))?,
    )?;
    let dh_public_key = match fragment_key {
        Some(key) => key,
        None => {
            let text =
                param(&query, b"dh").ok_or(DecodeError::Malformed("queue URI: no dh parameter"))?;
            let mut end = 0;
            let key = dh_key_from_der(&base64url_prefix(text, &mut end)?)?;
            if end != text.len() {
                return Err(DecodeError::Malformed("queue URI: dh parameter"));
            }
            key
        }
    };
    let hosts = match param(&query, b"srv") {
        Some(text) => parse_hosts_list(text)?,
        None => Vec::new(),
    };
    let queue_mode = match param(&query, b"q") {
        Some(b"m") => Some(QueueMode::Messaging),
        Some(b"c") => Some(QueueMode::Contact),
        _ if param(&query, b"k") == Some(b"s") => Some(QueueMode::Messaging),
        _ => None,
    };
    Ok((versions, hosts, dh_public_key, queue_mode))
}

fn expect(bytes: &[u8], position: &mut usize, byte: u8) -> DecodeResult<()> {
    if bytes.get(*position) == Some(&byte) {
        *position += 1;
        Ok(())
    } else {
        Err(DecodeError::Malformed("queue URI syntax"))
    }
}

/// `Encoding.String.base64urlP`: a non-empty run of `[A-Za-z0-9_-]`, any `=`, decoded.
fn base64url_prefix(bytes: &[u8], position: &mut usize) -> DecodeResult<Vec<u8>> {
    let rest = &bytes[*position..];
    let body = rest
        .iter()
        .take_while(|byte| byte.is_ascii_alphanumeric() || **byte == b'-' || **byte == b'_')
        .count();
    if body == 0 {
        return Err(DecodeError::Malformed("base64url text"));
    }
    let padding = rest[body..]
        .iter()
        .take_while(|byte| **byte == b'=')
        .count();
    let decoded = decode_base64url(&rest[..body + padding])?;
    *position += body + padding;
    Ok(decoded)
}

fn dh_key_from_der(der: &[u8]) -> DecodeResult<DhPublicKey> {
    match PublicKey::from_der(der)? {
        PublicKey::X25519(raw) => Ok(DhPublicKey(raw)),
        _ => Err(DecodeError::Malformed("X25519 key expected")),
    }
}

/// `instance StrEncoding VersionRange`: `<min>[-<max>]`, each read as a `Word16` decimal
/// (wrapping modulo 65536, as `A.decimal` does), `min <= max`.
pub fn parse_version_range(text: &[u8]) -> DecodeResult<VersionRange> {
    fn decimal(text: &[u8], position: &mut usize) -> DecodeResult<Version> {
        let digits = text[*position..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if digits == 0 {
            return Err(DecodeError::Malformed("version"));
        }
        let value = text[*position..*position + digits]
            .iter()
            .fold(0u16, |acc, digit| {
                acc.wrapping_mul(10).wrapping_add(u16::from(digit - b'0'))
            });
        *position += digits;
        Ok(Version(value))
    }
    let mut position = 0;
    let min = decimal(text, &mut position)?;
    let max = if text.get(position) == Some(&b'-') {
        position += 1;
        decimal(text, &mut position)?
    } else {
        min
    };
    if position != text.len() {
        return Err(DecodeError::Malformed("version range"));
    }
    VersionRange::new(min, max).ok_or(DecodeError::Malformed("version range"))
}

/// `instance StrEncoding VersionRange`: `4` for a single version, else `1-4`.
pub fn version_range_text(range: &VersionRange) -> String {
    if range.min() == range.max() {
        range.min().0.to_string()
    } else {
        format!("{}-{}", range.min().0, range.max().0)
    }
}

/// `Transport.Client.TransportHosts_`: hosts separated by `,`, possibly none.
fn parse_hosts_list(text: &[u8]) -> DecodeResult<Vec<TransportHost>> {
    let mut hosts = Vec::new();
    if text.is_empty() {
        return Ok(hosts);
    }
    let mut position = 0;
    loop {
        let (host, consumed) = TransportHost::parse_prefix(&text[position..])?;
        hosts.push(host);
        position += consumed;
        match text.get(position) {
            None => return Ok(hosts),
            Some(b',') => position += 1,
            Some(_) => return Err(DecodeError::Malformed("srv parameter")),
        }
    }
}

/// The value of the first parameter called `name`.
fn param<'q>(query: &'q [(Vec<u8>, Vec<u8>)], name: &[u8]) -> Option<&'q [u8]> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_slice())
}

/// `Network.HTTP.Types.parseSimpleQuery`: an optional leading `?`, pairs separated by `&` or `;`,
/// split at the first `=` (no `=`: empty value), `+` read as a space, `%XX` decoded (a `%` not
/// followed by two hex digits is kept).
pub fn parse_simple_query(text: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let text = text.strip_prefix(b"?").unwrap_or(text);
    let mut pairs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|byte| *byte == b'&' || *byte == b';')
            .unwrap_or(rest.len());
        let part = &rest[..end];
        pairs.push(match part.iter().position(|byte| *byte == b'=') {
            Some(equals) => (url_decode(&part[..equals]), url_decode(&part[equals + 1..])),
            None => (url_decode(part), Vec::new()),
        });
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    pairs
}

/// `Network.HTTP.Types.urlDecode True`.
pub fn url_decode(text: &[u8]) -> Vec<u8> {
    fn hex(byte: u8) -> Option<u8> {
        match byte {
            b'0'..=b'9' => Some(byte - b'0'),
            b'A'..=b'F' => Some(byte - b'A' + 10),
            b'a'..=b'f' => Some(byte - b'a' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        match text[index] {
            b'+' => out.push(b' '),
            b'%' => {
                let pair = text
                    .get(index + 1)
                    .and_then(|high| hex(*high))
                    .zip(text.get(index + 2).and_then(|low| hex(*low)));
                match pair {
                    Some((high, low)) => {
                        out.push(high << 4 | low);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    out
}

/// `Network.HTTP.Types.urlEncode True`: `[A-Za-z0-9-_.~]` kept, space as `+`, the rest `%XX`
/// with upper-case hex.
pub fn url_encode(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in bytes {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(*byte));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 15)]));
            }
        }
    }
}

/// `Network.HTTP.Types.renderSimpleQuery False`.
pub fn render_simple_query(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        url_encode(key.as_bytes(), &mut out);
        out.push('=');
        url_encode(value.as_bytes(), &mut out);
    }
    out
}

fn dh_key_text(key: &DhPublicKey) -> String {
    encode_base64url(&PublicKey::X25519(key.0).to_der())
}

impl std::fmt::Display for QueueUri {
    /// `strEncode` of `SMPQueueUri`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let address = &self.address;
        let min = self.client_versions.min();
        let mut params = vec![
            ("v", version_range_text(&self.client_versions)),
            ("dh", dh_key_text(&address.dh_public_key)),
        ];
        match address.queue_mode {
            Some(QueueMode::Messaging) => params.push(("q", "m".to_owned())),
            Some(QueueMode::Contact) => params.push(("q", "c".to_owned())),
            None => {}
        }
        if sender_can_secure(address.queue_mode) && min < client_version::SHORT_LINKS {
            params.push(("k", "s".to_owned()));
        }
        let server = if min >= client_version::SRV_HOSTNAMES {
            address.server.clone()
        } else {
            let extra: Vec<String> = address
                .server
                .hosts
                .iter()
                .skip(1)
                .map(ToString::to_string)
                .collect();
            if !extra.is_empty() {
                params.push(("srv", extra.join(",")));
            }
            SmpServer {
                hosts: address.server.hosts.iter().take(1).cloned().collect(),
                ..address.server.clone()
            }
        };
        let server = ServerAddress {
            server,
            basic_auth: None,
        };
        write!(
            f,
            "{server}/{}#/?{}",
            encode_base64url(address.sender_id.as_bytes()),
            render_simple_query(&params)
        )
    }
}

/// `(clientVRange | clientVersion, smpServer, senderId, dhPublicKey)` in binary.
fn encode_address(address: &QueueAddress, out: &mut Vec<u8>) {
    address.server.encode(out);
    address.sender_id.encode(out);
    address.dh_public_key.encode(out);
}

/// `Agent.Protocol.queueModeP`: `M`/`C`, else an optional `T` (messaging) / `F` (contact).
fn decode_queue_mode(reader: &mut Reader<'_>) -> Option<QueueMode> {
    reader.attempt(QueueMode::decode).or_else(|| {
        reader.attempt(Reader::bool).map(|secure| {
            if secure {
                QueueMode::Messaging
            } else {
                QueueMode::Contact
            }
        })
    })
}

impl Encode for QueueUri {
    /// `instance Encoding SMPQueueUri`.
    fn encode(&self, out: &mut Vec<u8>) {
        let (min, max) = (self.client_versions.min(), self.client_versions.max());
        self.client_versions.encode(out);
        encode_address(&self.address, out);
        let secure = sender_can_secure(self.address.queue_mode);
        if min >= client_version::SHORT_LINKS {
            if let Some(mode) = self.address.queue_mode {
                mode.encode(out);
            }
        } else if min >= client_version::SND_AUTH_KEY
            || (max >= client_version::SND_AUTH_KEY && secure)
        {
            out.put_bool(secure);
        }
    }
}

impl Decode for QueueUri {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let client_versions = VersionRange::decode(reader)?;
        let server = SmpServer::decode(reader)?;
        let sender_id = EntityId::decode(reader)?;
        let dh_public_key = DhPublicKey::decode(reader)?;
        let queue_mode = decode_queue_mode(reader);
        Ok(QueueUri {
            client_versions,
            address: QueueAddress {
                server,
                sender_id,
                dh_public_key,
                queue_mode,
            },
        })
    }
}

impl Encode for QueueInfo {
    /// `instance Encoding SMPQueueInfo`; version 1 uses the one-host server form
    /// (`Protocol.legacyEncodeServer`).
    fn encode(&self, out: &mut Vec<u8>) {
        let version = self.client_version;
        let address = &self.address;
        self.client_version.encode(out);
        if version > client_version::INITIAL {
            encode_address(address, out);
            if version >= client_version::SHORT_LINKS {
                if let Some(mode) = address.queue_mode {
                    mode.encode(out);
                }
            } else if version >= client_version::SND_AUTH_KEY
                && sender_can_secure(address.queue_mode)
            {
                out.put_bool(true);
            }
        } else {
            // At most 255 hosts: `SmpServer` guarantees at least one.
            if let Some(host) = address.server.hosts.first() {
                host.encode(out);
            }
            out.put_short(address.server.port.as_bytes());
            address.server.key_hash.encode(out);
            address.sender_id.encode(out);
            address.dh_public_key.encode(out);
        }
    }
}

impl Decode for QueueInfo {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let client_version = Version::decode(reader)?;
        let server = if client_version > client_version::INITIAL {
            SmpServer::decode(reader)?
        } else {
            // `Protocol.legacyServerP`
            let host = TransportHost::decode(reader)?;
            let port = String::from_utf8(reader.short_bytes()?.to_vec())
                .map_err(|_| DecodeError::Malformed("port"))?;
            let key_hash = KeyHash::decode(reader)?;
            update_smp_server_hosts(SmpServer {
                hosts: vec![host],
                port,
                key_hash,
            })
        };
        let sender_id = EntityId::decode(reader)?;
        let dh_public_key = DhPublicKey::decode(reader)?;
        let queue_mode = decode_queue_mode(reader);
        Ok(QueueInfo {
            client_version,
            address: QueueAddress {
                server,
                sender_id,
                dh_public_key,
                queue_mode,
            },
        })
    }
}

#[cfg(test)]
#[path = "queue_uri_tests.rs"]
mod tests;
