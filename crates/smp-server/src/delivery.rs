//! What the server puts inside `MSG` and `NMSG` (`Protocol.hs: encodeRcvMsgBody`,
//! `instance Encoding NMsgMeta`; `Server.hs: encryptMsg`, `mkMessageNotification`) and the
//! per-version SEND size limit (`Protocol.hs: maxMessageLength`).
//!
//! The encryption itself (crypto_box with the queue's DH secret, nonce = message id, padded so
//! that every `MSG` has the same length) is applied by the caller with `smp_proto::crypto`.

use smp_proto::codec::Writer;
use smp_proto::crypto::CbNonce;
use smp_proto::ids::MsgId;

/// Largest plaintext `MSG` body (`Protocol.hs: MaxRcvMessageLen`).
pub const MAX_RCV_MESSAGE_LENGTH: usize = 16_104;
/// Padded length of a `MSG` body before encryption (`MaxRcvMessageLen` + 2-byte length).
pub const PADDED_RCV_MESSAGE_LENGTH: usize = MAX_RCV_MESSAGE_LENGTH + 2;
/// Largest SEND body in any version (`Protocol.hs: MaxMessageLen`).
pub const MAX_MESSAGE_LENGTH: usize = 16_088;
/// Padded length of `NMsgMeta` before encryption (`Server.hs: mkMessageNotification`).
pub const PADDED_NTF_META_LENGTH: usize = 128;

/// Largest SEND body accepted from a connection (or forwarded transmission) of `version`
/// (`Protocol.hs: maxMessageLength`).
pub fn max_message_length(version: u16) -> usize {
    match version {
        11.. => 16_048,
        8..=10 => 16_064,
        _ => MAX_MESSAGE_LENGTH,
    }
}

/// Plaintext of `MSG` for a normal message: `i64(ts) bool(notification) SP body`
/// (`encodeRcvMsgBody RcvMsgBody`).
pub fn message_body(timestamp: i64, notification: bool, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + body.len());
    out.put_i64(timestamp);
    out.put_bool(notification);
    out.push(b' ');
    out.extend_from_slice(body);
    out
}

/// Plaintext of `MSG` for the quota marker: `"QUOTA" SP i64(ts)` (`encodeRcvMsgBody RcvMsgQuota`).
pub fn quota_body(timestamp: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(14);
    out.extend_from_slice(b"QUOTA ");
    out.put_i64(timestamp);
    out
}

/// Plaintext of the `NMSG` metadata: `s8(msgId) i64(ts)` (`instance Encoding NMsgMeta`).
pub fn notification_meta(msg_id: &MsgId, timestamp: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + msg_id.as_bytes().len() + 8);
    out.put_short(msg_id.as_bytes());
    out.put_i64(timestamp);
    out
}

/// The nonce of a message's encryption: its id, padded or cut to 24 bytes (`cbNonce msgId`).
pub fn message_nonce(msg_id: &MsgId) -> [u8; 24] {
    CbNonce::from_prefix(msg_id.as_bytes()).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_body_layout() {
        // Protocol.hs: encodeRcvMsgBody (RcvMsgBody 1 (MsgFlags True) "hi")
        assert_eq!(
            message_body(1, true, b"hi"),
            [0, 0, 0, 0, 0, 0, 0, 1, b'T', b' ', b'h', b'i']
        );
        assert_eq!(message_body(2, false, b"")[8..], [b'F', b' ']);
    }

    #[test]
    fn quota_marker_layout() {
        // Protocol.hs: encodeRcvMsgBody (RcvMsgQuota 0x0102)
        assert_eq!(quota_body(0x0102), *b"QUOTA \0\0\0\0\0\0\x01\x02");
        assert_eq!(quota_body(0).len(), 14);
    }

    #[test]
    fn notification_meta_layout() {
        // Protocol.hs: smpEncode NMsgMeta {msgId, msgTs}, 33 bytes for a 24-byte id
        let meta = notification_meta(&MsgId::from([7; 24]), 3);
        assert_eq!(meta.len(), 33);
        assert_eq!(meta[0], 24);
        assert_eq!(meta[25..], [0, 0, 0, 0, 0, 0, 0, 3]);
    }

    #[test]
    fn size_limits_by_version() {
        // Protocol.hs: maxMessageLength
        assert_eq!(max_message_length(6), 16_088);
        assert_eq!(max_message_length(7), 16_088);
        assert_eq!(max_message_length(8), 16_064);
        assert_eq!(max_message_length(10), 16_064);
        assert_eq!(max_message_length(11), 16_048);
        assert_eq!(max_message_length(18), 16_048);
        // the largest normal body fits the padded MSG plaintext
        assert!(message_body(0, false, &[0; MAX_MESSAGE_LENGTH]).len() <= MAX_RCV_MESSAGE_LENGTH);
    }

    #[test]
    fn nonce_from_message_id() {
        assert_eq!(message_nonce(&MsgId::from([5; 24])), [5; 24]);
        let short = MsgId::new(vec![1, 2]).unwrap();
        assert_eq!(message_nonce(&short)[..3], [1, 2, 0]);
    }
}
