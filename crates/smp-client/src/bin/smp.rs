//! `smp`: talk to an SMP server from a terminal — run the app's server test, or ping it.
//!
//! ```text
//! smp test smp://<fingerprint>[:password]@host[:port] [--max-version N]
//! smp ping smp://<fingerprint>@host[:port] [--max-version N]
//! ```

use anyhow::{bail, Context};
use smp_client::{test_server, ClientOptions, SmpClient};
use smp_proto::address::ServerAddress;

const USAGE: &str = "usage: smp <test|ping> <server address> [--max-version N]";

fn main() -> std::process::ExitCode {
    match main_result() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn main_result() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let (command, address, options) = parse(&arguments)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(&command, &address, options))
}

fn parse(arguments: &[String]) -> anyhow::Result<(String, ServerAddress, ClientOptions)> {
    let [command, address, rest @ ..] = arguments else {
        bail!("{USAGE}");
    };
    let address = ServerAddress::parse(address)
        .map_err(|error| anyhow::anyhow!("invalid server address ({error})\n{USAGE}"))?;
    let options = match rest {
        [] => ClientOptions::default(),
        [flag, value] if flag == "--max-version" => {
            let max: u16 = value
                .parse()
                .with_context(|| format!("--max-version needs a number, not {value:?}"))?;
            ClientOptions::max_version(max)
        }
        _ => bail!("{USAGE}"),
    };
    Ok((command.clone(), address, options))
}

async fn run(command: &str, address: &ServerAddress, options: ClientOptions) -> anyhow::Result<()> {
    match command {
        "test" => match test_server(address, options).await {
            Ok(()) => {
                println!("Server test passed");
                Ok(())
            }
            Err(failure) => bail!(
                "Server test failed at step {:?}: {}",
                failure.step,
                failure.error
            ),
        },
        "ping" => {
            let client = SmpClient::connect(address, options)
                .await
                .context("cannot connect")?;
            client.ping().await.context("PING failed")?;
            println!(
                "PONG (SMP version {}, block encryption {})",
                client.version(),
                if client.block_encryption() {
                    "on"
                } else {
                    "off"
                }
            );
            client.close().await;
            Ok(())
        }
        other => bail!("unknown command {other:?}\n{USAGE}"),
    }
}
