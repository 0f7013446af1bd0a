//! `smp-server journal …` and `smp-server database …` (`Server.Main.smpServerCLI_`, cases
//! `Journal` and `Database`).
//!
//! This build keeps messages in memory (with the message log); it has no journal or PostgreSQL
//! storage. `journal delete` works as in the reference (it only removes the directory);
//! `journal import`/`export` run the reference's checks and then stop with an explanation;
//! `database` prints the reference's "compiled without PostgreSQL" message.

use std::io::BufRead;

use anyhow::Context;
use smp_server::config::Config;

use super::args::JournalAction;
use super::delete::delete_dir_if_exists;
use super::paths::{display, Paths};
use super::prompt::Prompter;
use super::{exit_error, CliResult};

/// Printed by `database` and for PostgreSQL storage modes (`Env.noPostgresExitStr`).
pub const NO_POSTGRES: &str = "Error: server binary is compiled without support for PostgreSQL database.\nPlease download `smp-server-postgres` or re-compile with `cabal build -fserver_postgres`.";

/// Printed where the reference would read or write journal storage.
pub const NO_JOURNAL: &str = "Error: this smp-server build does not support journal message storage (`store_messages = journal`).\nUse the reference smp-server 6.5.5 `journal export` to move messages to the message log, then `journal delete`.";

pub fn run_journal<R: BufRead>(
    paths: &Paths,
    config: &Config,
    action: JournalAction,
    prompter: &mut Prompter<R>,
) -> CliResult {
    let journal_dir = paths.journal_dir();
    let messages_file = paths.messages_file();
    let journal_exists = journal_dir.is_dir();
    let messages_exist = messages_file.is_file();
    let journal = display(&journal_dir);
    let messages = display(&messages_file);
    // `getRequiredStoreLogFile`
    if !config.store.store_log {
        return Err(exit_error("Store log disabled, see `[STORE_LOG] enable`"));
    }
    let store_log = paths.store_log_file();
    if !store_log.is_file() {
        return Err(exit_error(format!(
            "Store log file {} not found",
            display(&store_log)
        )));
    }
    let both_present = || {
        exit_error(format!(
            "Error: both {messages} file and {journal} directory are present.\nConfigure memory storage."
        ))
    };
    match action {
        JournalAction::Import => {
            if messages_exist && journal_exists {
                return Err(both_present());
            }
            if journal_exists {
                return Err(exit_error(format!("{journal} directory already exists.")));
            }
            if !messages_exist {
                return Err(exit_error(format!("{messages} file does not exist.")));
            }
            Err(exit_error(NO_JOURNAL))
        }
        JournalAction::Export => {
            if messages_exist && journal_exists {
                return Err(both_present());
            }
            if messages_exist {
                return Err(exit_error(format!("{messages} file already exists.")));
            }
            Err(exit_error(NO_JOURNAL))
        }
        JournalAction::Delete => {
            if !journal_exists {
                return Err(exit_error(format!("{journal} directory does not exists.")));
            }
            let confirmed = prompter
                .confirm(&format!(
                    "WARNING: journal directory {journal} will be permanently deleted.\nTHIS CANNOT BE UNDONE!"
                ))
                .context("reading the confirmation")?;
            if !confirmed {
                return Err(exit_error("Messages NOT deleted"));
            }
            delete_dir_if_exists(&journal_dir)?;
            println!("Deleted all messages in journal {journal}");
            Ok(())
        }
    }
}
