//! The `smp-server` command line (`Server.Main.smpServerCLI_`): argument preprocessing, command
//! dispatch, and the reference's exit conventions — messages for the operator on stdout with exit
//! code 1 ("exit error"), unexpected failures as `smp-server: …` on stderr with exit code 1.

pub mod args;
pub mod cert;
pub mod delete;
pub mod ini_text;
pub mod init;
pub mod journal;
pub mod output;
pub mod paths;
pub mod prompt;
pub mod serve;
pub mod start;

use std::ffi::OsString;
use std::fmt::Display;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use smp_server::config::{Config, LoadError};

use args::{Cli, Command};
use paths::{display, Paths};
use prompt::Prompter;

/// A command failed; the exit code is 1 either way.
pub enum Failure {
    /// The message was already printed (stdout, like `CLI.exitError`).
    Reported,
    /// An unexpected error, printed as `smp-server: …` on stderr.
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::Error(error)
    }
}

pub type CliResult = Result<(), Failure>;

/// Prints `message` on stdout and fails (`CLI.exitError`).
pub fn exit_error(message: impl Display) -> Failure {
    println!("{message}");
    Failure::Reported
}

/// Parses the arguments and runs the command.
pub fn run(arguments: Vec<OsString>) -> ExitCode {
    let arguments = paths::strip_rts_options(arguments);
    let paths = Paths::from_env();
    let cli = match parse(arguments, &paths) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match cli {
        Cli { version: true, .. } => {
            println!("{}", output::version_line());
            Ok(())
        }
        Cli {
            command: Some(command),
            ..
        } => dispatch(&paths, command),
        Cli { command: None, .. } => {
            let mut command = command_with_paths(&paths);
            // optparse's `showHelpOnEmpty`: help and a failure exit
            eprintln!("{}", command.render_help());
            Err(Failure::Reported)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Reported) => ExitCode::FAILURE,
        Err(Failure::Error(error)) => {
            eprintln!("smp-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The clap command with the version header and the directories in the descriptions.
fn command_with_paths(paths: &Paths) -> clap::Command {
    let ini = display(&paths.ini_file());
    let cfg = display(&paths.cfg);
    let log = display(&paths.log);
    Cli::command()
        .before_help(output::version_line())
        .mut_subcommand("init", |command| {
            command.about(format!(
                "Initialize server - creates {cfg} and {log} directories and configuration files"
            ))
        })
        .mut_subcommand("cert", |command| {
            command.about(format!(
                "Generate new online TLS server credentials (configuration: {ini})"
            ))
        })
        .mut_subcommand("start", |command| {
            command.about(format!("Start server (configuration: {ini})"))
        })
}

fn parse(arguments: Vec<OsString>, paths: &Paths) -> Result<Cli, ExitCode> {
    let matches = command_with_paths(paths).try_get_matches_from(arguments);
    let parsed = matches.and_then(|matches| Cli::from_arg_matches(&matches));
    parsed.map_err(|error| {
        let _ = error.print();
        if error.use_stderr() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    })
}

fn dispatch(paths: &Paths, command: Command) -> CliResult {
    let stdin = std::io::stdin();
    let mut prompter = Prompter::new(stdin.lock());
    let ini_file = display(&paths.ini_file());
    match command {
        Command::Init(args) => {
            if paths.ini_file().exists() {
                return Err(exit_error(format!(
                    "Error: server is already initialized ({ini_file} exists).\nRun `smp-server start`."
                )));
            }
            init::run(paths, *args, &mut prompter)
        }
        Command::Delete => delete::run(paths, &mut prompter),
        Command::Database { .. } => Err(exit_error(journal::NO_POSTGRES)),
        Command::Cert(args) => {
            load_config(paths)?;
            cert::run(paths, args)
        }
        Command::Start(args) => {
            let config = load_config(paths)?;
            start::run(paths, config, args)
        }
        Command::Journal { action } => {
            let config = load_config(paths)?;
            journal::run_journal(paths, &config, action, &mut prompter)
        }
    }
}

/// `withIniFile`, then the typing of every value: a missing file is an operator error on
/// stdout; an invalid value names the file, section and key on stderr.
fn load_config(paths: &Paths) -> Result<Config, Failure> {
    let ini_file = paths.ini_file();
    if !ini_file.exists() {
        return Err(exit_error(format!(
            "Error: server is not initialized ({} does not exist).\nRun `smp-server init`.",
            display(&ini_file)
        )));
    }
    match Config::load(&paths.cfg) {
        Ok((config, ini)) => {
            if let Some((number, line)) = ini.unparsed_line() {
                eprintln!(
                    "smp-server: warning: {} line {number} is not `key = value`, `[SECTION]` or a comment; it and the lines after it are ignored: {line}",
                    display(&ini_file)
                );
            }
            Ok(config)
        }
        Err(error @ LoadError::Config { .. }) => {
            eprintln!("smp-server: {error}");
            Err(Failure::Reported)
        }
        Err(error) => Err(anyhow::Error::new(error).into()),
    }
}
