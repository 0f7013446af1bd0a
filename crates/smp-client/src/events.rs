//! Server transmissions no command waits for (`Client.processMsg` → the agent's message queue):
//! `MSG`, `END`, `DELD`, `NMSG`, `ERR` with an empty correlation id, or late responses.

use smp_proto::error::ErrorType;
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::Response;
use smp_proto::transmission::ClientTransmission;

/// What kind of server event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `MSG` pushed to a subscriber.
    Message,
    /// `END`: the subscription moved to another connection (or, before v10, the queue was
    /// deleted).
    End,
    /// `DELD`: the queue (or notifier) was deleted by another connection.
    Deleted,
    /// `NMSG` to a notifier subscriber.
    Notification,
    /// `ERR` (e.g. `BLOCKED`, or `BLOCK` for an unreadable block), or a transmission the client
    /// could not decode.
    Error,
    /// Anything else without a waiting command (e.g. `ENDS`, or a late response).
    Other,
}

/// A server transmission no command was waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Empty for real events; set when a response arrived for no waiting command.
    pub corr_id: CorrId,
    pub entity_id: EntityId,
    pub kind: EventKind,
    pub response: Result<Response, ErrorType>,
}

impl Event {
    pub(crate) fn new(transmission: ClientTransmission) -> Self {
        let kind = match &transmission.response {
            Ok(Response::Msg { .. }) => EventKind::Message,
            Ok(Response::End) => EventKind::End,
            Ok(Response::Deld) => EventKind::Deleted,
            Ok(Response::Nmsg { .. }) => EventKind::Notification,
            Ok(Response::Err(_)) | Err(_) => EventKind::Error,
            Ok(_) => EventKind::Other,
        };
        Event {
            corr_id: transmission.corr_id,
            entity_id: transmission.entity_id,
            kind,
            response: transmission.response,
        }
    }

    /// The error of an `ERR` event (or of an undecodable transmission).
    pub fn error(&self) -> Option<&ErrorType> {
        match &self.response {
            Ok(Response::Err(error)) | Err(error) => Some(error),
            Ok(_) => None,
        }
    }
}

/// `ERR BLOCK` for a block the client could not read.
pub(crate) fn block_error() -> Event {
    Event {
        corr_id: CorrId::empty(),
        entity_id: EntityId::empty(),
        kind: EventKind::Error,
        response: Err(ErrorType::Block),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds() {
        let make = |response| {
            Event::new(ClientTransmission {
                corr_id: CorrId::empty(),
                entity_id: EntityId::from([1u8; 24]),
                response,
            })
        };
        assert_eq!(make(Ok(Response::End)).kind, EventKind::End);
        assert_eq!(make(Ok(Response::Deld)).kind, EventKind::Deleted);
        assert_eq!(make(Err(ErrorType::Block)).kind, EventKind::Error);
        assert_eq!(
            make(Ok(Response::Err(ErrorType::Auth))).error(),
            Some(&ErrorType::Auth)
        );
        assert_eq!(make(Ok(Response::Pong)).kind, EventKind::Other);
    }
}
