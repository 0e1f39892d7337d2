//! `mfa_process`: a command whose stdout is the code (aws-vault's convention, for YubiKey
//! `ykman`, `oathtool`, password managers). Run through `sh -c`; a timeout ends it with
//! everything it started. Without a terminal it runs in a process group of its own (the
//! group is killed); with one it stays in ours, so it may still ask on the terminal (a
//! background group would be stopped by the terminal), and its descendants are found and
//! killed one by one. The code is its output's first line, taken as soon as the command
//! itself has finished, whatever its children still hold open. Nothing of the command line
//! is ever shown: it may carry a TOTP seed.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::{Ask, CodeSource, is_code};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// How long a `mfa_process` may take by default (a YubiKey waiting for a touch, a password
/// manager); `EKSOP_AUTH_MFA_PROCESS_TIMEOUT` (seconds) changes it.
pub(crate) const MFA_PROCESS_TIMEOUT: Duration = Duration::from_secs(120);
/// After the command has exited, how long to wait for the rest of a line it began.
const TAIL: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub(crate) struct MfaProcess {
    command: String,
}

impl MfaProcess {
    pub(crate) fn new(command: &str) -> Self {
        MfaProcess {
            command: command.to_string(),
        }
    }
}

impl CodeSource for MfaProcess {
    fn is_person(&self) -> bool {
        false
    }

    fn code(&mut self, ask: &Ask<'_>) -> Result<Secret<String>> {
        run(&self.command, ask.profile, ask.timeout)
    }
}

fn fix(profile: &str) -> String {
    format!("fix `mfa_process` in profile `{profile}` so it prints the current 6-digit code")
}

fn run(command: &str, profile: &str, timeout: Duration) -> Result<Secret<String>> {
    let own_group = !super::terminal::available();
    let mut child = spawn(command, own_group)
        .map_err(|e| Error::Mfa(format!("cannot start mfa_process: {e}; {}", fix(profile))))?;
    let lines = read_first_line(&mut child);
    let deadline = Instant::now() + timeout;
    let timed_out = |child: &mut Child| {
        kill_all(child, own_group);
        Error::Mfa(format!(
            "mfa_process gave no code within {}s and was stopped, with everything it \
             started; {} (or raise EKSOP_AUTH_MFA_PROCESS_TIMEOUT)",
            timeout.as_secs(),
            fix(profile)
        ))
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => return Err(timed_out(&mut child)),
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(Error::Mfa(format!("mfa_process: {e}"))),
        }
    };
    if !status.success() {
        return Err(Error::Mfa(format!(
            "mfa_process failed ({status}); {}",
            fix(profile)
        )));
    }
    // The command is done; what it left running may keep stdout open, so take the first
    // line (or what there is) without waiting for the end of the stream.
    let left = deadline.saturating_duration_since(Instant::now());
    let line = match lines.recv_timeout(TAIL.min(left).max(Duration::from_millis(1))) {
        Ok(line) => line,
        Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
            return Err(Error::Mfa(format!(
                "mfa_process printed no complete line; {}",
                fix(profile)
            )));
        }
    };
    let code = Secret::new(String::from_utf8_lossy(&line).trim().to_string());
    if !is_code(code.expose()) {
        return Err(Error::Mfa(format!(
            "mfa_process did not print a 6-digit code; {}",
            fix(profile)
        )));
    }
    Ok(code)
}

/// The first line of the child's stdout (without waiting past it), or all of it at EOF.
fn read_first_line(child: &mut Child) -> Receiver<Vec<u8>> {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while line.len() < 4096 {
            match stdout.read(&mut byte) {
                Ok(1) if byte[0] == b'\n' => break,
                Ok(1) => line.push(byte[0]),
                _ => break,
            }
        }
        let _ = tx.send(line);
    });
    rx
}

#[cfg(unix)]
fn spawn(command: &str, own_group: bool) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command);
    if own_group {
        cmd.process_group(0);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
}

#[cfg(not(unix))]
fn spawn(command: &str, _own_group: bool) -> std::io::Result<Child> {
    Command::new("cmd")
        .arg("/C")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
}

/// Ends the command and everything it started.
fn kill_all(child: &mut Child, own_group: bool) {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process, kill_process_group};
        let pid = |n: u32| i32::try_from(n).ok().and_then(Pid::from_raw);
        if own_group {
            if let Some(group) = pid(child.id()) {
                let _ = kill_process_group(group, Signal::KILL);
            }
        } else {
            // Stop the command first, so it starts nothing new, then its descendants.
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
/// only the command itself is killed).
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn output_is_trimmed_and_checked() {
        assert_eq!(
            run("printf ' 123456\\n'", "p", T).unwrap().expose(),
            "123456"
        );
        assert_eq!(run("printf 654321", "p", T).unwrap().expose(), "654321");
        let e = run("echo 12345", "p", T).unwrap_err().to_string();
        assert!(e.contains("6-digit") && e.contains("`p`"), "{e}");
        let e = run("exit 3", "p", T).unwrap_err().to_string();
        assert!(e.contains("failed"), "{e}");
    }

    #[test]
    fn the_command_line_never_shows() {
        let e = run("OATH_SEED=JBSWY3DPEHPK3PXP exit 1", "p", T)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("JBSWY3") && !e.contains("OATH_SEED"), "{e}");
    }

    #[test]
    fn a_child_holding_stdout_does_not_delay_the_code() {
        let start = Instant::now();
        let code = run("echo 246810; sleep 3 &", "p", T).unwrap();
        assert_eq!(code.expose(), "246810");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }
}
