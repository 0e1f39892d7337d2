//! Running a helper program for a code (`mfa_process`, a desktop dialog) with a deadline:
//! its first stdout line taken as soon as it has exited, whatever its children still hold
//! open, and at the deadline the program ended together with everything it started. In a
//! process group of its own (`own_group`) the group is killed; otherwise (an `mfa_process`
//! that may still ask on our terminal, which a background group could not) its
//! descendants are found and killed one by one.
//!
//! A program in its own group does not get the terminal's Ctrl-C, so it must not outlive
//! us: while it runs, SIGTERM, SIGINT and SIGHUP kill its group before we die of them, and
//! on Linux it runs under `setpriv --pdeathsig KILL` (when util-linux's setpriv is there),
//! which ends it even when we are killed outright. Its output is read to the end, what
//! passes the first line or 4 KiB thrown away, so a chatty program never dies of a closed
//! pipe.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// After the program has exited, how long to wait for the reader to hand on its line: a
/// line already printed arrives as soon as the reader thread runs (which, on a loaded
/// machine, took more than 200 ms), and a stream that closed ends the wait at once. Only
/// a program that left a child holding stdout open without printing a line costs it all.
const TAIL: Duration = Duration::from_secs(2);
/// The most of a line (stdout) or of a message (stderr) kept.
const MAX_TEXT: usize = 4096;

/// How a helper program ended.
#[derive(Debug)]
pub(super) enum Ended {
    Exited {
        status: ExitStatus,
        /// Its first stdout line (without the newline), `None` if it printed no line.
        line: Option<Vec<u8>>,
        /// The start of what it wrote to stderr, when that was captured.
        stderr: String,
    },
    /// Still running at the deadline: it was ended, with everything it started.
    TimedOut,
}

/// A started helper program.
pub(super) struct Running {
    child: Child,
    own_group: bool,
    stdout: Receiver<Vec<u8>>,
    stderr: Option<Receiver<Vec<u8>>>,
    #[cfg(unix)]
    _guard: Option<GroupGuard>,
}

/// Kills the running program's group when a terminating signal reaches us, then dies of
/// the signal as before. The watch is set up once per process and stays (signal-hook cannot
/// give the default action back); between programs it only dies.
#[cfg(unix)]
fn watch() -> Option<&'static std::sync::atomic::AtomicU32> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static GROUP: AtomicU32 = AtomicU32::new(0);
    static WATCHING: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *WATCHING.get_or_init(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) else {
            return false;
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let id = GROUP.load(Ordering::SeqCst);
                if let Some(g) = pid(id).filter(|_| id > 0) {
                    let _ = rustix::process::kill_process_group(g, rustix::process::Signal::KILL);
                }
                let _ = signal_hook::low_level::emulate_default_handler(sig);
            }
        });
        true
    });
    ok.then_some(&GROUP)
}

/// While alive, a terminating signal kills this group first.
#[cfg(unix)]
struct GroupGuard(&'static std::sync::atomic::AtomicU32);

#[cfg(unix)]
impl GroupGuard {
    fn new() -> Option<GroupGuard> {
        watch().map(GroupGuard)
    }

    fn set(&self, group: u32) {
        self.0.store(group, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(unix)]
impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.0.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

/// On Linux, `cmd` run through `setpriv --pdeathsig KILL`, so the kernel ends it if we die
/// (setpriv sets that, then becomes the program: same pid, same group).
#[cfg(target_os = "linux")]
fn dies_with_us(cmd: Command) -> Command {
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .map(std::path::Path::new)
        .find(|p| p.is_file())
    else {
        return cmd;
    };
    let mut wrapped = Command::new(setpriv);
    wrapped
        .args(["--pdeathsig", "KILL", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

#[cfg(not(target_os = "linux"))]
fn dies_with_us(cmd: Command) -> Command {
    cmd
}

/// Starts `cmd` with stdin closed and stdout captured; stderr is captured (for the error
/// message) or left to ours.
pub(super) fn start(
    cmd: Command,
    own_group: bool,
    capture_stderr: bool,
) -> std::io::Result<Running> {
    let mut cmd = if own_group { dies_with_us(cmd) } else { cmd };
    #[cfg(unix)]
    if own_group {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    cmd.stderr(if capture_stderr {
        Stdio::piped()
    } else {
        Stdio::inherit()
    });
    // Watch for signals before the program exists, so none falls in between.
    #[cfg(unix)]
    let guard = own_group.then(GroupGuard::new).flatten();
    let mut child = cmd.spawn()?;
    #[cfg(unix)]
    if let Some(g) = &guard {
        g.set(child.id());
    }
    let stdout = read_first_line(child.stdout.take().expect("piped stdout"), true);
    let stderr = child.stderr.take().map(|e| read_first_line(e, false));
    Ok(Running {
        child,
        own_group,
        stdout,
        stderr,
        #[cfg(unix)]
        _guard: guard,
    })
}

impl Running {
    /// Waits until the program exits or `timeout` has passed.
    pub(super) fn wait(mut self, timeout: Duration) -> std::io::Result<Ended> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    kill_all(&mut self.child, self.own_group);
                    return Ok(Ended::TimedOut);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    kill_all(&mut self.child, self.own_group);
                    return Err(e);
                }
            }
        };
        // The program is done; what it left running may keep stdout open, so take the
        // first line (or what there is) without waiting for the end of the stream.
        let tail = || {
            TAIL.min(deadline.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(1))
        };
        let line = self.stdout.recv_timeout(tail()).ok();
        let stderr = self
            .stderr
            .as_ref()
            .and_then(|e| e.recv_timeout(tail()).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Ok(Ended::Exited {
            status,
            line,
            stderr,
        })
    }
}

/// The first line of a stream (`stop_at_newline`) or its first 4 KiB, sent as soon as it
/// is complete; the rest is read and thrown away, so the writer never meets a closed pipe.
fn read_first_line(
    mut stream: impl Read + Send + 'static,
    stop_at_newline: bool,
) -> Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut sent = false;
        let mut buf = [0u8; 512];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if sent {
                continue;
            }
            for &b in &buf[..n] {
                if (stop_at_newline && b == b'\n') || text.len() >= MAX_TEXT {
                    let _ = tx.send(std::mem::take(&mut text));
                    sent = true;
                    break;
                }
                text.push(b);
            }
        }
        // At the end of the stream: a line only if something was printed.
        if !sent && (!stop_at_newline || !text.is_empty()) {
            let _ = tx.send(text);
        }
    });
    rx
}

#[cfg(unix)]
fn pid(n: u32) -> Option<rustix::process::Pid> {
    i32::try_from(n)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
}

/// Kills the program's own process group.
#[cfg(unix)]
fn kill_group(child: &Child) {
    if let Some(group) = pid(child.id()) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// Ends the program and everything it started.
fn kill_all(child: &mut Child, own_group: bool) {
    #[cfg(unix)]
    {
        use rustix::process::{Signal, kill_process};
        if own_group {
            kill_group(child);
        } else {
            // Stop the program first, so it starts nothing new, then its descendants.
            if let Some(p) = pid(child.id()) {
                let _ = kill_process(p, Signal::STOP);
            }
            for d in descendants(child.id()) {
                if let Some(p) = pid(d) {
                    let _ = kill_process(p, Signal::KILL);
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = own_group;
    let _ = child.kill();
    let _ = child.wait();
}

/// Every process descended from `root`, from /proc (Linux; elsewhere none are found, and
/// only the program itself is killed).
#[cfg(unix)]
fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let after = stat.rsplit_once(')')?.1;
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}
