//! `smp-server init` (`Server.Main.initializeServer`): optional prompts, consistency checks,
//! certificates, fingerprint, `smp-server.ini`, printed summary.
//!
//! Unlike the reference (which clears the directories first and then writes file by file), all
//! files are generated in a staging directory and moved into place only when everything
//! succeeded, `smp-server.ini` last: a failed init never leaves a half-initialised configuration.

use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::RngCore;
use smp_proto::text::encode_base64url;
use smp_server::config::{BasicAuth, HostingType, SocksProxy};
use smp_transport::credentials::{create_server_credentials, SignAlgorithm};

use super::args::{InitArgs, SIMPLEXMQ_SOURCE};
use super::ini_text::{ini_file_content, IniChoices};
use super::output;
use super::paths::{display, Paths};
use super::prompt::Prompter;
use super::{exit_error, CliResult};

/// Queue-creation password choice (`Init.ServerPassword`, `Nothing` = none).
#[derive(Debug, Clone)]
enum PasswordChoice {
    None,
    Random,
    Given(BasicAuth),
}

/// Options after prompts, as `initialize` uses them (`Init.InitOptions`).
#[derive(Debug, Clone)]
struct InitOptions {
    store_log: bool,
    log_stats: bool,
    sign_algorithm: SignAlgorithm,
    ip: String,
    fqdn: Option<String>,
    password: PasswordChoice,
    control_port: Option<u16>,
    socks_proxy: Option<SocksProxy>,
    own_domains: Option<Vec<String>>,
    source_code: Option<String>,
    operator: Option<String>,
    operator_country: Option<String>,
    hosting: Option<String>,
    hosting_country: Option<String>,
    hosting_type: Option<HostingType>,
    server_country: Option<String>,
    website: Option<String>,
    web_path: Option<String>,
    disable_web: bool,
    db_connection: String,
    db_schema: String,
    db_pool_size: i64,
}

impl InitOptions {
    fn from_args(args: InitArgs) -> InitOptions {
        let password = match (args.no_password, args.password) {
            (true, _) => PasswordChoice::None,
            (false, Some(password)) => PasswordChoice::Given(password),
            (false, None) => PasswordChoice::Random,
        };
        InitOptions {
            store_log: !args.disable_store_log,
            log_stats: args.daily_stats,
            sign_algorithm: args.sign_algorithm,
            ip: args.ip,
            fqdn: args.fqdn,
            password,
            control_port: args.control_port,
            socks_proxy: args.socks_proxy,
            own_domains: args.own_domains.map(|domains| domains.0),
            source_code: args.source_code,
            operator: args.operator,
            operator_country: args.operator_country,
            hosting: args.hosting,
            hosting_country: args.hosting_country,
            hosting_type: args.hosting_type,
            server_country: args.server_country,
            website: args.operator_website,
            web_path: args.web_path,
            disable_web: args.disable_web,
            db_connection: args.db.database,
            db_schema: args.db.schema,
            db_pool_size: args.db.pool_size,
        }
    }

    /// `initializeServer` binding `checkInitOptions`.
    fn check(&self) -> CliResult {
        let has_server_info = self.operator.is_some()
            || self.website.is_some()
            || self.hosting.is_some()
            || self.hosting_type.is_some()
            || self.server_country.is_some();
        if self.source_code.is_none() && has_server_info {
            return Err(exit_error(
                "Error: passing any server information requires passing --source-code",
            ));
        }
        if self.operator.is_none() && self.operator_country.is_some() {
            return Err(exit_error(
                "Error: passing --operator-country requires passing --operator",
            ));
        }
        if self.hosting.is_none() && self.hosting_country.is_some() {
            return Err(exit_error(
                "Error: passing --hosting-country requires passing --hosting",
            ));
        }
        Ok(())
    }
}

/// Runs `init`; the caller has checked that `smp-server.ini` does not exist.
pub fn run<R: BufRead>(paths: &Paths, args: InitArgs, prompter: &mut Prompter<R>) -> CliResult {
    let interactive = !args.yes;
    let mut options = InitOptions::from_args(args);
    if interactive {
        println!("Use `smp-server init -h` for available options.");
        options.check()?;
        ask(paths, &mut options, prompter).context("reading answers")?;
    }
    initialize(paths, &options)
}

