//! `smp-server`: the SMP relay server binary — `init`, `start`, `cert`, `delete`, `journal`,
//! `database`, with the reference's options, files and messages.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run(std::env::args_os().collect())
}
