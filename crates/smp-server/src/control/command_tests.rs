//! Parser vectors: the command texts of `Control.hs: strP` and the error texts its attoparsec
//! parser gives (`parseAll`).

use super::*;
use smp_proto::error::{BlockingReason, ClientNotice};

fn ok(line: &str) -> ControlCommand {
    parse_command(line.as_bytes()).unwrap()
}

fn error(line: &[u8]) -> String {
    parse_command(line).unwrap_err()
}

#[test]
fn every_command_parses() {
    assert_eq!(ok("auth s3cr3t"), ControlCommand::Auth(b"s3cr3t".to_vec()));
    assert_eq!(ok("suspend"), ControlCommand::Suspend);
    assert_eq!(ok("resume"), ControlCommand::Resume);
    assert_eq!(ok("clients"), ControlCommand::Clients);
    assert_eq!(ok("stats"), ControlCommand::Stats);
    assert_eq!(ok("stats-rts"), ControlCommand::StatsRts);
    assert_eq!(ok("threads"), ControlCommand::Threads);
    assert_eq!(ok("sockets"), ControlCommand::Sockets);
    assert_eq!(ok("socket-threads"), ControlCommand::SocketThreads);
    assert_eq!(ok("server-info"), ControlCommand::ServerInfo);
    assert_eq!(ok("delete AQID"), ControlCommand::Delete(vec![1, 2, 3]));
    assert_eq!(ok("status AQID"), ControlCommand::Status(vec![1, 2, 3]));
    assert_eq!(ok("unblock AQI="), ControlCommand::Unblock(vec![1, 2]));
    assert_eq!(ok("save"), ControlCommand::Save);
    assert_eq!(ok("help"), ControlCommand::Help);
    assert_eq!(ok("quit"), ControlCommand::Quit);
    assert_eq!(ok(""), ControlCommand::Skip);
    let spam = BlockingInfo {
        reason: BlockingReason::Spam,
        notice: None,
    };
    assert_eq!(
        ok("block AQID reason=spam"),
        ControlCommand::Block(vec![1, 2, 3], spam)
    );
    assert_eq!(
        ok("block AQID reason=content,notice={\"ttl\":86400}"),
        ControlCommand::Block(
            vec![1, 2, 3],
            BlockingInfo {
                reason: BlockingReason::Content,
                notice: Some(ClientNotice { ttl: Some(86400) }),
            }
        )
    );
    assert_eq!(
        ok("block AQID reason=spam,notice={}"),
        ControlCommand::Block(
            vec![1, 2, 3],
            BlockingInfo {
                reason: BlockingReason::Spam,
                notice: Some(ClientNotice { ttl: None }),
            }
        )
    );
}

#[test]
fn bad_lines_get_the_reference_errors() {
    assert_eq!(error(b"foo"), "Failed reading: bad ControlProtocol command");
    assert_eq!(
        error(b"STATS"),
        "Failed reading: bad ControlProtocol command"
    );
    assert_eq!(error(b"stats now"), "endOfInput");
    assert_eq!(error(b" stats"), "endOfInput");
    assert_eq!(error(b"delete"), "space: not enough input");
    assert_eq!(error(b"delete "), "not enough input");
    assert_eq!(error(b"delete  AQID"), "Failed reading: takeWhile1");
    assert_eq!(error(b"delete !"), "Failed reading: takeWhile1");
    assert_eq!(error(b"delete AQID!"), "endOfInput");
    assert_eq!(
        error(b"status A"),
        "Failed reading: Base64-encoded bytestring has invalid size"
    );
    assert_eq!(
        error(b"status AQ="),
        "Failed reading: Base64-encoded bytestring has invalid padding"
    );
    assert_eq!(error(b"auth"), "space: not enough input");
    assert_eq!(error(b"auth "), "not enough input");
    assert_eq!(error(b"auth @x"), "Failed reading: takeWhile1");
    assert_eq!(error(b"auth a@b"), "endOfInput");
    assert_eq!(
        error(b"auth a b"),
        "Failed reading: invalid character in BasicAuth"
    );
    assert_eq!(
        error(b"auth a:b"),
        "Failed reading: invalid character in BasicAuth"
    );
    assert_eq!(error(b"block AQID"), "space: not enough input");
    assert_eq!(error(b"block AQID!"), "space: Failed reading: satisfyWith");
    assert_eq!(error(b"block AQID "), "not enough input");
    assert_eq!(error(b"block AQID reason"), "not enough input");
    assert_eq!(error(b"block AQID spam"), "string");
    assert_eq!(error(b"block AQID reason="), "not enough input");
    assert_eq!(error(b"block AQID reason=cont"), "not enough input");
    assert_eq!(error(b"block AQID reason=other"), "string");
    assert_eq!(error(b"block AQID reason=spam!"), "endOfInput");
    // An invalid notice is dropped by `optional`, and the rest is then trailing input.
    assert_eq!(error(b"block AQID reason=spam,notice=[1]"), "endOfInput");
    assert_eq!(error(b"block AQID reason=spam,notice=nope"), "endOfInput");
}
