//! The interim connection handler: keeps an established connection open, reading blocks, and
//! answers `PING` with `PONG` (`Server.hs: processCommand` for `PING`, spec §6.8). Every other
//! transmission is ignored and undecodable blocks are skipped.
//!
//! It predates the command-processing core and is kept for the listener's own tests; `start`
//! serves connections with [`CommandHandler`](crate::session::CommandHandler).

use smp_proto::codec::{Reader, Writer};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::listener::{Connection, ConnectionHandler};

/// First version whose transmissions omit the session id (`Transport.authCmdsSMPVersion`).
const IMPLIED_SESSION_ID_VERSION: u16 = 7;

/// Answers `PING` with `PONG` and nothing else; see the module documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct PingHandler;

impl ConnectionHandler for PingHandler {
    async fn serve(&self, mut connection: Connection, shutdown: CancellationToken) {
        let version = connection.handshake.version.0;
        let session_id = connection.handshake.session_id.clone();
        loop {
            let block = tokio::select! {
                _ = shutdown.cancelled() => break,
                block = connection.reader.read_content() => block,
            };
            let content = match block {
                Ok(content) => content,
                Err(error) if error.is_fatal() => {
                    debug!(%error, "connection ended");
                    break;
                }
                Err(_) => continue,
            };
            let pongs = pong_batch(&content, version, &session_id);
            if pongs.is_empty() {
                continue;
            }
            if let Err(error) = connection.writer.write_content(&pongs).await {
                debug!(%error, "cannot send PONG");
                break;
            }
        }
        // Best effort close_notify; the peer may already be gone.
        let _ = connection.writer.shutdown().await;
    }
}

/// The response block content for the `PING`s in one received block content: a batch
/// (`u8 count || count × s16(transmission)`, `Protocol.batchTransmissions_`) of `PONG`s with the
/// requests' correlation ids, or empty when there is no `PING`.
fn pong_batch(content: &[u8], version: u16, session_id: &[u8]) -> Vec<u8> {
    let mut reader = Reader::new(content);
    let Ok(count) = reader.u8() else {
        return Vec::new();
    };
    let mut pongs: Vec<Vec<u8>> = Vec::new();
    for _ in 0..count {
        let Ok(transmission) = reader.large_bytes() else {
            break;
        };
        if let Some(corr_id) = ping_corr_id(transmission, version) {
            pongs.push(pong_transmission(corr_id, version, session_id));
        }
    }
    if pongs.is_empty() {
        return Vec::new();
    }
    // At most 255 requests per block and each PONG is shorter than its PING, so one block holds
    // all the answers.
    let mut batch = Vec::new();
    batch.put_u8(pongs.len() as u8);
    for pong in &pongs {
        batch.put_large(pong);
    }
    batch
}

/// The correlation id of an unauthorized `PING` with an empty entity id
/// (`Protocol.transmissionP` layout, spec §5.4), or `None` for anything else.
fn ping_corr_id(transmission: &[u8], version: u16) -> Option<&[u8]> {
    let mut reader = Reader::new(transmission);
    let authorization = reader.short_bytes().ok()?;
    if !authorization.is_empty() {
        // PING must be unauthorized (`CMD HAS_AUTH` in the full server).
        return None;
    }
    if version < IMPLIED_SESSION_ID_VERSION {
        reader.short_bytes().ok()?;
    }
    let corr_id = reader.short_bytes().ok()?;
    let entity_id = reader.short_bytes().ok()?;
    (entity_id.is_empty() && reader.tail() == b"PING").then_some(corr_id)
}

/// A server `PONG` transmission (`Protocol.encodeTransmission`): empty authorization (so no
/// service signature field even from v16), the session id only before v7, the request's
/// correlation id, an empty entity id.
fn pong_transmission(corr_id: &[u8], version: u16, session_id: &[u8]) -> Vec<u8> {
    let mut transmission = Vec::with_capacity(8 + corr_id.len() + session_id.len());
    transmission.put_short(&[]);
    if version < IMPLIED_SESSION_ID_VERSION {
        transmission.put_short(session_id);
    }
    transmission.put_short(corr_id);
    transmission.put_short(&[]);
    transmission.extend_from_slice(b"PONG");
    transmission
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(transmissions: &[&[u8]]) -> Vec<u8> {
        let mut content = vec![transmissions.len() as u8];
        for transmission in transmissions {
            content.put_large(transmission);
        }
        content
    }

    #[test]
    fn ping_v7_gets_pong_with_its_corr_id() {
        // Protocol.encodeTransmission v7+: s8 auth, s8 corrId, s8 entityId, command.
        let ping = b"\x00\x03abc\x00PING";
        let content = batch(&[ping]);
        assert_eq!(
            pong_batch(&content, 18, b"session"),
            b"\x01\x00\x0a\x00\x03abc\x00PONG".to_vec()
        );
    }

    #[test]
    fn ping_v6_carries_the_session_id() {
        let ping = b"\x00\x02id\x01c\x00PING";
        let content = batch(&[ping]);
        assert_eq!(
            pong_batch(&content, 6, b"id"),
            b"\x01\x00\x0b\x00\x02id\x01c\x00PONG".to_vec()
        );
    }

    #[test]
    fn other_transmissions_are_ignored() {
        let sub = b"\x00\x01c\x01qSUB";
        let authorized_ping = b"\x01x\x01c\x00PING";
        let ping_with_entity = b"\x00\x01c\x01qPING";
        let ping = b"\x00\x01d\x00PING";
        let content = batch(&[sub, authorized_ping, ping_with_entity, ping]);
        assert_eq!(
            pong_batch(&content, 7, b""),
            b"\x01\x00\x08\x00\x01d\x00PONG".to_vec()
        );
        assert!(pong_batch(&batch(&[sub]), 7, b"").is_empty());
        assert!(pong_batch(b"", 7, b"").is_empty());
        assert!(pong_batch(b"\x02\x00", 7, b"").is_empty());
    }
}