/// The interactive questions (`initializeServer`, non-scripted branch).
fn ask<R: BufRead>(
    paths: &Paths,
    options: &mut InitOptions,
    prompter: &mut Prompter<R>,
) -> io::Result<()> {
    prompter.ask("SMP server will be initialized (press Enter)")?;
    options.store_log = prompter.on_off(
        "Enable store log to restore queues and messages on server restart",
        true,
    )?;
    options.log_stats = prompter.on_off("Enable logging daily statistics", false)?;
    println!("Require a password to create new messaging queues?");
    let mut answer = prompter.ask(
        "'r' for random (default), 'n' - no password (recommended for public servers), or enter password: ",
    )?;
    options.password = loop {
        match answer.as_str() {
            "" | "r" => break PasswordChoice::Random,
            "n" => break PasswordChoice::None,
            text => match BasicAuth::parse(text) {
                Some(password) => break PasswordChoice::Given(password),
                None => {
                    println!("Invalid password. Only latin letters, digits and symbols other than '@' and ':' are allowed");
                    answer = prompter.line()?;
                }
            },
        }
    };
    let host = options.fqdn.clone().unwrap_or_else(|| options.ip.clone());
    let answer = prompter.ask(&format!(
        "Enter server FQDN or IP address for certificate ({host}): "
    ))?;
    if !answer.is_empty() {
        options.fqdn = Some(answer);
    }
    let shown = options.source_code.as_deref().unwrap_or(SIMPLEXMQ_SOURCE);
    let mut answer = prompter.ask(&format!("Enter server source code URI ({shown}): "))?;
    let source_code = loop {
        if answer.is_empty() {
            break None;
        }
        if answer.starts_with("https://") || answer.starts_with("http://") {
            break Some(answer);
        }
        println!("Invalid source code. URI should start from http:// or https://");
        answer = prompter.line()?;
    };
    options.source_code = source_code
        .or(options.source_code.take())
        .or_else(|| Some(SIMPLEXMQ_SOURCE.to_string()));
    let shown = options
        .web_path
        .clone()
        .unwrap_or_else(|| display(&paths.default_web_path()));
    let answer = prompter.ask(&format!(
        "Enter path to store generated server pages to show connection links ({shown}): "
    ))?;
    if !answer.is_empty() {
        options.web_path = Some(answer);
    }
    Ok(())
}

fn random_base64url(length: usize) -> String {
    let mut bytes = vec![0u8; length];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    encode_base64url(&bytes)
}

