//! The error codes a server sends in `ERR` (`Protocol.ErrorType` and its parts): text words on the
//! wire, one space between a code and its sub-code (`Protocol.hs: instance Encoding ErrorType`,
//! `CommandError`, `ProxyError`, `BrokerErrorType`, `NetworkError`, `BlockingInfo`).
//!
//! `STORE` text and the blocking info run to the end of the transmission; `RESPONSE`/`UNEXPECTED`
//! and the network details are `s8` strings.

use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, ShortBytes, Writer};
use crate::handshake::TransportError;
use crate::version::Version;

/// An `ERR` code (`Protocol.ErrorType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `BLOCK`: malformed block, transmission or authorization size.
    Block,
    /// `SESSION`: wrong session id (v6).
    Session,
    /// `CMD <error>`.
    Cmd(CommandError),
    /// `PROXY <error>`.
    Proxy(Box<ProxyError>),
    /// `AUTH`.
    Auth,
    /// `BLOCKED <info>` (v12+; `AUTH` below).
    Blocked(BlockingInfo),
    /// `SERVICE`.
    Service,
    /// `CRYPTO`.
    Crypto,
    /// `QUOTA`.
    Quota,
    /// `STORE <text>`.
    Store(String),
    /// `NO_MSG`.
    NoMsg,
    /// `LARGE_MSG`.
    LargeMsg,
    /// `EXPIRED` (defined, never sent by the reference server).
    Expired,
    /// `INTERNAL`.
    Internal,
    /// `DUPLICATE_` (defined, never sent by the reference server).
    Duplicate,
}

impl ErrorType {
    /// The form sent to a client of `version` (`encodeProtocol … ERR`): `BLOCKED` becomes `AUTH`
    /// below v12, and its notice is dropped below v18.
    pub fn for_version(&self, version: Version) -> ErrorType {
        match self {
            ErrorType::Blocked(_) if version < Version::BLOCKED_ENTITY => ErrorType::Auth,
            ErrorType::Blocked(info) if version < Version::CLIENT_NOTICES => {
                ErrorType::Blocked(BlockingInfo {
                    reason: info.reason,
                    notice: None,
                })
            }
            other => other.clone(),
        }
    }
}

impl Encode for ErrorType {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ErrorType::Block => out.put_bytes(b"BLOCK"),
            ErrorType::Session => out.put_bytes(b"SESSION"),
            ErrorType::Cmd(error) => {
                out.put_bytes(b"CMD ");
                error.encode(out);
            }
            ErrorType::Proxy(error) => {
                out.put_bytes(b"PROXY ");
                error.encode(out);
            }
            ErrorType::Auth => out.put_bytes(b"AUTH"),
            ErrorType::Blocked(info) => {
                out.put_bytes(b"BLOCKED ");
                info.encode(out);
            }
            ErrorType::Service => out.put_bytes(b"SERVICE"),
            ErrorType::Crypto => out.put_bytes(b"CRYPTO"),
            ErrorType::Quota => out.put_bytes(b"QUOTA"),
            ErrorType::Store(text) => {
                out.put_bytes(b"STORE ");
                out.put_bytes(text.as_bytes());
            }
            ErrorType::NoMsg => out.put_bytes(b"NO_MSG"),
            ErrorType::LargeMsg => out.put_bytes(b"LARGE_MSG"),
            ErrorType::Expired => out.put_bytes(b"EXPIRED"),
            ErrorType::Internal => out.put_bytes(b"INTERNAL"),
            ErrorType::Duplicate => out.put_bytes(b"DUPLICATE_"),
        }
    }
}

/// Bytes up to the next space (`A.takeTill (== ' ')`), possibly none.
fn tag<'a>(reader: &mut Reader<'a>) -> &'a [u8] {
    let rest = reader.remaining();
    let length = rest
        .iter()
        .position(|byte| *byte == b' ')
        .unwrap_or(rest.len());
    // `length <= rest.len()`: cannot fail.
    reader.take(length).unwrap_or_default()
}

impl Decode for ErrorType {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(match tag(reader) {
            b"BLOCK" => ErrorType::Block,
            b"SESSION" => ErrorType::Session,
            b"CMD" => {
                reader.space()?;
                ErrorType::Cmd(CommandError::decode(reader)?)
            }
            b"PROXY" => {
                reader.space()?;
                ErrorType::Proxy(Box::new(ProxyError::decode(reader)?))
            }
            b"AUTH" => ErrorType::Auth,
            b"BLOCKED" => {
                reader.space()?;
                ErrorType::Blocked(BlockingInfo::decode(reader)?)
            }
            b"SERVICE" => ErrorType::Service,
            b"CRYPTO" => ErrorType::Crypto,
            b"QUOTA" => ErrorType::Quota,
            b"STORE" => {
                reader.space()?;
                ErrorType::Store(String::from_utf8_lossy(reader.tail()).into_owned())
            }
            b"NO_MSG" => ErrorType::NoMsg,
            b"LARGE_MSG" => ErrorType::LargeMsg,
            b"EXPIRED" => ErrorType::Expired,
            b"INTERNAL" => ErrorType::Internal,
            b"DUPLICATE_" => ErrorType::Duplicate,
            _ => return Err(DecodeError::Malformed("error type")),
        })
    }
}

