//! Directories and command-line preprocessing (`apps/smp-server/Main.hs`, `CLI.getEnvPath`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Default configuration directory.
pub const DEFAULT_CFG_PATH: &str = "/etc/opt/simplex";
/// Default state (log) directory.
pub const DEFAULT_LOG_PATH: &str = "/var/opt/simplex";
/// Environment variable overriding the configuration directory.
pub const CFG_PATH_ENV: &str = "SMP_SERVER_CFG_PATH";
/// Environment variable overriding the state directory.
pub const LOG_PATH_ENV: &str = "SMP_SERVER_LOG_PATH";

/// The two directories every command works in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// `CFG`: INI file, certificates, keys, fingerprint.
    pub cfg: PathBuf,
    /// `LOG`: store log, message log, statistics, web site.
    pub log: PathBuf,
}

impl Paths {
    /// From the environment; an unset or empty variable means the default (`CLI.getEnvPath`).
    pub fn from_env() -> Paths {
        Paths {
            cfg: env_path(CFG_PATH_ENV, DEFAULT_CFG_PATH),
            log: env_path(LOG_PATH_ENV, DEFAULT_LOG_PATH),
        }
    }

    /// `CFG/smp-server.ini`.
    pub fn ini_file(&self) -> PathBuf {
        self.cfg.join(smp_server::config::INI_FILE)
    }

    pub fn store_log_file(&self) -> PathBuf {
        self.log.join("smp-server-store.log")
    }

    pub fn messages_file(&self) -> PathBuf {
        self.log.join("smp-server-messages.log")
    }

    pub fn journal_dir(&self) -> PathBuf {
        self.log.join("messages")
    }

    pub fn default_web_path(&self) -> PathBuf {
        self.log.join("www")
    }
}

fn env_path(name: &str, default: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => PathBuf::from(default),
    }
}

/// Text form of a path as the reference prints it (`System.FilePath.combine`).
pub fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Removes GHC runtime options: everything from a `+RTS` argument up to and including the next
/// `-RTS`, or to the end when there is none. The shipped systemd unit and Docker entrypoint run
/// `smp-server start +RTS -N -RTS`, which the reference's runtime consumes.
pub fn strip_rts_options(arguments: Vec<OsString>) -> Vec<OsString> {
    let mut kept = Vec::with_capacity(arguments.len());
    let mut in_rts = false;
    for argument in arguments {
        if in_rts {
            if argument == "-RTS" {
                in_rts = false;
            }
        } else if argument == "+RTS" {
            in_rts = true;
        } else {
            kept.push(argument);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<OsString> {
        text.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn rts_segments_are_removed() {
        assert_eq!(
            strip_rts_options(args("smp-server start +RTS -N -RTS")),
            args("smp-server start")
        );
        assert_eq!(
            strip_rts_options(args("smp-server +RTS -N4 -A16m -RTS start -m")),
            args("smp-server start -m")
        );
        assert_eq!(
            strip_rts_options(args("smp-server start +RTS -N")),
            args("smp-server start")
        );
        assert_eq!(
            strip_rts_options(args(
                "smp-server start +RTS -N -RTS +RTS -A1m -RTS --log-level warn"
            )),
            args("smp-server start --log-level warn")
        );
    }
}