/// `initializeServer` binding `initialize`.
fn initialize(paths: &Paths, options: &InitOptions) -> CliResult {
    options.check()?;
    let common_name = options.fqdn.clone().unwrap_or_else(|| options.ip.clone());
    let host = match &options.fqdn {
        Some(fqdn) => fqdn.clone(),
        None if options.ip == "127.0.0.1" => "<hostnames>".to_string(),
        None => options.ip.clone(),
    };
    let password = match &options.password {
        PasswordChoice::None => None,
        PasswordChoice::Given(password) => Some(password.clone()),
        // 32 random bytes, base64url with padding (`createServerPassword`)
        PasswordChoice::Random => BasicAuth::parse(&random_base64url(32)),
    };
    let control_passwords = options
        .control_port
        .map(|_| (random_base64url(18), random_base64url(18)));
    let web_path = options
        .web_path
        .clone()
        .unwrap_or_else(|| display(&paths.default_web_path()));
    let operator_country = options.operator_country.as_deref();
    let hosting_country = options.hosting_country.as_deref();
    let choices = IniChoices {
        store_log: options.store_log,
        db_connection: &options.db_connection,
        db_schema: &options.db_schema,
        db_pool_size: options.db_pool_size,
        log_stats: options.log_stats,
        host: &host,
        create_password: password.as_ref(),
        control_port_passwords: control_passwords
            .as_ref()
            .map(|(admin, user)| (admin.as_str(), user.as_str())),
        control_port: options.control_port,
        socks_proxy: options.socks_proxy.as_ref(),
        own_domains: options.own_domains.as_deref(),
        source_code: options.source_code.as_deref(),
        server_country: options.server_country.as_deref(),
        operator: options
            .operator
            .as_deref()
            .map(|name| (name, operator_country)),
        website: options.website.as_deref(),
        hosting: options
            .hosting
            .as_deref()
            .map(|name| (name, hosting_country)),
        hosting_type: options.hosting_type,
        web_static_path: &web_path,
        disable_web: options.disable_web,
    };
    let ini_text = ini_file_content(&paths.cfg, &choices);

    let staging = Staging::prepare(&paths.cfg)?;
    let generated = create_server_credentials(&staging.dir, &common_name, options.sign_algorithm)
        .context("generating the server certificates")
        .and_then(|identity| {
            fs::write(staging.dir.join(smp_server::config::INI_FILE), &ini_text)
                .context("writing smp-server.ini")?;
            Ok(identity)
        });
    let identity = match generated {
        Ok(identity) => identity,
        Err(error) => {
            staging.abandon();
            return Err(error.into());
        }
    };
    if let Err(error) = clear_directory(&paths.log, None)
        .and_then(|()| fs::create_dir_all(&paths.log))
        .with_context(|| format!("preparing {}", paths.log.display()))
    {
        staging.abandon();
        return Err(error.into());
    }
    staging.commit()?;

    let ini_file = display(&paths.ini_file());
    println!("Server initialized, please provide additional server information in {ini_file}.");
    println!("Run `smp-server start` to start server.");
    output::warn_ca_private_key(&paths.cfg);
    let address = output::server_address(&identity, password.as_ref(), &host, "");
    output::print_service_info(&identity, &address);
    output::print_source_code(options.source_code.as_deref());
    if let Some(code) = output::qr_code(&address) {
        println!();
        print!("{code}");
        println!();
    }
    Ok(())
}

/// Removes every entry of `dir` except `keep` (`CLI.clearDirIfExists`); a missing dir is fine.
fn clear_directory(dir: &Path, keep: Option<&Path>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let path = entry?.path();
        if Some(path.as_path()) == keep {
            continue;
        }
        if path.is_dir() && !path.is_symlink() {
            fs::remove_dir_all(&path)?;
        } else {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// A directory where the new configuration is generated before it is moved into place.
struct Staging {
    dir: PathBuf,
    cfg: PathBuf,
    /// The staging dir sits inside an existing `cfg` (else it is a sibling renamed to `cfg`).
    inside: bool,
}

impl Staging {
    fn prepare(cfg: &Path) -> anyhow::Result<Staging> {
        let suffix = hex_suffix();
        let (dir, inside) = if cfg.is_dir() {
            (cfg.join(format!(".smp-server-init-{suffix}")), true)
        } else {
            let parent = match cfg.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            fs::create_dir_all(&parent)
                .with_context(|| format!("creating {}", parent.display()))?;
            let name = cfg
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| "simplex".to_string());
            (parent.join(format!(".{name}.init-{suffix}")), false)
        };
        fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Staging {
            dir,
            cfg: cfg.to_path_buf(),
            inside,
        })
    }

    /// Replaces the contents of `cfg` with the staged files, `smp-server.ini` last.
    fn commit(self) -> anyhow::Result<()> {
        let result = self.move_into_place();
        if result.is_err() {
            self.abandon();
        }
        result.with_context(|| format!("writing the configuration to {}", self.cfg.display()))
    }

    fn move_into_place(&self) -> io::Result<()> {
        if !self.inside {
            return fs::rename(&self.dir, &self.cfg);
        }
        clear_directory(&self.cfg, Some(&self.dir))?;
        let ini = smp_server::config::INI_FILE;
        let mut names: Vec<_> = fs::read_dir(&self.dir)?
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort_by_key(|name| name == ini);
        for name in names {
            fs::rename(self.dir.join(&name), self.cfg.join(&name))?;
        }
        fs::remove_dir(&self.dir)
    }

    fn abandon(&self) {
        if let Err(error) = fs::remove_dir_all(&self.dir) {
            if error.kind() != io::ErrorKind::NotFound {
                eprintln!("smp-server: cannot remove {}: {error}", self.dir.display());
            }
        }
    }
}

fn hex_suffix() -> String {
    let mut bytes = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
