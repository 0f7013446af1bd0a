//! Tests of [`super`]: golden blocks, the block-encryption chain vectors, negative blocks and
//! batching properties.

use super::*;
use crate::crypto::sha256;
use proptest::prelude::*;

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// spec §9.1: PING with corrId c0..d7, no authorization, empty entity (31 bytes).
fn ping_transmission() -> Vec<u8> {
    let mut transmission = vec![0x00, 0x18];
    transmission.extend(0xc0..=0xd7u8);
    transmission.push(0x00);
    transmission.extend(b"PING");
    transmission
}

/// spec §9.8 secret and session id (bytes 200..231).
fn spec_secret() -> DhSecret {
    DhSecret(unhex(
        "a84dc7c3c8f058b1b2dc4cd1e9b5dc0a7987f88b6a9564cde3391fc421159e77",
    ))
}
fn spec_session_id() -> Vec<u8> {
    (200..=231u8).collect()
}

#[test]
fn ping_block_golden() {
    // spec §9.1; Protocol.hs tEncodeBatch1 + Transport.hs tPutBlock without encryption.
    let transmission = ping_transmission();
    assert_eq!(transmission.len(), 31);
    let mut content = Vec::new();
    encode_batch(&[&transmission], &mut content).unwrap();
    assert_eq!(content.len(), 34);
    assert_eq!(&content[..3], &[0x01, 0x00, 0x1f]);
    assert_eq!(&content[3..], transmission.as_slice());
    let mut block = [0u8; BLOCK_SIZE];
    pad_block(&content, &mut block).unwrap();
    assert_eq!(&block[..2], &[0x00, 0x22]);
    assert_eq!(&block[2..36], content.as_slice());
    assert!(block[36..].iter().all(|&b| b == b'#'));
    assert_eq!(BLOCK_SIZE - 36, 16348);
    let inner = unpad_block(&block).unwrap();
    let batch = decode_batch(inner).unwrap();
    assert_eq!(
        batch.iter().collect::<Vec<_>>(),
        vec![transmission.as_slice()]
    );
}

#[test]
fn chain_init_vectors() {
    // spec §9.8: sbcInit(sessionId, dh).
    let (first, second) = SbChain::init(&spec_session_id(), &spec_secret());
    assert_eq!(
        hex::encode(first.0),
        "94fe509564350fab35fa01fd95754a5f0536193499421de1c0485b1d19ee676e"
    );
    assert_eq!(
        hex::encode(second.0),
        "f4abad880a0261fcca12bb5f4c1fcdbd74f27325b5c253ea004133d6f99eb752"
    );
}

#[test]
fn chain_step_vectors() {
    // spec §9.8: first sbcHkdf step of each chain.
    let (mut first, mut second) = SbChain::init(&spec_session_id(), &spec_secret());
    let (sbox, nonce) = first.advance();
    assert_eq!(
        hex::encode(first.0),
        "6f47d7c0b2c6fdf20417c5108f447be1bde4e78ca72b114f601455ac5ca24313"
    );
    assert_eq!(
        hex::encode(nonce.0),
        "6446ebff6764ee603f78a7d2de919675cc249a160c48c420"
    );
    let key = unhex("89d79884ff00945b936ec574167ef08028ca0443e27e712f6cbdba5885014aea");
    assert_eq!(
        sbox.seal(&nonce, b"probe"),
        SecretBox::new(&key).seal(&nonce, b"probe")
    );

    let (sbox, nonce) = second.advance();
    assert_eq!(
        hex::encode(nonce.0),
        "fe3da511190edb4eb4b266a6c871f599e3dde15ac8462f32"
    );
    let key = unhex("79b40a2bd67b9c3838f01942508b58a1c637f3692827919784355563d02d5995");
    assert_eq!(
        sbox.seal(&nonce, b"probe"),
        SecretBox::new(&key).seal(&nonce, b"probe")
    );
}

#[test]
fn first_encrypted_client_block_vector() {
    // spec §9.8: the PING of §9.1 as the first client→server block (client sends with ck2).
    let mut content = Vec::new();
    encode_batch(&[ping_transmission()], &mut content).unwrap();
    let mut client = BlockCipher::client(&spec_session_id(), &spec_secret());
    let mut block = [0u8; BLOCK_SIZE];
    client.encrypt_block(&content, &mut block).unwrap();
    assert_eq!(
        hex::encode(&block[..32]),
        "9d2d705471863ff6e9af0e99c0f405362ab06504aced4c22a9642dfa5e04d340"
    );
    assert_eq!(
        hex::encode(sha256(&block)),
        "bcafc6e7a78a8d58ca8a7b74e93057a3d08ca36be37c61ad1b5bc67ebbb45fac"
    );
    let mut server = BlockCipher::server(&spec_session_id(), &spec_secret());
    assert_eq!(
        server.decrypt_block(&mut block).unwrap(),
        content.as_slice()
    );
}

