//! Block layer: pad + batch encode/decode of one full block, a batch of 10 transmissions, and an
//! encrypted block round trip. Results: `docs/benchmarks.md`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use smp_proto::block::{
    decode_batch, encode_batch, pad_block, plan_batches, unpad_block, BatchPlan, BlockCipher,
    BLOCK_SIZE, MAX_TRANSMISSION_SIZE,
};
use smp_proto::crypto::DhSecret;

fn encode_decode(
    transmissions: &[Vec<u8>],
    content: &mut Vec<u8>,
    block: &mut [u8; BLOCK_SIZE],
) -> usize {
    content.clear();
    encode_batch(transmissions, content).expect("fits one block");
    pad_block(content, block).expect("fits one block");
    let inner = unpad_block(block).expect("just padded");
    decode_batch(inner)
        .expect("just encoded")
        .iter()
        .map(<[u8]>::len)
        .sum()
}

fn blocks(c: &mut Criterion) {
    let mut content = Vec::with_capacity(BLOCK_SIZE);
    let mut block = [0u8; BLOCK_SIZE];

    let full = vec![vec![0x61u8; MAX_TRANSMISSION_SIZE]];
    c.bench_function("block_full_encode_decode", |b| {
        b.iter(|| encode_decode(black_box(&full), &mut content, &mut block))
    });

    let ten: Vec<Vec<u8>> = (0..10).map(|i| vec![i as u8; 1500]).collect();
    c.bench_function("block_batch10_plan_encode_decode", |b| {
        b.iter(|| {
            let lengths: Vec<usize> = ten.iter().map(Vec::len).collect();
            let plans = plan_batches(black_box(&lengths));
            assert!(matches!(plans.as_slice(), [BatchPlan::Block(_)]));
            encode_decode(&ten, &mut content, &mut block)
        })
    });

    let secret = DhSecret([9; 32]);
    let mut server = BlockCipher::server(b"session id", &secret);
    let mut client = BlockCipher::client(b"session id", &secret);
    content.clear();
    encode_batch(&full, &mut content).expect("fits one block");
    c.bench_function("block_encrypted_round_trip", |b| {
        b.iter(|| {
            server
                .encrypt_block(black_box(&content), &mut block)
                .expect("fits");
            client
                .decrypt_block(&mut block)
                .map(<[u8]>::len)
                .expect("same chain")
        })
    });
}

criterion_group!(benches, blocks);
criterion_main!(benches);