impl std::fmt::Display for ErrorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl std::error::Error for ErrorType {}

/// `CMD` sub-codes (`Protocol.CommandError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandError {
    Unknown,
    Syntax,
    Prohibited,
    NoAuth,
    HasAuth,
    NoEntity,
}

impl Encode for CommandError {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_bytes(match self {
            CommandError::Unknown => b"UNKNOWN",
            CommandError::Syntax => b"SYNTAX",
            CommandError::Prohibited => b"PROHIBITED",
            CommandError::NoAuth => b"NO_AUTH",
            CommandError::HasAuth => b"HAS_AUTH",
            CommandError::NoEntity => b"NO_ENTITY",
        });
    }
}

impl Decode for CommandError {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(match tag(reader) {
            b"UNKNOWN" => CommandError::Unknown,
            b"SYNTAX" => CommandError::Syntax,
            b"PROHIBITED" => CommandError::Prohibited,
            b"NO_AUTH" => CommandError::NoAuth,
            b"HAS_AUTH" => CommandError::HasAuth,
            // The legacy name is still accepted.
            b"NO_ENTITY" | b"NO_QUEUE" => CommandError::NoEntity,
            _ => return Err(DecodeError::Malformed("command error")),
        })
    }
}

/// `PROXY` sub-codes (`Protocol.ProxyError`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProxyError {
    /// `PROTOCOL <error>`: the relay answered `ERR`.
    Protocol(ErrorType),
    /// `BROKER <error>`: the relay could not be reached or answered badly.
    Broker(BrokerError),
    /// `BASIC_AUTH`.
    BasicAuth,
    /// `NO_SESSION`.
    NoSession,
}

impl Encode for ProxyError {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ProxyError::Protocol(error) => {
                out.put_bytes(b"PROTOCOL ");
                error.encode(out);
            }
            ProxyError::Broker(error) => {
                out.put_bytes(b"BROKER ");
                error.encode(out);
            }
            ProxyError::BasicAuth => out.put_bytes(b"BASIC_AUTH"),
            ProxyError::NoSession => out.put_bytes(b"NO_SESSION"),
        }
    }
}

impl Decode for ProxyError {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(match tag(reader) {
            b"PROTOCOL" => {
                reader.space()?;
                ProxyError::Protocol(ErrorType::decode(reader)?)
            }
            b"BROKER" => {
                reader.space()?;
                ProxyError::Broker(BrokerError::decode(reader)?)
            }
            b"BASIC_AUTH" => ProxyError::BasicAuth,
            b"NO_SESSION" => ProxyError::NoSession,
            _ => return Err(DecodeError::Malformed("proxy error")),
        })
    }
}

/// `BROKER` sub-codes (`Protocol.BrokerErrorType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BrokerError {
    /// `RESPONSE s8(text)`: the relay's answer did not parse.
    Response(ShortBytes),
    /// `UNEXPECTED s8(text)`: the relay's answer was not the expected one.
    Unexpected(ShortBytes),
    /// `NETWORK`: sent without detail; a detail is accepted when parsing.
    Network(NetworkError),
    /// `HOST`.
    Host,
    /// `NO_SERVICE`.
    NoService,
    /// `TRANSPORT <transport error>`.
    Transport(TransportError),
    /// `TIMEOUT`.
    Timeout,
}

impl Encode for BrokerError {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            BrokerError::Response(text) => {
                out.put_bytes(b"RESPONSE ");
                text.encode(out);
            }
            BrokerError::Unexpected(text) => {
                out.put_bytes(b"UNEXPECTED ");
                text.encode(out);
            }
            // The reference does not send the detail yet.
            BrokerError::Network(_) => out.put_bytes(b"NETWORK"),
            BrokerError::Host => out.put_bytes(b"HOST"),
            BrokerError::NoService => out.put_bytes(b"NO_SERVICE"),
            BrokerError::Transport(error) => {
                out.put_bytes(b"TRANSPORT ");
                error.encode(out);
            }
            BrokerError::Timeout => out.put_bytes(b"TIMEOUT"),
        }
    }
}

