//! Server-side transmission decoding at every version; an accepted command re-encodes to the
//! same bytes and decodes again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_proto::transmission::{decode_server, encode_client, TransmissionParams};
use smp_proto::version::Version;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let version = Version(6 + u16::from(selector % 13));
    let params = TransmissionParams::new(version, vec![0x5e; 32]);
    if let Ok(signed) = decode_server(&params, bytes) {
        let authorization = signed.authorization.clone();
        let signature = signed.service_signature;
        let encoded = encode_client(&params, &signed.corr_id, &signed.entity_id, &signed.command, |_| {
            authorization.map(|auth| (auth, signature))
        });
        let again = decode_server(&params, &encoded).expect("re-encoded transmission decodes");
        assert_eq!(again.command, signed.command);
        assert_eq!(again.corr_id, signed.corr_id);
        assert_eq!(again.entity_id, signed.entity_id);
    }
});
