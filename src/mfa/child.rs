//! Running a helper program for a code (`mfa_process`, a desktop dialog) with a deadline:
//! its first stdout line taken as soon as it has exited, whatever its children still hold
//! open, and at the deadline the program ended together with everything it started. In a
//! process group of its own (`own_group`) the group is killed; otherwise (an `mfa_process`
//! that may still ask on our terminal, which a background group could not) its
//! descendants are found and killed one by one.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// After the program has exited, how long to wait for the rest of a line it began.
const TAIL: Duration = Duration::from_millis(200);
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
}

/// Starts `cmd` with stdin closed and stdout captured; stderr is captured (for the error
/// message) or left to ours.
pub(super) fn start(
    mut cmd: Command,
    own_group: bool,
    capture_stderr: bool,
) -> std::io::Result<Running> {
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
    let mut child = cmd.spawn()?;
    let stdout = read_first_line(child.stdout.take().expect("piped stdout"), true);
    let stderr = child.stderr.take().map(|e| read_first_line(e, false));
    Ok(Running {
        child,
        own_group,
        stdout,
        stderr,
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

/// The first line of a stream (`stop_at_newline`) or its start, without waiting past it.
fn read_first_line(
    mut stream: impl Read + Send + 'static,
    stop_at_newline: bool,
) -> Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut byte = [0u8; 1];
        while text.len() < MAX_TEXT {
            match stream.read(&mut byte) {
                Ok(1) if stop_at_newline && byte[0] == b'\n' => {
                    let _ = tx.send(text);
                    return;
                }
                Ok(1) => text.push(byte[0]),
                _ => break,
            }
        }
        // At the end of the stream: a line only if something was printed.
        if !stop_at_newline || !text.is_empty() {
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