#[test]
fn encrypted_round_trips_both_directions() {
    let mut server = BlockCipher::server(b"session", &spec_secret());
    let mut client = BlockCipher::client(b"session", &spec_secret());
    let mut block = [0u8; BLOCK_SIZE];
    for round in 0..5usize {
        let content = vec![round as u8; round * 1000 + 1];
        server.encrypt_block(&content, &mut block).unwrap();
        assert_eq!(
            client.decrypt_block(&mut block).unwrap(),
            content.as_slice()
        );
        client.encrypt_block(&content, &mut block).unwrap();
        assert_eq!(
            server.decrypt_block(&mut block).unwrap(),
            content.as_slice()
        );
    }
    let largest = vec![7u8; ENCRYPTED_PADDED_SIZE - 2];
    server.encrypt_block(&largest, &mut block).unwrap();
    assert_eq!(
        client.decrypt_block(&mut block).unwrap(),
        largest.as_slice()
    );
}

#[test]
fn tampered_block_fails_and_chain_still_advances() {
    let mut server = BlockCipher::server(b"session", &spec_secret());
    let mut client = BlockCipher::client(b"session", &spec_secret());
    let mut block = [0u8; BLOCK_SIZE];
    server.encrypt_block(b"first", &mut block).unwrap();
    block[100] ^= 1;
    assert_eq!(client.decrypt_block(&mut block), Err(BlockError::Decrypt));
    server.encrypt_block(b"second", &mut block).unwrap();
    assert_eq!(client.decrypt_block(&mut block).unwrap(), b"second");
    // a tag flip, and a block decrypted out of order
    server.encrypt_block(b"third", &mut block).unwrap();
    block[0] ^= 0x80;
    assert_eq!(client.decrypt_block(&mut block), Err(BlockError::Decrypt));
    let mut replay = [0u8; BLOCK_SIZE];
    server.encrypt_block(b"fourth", &mut replay).unwrap();
    let copy = replay;
    assert_eq!(client.decrypt_block(&mut replay).unwrap(), b"fourth");
    let mut again = copy;
    assert_eq!(client.decrypt_block(&mut again), Err(BlockError::Decrypt));
}

#[test]
fn encrypted_block_with_bad_inner_length_is_a_decryption_error() {
    // A validly encrypted block whose padded plaintext claims more bytes than it holds.
    let (mut chain, _) = SbChain::init(b"s", &spec_secret());
    let mut sender = chain.clone();
    let mut block = [b'#'; BLOCK_SIZE];
    block[TAG_SIZE..TAG_SIZE + 2].copy_from_slice(&[0x3f, 0xff]);
    let (sbox, nonce) = sender.advance();
    let tag = sbox.seal_in_place(&nonce, &mut block[TAG_SIZE..]);
    block[..TAG_SIZE].copy_from_slice(&tag);
    let mut receiver = BlockCipher {
        send: SbChain([0; 32]),
        receive: chain.clone(),
    };
    assert_eq!(receiver.decrypt_block(&mut block), Err(BlockError::Decrypt));
    chain.advance();
    assert_eq!(receiver.receive.0, chain.0);
}

#[test]
fn oversized_content_is_refused_without_advancing() {
    let mut server = BlockCipher::server(b"session", &spec_secret());
    let before = server.send.0;
    let mut block = [0u8; BLOCK_SIZE];
    let too_big = vec![0u8; ENCRYPTED_PADDED_SIZE - 1];
    assert_eq!(
        server.encrypt_block(&too_big, &mut block),
        Err(BlockError::TooLarge {
            length: too_big.len()
        })
    );
    assert_eq!(server.send.0, before);
    assert!(pad_block(&vec![0u8; BLOCK_SIZE - 1], &mut block).is_err());
    assert!(pad_block(&vec![0u8; BLOCK_SIZE - 2], &mut block).is_ok());
}

#[test]
fn plain_block_negative_vectors() {
    // length prefix beyond the block
    let mut block = [b'#'; BLOCK_SIZE];
    block[..2].copy_from_slice(&[0x40, 0x00]);
    assert!(matches!(unpad_block(&block), Err(BlockError::Malformed(_))));
    block[..2].copy_from_slice(&[0x3f, 0xfe]);
    assert_eq!(unpad_block(&block).unwrap().len(), BLOCK_SIZE - 2);
}

