//! `smp-server cert` (`CLI.genOnline`): a new online key and certificate signed by the existing
//! CA; the identity (CA fingerprint) and the server address stay the same.

use anyhow::Context;
use smp_transport::credentials::{
    create_online_certificate, online_certificate_identity, CredentialsError,
};

use super::args::CertArgs;
use super::output;
use super::paths::Paths;
use super::{exit_error, CliResult};

pub fn run(paths: &Paths, args: CertArgs) -> CliResult {
    let (algorithm, common_name) = match (args.sign_algorithm, args.cn) {
        (Some(algorithm), Some(common_name)) => (algorithm, common_name),
        (algorithm, common_name) => match online_certificate_identity(&paths.cfg) {
            Ok((old_algorithm, old_common_name)) => (
                algorithm.unwrap_or(old_algorithm),
                common_name.unwrap_or(old_common_name),
            ),
            Err(error @ CredentialsError::Io { .. })
            | Err(error @ CredentialsError::OpenSsl(_)) => {
                return Err(anyhow::Error::new(error).into())
            }
            Err(error) => return Err(exit_error(error)),
        },
    };
    create_online_certificate(&paths.cfg, &common_name, algorithm)
        .context("generating the online certificate (it needs ca.key and ca.crt)")?;
    println!("Generated new server credentials");
    output::warn_ca_private_key(&paths.cfg);
    Ok(())
}
