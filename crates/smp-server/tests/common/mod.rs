//! Shared helpers for the end-to-end tests: run the real `smp-server` binary in a temporary
//! directory, on a free local port, and stop it when the handle is dropped.
//!
//! The server is initialised with `init -y --no-password --disable-web` (the non-interactive form
//! an operator would use), the generated `smp-server.ini` is edited so that `[TRANSPORT] port`
//! names one free port (and no control port or web server binds anything), then `start` is run
//! and the handle waits until the port accepts TCP connections. The server identity is read from
//! `<cfg>/fingerprint`.

#![allow(dead_code)]

pub mod cli;
pub mod client;

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// How long `start` may take before the test fails (generous: the machine is shared).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `smp-server` process owned by one test.
pub struct TestServer {
    directory: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
    fingerprint: String,
    starts: u32,
    /// Extra arguments for the next `start` (e.g. `--skip-warnings`).
    start_args: Vec<String>,
    /// `ulimit -f` (512-byte blocks) for the next `start`, with SIGXFSZ ignored, so that file
    /// writes past that size fail (for root too); output then goes through pipes.
    file_size_blocks: Option<u64>,
}

/// Options for [`TestServer::start_with`].
#[derive(Default)]
pub struct ServerOptions {
    /// Extra arguments for `init` (after `init -y --disable-web`, and `--no-password` unless
    /// they set `--password`).
    pub init_args: Vec<String>,
    /// Extra `(section, key, value)` settings written into `smp-server.ini` after `init`.
    pub ini: Vec<(String, String, String)>,
}

impl TestServer {
    /// Initialises and starts a server with the default options.
    pub fn start() -> TestServer {
        TestServer::start_with(ServerOptions::default())
    }

    /// Initialises a server with `options` and starts it.
    pub fn start_with(options: ServerOptions) -> TestServer {
        let directory = tempfile::tempdir().expect("temporary directory");
        let mut server = TestServer {
            directory,
            child: None,
            port: free_port(),
            fingerprint: String::new(),
            starts: 0,
            start_args: Vec::new(),
            file_size_blocks: None,
        };
        fs::create_dir_all(server.cfg_dir()).expect("cfg dir");
        fs::create_dir_all(server.log_dir()).expect("log dir");
        let mut init = vec!["init", "-y", "--disable-web"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        if !options
            .init_args
            .iter()
            .any(|arg| arg.starts_with("--password"))
        {
            init.push("--no-password".into());
        }
        init.extend(options.init_args.iter().cloned());
        let output = server
            .command()
            .args(&init)
            .stdin(Stdio::null())
            .output()
            .expect("run smp-server init");
        assert!(
            output.status.success(),
            "smp-server init failed: {}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let ini_path = server.cfg_dir().join("smp-server.ini");
        let mut ini = fs::read_to_string(&ini_path).expect("read smp-server.ini");
        ini = set_ini_value(&ini, "TRANSPORT", "port", &server.port.to_string());
        ini = comment_out(&ini, "TRANSPORT", "control_port");
        ini = comment_out(&ini, "WEB", "https");
        ini = comment_out(&ini, "WEB", "http");
        for (section, key, value) in &options.ini {
            ini = set_ini_value(&ini, section, key, value);
        }
        fs::write(&ini_path, ini).expect("write smp-server.ini");
        server.fingerprint = fs::read_to_string(server.cfg_dir().join("fingerprint"))
            .expect("read fingerprint")
            .trim()
            .to_string();
        server.launch();
        server
    }

    /// The configuration directory (`SMP_SERVER_CFG_PATH`).
    pub fn cfg_dir(&self) -> PathBuf {
        self.directory.path().join("etc")
    }

    /// The state directory (`SMP_SERVER_LOG_PATH`).
    pub fn log_dir(&self) -> PathBuf {
        self.directory.path().join("var")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server identity, base64url as in the `fingerprint` file.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// `smp://<fingerprint>@127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("smp://{}@127.0.0.1:{}", self.fingerprint, self.port)
    }

    /// Stops the process (SIGKILL) and starts it again with the same directories and port.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Stops the process with SIGINT (the signal on which the reference saves messages), waits
    /// for it to exit, and starts it again with the same directories and port.
    pub fn restart_gracefully(&mut self) {
        self.terminate();
        self.launch();
    }

    /// Sends SIGINT and waits for the exit (SIGKILL after [`START_TIMEOUT`]).
    pub fn terminate(&mut self) {
        self.stop_with_signal("INT");
    }

    /// Sends `signal` (`INT`, `TERM`, `KILL`, as `kill -<signal>` takes it) and waits for the
    /// exit (SIGKILL after [`START_TIMEOUT`]); `None` if it was not running.
    pub fn stop_with_signal(&mut self, signal: &str) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status();
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "smp-server did not exit after SIG{signal}:\n{}",
            self.output()
        );
    }

    /// Starts the server again (after a stop) with the same directories and port.
    pub fn launch_again(&mut self) {
        self.launch();
    }

    /// Extra arguments for the following starts.
    pub fn set_start_args(&mut self, args: &[&str]) {
        self.start_args = args.iter().map(|arg| arg.to_string()).collect();
    }

    /// Runs the following starts with file writes limited to `blocks` x 512 bytes.
    pub fn set_file_size_limit(&mut self, blocks: Option<u64>) {
        self.file_size_blocks = blocks;
    }

