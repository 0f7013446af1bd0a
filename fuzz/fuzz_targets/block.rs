//! Block content (batch) decoding: every transmission of a valid batch re-encodes to the same
//! content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_proto::block::{decode_batch, encode_batch};

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = decode_batch(data) {
        let transmissions: Vec<&[u8]> = batch.iter().collect();
        assert_eq!(transmissions.len(), batch.len());
        let mut encoded = Vec::new();
        if encode_batch(&transmissions, &mut encoded).is_ok() {
            assert_eq!(encoded, data);
        }
    }
});
