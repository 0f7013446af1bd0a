//! The control port (`Server.hs: runCPServer`, `runCPClient`, `controlPortAuth`;
//! `Server/Control.hs`): a plain-text line protocol on 127.0.0.1 for the operator, enabled by
//! `[TRANSPORT] control_port`.
//!
//! A client is greeted with two lines, then sends one command per line (`\n` or `\r\n`) and
//! gets the answer lines. `auth <password>` sets the session's role once: admin
//! (`control_port_admin_password`) or user (`control_port_user_password`). Commands answer
//! `AUTH` when the role is missing; the texts are the reference's. Commands and queue ids are
//! never logged above debug level (the reference logs each command line as a warning).

mod base64;
pub mod command;
mod info;
pub mod queues;
pub mod save;
mod show;

use crate::state::ServerState;
use crate::store::backend::StoreBackend;
use command::{parse_command, ControlCommand};
use queues::BlockQuota;
use save::SaveTargets;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// The two greeting lines.
pub const GREETING: &str = "SMP server control port\n'help' for supported commands\n";

/// The answer to `help` (the reference's list, which leaves out several commands).
pub const HELP: &str = "commands: stats, stats-rts, clients, sockets, socket-threads, threads, \
                        server-info, delete, save, help, quit\n";

/// Longest accepted line; a longer one closes the connection.
const MAX_LINE: u64 = 64 * 1024;

/// Control port settings from the INI (`[TRANSPORT] control_port`, `[AUTH]
/// control_port_admin_password`, `control_port_user_password`, `daily_block_queue_quota`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ControlSettings {
    pub port: u16,
    pub admin_password: Option<Vec<u8>>,
    pub user_password: Option<Vec<u8>>,
    pub daily_block_queue_quota: i64,
}

impl std::fmt::Debug for ControlSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlSettings")
            .field("port", &self.port)
            .field("daily_block_queue_quota", &self.daily_block_queue_quota)
            .finish_non_exhaustive()
    }
}

/// A session's role (`Control.hs: CPClientRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    None,
    User,
    Admin,
}

impl Role {
    /// `show CPClientRole`.
    fn name(self) -> &'static str {
        match self {
            Role::None => "CPRNone",
            Role::User => "CPRUser",
            Role::Admin => "CPRAdmin",
        }
    }
}

/// What every control session works with.
pub struct ControlContext {
    pub state: Arc<ServerState>,
    pub backend: Arc<StoreBackend>,
    admin_password: Option<Vec<u8>>,
    user_password: Option<Vec<u8>>,
    block_quota: BlockQuota,
    save_targets: SaveTargets,
    /// One `save` at a time (`savingLock`).
    save_lock: tokio::sync::Mutex<()>,
}

impl ControlContext {
    /// The block quota starts from the restored `qBlocked` statistic.
    pub fn new(
        state: Arc<ServerState>,
        backend: Arc<StoreBackend>,
        settings: &ControlSettings,
        save_targets: SaveTargets,
    ) -> Self {
        let block_quota = BlockQuota::new(
            settings.daily_block_queue_quota,
            state.clock.now(),
            state.stats.counters.q_blocked.get(),
        );
        ControlContext {
            state,
            backend,
            admin_password: settings.admin_password.clone(),
            user_password: settings.user_password.clone(),
            block_quota,
            save_targets,
            save_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// `controlPortAuth`'s choice: admin password first, then user password.
    fn role_for(&self, password: &[u8]) -> Role {
        let matches = |expected: &Option<Vec<u8>>| {
            expected
                .as_deref()
                .is_some_and(|expected| constant_time_eq(expected, password))
        };
        if matches(&self.admin_password) {
            Role::Admin
        } else if matches(&self.user_password) {
            Role::User
        } else {
            Role::None
        }
    }
}

/// Compares without an early exit on the first differing byte (the length is not secret).
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// Binds 127.0.0.1:`port` (`runLocalTCPServer`); only local processes can connect.
pub async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(address)
        .await
        .map_err(|error| anyhow::anyhow!("cannot bind the control port {address}: {error}"))
}

/// Accepts control clients until `shutdown`, one task each; they end with the server.
pub async fn serve(
    listener: TcpListener,
    context: Arc<ControlContext>,
    shutdown: CancellationToken,
) {
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let context = Arc::clone(&context);
                    let shutdown = shutdown.clone();
                    sessions.spawn(async move {
                        if let Err(error) = serve_client(stream, &context, &shutdown).await {
                            debug!(%error, "control port client ended");
                        }
                    });
                }
                Err(error) => {
                    warn!(%error, "control port: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    sessions.shutdown().await;
}

/// One control session: greeting, then a command per line until `quit`, the end of input or
/// `shutdown`.
pub async fn serve_client<S>(
    stream: S,
    context: &ControlContext,
    shutdown: &CancellationToken,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::new(reader);
    writer.write_all(GREETING.as_bytes()).await?;
    writer.flush().await?;
    let mut role = Role::None;
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE);
        let read = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            read = limited.read_until(b'\n', &mut line) => read?,
        };
        if read == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if read as u64 >= MAX_LINE {
            debug!("control port: line too long");
            return Ok(());
        }
        // `trimCR`
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let command = match parse_command(&line) {
            Ok(ControlCommand::Quit) => return Ok(()),
            Ok(command) => command,
            Err(error) => {
                writer
                    .write_all(format!("error: {error}\n").as_bytes())
                    .await?;
                writer.flush().await?;
                continue;
            }
        };
        if let ControlCommand::Save = command {
            if role == Role::Admin {
                writer.write_all(b"saving server state...\n").await?;
                writer.flush().await?;
            }
        }
        let answer = answer(context, &mut role, command).await;
        writer.write_all(answer.as_bytes()).await?;
        writer.flush().await?;
    }
}

