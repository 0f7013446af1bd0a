//! Control port commands and their text syntax (`Server/Control.hs: ControlProtocol`, its
//! `strP`), with the reference parser's error texts.
//!
//! The reference parses a line with attoparsec (`parseAll`): the first word up to a space picks
//! the command, arguments follow after single spaces, and the whole line must be consumed. The
//! errors an operator sees (`error: <text>`) are attoparsec's messages, reproduced here:
//! `Failed reading: <why>` for an explicit failure, `not enough input` at the end of the line,
//! `endOfInput` for trailing text, and a `space: ` prefix when the space before an argument is
//! missing.

use super::base64::decode_base64url;
use smp_proto::error::{BlockingInfo, BlockingReason, ClientNotice};

/// A control port command (`ControlProtocol`). Queue ids are kept as decoded bytes: the
/// reference accepts any non-empty base64url text and only the lookup decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlCommand {
    /// `auth <password>` (`CPAuth`).
    Auth(Vec<u8>),
    Suspend,
    Resume,
    Clients,
    Stats,
    /// `stats-rts`.
    StatsRts,
    Threads,
    Sockets,
    /// `socket-threads`.
    SocketThreads,
    /// `server-info`.
    ServerInfo,
    /// `delete <queueId>` (sender or link id).
    Delete(Vec<u8>),
    /// `status <queueId>`.
    Status(Vec<u8>),
    /// `block <queueId> reason=spam|content[,notice=<JSON>]`.
    Block(Vec<u8>, BlockingInfo),
    /// `unblock <queueId>`.
    Unblock(Vec<u8>),
    Save,
    Help,
    Quit,
    /// An empty line (`CPSkip`).
    Skip,
}

const NOT_ENOUGH_INPUT: &str = "not enough input";

/// Parses one line (without its line end) as `strDecode` does; `Err` is the parser's message.
pub fn parse_command(line: &[u8]) -> Result<ControlCommand, String> {
    let word_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let (word, rest) = line.split_at(word_end);
    let mut input = Input(rest);
    let command = match word {
        b"auth" => {
            input.space()?;
            ControlCommand::Auth(input.basic_auth()?)
        }
        b"suspend" => ControlCommand::Suspend,
        b"resume" => ControlCommand::Resume,
        b"clients" => ControlCommand::Clients,
        b"stats" => ControlCommand::Stats,
        b"stats-rts" => ControlCommand::StatsRts,
        b"threads" => ControlCommand::Threads,
        b"sockets" => ControlCommand::Sockets,
        b"socket-threads" => ControlCommand::SocketThreads,
        b"server-info" => ControlCommand::ServerInfo,
        b"delete" => ControlCommand::Delete(input.queue_id()?),
        b"status" => ControlCommand::Status(input.queue_id()?),
        b"block" => {
            let id = input.queue_id()?;
            input.space()?;
            ControlCommand::Block(id, input.blocking_info()?)
        }
        b"unblock" => ControlCommand::Unblock(input.queue_id()?),
        b"save" => ControlCommand::Save,
        b"help" => ControlCommand::Help,
        b"quit" => ControlCommand::Quit,
        b"" => ControlCommand::Skip,
        _ => return Err(failed("bad ControlProtocol command")),
    };
    // `parseAll`: the whole line must be consumed.
    if input.0.is_empty() {
        Ok(command)
    } else {
        Err("endOfInput".to_owned())
    }
}

/// attoparsec's `fail` message.
fn failed(why: &str) -> String {
    format!("Failed reading: {why}")
}

/// The unconsumed rest of the line.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    /// `A.space` (in `_strP`): one whitespace character.
    fn space(&mut self) -> Result<(), String> {
        match self.0.split_first() {
            None => Err(format!("space: {NOT_ENOUGH_INPUT}")),
            Some((&byte, rest)) if is_space(byte) => {
                self.0 = rest;
                Ok(())
            }
            Some(_) => Err(format!("space: {}", failed("satisfyWith"))),
        }
    }

    /// `_strP` of a queue id: a space, then `base64urlP`.
    fn queue_id(&mut self) -> Result<Vec<u8>, String> {
        self.space()?;
        let text_length = self
            .0
            .iter()
            .position(|&b| !(is_alpha_num(b) || b == b'-' || b == b'_'))
            .unwrap_or(self.0.len());
        if text_length == 0 {
            return Err(self.take_while1_error());
        }
        let padding = self.0[text_length..]
            .iter()
            .take_while(|&&b| b == b'=')
            .count();
        let (encoded, rest) = self.0.split_at(text_length + padding);
        self.0 = rest;
        decode_base64url(encoded).map_err(|why| failed(&why))
    }

    /// `BasicAuth` `strP`: text up to `@`, then the allowed-character check.
    fn basic_auth(&mut self) -> Result<Vec<u8>, String> {
        let length = self
            .0
            .iter()
            .position(|&b| b == b'@')
            .unwrap_or(self.0.len());
        if length == 0 {
            return Err(self.take_while1_error());
        }
        let (password, rest) = self.0.split_at(length);
        if !password.iter().all(|&b| is_basic_auth_char(b)) {
            return Err(failed("invalid character in BasicAuth"));
        }
        self.0 = rest;
        Ok(password.to_vec())
    }

    /// `BlockingInfo` `strP`: `reason=` then `spam` or `content`, then an optional
    /// `,notice=<JSON>` taking the rest of the line (dropped again when the JSON is invalid,
    /// which then fails as trailing input).
    fn blocking_info(&mut self) -> Result<BlockingInfo, String> {
        self.literal(b"reason=")?;
        // `"spam" <|> "content"`: when neither matches, the error is the second alternative's.
        let reason = if self.literal(b"spam").is_ok() {
            BlockingReason::Spam
        } else {
            self.literal(b"content")?;
            BlockingReason::Content
        };
        let notice = self
            .0
            .strip_prefix(b",notice=")
            .and_then(|json| ClientNotice::from_json(json).ok());
        if notice.is_some() {
            self.0 = &[];
        }
        Ok(BlockingInfo { reason, notice })
    }

    /// attoparsec `string`: all or nothing; `not enough input` when the rest is a prefix.
    fn literal(&mut self, expected: &[u8]) -> Result<(), String> {
        if let Some(rest) = self.0.strip_prefix(expected) {
            self.0 = rest;
            Ok(())
        } else if expected.starts_with(self.0) {
            Err(NOT_ENOUGH_INPUT.to_owned())
        } else {
            Err("string".to_owned())
        }
    }

    /// `takeWhile1` with nothing to take: at the end of the line it asks for more input.
    fn take_while1_error(&self) -> String {
        if self.0.is_empty() {
            NOT_ENOUGH_INPUT.to_owned()
        } else {
            failed("takeWhile1")
        }
    }
}

/// Haskell `isSpace` on a Latin-1 character.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0)
}

/// Haskell `isAlphaNum` on a Latin-1 character (letters and numbers, including `ª²³µ¹º¼½¾` and
/// the accented letters).
fn is_alpha_num(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            0xaa | 0xb2 | 0xb3 | 0xb5 | 0xb9 | 0xba | 0xbc..=0xbe | 0xc0..=0xd6 | 0xd8..=0xf6 | 0xf8..=0xff
        )
}

/// `Protocol.hs: basicAuth`: printable, not a space, not `@`, `:` or `/` (Latin-1: the soft
/// hyphen is not printable, the no-break space is a space).
fn is_basic_auth_char(byte: u8) -> bool {
    let printable = (0x21..=0x7e).contains(&byte) || (byte >= 0xa1 && byte != 0xad);
    printable && !matches!(byte, b'@' | b':' | b'/')
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
