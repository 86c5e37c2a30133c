//! Process plumbing shared by the emulator launchers.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tempfile::TempDir;

/// How long an emulator may take to answer its readiness probe.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Locates `name` in `$ESO_VENV/bin`, then on `PATH`.
pub fn find_tool(name: &str) -> Result<PathBuf> {
    if let Some(venv) = std::env::var_os("ESO_VENV") {
        let candidate = PathBuf::from(venv).join("bin").join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "`{name}` was found neither in $ESO_VENV/bin nor on PATH; run hack/setup-tools.sh and \
         export ESO_VENV=<the venv it prints> (tests need it and do not skip)"
    )
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind an ephemeral port")?;
    Ok(listener.local_addr()?.port())
}

/// A running emulator: killed (and reaped) on drop, with its own scratch directory and log.
#[derive(Debug)]
pub struct EmulatorProcess {
    name: &'static str,
    child: Child,
    scratch: TempDir,
    log_path: PathBuf,
}

impl EmulatorProcess {
    /// Spawns `program args…` with a clean environment (only `PATH`, `HOME` set to the scratch
    /// directory, and `extra_env`), output going to a log file in the scratch directory.
    pub fn spawn(
        name: &'static str,
        program: PathBuf,
        args: &[String],
        extra_env: &[(&str, &str)],
    ) -> Result<Self> {
        let scratch = tempfile::Builder::new()
            .prefix(&format!("eso-{name}-"))
            .tempdir()
            .context("create scratch directory")?;
        let log_path = scratch.path().join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).context("create log file")?;
        let mut command = Command::new(&program);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", scratch.path())
            .current_dir(scratch.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .with_context(|| format!("start {name} ({})", program.display()))?;
        Ok(Self {
            name,
            child,
            scratch,
            log_path,
        })
    }

    /// The last lines of the emulator's output, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The scratch directory (the process's `HOME` and working directory).
    pub fn scratch_dir(&self) -> &std::path::Path {
        self.scratch.path()
    }

    /// Polls `url` until it answers with a success status, the process exits, or the timeout
    /// passes.
    pub async fn wait_ready(&mut self, client: &reqwest::Client, url: &str) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited during startup ({status}); log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            let probe = client.get(url).timeout(Duration::from_secs(2)).send().await;
            if let Ok(response) = probe
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not become ready at {url} within {:?}; log:\n{}",
                    self.name,
                    STARTUP_TIMEOUT,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts an emulator on a fresh port, retrying with another port if the first attempt dies
/// (another test may have grabbed the port between our probe and the emulator's bind).
pub async fn start_on_free_port<F>(
    client: &reqwest::Client,
    mut spawn: F,
    ready_path: &str,
) -> Result<(EmulatorProcess, u16)>
where
    F: FnMut(u16) -> Result<EmulatorProcess>,
{
    let mut last_error = None;
    for _ in 0..3 {
        let port = free_port()?;
        let mut process = spawn(port)?;
        match process
            .wait_ready(client, &format!("http://127.0.0.1:{port}{ready_path}"))
            .await
        {
            Ok(()) => return Ok((process, port)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("emulator failed to start")))
}
