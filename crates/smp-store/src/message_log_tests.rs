//! `smp-server-messages.log` lines (`MsgStore.hs: MsgLogRecord`, `Protocol.hs` `Message`
//! `StrEncoding`) and restore (`Server.hs: importMessages`).

use super::*;
use crate::message_store::tests::message;

const ID1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB";
const ID2: &str = "AgICAgICAgICAgICAgICAgICAgICAgIC";
const ID3: &str = "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMD";
const ID9: &str = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJ";

fn line(recipient: &[u8], message: &Message) -> String {
    let mut out = Vec::new();
    encode_message_line(&mut out, recipient, message);
    String::from_utf8(out).unwrap()
}

#[test]
fn golden_lines() {
    let body = Message {
        msg_id: [2; 24],
        timestamp: 1_750_000_000,
        kind: MessageKind::Message {
            notification: true,
            body: Arc::from(b"hello".to_vec()),
        },
    };
    let text = format!("v3 {ID1} {ID2} 1750000000 flags=T aGVsbG8=");
    assert_eq!(line(&[1; 24], &body), text);
    assert_eq!(
        parse_message_line(text.as_bytes()).unwrap(),
        (vec![1; 24], body.clone())
    );
    let quota = Message {
        msg_id: [3; 24],
        timestamp: 1_750_000_001,
        kind: MessageKind::Quota,
    };
    let text = format!("v3 {ID1} {ID3} 1750000001 quota");
    assert_eq!(line(&[1; 24], &quota), text);
    assert_eq!(parse_message_line(text.as_bytes()).unwrap().1, quota);
    // Missing flags= means F; extra flag characters are ignored; unpadded base64.
    let parsed = parse_message_line(format!("v3 {ID1} {ID2} 1750000000 aGVsbG8").as_bytes())
        .unwrap()
        .1;
    assert_eq!(
        parsed.kind,
        MessageKind::Message {
            notification: false,
            body: Arc::from(b"hello".to_vec())
        }
    );
    let parsed =
        parse_message_line(format!("v3 {ID1} {ID2} 1750000000 flags=TXY aGVsbG8=").as_bytes())
            .unwrap()
            .1;
    assert_eq!(parsed, body);
    for bad in [
        format!("{ID1} {ID2} 1750000000 flags=T aGVsbG8="),
        format!("v3 {ID1} {ID2} 1750000000 flags=T "),
        format!("v3 {ID1} {ID2} 1750000000 quota x"),
        format!("v3 {ID1} AQID 1750000000 quota"),
        format!("v3 {ID1} {ID2} t flags=T aGVsbG8="),
    ] {
        assert!(parse_message_line(bad.as_bytes()).is_err(), "{bad}");
    }
    let long = vec![0u8; MAX_MESSAGE_LENGTH + 1];
    let mut text = format!("v3 {ID1} {ID2} 1 flags=F ").into_bytes();
    put_base64(&mut text, &long);
    assert!(parse_message_line(&text).is_err());
}

#[test]
fn save_then_restore() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-messages.log");
    let store = MessageStore::new(2);
    store.write_message(&[1; 24], message(1, 100));
    store.write_message(&[1; 24], message(2, 200));
    store.write_message(&[1; 24], message(3, 300));
    store.write_message(&[9; 24], message(4, 400));
    assert_eq!(save_messages(&path, &store, true).unwrap(), 4);
    assert_eq!(store.message_count(), 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let tags: Vec<&str> = text
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(tags.len(), 4);
    assert_eq!(tags[2], "quota");
    assert!(text
        .lines()
        .nth(3)
        .unwrap()
        .starts_with(&format!("v3 {ID9} ")));

    // Restore with expiry at 150 and only queue 1 known, skipping warnings.
    let restored = MessageStore::new(2);
    let stats = restore_messages(&path, &restored, |id| id == [1; 24], Some(150), true).unwrap();
    assert_eq!((stats.stored, stats.expired), (1, 1));
    assert!(!path.exists());
    assert!(crate::store_log::with_suffix(&path, ".bak").exists());
    // 2@200 then the marker; the queue is over quota.
    assert_eq!(restored.size(&[1; 24]), 2);
    assert_eq!(restored.write_message(&[1; 24], message(5, 500)), None);
    assert_eq!(restored.size(&[9; 24]), 0);
}

#[test]
fn unknown_queue_and_bad_lines() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-messages.log");
    let good = format!("v3 {ID1} {ID2} 1750000000 flags=T aGVsbG8=");
    std::fs::write(&path, format!("{good}\n")).unwrap();
    let error =
        restore_messages(&path, &MessageStore::default(), |_| false, None, false).unwrap_err();
    assert_eq!(
        error.to_string(),
        "warning restoring messages: queue AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB does not exist, start with --skip-warnings option to ignore this error"
    );
    assert!(path.exists());
    // A bad last line is a warning; a bad line before it is fatal.
    std::fs::write(&path, format!("{good}\nv3 broken")).unwrap();
    assert!(matches!(
        restore_messages(&path, &MessageStore::default(), |_| true, None, false),
        Err(RestoreError::Warning(_))
    ));
    let store = MessageStore::default();
    let stats = restore_messages(&path, &store, |_| true, None, true).unwrap();
    assert_eq!(stats.stored, 1);
    std::fs::write(&path, format!("v3 broken\n{good}\n")).unwrap();
    assert!(matches!(
        restore_messages(&path, &MessageStore::default(), |_| true, None, true),
        Err(RestoreError::Parse { line: 1, .. })
    ));
}
