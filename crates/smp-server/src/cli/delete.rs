//! `smp-server delete` (`Server.Main.smpServerCLI_`, case `Delete`): after the confirmation `Y`,
//! removes the configuration and the state directories entirely.

use std::io::{self, BufRead};
use std::path::Path;

use anyhow::Context;

use super::paths::Paths;
use super::prompt::Prompter;
use super::{exit_error, CliResult};

pub fn run<R: BufRead>(paths: &Paths, prompter: &mut Prompter<R>) -> CliResult {
    let confirmed = prompter
        .confirm(
            "WARNING: deleting the server will make all queues inaccessible, because the server identity (certificate fingerprint) will change.\nTHIS CANNOT BE UNDONE!",
        )
        .context("reading the confirmation")?;
    if !confirmed {
        return Err(exit_error("Server NOT deleted"));
    }
    delete_dir_if_exists(&paths.cfg)?;
    delete_dir_if_exists(&paths.log)?;
    println!("Deleted configuration and log files");
    Ok(())
}

/// `CLI.deleteDirIfExists`.
pub fn delete_dir_if_exists(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("removing {}", path.display())),
    }
}
