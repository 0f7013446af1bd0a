//! The crypto one relayed message needs (`smp_bench::floor`): TLS ChaCha20-Poly1305 (OpenSSL) on a
//! 16 KB record, the v11 block secret box, the recipient crypto_box, Ed25519 verification.
//! `smp-bench` measures the same operations with a plain timing loop to state throughput as a
//! fraction of this floor. Results: `docs/benchmarks.md`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use smp_bench::floor::{FloorWork, RECORD};

fn floor(c: &mut Criterion) {
    let mut work = FloorWork::new().expect("floor state");
    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Bytes(RECORD as u64));
    group.bench_function("tls_chacha20poly1305_seal_16KB", |b| {
        b.iter(|| black_box(work.tls_seal().expect("seal")))
    });
    group.bench_function("tls_chacha20poly1305_open_16KB", |b| {
        b.iter(|| black_box(work.tls_open().expect("open")))
    });
    group.bench_function("block_secretbox_seal", |b| {
        b.iter(|| work.block_seal().expect("block seal"))
    });
    group.bench_function("block_secretbox_seal_then_open", |b| {
        b.iter(|| black_box(work.block_round_trip().expect("block round trip")))
    });
    group.bench_function("recipient_crypto_box", |b| {
        b.iter(|| black_box(work.crypto_box().expect("crypto_box")))
    });
    group.finish();
    c.bench_function("ed25519_verify", |b| {
        b.iter(|| black_box(work.ed25519_verify()))
    });
}

criterion_group!(benches, floor);
criterion_main!(benches);
