//! Command-line syntax (`Server.Main.cliCommandP`, `CLI.certOptionsP`, `CLI.startOptionsP`,
//! `CLI.dbOptsP`): command and option names, defaults and help texts of the reference.

use clap::{Args, Parser, Subcommand, ValueEnum};
use smp_server::config::values::{country, valid_host};
use smp_server::config::{
    BasicAuth, HostingType, SocksProxy, DEFAULT_DB_CONNECTION, DEFAULT_DB_POOL_SIZE,
    DEFAULT_DB_SCHEMA,
};
use smp_transport::credentials::SignAlgorithm;

/// Source code published by default (`Server.Main.simplexmqSource`).
pub const SIMPLEXMQ_SOURCE: &str = "https://github.com/simplex-chat/simplexmq";
/// Control port used by a bare `--control-port` (`Init.defaultControlPort`).
pub const DEFAULT_CONTROL_PORT: u16 = 5224;

#[derive(Debug, Parser)]
#[command(
    name = "smp-server",
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Show version
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Initialize server - creates configuration and log directories and configuration files
    Init(Box<InitArgs>),
    /// Generate new online TLS server credentials
    Cert(CertArgs),
    /// Start server
    Start(StartArgs),
    /// Delete configuration and log files
    Delete,
    /// Import/export messages to/from journal storage
    Journal {
        #[command(subcommand)]
        action: JournalAction,
    },
    /// Import/export queues to/from PostgreSQL database storage
    Database {
        #[command(subcommand)]
        action: DatabaseAction,
        /// Database tables: queues/messages
        #[arg(
            long = "table",
            value_name = "TABLE",
            default_value = "all",
            global = true
        )]
        table: DatabaseTable,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum JournalAction {
    /// Import message log file into a new journal storage
    Import,
    /// Export journal storage to message log file
    Export,
    /// Delete journal storage
    Delete,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum DatabaseAction {
    /// Import queue store log file into a new PostgreSQL database schema
    Import,
    /// Export PostgreSQL database schema to queue store log file
    Export,
    /// Delete PostgreSQL database schema
    Delete,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DatabaseTable {
    Queues,
    Messages,
    All,
}

/// PostgreSQL connection options (`CLI.dbOptsP`).
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database connection string
    #[arg(short = 'd', long = "database", value_name = "DB_CONN", default_value = DEFAULT_DB_CONNECTION, global = true)]
    pub database: String,
    /// Database schema
    #[arg(long = "schema", value_name = "DB_SCHEMA", default_value = DEFAULT_DB_SCHEMA, global = true)]
    pub schema: String,
    /// Database pool size
    #[arg(long = "pool-size", value_name = "POOL_SIZE", default_value_t = DEFAULT_DB_POOL_SIZE, global = true)]
    pub pool_size: i64,
}

/// `init` options (`Server.Main.cliCommandP` binding `initP`).
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Disable store log for persistence (enabled by default)
    #[arg(long = "disable-store-log", conflicts_with = "store_log")]
    pub disable_store_log: bool,
    /// Enable store log for persistence (DEPRECATED, enabled by default)
    #[arg(short = 'l', long = "store-log")]
    pub store_log: bool,
    #[command(flatten)]
    pub db: DbArgs,
    /// Enable logging daily server statistics
    #[arg(short = 's', long = "daily-stats")]
    pub daily_stats: bool,
    /// Signature algorithm used for TLS certificates: ED25519, ED448 (ED448 by default, as the seed guide documents)
    #[arg(short = 'a', long = "sign-algorithm", value_name = "ALG", default_value = "ED448", value_parser = parse_sign_algorithm)]
    pub sign_algorithm: SignAlgorithm,
    /// Server IP address, used as Common Name for TLS online certificate if FQDN is not supplied
    #[arg(long = "ip", value_name = "IP", default_value = "127.0.0.1")]
    pub ip: String,
    /// Server FQDN used as Common Name for TLS online certificate
    #[arg(short = 'n', long = "fqdn", value_name = "FQDN")]
    pub fqdn: Option<String>,
    /// Allow creating new queues without password
    #[arg(long = "no-password", conflicts_with = "password")]
    pub no_password: bool,
    /// Set password to create new messaging queues
    #[arg(long = "password", value_name = "PASSWORD", value_parser = parse_password)]
    pub password: Option<BasicAuth>,
    /// Enable control port (bare flag: on 5224)
    #[arg(long = "control-port", value_name = "PORT", num_args = 0..=1, require_equals = true, default_missing_value = "5224")]
    pub control_port: Option<u16>,
    /// Outgoing SOCKS proxy to forward messages to onion-only servers (bare flag: on port 9050)
    #[arg(long = "socks-proxy", value_name = "PROXY", num_args = 0..=1, require_equals = true, default_missing_value = "127.0.0.1:9050", value_parser = parse_socks_proxy)]
    pub socks_proxy: Option<SocksProxy>,
    /// Own server domain names (comma-separated)
    #[arg(long = "own-domains", value_name = "DOMAINS", value_parser = parse_domains)]
    pub own_domains: Option<OwnDomains>,
    /// Server source code (bare flag: https://github.com/simplex-chat/simplexmq)
    #[arg(long = "source-code", value_name = "URI", num_args = 0..=1, require_equals = true, default_missing_value = SIMPLEXMQ_SOURCE)]
    pub source_code: Option<String>,
    /// Server operator name
    #[arg(long = "operator", value_name = "OPERATOR_NAME")]
    pub operator: Option<String>,
    /// Server operator country
    #[arg(long = "operator-country", value_name = "OPERATOR_COUNTRY", value_parser = |text: &str| country("operator", text))]
    pub operator_country: Option<String>,
    /// Hosting provider name
    #[arg(long = "hosting", value_name = "HOSTING_NAME")]
    pub hosting: Option<String>,
    /// Hosting provider country
    #[arg(long = "hosting-country", value_name = "HOSTING_COUNTRY", value_parser = |text: &str| country("hosting", text))]
    pub hosting_country: Option<String>,
    /// Hosting type: virtual, dedicated, colocation, owned
    #[arg(long = "hosting-type", value_name = "HOSTING_TYPE", value_parser = parse_hosting_type)]
    pub hosting_type: Option<HostingType>,
    /// Server datacenter country
    #[arg(long = "server-country", value_name = "SERVER_COUNTRY", value_parser = |text: &str| country("server", text))]
    pub server_country: Option<String>,
    /// Operator public website
    #[arg(long = "operator-website", value_name = "WEBSITE")]
    pub operator_website: Option<String>,
    /// Directory to store generated static site with server information
    #[arg(long = "web-path", value_name = "PATH")]
    pub web_path: Option<String>,
    /// Disable starting static web server with server information
    #[arg(long = "disable-web")]
    pub disable_web: bool,
    /// Non-interactive initialization using command-line options
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
}