    /// Runs `start <args>` to completion (for `--maintenance`, or a start that must fail) and
    /// returns its output; the server must not be running.
    pub fn run_start(&self, args: &[&str]) -> Output {
        assert!(self.child.is_none(), "the server is running");
        self.command()
            .arg("start")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run smp-server start")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Stops the process (SIGKILL), if it runs.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the server wrote to stdout and stderr so far (for failure messages).
    pub fn output(&self) -> String {
        let mut text = String::new();
        for start in 1..=self.starts {
            for stream in ["stdout", "stderr"] {
                let path = self.output_path(start, stream);
                if let Ok(mut file) = fs::File::open(&path) {
                    let _ = file.read_to_string(&mut text);
                }
            }
        }
        text
    }

    fn output_path(&self, start: u32, stream: &str) -> PathBuf {
        self.directory
            .path()
            .join(format!("start-{start}.{stream}"))
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_smp-server"));
        command
            .env("SMP_SERVER_CFG_PATH", self.cfg_dir())
            .env("SMP_SERVER_LOG_PATH", self.log_dir())
            .current_dir(self.directory.path());
        command
    }

    fn launch(&mut self) {
        self.starts += 1;
        let stdout = fs::File::create(self.output_path(self.starts, "stdout")).expect("stdout");
        let stderr = fs::File::create(self.output_path(self.starts, "stderr")).expect("stderr");
        let child = match self.file_size_blocks {
            None => self
                .command()
                .arg("start")
                .args(&self.start_args)
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                .spawn()
                .expect("spawn smp-server start"),
            Some(blocks) => {
                // `exec` keeps the shell's pid, and an ignored signal stays ignored across it.
                let mut command = Command::new("sh");
                command
                    .arg("-c")
                    .arg(format!(
                        "trap '' XFSZ; ulimit -f {blocks} && exec \"$0\" start \"$@\""
                    ))
                    .arg(env!("CARGO_BIN_EXE_smp-server"))
                    .args(&self.start_args)
                    .env("SMP_SERVER_CFG_PATH", self.cfg_dir())
                    .env("SMP_SERVER_LOG_PATH", self.log_dir())
                    .current_dir(self.directory.path())
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = command.spawn().expect("spawn smp-server start");
                // The limit applies to files the server writes, so its output goes through
                // pipes into the files from this (unlimited) process.
                for (pipe, mut file) in [
                    (
                        child
                            .stdout
                            .take()
                            .map(|p| Box::new(p) as Box<dyn Read + Send>),
                        stdout,
                    ),
                    (
                        child
                            .stderr
                            .take()
                            .map(|p| Box::new(p) as Box<dyn Read + Send>),
                        stderr,
                    ),
                ] {
                    if let Some(mut pipe) = pipe {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut pipe, &mut file);
                        });
                    }
                }
                child
            }
        };
        self.child = Some(child);
        self.wait_until_listening();
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("smp-server exited with {status}:\n{}", self.output());
                }
            }
            assert!(
                Instant::now() < deadline,
                "smp-server did not listen on port {} in time:\n{}",
                self.port,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port that was free a moment ago (bind to port 0, read it, release it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind port 0");
    listener.local_addr().expect("local address").port()
}

/// Sets `key` in `[section]`: replaces an existing (possibly commented-out) `key = …` / `key: …`
/// line, or appends the line at the end of the section (adding the section when missing).
pub fn set_ini_value(ini: &str, section: &str, key: &str, value: &str) -> String {
    let mut lines: Vec<String> = ini.lines().map(String::from).collect();
    let new_line = format!("{key} = {value}");
    let (start, end) = match section_range(&lines, section) {
        Some(range) => range,
        None => {
            lines.push(String::new());
            lines.push(format!("[{section}]"));
            lines.push(new_line);
            return lines.join("\n") + "\n";
        }
    };
    let existing = (start..end).find(|&index| line_key(&lines[index], true) == Some(key));
    match existing {
        Some(index) => lines[index] = new_line,
        None => {
            // Insert after the last non-empty line of the section.
            let mut insert_at = end;
            while insert_at > start + 1 && lines[insert_at - 1].trim().is_empty() {
                insert_at -= 1;
            }
            lines.insert(insert_at, new_line);
        }
    }
    lines.join("\n") + "\n"
}

/// Comments out an active `key` line of `[section]` (no change when absent).
pub fn comment_out(ini: &str, section: &str, key: &str) -> String {
    let mut lines: Vec<String> = ini.lines().map(String::from).collect();
    if let Some((start, end)) = section_range(&lines, section) {
        for line in &mut lines[start..end] {
            if line_key(line, false) == Some(key) {
                *line = format!("# {line}");
            }
        }
    }
    lines.join("\n") + "\n"
}

/// Lines `[start, end)` of a section, `start` being its header.
fn section_range(lines: &[String], section: &str) -> Option<(usize, usize)> {
    let header = format!("[{section}]");
    let start = lines.iter().position(|line| line.trim() == header)?;
    let end = lines[start + 1..]
        .iter()
        .position(|line| line.trim_start().starts_with('['))
        .map_or(lines.len(), |offset| start + 1 + offset);
    Some((start, end))
}

/// The key of a `key = value` or `key: value` line; commented lines count when `commented`.
fn line_key(line: &str, commented: bool) -> Option<&str> {
    let mut text = line.trim();
    if let Some(rest) = text.strip_prefix('#') {
        if !commented {
            return None;
        }
        text = rest.trim_start();
    }
    let end = text.find(['=', ':'])?;
    let key = text[..end].trim();
    (!key.is_empty() && !key.contains(' ')).then_some(key)
}

/// Reads a file under `directory`, empty when missing.
pub fn read_or_empty(directory: &Path, name: &str) -> String {
    fs::read_to_string(directory.join(name)).unwrap_or_default()
}
