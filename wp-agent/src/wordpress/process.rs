//! Running the connector's commands: PHP with the agent's settings, each
//! command with a time limit and its output in files, and the apply process
//! started ahead of its bundle.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::WordPress;
use crate::disk;

/// An apply process started before its bundle arrives: PHP is up (its
/// start costs about 20 ms with a distribution's usual extensions) and
/// `bin/apply.php --request-on-stdin` waits for its request. WordPress is
/// loaded only when the request comes, so it sees the site as it is then.
/// Dropped unused, its stdin closes and it exits quietly.
#[derive(Debug)]
pub(super) struct Warm {
    child: Child,
    stdin: ChildStdin,
}

/// What a connector command printed and how it exited.
#[derive(Debug)]
pub(super) struct Ran {
    pub(super) code: Option<i32>,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

impl WordPress {
    /// PHP with the extension and opcache's file cache, as every command runs.
    pub(super) fn php_command(&self) -> Command {
        let mut command = Command::new(&self.php);
        if let Some(cache) = &self.opcache {
            if disk::private_dir(cache).is_ok() {
                // The cache folder is the agent's own: its files are
                // checked by size when loaded, and skipping the checksum
                // of every cached script saves a tenth of WordPress's load.
                command
                    .args([
                        "-d",
                        "opcache.enable_cli=1",
                        "-d",
                        "opcache.file_cache_only=1",
                        "-d",
                        "opcache.file_cache_consistency_checks=0",
                    ])
                    .arg("-d")
                    .arg(format!("opcache.file_cache={}", cache.display()));
            }
        }
        if let Some(extension) = &self.extension {
            command
                .arg("-d")
                .arg(format!("extension={}", extension.display()));
        }
        command
    }

    /// PHP running the connector's `bin/<script>` in WordPress's folder.
    pub(super) fn connector_command(&self, script: &str) -> Command {
        let mut command = self.php_command();
        command
            .arg(self.plugin_dir().join("bin").join(script))
            .current_dir(&self.wp_path);
        command
    }

    /// Runs a command with a time limit, its output going to files (a pipe
    /// could fill and stall it); kills it when time is up.
    pub(super) fn run(&self, command: Command, limit: Duration, name: &str) -> anyhow::Result<Ran> {
        let child = self.start(command, Stdio::null(), name)?;
        self.wait(child, limit, name)
    }

    fn output_paths(&self, name: &str) -> (PathBuf, PathBuf) {
        (
            self.scratch.join(format!("{name}.out")),
            self.scratch.join(format!("{name}.err")),
        )
    }

    /// Starts a command with its output going to the `name` files.
    fn start(&self, mut command: Command, stdin: Stdio, name: &str) -> anyhow::Result<Child> {
        disk::private_dir(&self.scratch)?;
        let (out_path, err_path) = self.output_paths(name);
        let stdout = std::fs::File::create(&out_path)?;
        let stderr = std::fs::File::create(&err_path)?;
        command
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", self.php.display()))
    }

    /// Waits for a command started by [`Self::start`] for at most `limit`,
    /// killing it then, and reads what it printed.
    fn wait(&self, mut child: Child, limit: Duration, name: &str) -> anyhow::Result<Ran> {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            let elapsed = started.elapsed();
            if elapsed >= limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            // Finely at first (most commands take well under a second), then coarsely.
            std::thread::sleep(if elapsed < Duration::from_secs(2) {
                Duration::from_millis(1)
            } else {
                Duration::from_millis(20)
            });
        };
        let read = |path: &Path| {
            let text = std::fs::read(path).unwrap_or_default();
            String::from_utf8_lossy(&text).into_owned()
        };
        let (out_path, err_path) = self.output_paths(name);
        let ran = Ran {
            code: status.and_then(|s| s.code()),
            stdout: read(&out_path),
            stderr: read(&err_path),
        };
        if status.is_none() {
            bail!(
                "stopped after the {}-second time limit ({})",
                limit.as_secs(),
                ran.explain()
            );
        }
        Ok(ran)
    }