/// `cert` options (`CLI.certOptionsP`).
#[derive(Debug, Clone, Args)]
pub struct CertArgs {
    /// Set new signature algorithm used for TLS certificates: ED25519, ED448
    #[arg(short = 'a', long = "sign-algorithm", value_name = "ALG", value_parser = parse_sign_algorithm)]
    pub sign_algorithm: Option<SignAlgorithm>,
    /// Set new Common Name for TLS online certificate
    #[arg(long = "cn", value_name = "FQDN")]
    pub cn: Option<String>,
}

/// Log levels of the reference (`CLI.parseLogLevel`); `note` sits between info and warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Note,
    Warn,
    Error,
}

/// `start` options (`CLI.startOptionsP`).
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// Do not start the server, only perform start and stop tasks
    #[arg(short = 'm', long = "maintenance")]
    pub maintenance: bool,
    /// Compact store log (always enabled with `memory` storage for queues)
    #[arg(long = "compact-log")]
    pub compact_log: bool,
    /// Logging level
    #[arg(long = "log-level", value_name = "LOG_LEVEL", default_value = "info", value_parser = parse_log_level)]
    pub log_level: LogLevel,
    /// Start the server with non-critical start warnings
    #[arg(long = "skip-warnings")]
    pub skip_warnings: bool,
    /// Confirm PostgreSQL database migration: up, down (default is manual confirmation)
    #[arg(long = "confirm-migrations", value_name = "CONFIRM_MIGRATIONS", value_parser = parse_confirm_migrations)]
    pub confirm_migrations: Option<String>,
}

/// Host names given to `--own-domains`, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnDomains(pub Vec<String>);

fn parse_sign_algorithm(text: &str) -> Result<SignAlgorithm, String> {
    SignAlgorithm::parse(text).ok_or_else(|| format!("cannot parse value `{text}'"))
}

fn parse_password(text: &str) -> Result<BasicAuth, String> {
    BasicAuth::parse(text).ok_or_else(|| "invalid character in BasicAuth".to_string())
}

fn parse_socks_proxy(text: &str) -> Result<SocksProxy, String> {
    SocksProxy::parse(text).ok_or_else(|| "SOCKS5 host should be IPv4 or IPv6 address".to_string())
}