#[test]
fn batch_negative_vectors() {
    // Protocol.hs tParse: NonEmpty Large with parseAll.
    assert_eq!(
        decode_batch(&[0x00]).unwrap_err(),
        DecodeError::Malformed("empty list")
    );
    assert!(matches!(decode_batch(&[]), Err(DecodeError::NeedMore(_))));
    // truncated s16: length 5, 3 bytes present
    assert!(matches!(
        decode_batch(&[0x01, 0x00, 0x05, 1, 2, 3]),
        Err(DecodeError::NeedMore(_))
    ));
    // truncated length prefix
    assert!(matches!(
        decode_batch(&[0x01, 0x00]),
        Err(DecodeError::NeedMore(_))
    ));
    // count says 2, one present
    assert!(matches!(
        decode_batch(&[0x02, 0x00, 0x01, 9]),
        Err(DecodeError::NeedMore(_))
    ));
    // trailing bytes after the last transmission
    assert_eq!(
        decode_batch(&[0x01, 0x00, 0x01, 9, 0xaa]).unwrap_err(),
        DecodeError::Trailing(1)
    );
    // empty transmissions are valid at this layer
    let batch = decode_batch(&[0x02, 0x00, 0x00, 0x00, 0x00]).unwrap();
    assert_eq!(batch.len(), 2);
    assert!(batch.iter().all(<[u8]>::is_empty));
}

#[test]
fn plan_packs_from_the_end_like_a_right_fold() {
    // 3 transmissions of which two fit together: the LAST two share a block.
    let half = BATCH_BUDGET / 2 - 2;
    assert_eq!(
        plan_batches(&[half, half, half]),
        vec![BatchPlan::Block(0..1), BatchPlan::Block(1..3)]
    );
    // 300 tiny transmissions: 255 in the last block, 45 in the first.
    assert_eq!(
        plan_batches(&[1; 300]),
        vec![BatchPlan::Block(0..45), BatchPlan::Block(45..300)]
    );
    // a too-large transmission splits the batch and is reported in place
    assert_eq!(
        plan_batches(&[10, 10, MAX_TRANSMISSION_SIZE + 1, 10]),
        vec![
            BatchPlan::Block(0..2),
            BatchPlan::TooLarge(2),
            BatchPlan::Block(3..4)
        ]
    );
    assert_eq!(
        plan_batches(&[MAX_TRANSMISSION_SIZE]),
        vec![BatchPlan::Block(0..1)]
    );
    assert_eq!(plan_batches(&[]), vec![]);
    assert_eq!(
        plan_batches(&[MAX_TRANSMISSION_SIZE + 1]),
        vec![BatchPlan::TooLarge(0)]
    );
}

#[test]
fn batch_transmissions_reports_too_large_in_place() {
    let small = vec![1u8; 10];
    let large = vec![2u8; MAX_TRANSMISSION_SIZE + 1];
    let blocks = batch_transmissions(&[&small, &large, &small]);
    assert_eq!(blocks.len(), 3);
    assert_eq!(
        blocks[1],
        Err(BlockError::TooLarge {
            length: large.len()
        })
    );
    assert!(encode_batch::<&[u8]>(&[], &mut Vec::new()).is_err());
    assert!(encode_batch(&[[0u8; 0]; 256], &mut Vec::new()).is_err());
    assert!(encode_batch(&[vec![0u8; MAX_TRANSMISSION_SIZE + 1]], &mut Vec::new()).is_err());
}

proptest! {
    #[test]
    fn batching_round_trips(lengths in proptest::collection::vec(
        prop_oneof![0usize..64, 0usize..2000, 15000usize..16400], 0..300)) {
        let transmissions: Vec<Vec<u8>> = lengths
            .iter()
            .enumerate()
            .map(|(index, &length)| vec![index as u8; length])
            .collect();
        let mut decoded = Vec::new();
        for (plan, content) in plan_batches(&lengths).into_iter().zip(batch_transmissions(&transmissions)) {
            match plan {
                BatchPlan::Block(range) => {
                    let content = content.unwrap();
                    prop_assert!(content.len() <= ENCRYPTED_PADDED_SIZE - 2);
                    let mut block = [0u8; BLOCK_SIZE];
                    pad_block(&content, &mut block).unwrap();
                    let batch = decode_batch(unpad_block(&block).unwrap()).unwrap();
                    prop_assert_eq!(batch.len(), range.len());
                    for (transmission, index) in batch.iter().zip(range) {
                        prop_assert_eq!(transmission, transmissions[index].as_slice());
                        decoded.push(index);
                    }
                }
                BatchPlan::TooLarge(index) => {
                    prop_assert!(lengths[index] > MAX_TRANSMISSION_SIZE);
                    prop_assert!(content.is_err());
                    decoded.push(index);
                }
            }
        }
        prop_assert_eq!(decoded, (0..lengths.len()).collect::<Vec<_>>());
    }

    #[test]
    fn decode_batch_never_panics(content in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(batch) = decode_batch(&content) {
            prop_assert!(batch.iter().count() == batch.len());
        }
    }
}
