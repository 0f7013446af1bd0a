//! A large block is verified on several threads; every transmission still gets its own answer,
//! in order, exactly as when verified one by one (`Server.hs: receive` verifies each).

use super::harness::*;
use smp_client::{AuthAlgorithm, AuthKeyPair};
use smp_proto::command::Command;
use smp_proto::error::ErrorType;
use smp_proto::ids::EntityId;

#[test]
fn a_large_block_gets_one_answer_per_transmission_in_order() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queues: Vec<Queue> = (0..12).map(|_| conn.create_queue()).collect();
    let stranger = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    // 36 SUBs: the right key, a wrong key, an unknown queue — in turn.
    let mut transmissions = Vec::new();
    let mut expected = Vec::new();
    for (index, queue) in queues.iter().enumerate() {
        for case in 0..3 {
            let corr_id = conn.corr_id();
            let missing = EntityId::from([index as u8; 24]);
            let (entity, key, passes) = match case {
                0 => (queue.rid(), &queue.recipient, true),
                1 => (queue.rid(), &stranger, false),
                _ => (&missing, &queue.recipient, false),
            };
            transmissions.push(conn.transmission(&corr_id, entity, &Command::Sub, Some(key)));
            expected.push((corr_id, entity.clone(), passes));
        }
    }
    let answers = conn.send_batch(&transmissions);
    assert_eq!(answers.responses.len(), 12);
    assert_eq!(answers.errors.len(), 24);
    let mut responses = answers.responses.iter();
    let mut errors = answers.errors.iter();
    for (corr_id, entity, passes) in expected {
        let answer = if passes {
            responses.next()
        } else {
            errors.next()
        }
        .unwrap();
        assert_eq!((&answer.corr_id, &answer.entity_id), (&corr_id, &entity));
        if passes {
            assert!(answer.response.is_ok(), "{:?}", answer.response);
        } else {
            assert_eq!(answer.response, Err(ErrorType::Auth));
        }
    }
}
