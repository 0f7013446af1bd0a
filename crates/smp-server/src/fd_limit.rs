//! How many connections the server can hold: every connection is one file descriptor, so the
//! cap follows the process's open-file limit instead of a fixed number that a busy relay
//! (tens of thousands of clients) would hit long before its memory or CPU.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use tracing::warn;

/// Descriptors kept back for everything that is not a client connection: listening sockets,
/// store and message logs, statistics files, proxy connections to other relays.
const RESERVED_DESCRIPTORS: u64 = 256;
/// Below this many connections an operator is warned that the limit is low.
const LOW_CONNECTION_LIMIT: usize = 10_000;
/// The cap when the limit is "unlimited".
const UNLIMITED: usize = 1 << 40;

/// Raises the soft open-file limit to the hard one (allowed without privileges) and returns the
/// resulting soft limit (`None`: unlimited).
pub fn raise_open_file_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    if limit.current != limit.maximum && setrlimit(Resource::Nofile, raised).is_ok() {
        return raised.current;
    }
    limit.current
}

/// The connection cap for an open-file limit (`None`: unlimited).
pub fn connection_limit(open_files: Option<u64>) -> usize {
    match open_files {
        None => UNLIMITED,
        Some(limit) => {
            let usable = limit.saturating_sub(RESERVED_DESCRIPTORS).max(1);
            usize::try_from(usable).map_or(UNLIMITED, |usable| usable.min(UNLIMITED))
        }
    }
}

/// Raises the limit, picks the cap and warns when it is low (the reference's packaged systemd
/// unit sets `LimitNOFILE=65535`).
pub fn configure_connection_limit() -> usize {
    let open_files = raise_open_file_limit();
    let cap = connection_limit(open_files);
    if cap < LOW_CONNECTION_LIMIT {
        warn!(
            "the open file limit ({}) allows only {cap} client connections; raise it \
             (LimitNOFILE=65535 in the systemd unit, or ulimit -n before starting)",
            open_files.unwrap_or_default()
        );
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_follows_the_open_file_limit() {
        assert_eq!(connection_limit(Some(65_535)), 65_279);
        assert_eq!(connection_limit(Some(100)), 1);
        assert_eq!(connection_limit(None), UNLIMITED);
        assert_eq!(connection_limit(Some(u64::MAX - 1)), UNLIMITED);
    }

    #[test]
    fn raising_reaches_the_hard_limit() {
        let limit = raise_open_file_limit();
        assert_eq!(getrlimit(Resource::Nofile).current, limit);
        // A second call finds the soft limit already at the hard one.
        assert_eq!(raise_open_file_limit(), limit);
    }
}
