//! The services under measurement as child processes of this binary, and what is read about them: the
//! address each prints once listening, and its CPU time from `/proc/<pid>/stat`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// A child service, killed (and reaped) when dropped, however the benchmark ends.
pub struct Service {
    pub name: String,
    pub url: String,
    child: Child,
}

impl Service {
    /// Starts `urna ARGS` (this executable), its stderr to `log`, and waits for the line on stdout that
    /// names its address: `{"listening": "ADDR"}` or `listening on http://ADDR`.
    pub fn spawn(name: &str, args: &[String], log: &Path) -> Result<Self> {
        Self::spawn_until(name, args, log, listening_url)
    }

    /// [`Service::spawn`], ready at the first line of stdout for which `ready` gives a value (kept as `url`).
    pub fn spawn_until(
        name: &str,
        args: &[String],
        log: &Path,
        ready: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let exe = std::env::current_exe().context("locating the urna executable")?;
        let stderr = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let stdout = child.stdout.take().context("the child's stdout")?;
        let mut service = Self { name: name.to_owned(), url: String::new(), child };
        // Lines before it (the audit log prints its new key first) are skipped.
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader.read_line(&mut line).with_context(|| format!("reading {name}'s address"))?;
            if read == 0 {
                bail!("{name} exited before listening (see {})", log.display());
            }
            if let Some(url) = ready(&line) {
                service.url = url;
                return Ok(service);
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process has used so far.
    pub fn cpu(&self) -> Result<Duration> {
        let path = format!("/proc/{}/stat", self.pid());
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let ticks = cpu_ticks(&text).with_context(|| format!("{path}: unexpected format"))?;
        Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time of this process (all its threads) so far.
pub fn own_cpu() -> Result<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    let ticks = cpu_ticks(&text).context("/proc/self/stat: unexpected format")?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
}

/// CPU time so far of this process's threads whose name (`/proc/self/task/<tid>/comm`, at most 15 bytes)
/// starts with `prefix`. A thread that has exited no longer counts: name threads that must be counted so
/// that they outlive the measurement.
pub fn threads_cpu(prefix: &str) -> Result<Duration> {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").context("listing /proc/self/task")? {
        let path = entry.context("listing /proc/self/task")?.path();
        // A thread may exit between the listing and the read: it is then simply not counted.
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else { continue };
        if thread_name(&stat).is_some_and(|name| name.starts_with(prefix)) {
            ticks += cpu_ticks(&stat).with_context(|| format!("{}: unexpected format", path.display()))?;
        }
    }
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
}

/// The command (thread) name of a `/proc/.../stat` line: field 2, between the first `(` and the last `)`.
fn thread_name(stat: &str) -> Option<&str> {
    stat.get(stat.find('(')? + 1..stat.rfind(')')?)
}

/// The base URL in a service's first line of output.
pub fn listening_url(line: &str) -> Option<String> {
    let line = line.trim();
    if let Some(addr) = line.strip_prefix("listening on ") {
        return Some(addr.to_owned());
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(format!("http://{}", value.get("listening")?.as_str()?))
}

/// utime + stime (fields 14 and 15, in clock ticks) of a `/proc/<pid>/stat` line. The command name (field
/// 2) is in parentheses and may hold spaces, so the fields are counted after its closing parenthesis.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (the state).
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// `sysconf(_SC_CLK_TCK)`, as `getconf` reports it (100 on every Linux this runs on).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat = "4242 (urna (vote) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 56 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(1234 + 56));
        assert_eq!(cpu_ticks("4242 (urna) S 1"), None);
        assert_eq!(thread_name(stat), Some("urna (vote) x"));
    }

    /// Only the threads of that name count: a named thread that burns CPU until the reading shows it, and no
    /// thread of a name nobody uses.
    #[test]
    fn named_threads_are_counted() {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (burnt_enough, done) = std::sync::mpsc::channel::<()>();
        let burner = std::thread::Builder::new()
            .name("cpu-burn-test".to_owned())
            .spawn(move || {
                let mut x = 0u64;
                while threads_cpu("cpu-burn-test").unwrap() < Duration::from_millis(50) {
                    for _ in 0..1_000_000 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                    }
                }
                burnt_enough.send(()).unwrap();
                wait.recv().ok();
            })
            .unwrap();
        done.recv().unwrap();
        let burnt = threads_cpu("cpu-burn-test").unwrap();
        let whole = own_cpu().unwrap();
        release.send(()).unwrap();
        burner.join().unwrap();
        assert!(burnt >= Duration::from_millis(50) && burnt <= whole, "{burnt:?} of {whole:?}");
        assert_eq!(threads_cpu("no-such-thread").unwrap(), Duration::ZERO);
    }

    #[test]
    fn both_spellings_of_the_listening_line() {
        assert_eq!(listening_url("{\"listening\":\"127.0.0.1:4000\"}\n").as_deref(), Some("http://127.0.0.1:4000"));
        assert_eq!(listening_url("listening on http://127.0.0.1:4001\n").as_deref(), Some("http://127.0.0.1:4001"));
        assert_eq!(listening_url("error: no key\n"), None);
    }
}
