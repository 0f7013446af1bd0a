//! Runs a real `smp-server` binary for a benchmark: `init` in a temporary directory, one free
//! port on 127.0.0.1 (no control port, no web server), `start`, and wait until the port accepts.
//! Also writes big store logs for the replay and idle-queue measurements.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Longest wait for `start` to listen.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Certificate algorithm of a server (`init -a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignAlgorithm {
    Ed25519,
    Ed448,
}

impl SignAlgorithm {
    fn arg(self) -> &'static str {
        match self {
            SignAlgorithm::Ed25519 => "ED25519",
            SignAlgorithm::Ed448 => "ED448",
        }
    }
}

/// A server process owned by the benchmark (killed on drop).
pub struct ServerProcess {
    binary: PathBuf,
    directory: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
    fingerprint: String,
}

/// The `smp-server` next to the running executable (`target/<profile>/`), or `$SMP_SERVER_BIN`.
pub fn default_server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SMP_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let mut directory = exe.parent()?.to_path_buf();
    for _ in 0..2 {
        let candidate = directory.join("smp-server");
        if candidate.is_file() {
            return Some(candidate);
        }
        directory = directory.parent()?.to_path_buf();
    }
    None
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn edit_ini(ini: &str, port: u16) -> String {
    let mut out = String::with_capacity(ini.len() + 64);
    let mut section = String::new();
    for line in ini.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
        }
        let key = trimmed.split('=').next().unwrap_or("").trim();
        if section == "[TRANSPORT]" && key == "port" {
            out.push_str(&format!("port = {port}\n"));
        } else if matches!(key, "control_port" | "https" | "http") && !trimmed.starts_with('#') {
            out.push_str(&format!("# {line}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

impl ServerProcess {
    /// `init -y --no-password --disable-web -a <alg>` in a fresh temporary directory.
    pub fn init(binary: &Path, algorithm: SignAlgorithm) -> anyhow::Result<Self> {
        let directory = tempfile::tempdir().context("temporary directory")?;
        let mut server = ServerProcess {
            binary: binary.to_path_buf(),
            directory,
            child: None,
            port: free_port()?,
            fingerprint: String::new(),
        };
        fs::create_dir_all(server.cfg_dir())?;
        fs::create_dir_all(server.log_dir())?;
        let output = server
            .command()
            .args(["init", "-y", "--no-password", "--disable-web", "-a"])
            .arg(algorithm.arg())
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        if !output.status.success() {
            bail!(
                "smp-server init failed: {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let ini_path = server.cfg_dir().join("smp-server.ini");
        let ini = fs::read_to_string(&ini_path)?;
        fs::write(&ini_path, edit_ini(&ini, server.port))?;
        server.fingerprint = fs::read_to_string(server.cfg_dir().join("fingerprint"))?
            .trim()
            .to_string();
        Ok(server)
    }

    pub fn cfg_dir(&self) -> PathBuf {
        self.directory.path().join("etc")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.directory.path().join("var")
    }

    pub fn store_log(&self) -> PathBuf {
        self.log_dir().join("smp-server-store.log")
    }

    pub fn address(&self) -> String {
        format!("smp://{}@127.0.0.1:{}", self.fingerprint, self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env("SMP_SERVER_CFG_PATH", self.cfg_dir())
            .env("SMP_SERVER_LOG_PATH", self.log_dir())
            .current_dir(self.directory.path());
        command
    }

    /// Where the server's stdout and stderr go: the temporary directory, or the directory in
    /// `$SMP_BENCH_SERVER_OUTPUT` (kept after the run, one pair of files per port).
    fn output_paths(&self) -> [PathBuf; 2] {
        match std::env::var_os("SMP_BENCH_SERVER_OUTPUT") {
            Some(directory) => {
                let directory = PathBuf::from(directory);
                let port = self.port;
                [
                    directory.join(format!("smp-server-{port}.out")),
                    directory.join(format!("smp-server-{port}.err")),
                ]
            }
            None => [
                self.directory.path().join("server.out"),
                self.directory.path().join("server.err"),
            ],
        }
    }

    /// Starts the server and returns the time until its port accepted a TCP connection.
    pub fn start(&mut self) -> anyhow::Result<Duration> {
        let [out_path, err_path] = self.output_paths();
        let append = |path: &Path| fs::OpenOptions::new().create(true).append(true).open(path);
        let stdout = append(&out_path).with_context(|| format!("{}", out_path.display()))?;
        let stderr = append(&err_path).with_context(|| format!("{}", err_path.display()))?;
        let started = Instant::now();
        let child = self
            .command()
            .arg("start")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .context("spawn smp-server start")?;
        self.child = Some(child);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok() {
                return Ok(started.elapsed());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    bail!("smp-server exited with {status}: {}", self.output());
                }
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("smp-server did not listen in time: {}", self.output());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Fails with the exit status (a signal is named) and the output when the server has exited
    /// by itself; `Ok` while it runs (or when none was started).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        match child.try_wait() {
            Ok(Some(status)) => bail!(
                "smp-server (pid {}) exited by itself with {status}; its output:\n{}",
                child.id(),
                self.output()
            ),
            Ok(None) => Ok(()),
            Err(error) => bail!("cannot check smp-server (pid {}): {error}", child.id()),
        }
    }

    /// Kills the process (SIGKILL) and waits for it.
    /// A server that exited on its own is reported with its output (stderr), since the
    /// temporary directory holding that output is removed with the process.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!(
                    "smp-server (pid {}) had exited by itself with {status}; its output:\n{}",
                    child.id(),
                    self.output()
                );
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn output(&self) -> String {
        let mut text = String::new();
        for path in self.output_paths() {
            if let Ok(part) = fs::read_to_string(path) {
                text.push_str(&part);
            }
        }
        text
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes a store log of `queues` secured messaging queues (random ids and keys, the
/// reference's syntax) to `path`; returns its size in bytes.
pub fn write_store_log(path: &Path, queues: usize) -> anyhow::Result<u64> {
    Ok(smp_store::synthetic::write_synthetic_store_log(
        path, queues, 0,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_edit_sets_the_port_and_disables_listeners() {
        let ini =
            "[TRANSPORT]\nport = 5223,443\ncontrol_port = 5224\n[WEB]\nhttps = 443\n# http = 80\n";
        let edited = edit_ini(ini, 4000);
        assert!(edited.contains("port = 4000\n"));
        assert!(edited.contains("# control_port = 5224"));
        assert!(edited.contains("# https = 443"));
        assert!(edited.contains("# http = 80"));
    }

    #[test]
    fn store_log_has_one_line_per_queue() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("store.log");
        write_store_log(&path, 10).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 10);
        assert!(text.lines().all(|line| line.starts_with("CREATE rid=")));
    }
}