impl Decode for BrokerError {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(match tag(reader) {
            b"RESPONSE" => {
                reader.space()?;
                BrokerError::Response(ShortBytes::decode(reader)?)
            }
            b"UNEXPECTED" => {
                reader.space()?;
                BrokerError::Unexpected(ShortBytes::decode(reader)?)
            }
            b"TRANSPORT" => {
                reader.space()?;
                BrokerError::Transport(TransportError::decode(reader)?)
            }
            b"NETWORK" => BrokerError::Network(
                reader
                    .attempt(|r| {
                        r.space()?;
                        NetworkError::decode(r)
                    })
                    .unwrap_or(NetworkError::Failed),
            ),
            b"TIMEOUT" => BrokerError::Timeout,
            b"HOST" => BrokerError::Host,
            b"NO_SERVICE" => BrokerError::NoService,
            _ => return Err(DecodeError::Malformed("broker error")),
        })
    }
}

/// Network failure details (`Protocol.NetworkError`); strings are `s8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetworkError {
    Connect(ShortBytes),
    Tls(ShortBytes),
    UnknownCa,
    Failed,
    Timeout,
    Subscribe(ShortBytes),
}

impl Encode for NetworkError {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            NetworkError::Connect(text) => {
                out.put_bytes(b"CONNECT ");
                text.encode(out);
            }
            NetworkError::Tls(text) => {
                out.put_bytes(b"TLS ");
                text.encode(out);
            }
            NetworkError::UnknownCa => out.put_bytes(b"UNKNOWNCA"),
            NetworkError::Failed => out.put_bytes(b"FAILED"),
            NetworkError::Timeout => out.put_bytes(b"TIMEOUT"),
            NetworkError::Subscribe(text) => {
                out.put_bytes(b"SUBSCRIBE ");
                text.encode(out);
            }
        }
    }
}

impl Decode for NetworkError {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let text = |reader: &mut Reader<'_>| -> DecodeResult<ShortBytes> {
            reader.space()?;
            ShortBytes::decode(reader)
        };
        Ok(match tag(reader) {
            b"CONNECT" => NetworkError::Connect(text(reader)?),
            b"TLS" => NetworkError::Tls(text(reader)?),
            b"UNKNOWNCA" => NetworkError::UnknownCa,
            b"FAILED" => NetworkError::Failed,
            b"TIMEOUT" => NetworkError::Timeout,
            b"SUBSCRIBE" => NetworkError::Subscribe(text(reader)?),
            _ => return Err(DecodeError::Malformed("network error")),
        })
    }
}

/// Why an operator blocked a queue (`Protocol.BlockingReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockingReason {
    /// `spam`
    Spam,
    /// `content`
    Content,
}

/// A notice shown to the client (`Protocol.Types.ClientNotice`): JSON `{"ttl":N}` or `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientNotice {
    /// Seconds the block lasts; `None` = indefinitely.
    pub ttl: Option<i64>,
}

impl ClientNotice {
    /// The JSON form (absent fields omitted, as Aeson's `omitNothingFields`).
    pub fn to_json(&self) -> String {
        match self.ttl {
            Some(ttl) => format!("{{\"ttl\":{ttl}}}"),
            None => "{}".to_owned(),
        }
    }

    /// Parses the JSON object; unknown fields are ignored, `ttl` may be absent or null.
    pub fn from_json(json: &[u8]) -> DecodeResult<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|_| DecodeError::Malformed("notice JSON"))?;
        let object = value
            .as_object()
            .ok_or(DecodeError::Malformed("notice JSON object"))?;
        let ttl = match object.get("ttl") {
            None | Some(serde_json::Value::Null) => None,
            Some(number) => Some(
                number
                    .as_i64()
                    .ok_or(DecodeError::Malformed("notice ttl"))?,
            ),
        };
        Ok(ClientNotice { ttl })
    }
}

/// `reason=spam|content[,notice=<JSON>]` (`Protocol.BlockingInfo`), text to the end of the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockingInfo {
    pub reason: BlockingReason,
    pub notice: Option<ClientNotice>,
}

impl Encode for BlockingInfo {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_bytes(b"reason=");
        out.put_bytes(match self.reason {
            BlockingReason::Spam => b"spam",
            BlockingReason::Content => b"content",
        });
        if let Some(notice) = &self.notice {
            out.put_bytes(b",notice=");
            out.put_bytes(notice.to_json().as_bytes());
        }
    }
}

impl Decode for BlockingInfo {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        reader.literal(b"reason=", "blocking info")?;
        let reason = if reader.literal(b"spam", "blocking reason").is_ok() {
            BlockingReason::Spam
        } else {
            reader.literal(b"content", "blocking reason")?;
            BlockingReason::Content
        };
        // Optional: when the notice does not parse, nothing is consumed.
        let notice = reader.attempt(|r| {
            r.literal(b",notice=", "notice")?;
            ClientNotice::from_json(r.tail())
        });
        Ok(BlockingInfo { reason, notice })
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