    /// Starts `bin/apply.php --request-on-stdin`.
    fn start_apply(&self) -> anyhow::Result<Warm> {
        let mut command = self.connector_command("apply.php");
        command.arg("--request-on-stdin");
        let mut child = self.start(command, Stdio::piped(), "apply")?;
        let stdin = child
            .stdin
            .take()
            .context("the apply process has no stdin")?;
        Ok(Warm { child, stdin })
    }

    /// Starts the next apply's PHP now, so the next bundle does not wait
    /// for it; a failure here only means the next apply starts its own.
    pub fn prestart(&self) {
        let mut slot = self.warm.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return;
        }
        match self.start_apply() {
            Ok(warm) => *slot = Some(warm),
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "starting PHP ahead of the next apply")
            }
        }
    }

    /// Runs one apply: hands the request to the process started ahead (or
    /// to a new one, if none is waiting or it died meanwhile) and waits for
    /// its report within the time limit.
    pub(super) fn run_apply(&self, request: &serde_json::Value) -> anyhow::Result<Ran> {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        let waiting = self.warm.lock().unwrap_or_else(|e| e.into_inner()).take();
        let handed = waiting.and_then(|mut warm| {
            let alive = matches!(warm.child.try_wait(), Ok(None));
            if alive && warm.stdin.write_all(&line).is_ok() {
                Some(warm.child)
            } else {
                let _ = warm.child.kill();
                let _ = warm.child.wait();
                None
            }
        });
        let child = match handed {
            Some(child) => child,
            None => {
                let mut fresh = self.start_apply()?;
                fresh
                    .stdin
                    .write_all(&line)
                    .context("handing the request to PHP")?;
                fresh.child
            }
        };
        // stdin closed with the Warm: the connector reads one line.
        self.wait(child, self.apply_limit, "apply")
    }
}

impl Ran {
    /// Exit status and the end of what the command printed (stderr, or
    /// stdout when stderr is empty: PHP's CLI prints its fatal errors
    /// there), for error messages.
    pub(super) fn explain(&self) -> String {
        let printed = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let tail = tail(printed.trim(), 400);
        match self.code {
            Some(code) if tail.is_empty() => format!("exit {code}"),
            Some(code) => format!("exit {code}: {tail}"),
            None if tail.is_empty() => "killed".to_owned(),
            None => format!("killed: {tail}"),
        }
    }
}

/// The last `max` bytes of `text` or a little less, on a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The last line of output that parses as `T` (PHP may print notices first).
pub(super) fn last_json<T: serde::de::DeserializeOwned>(stdout: &str) -> anyhow::Result<T> {
    let mut last_error = None;
    for line in stdout
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
    {
        match serde_json::from_str(line) {
            Ok(value) => return Ok(value),
            Err(err) => last_error = Some(err),
        }
    }
    match last_error {
        Some(err) => Err(err.into()),
        None => bail!("no JSON report on stdout"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::ApplyReport;
    use super::*;

    #[test]
    fn a_command_over_its_time_limit_is_killed_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let wordpress = WordPress::scratch(dir.path());
        let mut slow = Command::new("sh");
        slow.args(["-c", "echo working >&2; sleep 30"]);
        let started = Instant::now();
        let err = wordpress
            .run(slow, Duration::from_millis(200), "slow")
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < Duration::from_secs(10), "not killed");
        assert!(err.contains("time limit"), "{err}");
        assert!(err.contains("killed: working"), "{err}");

        let mut quick = Command::new("sh");
        quick.args(["-c", "echo '{\"status\": \"applied\"}'; exit 1"]);
        let ran = wordpress
            .run(quick, Duration::from_secs(10), "quick")
            .unwrap();
        assert_eq!(ran.code, Some(1));
        assert_eq!(
            last_json::<ApplyReport>(&ran.stdout).unwrap().status,
            "applied"
        );
    }

    #[test]
    fn reports_are_read_past_php_notices() {
        let out = "PHP Notice: something\n{\"status\": \"applied\", \"results\": []}\n";
        let report: ApplyReport = last_json(out).unwrap();
        assert_eq!(report.status, "applied");
        assert!(last_json::<ApplyReport>("Fatal error: out of memory").is_err());
    }
}
