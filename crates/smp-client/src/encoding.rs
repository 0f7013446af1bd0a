//! Client transmissions (`Protocol.encodeTransmissionForAuth`, `tEncode`): what is authorized,
//! what is sent, and the v6 / v7+ / v16+ framing differences.

use smp_proto::codec::Writer;
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::keys::DhPublicKey;
use smp_proto::transmission::TransmissionParams;

use crate::error::ClientResult;
use crate::keys::AuthKeyPair;

/// Encodes one transmission of `command` bytes: the authorization covers
/// `s8(sessionId) s8(corrId) s8(entityId) command`; the session id is sent only at v6; at v16+ a
/// non-empty authorization is followed by `'0'` (no service signature). Taking the command as bytes
/// lets tests send malformed commands through the same path.
pub fn encode_transmission(
    params: &TransmissionParams,
    server_session_key: Option<&DhPublicKey>,
    corr_id: &CorrId,
    entity_id: &EntityId,
    key: Option<&AuthKeyPair>,
    command: &[u8],
) -> ClientResult<Vec<u8>> {
    let mut authorized = Vec::with_capacity(command.len() + 100);
    authorized.put_short(&params.session_id);
    let body_start = authorized.len();
    authorized.put_short(corr_id.as_bytes());
    authorized.put_short(entity_id.as_bytes());
    authorized.put_bytes(command);
    let mut out = Vec::with_capacity(authorized.len() + 120);
    match key {
        None => out.put_u8(0),
        Some(key) => {
            let authorization = key.authorize(&authorized, corr_id, server_session_key)?;
            out.put_short(authorization.as_bytes());
            if params.service_auth {
                // No service signature: this client is not a service.
                out.put_u8(b'0');
            }
        }
    }
    let sent = if params.imply_session_id {
        &authorized[body_start..]
    } else {
        &authorized[..]
    };
    out.put_bytes(sent);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smp_proto::command::Command;
    use smp_proto::crypto::Signature;
    use smp_proto::transmission::encode_client;
    use smp_proto::version::Version;

    fn params(version: u16) -> TransmissionParams {
        TransmissionParams::new(Version(version), (0xc8..=0xe7).collect())
    }

    /// A transmission without authorization at `version`.
    fn unsigned(version: u16, corr_id: &CorrId, entity_id: &EntityId, command: &[u8]) -> Vec<u8> {
        encode_transmission(&params(version), None, corr_id, entity_id, None, command).unwrap()
    }

    #[test]
    fn ping_transmission_v7() {
        // Spec §9.1: 00 | 18 c0..d7 | 00 | "PING".
        let corr_id = CorrId::new((0xc0..=0xd7).collect::<Vec<u8>>()).unwrap();
        let bytes = unsigned(7, &corr_id, &EntityId::empty(), b"PING");
        let mut expected = vec![0x00, 0x18];
        expected.extend(0xc0..=0xd7u8);
        expected.push(0x00);
        expected.extend_from_slice(b"PING");
        assert_eq!(bytes, expected);
        assert_eq!(bytes.len(), 31);
    }

    #[test]
    fn v6_sends_the_session_id() {
        let corr_id = CorrId::from([1u8; 24]);
        let bytes = unsigned(6, &corr_id, &EntityId::empty(), b"PING");
        assert_eq!(bytes.len(), 64);
        assert_eq!(&bytes[..2], &[0x00, 0x20]);
        assert_eq!(&bytes[2..34], (0xc8..=0xe7).collect::<Vec<u8>>().as_slice());
    }

    #[test]
    fn signed_send_vector_v16() {
        // Spec §9.8: Ed25519 seed 11×32, sessionId c8..e7, corrId c0..d7, senderId 50..67.
        let key = AuthKeyPair::ed25519_from_seed(&[0x11; 32]);
        let corr_id = CorrId::new((0xc0..=0xd7).collect::<Vec<u8>>()).unwrap();
        let sender_id = EntityId::new((0x50..=0x67).collect::<Vec<u8>>()).unwrap();
        let bytes = encode_transmission(
            &params(16),
            None,
            &corr_id,
            &sender_id,
            Some(&key),
            b"SEND F hello",
        )
        .unwrap();
        assert_eq!(bytes.len(), 128);
        assert_eq!(bytes[0], 0x40);
        assert_eq!(
            hex::encode(&bytes[1..65]),
            "56b1cec3e158b18df6c83bc664ea74f2c8c26f09fbad28aa524075ba54a7e7e6\
             07e54c1afe231452eb116a3ecde2fa9676d434f68199f9c0ed83b4518a8aff04"
        );
        assert_eq!(bytes[65], b'0');
        assert!(bytes.ends_with(b"SEND F hello"));
    }

    #[test]
    fn matches_the_protocol_crate_encoder() {
        let key = AuthKeyPair::ed25519_from_seed(&[0x22; 32]);
        let corr_id = CorrId::from([3u8; 24]);
        let entity = EntityId::from([4u8; 24]);
        for version in [6u16, 7, 15, 16, 18] {
            let params = params(version);
            let command = Command::Sub;
            let ours = encode_transmission(
                &params,
                None,
                &corr_id,
                &entity,
                Some(&key),
                &command.to_bytes(params.version),
            )
            .unwrap();
            let theirs = encode_client(&params, &corr_id, &entity, &command, |authorized| {
                let auth = key.authorize(authorized, &corr_id, None).ok()?;
                Some((auth, None))
            });
            assert_eq!(ours, theirs, "v{version}");
            // And the signature covers the authorized bytes including the session id.
            let signature = Signature::from_bytes(&ours[1..65]).unwrap();
            let mut authorized = vec![32u8];
            authorized.extend(0xc8..=0xe7u8);
            authorized.push(24);
            authorized.extend([3u8; 24]);
            authorized.push(24);
            authorized.extend([4u8; 24]);
            authorized.extend_from_slice(b"SUB");
            assert!(signature.verify(&key.public_key(), &authorized));
        }
    }

    #[test]
    fn unauthorized_v16_has_no_service_marker() {
        let bytes = unsigned(
            18,
            &CorrId::from([1u8; 24]),
            &EntityId::from([2u8; 24]),
            b"SEND T hi",
        );
        assert_eq!(bytes[0], 0);
        assert_eq!(bytes[1], 24);
    }
}