/// The answer lines to one command (`processCP`); `save` after its first line.
pub async fn answer(context: &ControlContext, role: &mut Role, command: ControlCommand) -> String {
    debug!(command = command_name(&command), "control port command");
    let current = *role;
    let needs = |required: Role| {
        let allowed = match required {
            Role::Admin => current == Role::Admin,
            _ => current != Role::None,
        };
        if !allowed {
            warn!("Unauthorized control port command");
        }
        allowed
    };
    const AUTH: &str = "AUTH\n";
    let lines = |text: String| text + "\n";
    match command {
        ControlCommand::Auth(password) => authenticate(context, role, &password),
        ControlCommand::Suspend if needs(Role::Admin) => lines("suspend not implemented".into()),
        ControlCommand::Resume if needs(Role::Admin) => lines("resume not implemented".into()),
        ControlCommand::Clients if needs(Role::Admin) => clients(context),
        ControlCommand::Stats if needs(Role::User) => info::stats(context, current),
        ControlCommand::StatsRts => info::runtime_stats(),
        ControlCommand::Threads if needs(Role::Admin) => info::threads(),
        ControlCommand::Sockets if needs(Role::User) => info::sockets(context),
        ControlCommand::SocketThreads if needs(Role::Admin) => info::socket_threads(),
        ControlCommand::ServerInfo if needs(Role::User) => info::server_info(context, current),
        ControlCommand::Delete(id) if needs(Role::Admin) => lines(queues::delete(context, &id)),
        ControlCommand::Status(id) if needs(Role::User) => lines(queues::status(context, &id)),
        ControlCommand::Block(id, info) if needs(Role::User) => {
            lines(queues::block(context, &id, info))
        }
        ControlCommand::Unblock(id) if needs(Role::User) => lines(queues::unblock(context, &id)),
        ControlCommand::Save if needs(Role::Admin) => save(context).await,
        ControlCommand::Help => HELP.to_owned(),
        ControlCommand::Quit | ControlCommand::Skip => String::new(),
        _ => AUTH.to_owned(),
    }
}

/// `controlPortAuth`: the first `auth` sets the role (possibly none); later ones only report
/// the role, with a hint when the password names another one.
fn authenticate(context: &ControlContext, role: &mut Role, password: &[u8]) -> String {
    let requested = context.role_for(password);
    if *role == Role::None {
        *role = requested;
        format!("Current role is {}\n", requested.name())
    } else if *role == requested {
        format!("Current role is {}\n", role.name())
    } else {
        format!(
            "Current role is {}, start new session to change.\n",
            role.name()
        )
    }
}

async fn save(context: &ControlContext) -> String {
    let _saving = context.save_lock.lock().await;
    match save::save_snapshot(context) {
        Ok(()) => "server state saved!\n".to_owned(),
        Err(error) => {
            warn!("control port: save failed: {error:#}");
            format!("error: {error:#}\n")
        }
    }
}

/// `clients`: a CSV row per connection: number, session id (standard base64), connected,
/// connection time, last receive and send times (epoch seconds), age in seconds, and the
/// number of queue subscriptions.
fn clients(context: &ControlContext) -> String {
    use ::base64::engine::general_purpose::STANDARD;
    use ::base64::Engine as _;
    use std::sync::atomic::Ordering;
    let now = context.state.clock.seconds();
    let mut out =
        "clientId,sessionId,connected,createdAt,rcvActiveAt,sndActiveAt,age,subscriptions\n"
            .to_owned();
    for client in context.state.clients() {
        let activity = client.activity();
        let created_at = activity.created_at.load(Ordering::Relaxed);
        let connected = if crate::subscriptions::Subscriber::is_connected(&*client) {
            "True"
        } else {
            "False"
        };
        let _ = writeln!(
            out,
            "{},{},{connected},{created_at},{},{},{},{}",
            client.id(),
            STANDARD.encode(&client.params().session_id),
            activity.last_received.load(Ordering::Relaxed),
            activity.last_sent.load(Ordering::Relaxed),
            now - created_at,
            client.subscriptions().len()
        );
    }
    out
}

/// The command's name for debug logs (never its arguments).
fn command_name(command: &ControlCommand) -> &'static str {
    match command {
        ControlCommand::Auth(_) => "auth",
        ControlCommand::Suspend => "suspend",
        ControlCommand::Resume => "resume",
        ControlCommand::Clients => "clients",
        ControlCommand::Stats => "stats",
        ControlCommand::StatsRts => "stats-rts",
        ControlCommand::Threads => "threads",
        ControlCommand::Sockets => "sockets",
        ControlCommand::SocketThreads => "socket-threads",
        ControlCommand::ServerInfo => "server-info",
        ControlCommand::Delete(_) => "delete",
        ControlCommand::Status(_) => "status",
        ControlCommand::Block(..) => "block",
        ControlCommand::Unblock(_) => "unblock",
        ControlCommand::Save => "save",
        ControlCommand::Help => "help",
        ControlCommand::Quit => "quit",
        ControlCommand::Skip => "",
    }
}

#[cfg(test)]
mod tests;
