//! Crypto primitives on the hot path: a 16 KB XSalsa20-Poly1305 box/unbox with libsodium (the
//! implementation in use) and with the pure-Rust RustCrypto crates (for comparison), Ed25519 and
//! Ed448 verification (OpenSSL in use, pure-Rust `ed448-goldilocks-plus` for comparison), the
//! X25519 authenticator and X25519. Results: `docs/benchmarks.md`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use smp_proto::crypto::{
    cb_authenticate, cb_decrypt, cb_encrypt, cb_verify, sb_decrypt, sb_encrypt, CbNonce,
    Ed25519SigningKey, Ed448SigningKey, SbKey, SecretBox, X25519KeyPair,
};
use xsalsa20poly1305::aead::{AeadInPlace, KeyInit};

const SIZE: usize = 16 * 1024;

fn boxes(c: &mut Criterion) {
    let key = [0x42u8; 32];
    let nonce = CbNonce([7; 24]);
    let mut group = c.benchmark_group("xsalsa20poly1305_16KB");
    group.throughput(Throughput::Bytes(SIZE as u64));

    let sodium = SecretBox::new(&key);
    let mut buffer = vec![0x23u8; SIZE];
    group.bench_function("libsodium_seal", |b| {
        b.iter(|| sodium.seal_in_place(&nonce, black_box(&mut buffer)))
    });
    let plain = vec![0x23u8; SIZE];
    let mut sealed = plain.clone();
    let tag = sodium.seal_in_place(&nonce, &mut sealed);
    group.bench_function("libsodium_seal_open", |b| {
        b.iter(|| {
            let mut work = plain.clone();
            let tag = sodium.seal_in_place(&nonce, &mut work);
            sodium.open_in_place(&nonce, &tag, &mut work).is_ok()
        })
    });

    // The same derived key with RustCrypto: identical bytes, checked before timing.
    let derived = salsa20::hsalsa::<salsa20::cipher::consts::U10>(&key.into(), &Default::default());
    let rust_crypto = xsalsa20poly1305::XSalsa20Poly1305::new(&derived);
    let mut check = plain.clone();
    let rust_tag = rust_crypto
        .encrypt_in_place_detached(&nonce.0.into(), b"", &mut check)
        .expect("XSalsa20Poly1305 takes no associated data");
    assert_eq!(check, sealed, "RustCrypto and libsodium ciphertexts differ");
    assert_eq!(rust_tag.as_slice(), tag.as_slice(), "tags differ");
    group.bench_function("rustcrypto_seal", |b| {
        b.iter(|| {
            rust_crypto.encrypt_in_place_detached(&nonce.0.into(), b"", black_box(&mut buffer))
        })
    });
    group.bench_function("rustcrypto_seal_open", |b| {
        b.iter(|| {
            let mut work = plain.clone();
            let tag = rust_crypto
                .encrypt_in_place_detached(&nonce.0.into(), b"", &mut work)
                .expect("no associated data");
            rust_crypto
                .decrypt_in_place_detached(&nonce.0.into(), b"", &mut work, &tag)
                .is_ok()
        })
    });
    group.finish();
}

fn signatures_and_dh(c: &mut Criterion) {
    let mut rng = rand::thread_rng();
    let message = vec![0x55u8; 120];

    let ed25519 = Ed25519SigningKey::generate(&mut rng);
    let (public, signature) = (ed25519.public_key(), ed25519.sign(&message));
    c.bench_function("ed25519_verify", |b| {
        b.iter(|| signature.verify(&public, black_box(&message)))
    });

    let ed448 = Ed448SigningKey::generate(&mut rng).expect("OpenSSL Ed448 key");
    let (public, signature) = (ed448.public_key(), ed448.sign(&message).expect("signature"));
    c.bench_function("ed448_verify", |b| {
        b.iter(|| signature.verify(&public, black_box(&message)))
    });

    // The pure-Rust alternative, for comparison.
    let seed = [0x21u8; 57];
    let pure = ed448_goldilocks_plus::SigningKey::from_bytes((&seed).into());
    let pure_public = pure.verifying_key();
    let pure_signature = pure.sign_raw(&message);
    c.bench_function("ed448_verify_pure_rust", |b| {
        b.iter(|| {
            pure_public
                .verify_raw(&pure_signature, black_box(&message))
                .is_ok()
        })
    });

    let server = X25519KeyPair::generate(&mut rng);
    let client = X25519KeyPair::generate(&mut rng);
    c.bench_function("x25519_dh", |b| {
        b.iter(|| server.diffie_hellman(black_box(client.public_key())))
    });

    let nonce = CbNonce([1; 24]);
    let authenticator = cb_authenticate(server.public_key(), &client, &nonce, &message);
    c.bench_function("authenticator_verify", |b| {
        b.iter(|| {
            cb_verify(
                client.public_key(),
                &server,
                &nonce,
                &authenticator,
                black_box(&message),
            )
        })
    });
}

/// The SMP-level boxes on a 16 KB padded message: `cbEncrypt`/`cbDecrypt` (crypto_box with a
/// precomputed DH secret, and with the X25519 agreement in each iteration) and
/// `sbEncrypt`/`sbDecrypt` (secret box).
fn smp_boxes(c: &mut Criterion) {
    let nonce = CbNonce([9; 24]);
    let message = vec![0x61u8; SIZE - 2];
    let mut group = c.benchmark_group("smp_boxes_16KB");
    group.throughput(Throughput::Bytes(SIZE as u64));

    let mut rng = rand::thread_rng();
    let ours = X25519KeyPair::generate(&mut rng);
    let theirs = X25519KeyPair::generate(&mut rng);
    let secret = ours.diffie_hellman(theirs.public_key());
    group.bench_function("crypto_box_encrypt_decrypt", |b| {
        b.iter(|| {
            let sealed = cb_encrypt(&secret, &nonce, black_box(&message), SIZE)
                .expect("message fits the padded length");
            cb_decrypt(&secret, &nonce, &sealed).is_ok()
        })
    });
    group.bench_function("crypto_box_with_dh_encrypt_decrypt", |b| {
        b.iter(|| {
            let secret = ours.diffie_hellman(black_box(theirs.public_key()));
            let sealed = cb_encrypt(&secret, &nonce, black_box(&message), SIZE)
                .expect("message fits the padded length");
            let secret = theirs.diffie_hellman(ours.public_key());
            cb_decrypt(&secret, &nonce, &sealed).is_ok()
        })
    });
    let key = SbKey([0x17; 32]);
    group.bench_function("secret_box_encrypt_decrypt", |b| {
        b.iter(|| {
            let sealed = sb_encrypt(&key, &nonce, black_box(&message), SIZE)
                .expect("message fits the padded length");
            sb_decrypt(&key, &nonce, &sealed).is_ok()
        })
    });
    group.finish();
}

criterion_group!(benches, boxes, smp_boxes, signatures_and_dh);
criterion_main!(benches);