fn parse_domains(text: &str) -> Result<OwnDomains, String> {
    let hosts: Vec<String> = text.split(',').map(str::to_string).collect();
    if hosts.iter().all(|host| valid_host(host)) {
        Ok(OwnDomains(hosts))
    } else {
        Err("invalid host name".to_string())
    }
}

fn parse_hosting_type(text: &str) -> Result<HostingType, String> {
    HostingType::parse(text).ok_or_else(|| "bad HostingType".to_string())
}

fn parse_log_level(text: &str) -> Result<LogLevel, String> {
    match text {
        "trace" => Ok(LogLevel::Trace),
        "debug" => Ok(LogLevel::Debug),
        "info" => Ok(LogLevel::Info),
        "note" => Ok(LogLevel::Note),
        "warn" => Ok(LogLevel::Warn),
        "error" => Ok(LogLevel::Error),
        _ => Err("Invalid log level".to_string()),
    }
}

fn parse_confirm_migrations(text: &str) -> Result<String, String> {
    match text {
        "up" | "down" => Ok(text.to_string()),
        _ => Err("invalid migration confirmation, pass 'up' or 'down'".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arguments: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("smp-server").chain(arguments.iter().copied()))
    }

    fn init(arguments: &[&str]) -> InitArgs {
        let mut all = vec!["init"];
        all.extend_from_slice(arguments);
        match parse(&all).unwrap().command {
            Some(Command::Init(args)) => *args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn init_defaults() {
        let args = init(&[]);
        assert_eq!(args.sign_algorithm, SignAlgorithm::Ed448);
        assert_eq!(args.ip, "127.0.0.1");
        assert_eq!(args.db.database, DEFAULT_DB_CONNECTION);
        assert_eq!(args.db.pool_size, 10);
        assert_eq!(args.control_port, None);
        assert!(!args.yes);
    }

    #[test]
    fn optional_values() {
        let args = init(&["--control-port", "--socks-proxy", "--source-code", "-y"]);
        assert_eq!(args.control_port, Some(DEFAULT_CONTROL_PORT));
        assert_eq!(
            args.socks_proxy.map(|p| p.to_string()).as_deref(),
            Some("127.0.0.1:9050")
        );
        assert_eq!(args.source_code.as_deref(), Some(SIMPLEXMQ_SOURCE));
        let args = init(&[
            "--control-port=6000",
            "--socks-proxy=10.0.0.1:9999",
            "--source-code=https://example.com/src",
        ]);
        assert_eq!(args.control_port, Some(6000));
        assert_eq!(
            args.socks_proxy.map(|p| p.to_string()).as_deref(),
            Some("10.0.0.1:9999")
        );
        assert_eq!(args.source_code.as_deref(), Some("https://example.com/src"));
    }

    #[test]
    fn invalid_init_options() {
        assert!(parse(&["init", "--password", "a@b"]).is_err());
        assert!(parse(&["init", "--password", "x", "--no-password"]).is_err());
        assert!(parse(&["init", "-a", "ed448"]).is_err());
        assert!(parse(&["init", "--server-country", "GBR"]).is_err());
        assert!(parse(&["init", "--hosting-type", "cloud"]).is_err());
        assert!(parse(&["init", "--own-domains", "a.com,b c"]).is_err());
        assert!(parse(&["init", "--store-log", "--disable-store-log"]).is_err());
        let args = init(&["--server-country", "gb", "-a", "ED448"]);
        assert_eq!(args.server_country.as_deref(), Some("GB"));
        assert_eq!(args.sign_algorithm, SignAlgorithm::Ed448);
    }

    #[test]
    fn other_commands() {
        match parse(&["start", "--log-level", "warn", "-m"])
            .unwrap()
            .command
        {
            Some(Command::Start(args)) => {
                assert_eq!(args.log_level, LogLevel::Warn);
                assert!(args.maintenance);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&["start", "--log-level", "loud"]).is_err());
        match parse(&["database", "import", "--table", "queues"])
            .unwrap()
            .command
        {
            Some(Command::Database { table, .. }) => {
                assert!(matches!(table, DatabaseTable::Queues))
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&["database", "--table", "messages", "export"]).is_ok());
        assert!(parse(&["journal", "delete"]).is_ok());
        assert!(parse(&["cert", "-a", "ED448", "--cn", "smp.example.com"]).is_ok());
        assert!(parse(&["-v"]).unwrap().version);
    }
}
