//! `smp-server-ntfs.log` lines (`NtfStore.hs: NtfLogRecord`) and restore with expiry
//! (`Server.hs: restoreServerNtfs`).

use super::*;

const ID1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB";
const ID2: &str = "AgICAgICAgICAgICAgICAgICAgICAgIC";
const NONCE5: &str = "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUF";

fn ntf(n: u8, timestamp: i64) -> MsgNtf {
    MsgNtf {
        msg_id: [n; 24],
        timestamp,
        nonce: [5; 24],
        encrypted_meta: b"meta".to_vec().into_boxed_slice(),
    }
}

#[test]
fn golden_line() {
    let text = format!("v1 {ID1} {ID2} 1750000000 {NONCE5} bWV0YQ==");
    let mut out = Vec::new();
    encode_ntf_line(&mut out, &[1; 24], &ntf(2, 1_750_000_000));
    assert_eq!(String::from_utf8(out).unwrap(), text);
    assert_eq!(
        parse_ntf_line(text.as_bytes()).unwrap(),
        (vec![1; 24], ntf(2, 1_750_000_000))
    );
    // Short nonces are zero-padded (`cbNonce`).
    let parsed = parse_ntf_line(format!("v1 {ID1} {ID2} 1 AQI= bWV0YQ==").as_bytes())
        .unwrap()
        .1;
    assert_eq!(&parsed.nonce[..3], &[1, 2, 0]);
    assert!(parse_ntf_line(format!("v1 {ID1} {ID2} 1 AQI=").as_bytes()).is_err());
}

#[test]
fn store_expire_save_restore() {
    let store = NtfStore::new();
    store.store(&[1; 24], ntf(1, 100));
    store.store(&[1; 24], ntf(2, 200));
    store.store(&[3; 24], ntf(3, 50));
    assert_eq!(store.expire(60), 1);
    assert_eq!(store.count(), 2);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-ntfs.log");
    assert_eq!(save_ntfs(&path, &store).unwrap(), 2);
    let restored = NtfStore::new();
    let (stats, lines) = restore_ntfs(&path, &restored, 150).unwrap();
    assert_eq!(
        (stats.stored, stats.expired, stats.queues, lines),
        (1, 1, 1, 2)
    );
    assert_eq!(restored.take(&[1; 24]), vec![ntf(2, 200)]);
    assert!(crate::store_log::with_suffix(&path, ".bak").exists());
    std::fs::write(&path, "v1 junk\n").unwrap();
    assert!(matches!(
        restore_ntfs(&path, &NtfStore::new(), 0),
        Err(RestoreError::Parse { line: 1, .. })
    ));
    assert_eq!(store.delete(&[1; 24]), 2);
}
