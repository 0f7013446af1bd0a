use super::*;
use crate::handshake::HandshakeError;

fn short(text: &str) -> ShortBytes {
    ShortBytes::new(text.as_bytes().to_vec()).unwrap()
}

#[test]
fn error_type_text_vectors() {
    // Protocol.hs: instance Encoding ErrorType / CommandError / ProxyError / BrokerErrorType.
    let cases: Vec<(ErrorType, &[u8])> = vec![
        (ErrorType::Block, b"BLOCK"),
        (ErrorType::Session, b"SESSION"),
        (ErrorType::Cmd(CommandError::Unknown), b"CMD UNKNOWN"),
        (ErrorType::Cmd(CommandError::Syntax), b"CMD SYNTAX"),
        (ErrorType::Cmd(CommandError::Prohibited), b"CMD PROHIBITED"),
        (ErrorType::Cmd(CommandError::NoAuth), b"CMD NO_AUTH"),
        (ErrorType::Cmd(CommandError::HasAuth), b"CMD HAS_AUTH"),
        (ErrorType::Cmd(CommandError::NoEntity), b"CMD NO_ENTITY"),
        (ErrorType::Auth, b"AUTH"),
        (ErrorType::Service, b"SERVICE"),
        (ErrorType::Crypto, b"CRYPTO"),
        (ErrorType::Quota, b"QUOTA"),
        (ErrorType::Store("disk full".into()), b"STORE disk full"),
        (ErrorType::NoMsg, b"NO_MSG"),
        (ErrorType::LargeMsg, b"LARGE_MSG"),
        (ErrorType::Expired, b"EXPIRED"),
        (ErrorType::Internal, b"INTERNAL"),
        (ErrorType::Duplicate, b"DUPLICATE_"),
        (
            ErrorType::Proxy(Box::new(ProxyError::Protocol(ErrorType::Auth))),
            b"PROXY PROTOCOL AUTH",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::BasicAuth)),
            b"PROXY BASIC_AUTH",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::NoSession)),
            b"PROXY NO_SESSION",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Transport(
                TransportError::Handshake(HandshakeError::Identity),
            )))),
            b"PROXY BROKER TRANSPORT HANDSHAKE IDENTITY",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Response(short(
                "bad",
            ))))),
            b"PROXY BROKER RESPONSE \x03bad",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Unexpected(
                short("x"),
            )))),
            b"PROXY BROKER UNEXPECTED \x01x",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Network(
                NetworkError::Failed,
            )))),
            b"PROXY BROKER NETWORK",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Timeout))),
            b"PROXY BROKER TIMEOUT",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Host))),
            b"PROXY BROKER HOST",
        ),
        (
            ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::NoService))),
            b"PROXY BROKER NO_SERVICE",
        ),
        (
            ErrorType::Blocked(BlockingInfo {
                reason: BlockingReason::Spam,
                notice: None,
            }),
            b"BLOCKED reason=spam",
        ),
        (
            ErrorType::Blocked(BlockingInfo {
                reason: BlockingReason::Content,
                notice: Some(ClientNotice { ttl: Some(86400) }),
            }),
            b"BLOCKED reason=content,notice={\"ttl\":86400}",
        ),
        (
            ErrorType::Blocked(BlockingInfo {
                reason: BlockingReason::Spam,
                notice: Some(ClientNotice { ttl: None }),
            }),
            b"BLOCKED reason=spam,notice={}",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_bytes(), text, "{error:?}");
        assert_eq!(ErrorType::from_bytes(text), Ok(error));
    }
}

#[test]
fn legacy_and_detailed_forms_are_accepted() {
    // CommandError parser accepts NO_QUEUE; BrokerErrorType parser accepts a NETWORK detail.
    assert_eq!(
        ErrorType::from_bytes(b"CMD NO_QUEUE"),
        Ok(ErrorType::Cmd(CommandError::NoEntity))
    );
    assert_eq!(
        BrokerError::from_bytes(b"NETWORK CONNECT \x04down"),
        Ok(BrokerError::Network(NetworkError::Connect(short("down"))))
    );
    assert_eq!(
        BrokerError::from_bytes(b"NETWORK UNKNOWNCA"),
        Ok(BrokerError::Network(NetworkError::UnknownCa))
    );
    // Aeson accepts whitespace, null and unknown fields in the notice.
    assert_eq!(
        BlockingInfo::from_bytes(b"reason=spam,notice={ \"ttl\" : null, \"x\": [1] }"),
        Ok(BlockingInfo {
            reason: BlockingReason::Spam,
            notice: Some(ClientNotice { ttl: None })
        })
    );
}

#[test]
fn malformed_error_texts() {
    for bad in [
        &b"block"[..],
        b"CMD",
        b"CMD  SYNTAX",
        b"CMD OTHER",
        b"AUTH ",
        b"BLOCKED reason=other",
        b"BLOCKED reason=spam,notice=[1]",
        b"BLOCKED reason=spam,notice={\"ttl\":1.5}",
        b"PROXY BROKER NETWORK OTHER",
        b"PROXY BROKER RESPONSE \x05ab",
        b"STORE",
        b"",
    ] {
        assert!(
            ErrorType::from_bytes(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn blocked_by_version() {
    // Protocol.hs: encodeProtocol … ERR maps BLOCKED per version.
    let blocked = ErrorType::Blocked(BlockingInfo {
        reason: BlockingReason::Spam,
        notice: Some(ClientNotice { ttl: Some(60) }),
    });
    assert_eq!(blocked.for_version(Version(11)), ErrorType::Auth);
    assert_eq!(
        blocked.for_version(Version(12)).to_bytes(),
        b"BLOCKED reason=spam"
    );
    assert_eq!(
        blocked.for_version(Version(17)).to_bytes(),
        b"BLOCKED reason=spam"
    );
    assert_eq!(blocked.for_version(Version(18)), blocked);
    assert_eq!(ErrorType::Quota.for_version(Version(6)), ErrorType::Quota);
}
