//! Arbitrary input never panics the reader or the processor, and every answer encodes
//! (house style: no panics on network data).

use super::harness::*;
use proptest::prelude::*;
use smp_proto::codec::Writer;

fn framed(transmissions: &[Vec<u8>]) -> Vec<u8> {
    let mut content = vec![transmissions.len() as u8];
    for transmission in transmissions {
        content.put_large(transmission);
    }
    content
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_block_content(content in proptest::collection::vec(any::<u8>(), 0..600)) {
        let server = Server::new();
        for version in [6u16, 18] {
            let conn = server.connect(version);
            let _ = conn.send_content(&content);
        }
    }

    #[test]
    fn arbitrary_commands_in_valid_frames(
        commands in proptest::collection::vec(
            (prop::sample::select(vec![
                &b"NEW "[..], b"SUB", b"KEY ", b"RKEY ", b"LSET ", b"NKEY ", b"ACK ", b"SEND ",
                b"SKEY ", b"LKEY ", b"LGET", b"PRXY ", b"PFWD ", b"RFWD ", b"NSUB", b"GET",
            ]), proptest::collection::vec(any::<u8>(), 0..200), any::<bool>(), any::<u8>()),
            1..8,
        )
    ) {
        let server = Server::new();
        let conn = server.connect(18);
        let transmissions: Vec<Vec<u8>> = commands
            .iter()
            .map(|(tag, params, signed, entity)| {
                let mut transmission = Vec::new();
                if *signed {
                    transmission.put_short(&[7; 64]);
                    transmission.put_u8(b'0');
                } else {
                    transmission.put_u8(0);
                }
                transmission.put_short(&[1; 24]);
                transmission.put_short(&vec![*entity; usize::from(*entity % 3) * 12]);
                transmission.put_bytes(tag);
                transmission.put_bytes(params);
                transmission
            })
            .collect();
        let answers = conn.send_content(&framed(&transmissions));
        prop_assert_eq!(
            answers.responses.len() + answers.errors.len(),
            transmissions.len()
        );
    }
}
