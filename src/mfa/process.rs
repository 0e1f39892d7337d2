//! `mfa_process`: a command whose stdout is the code (aws-vault's convention, for YubiKey
//! `ykman`, `oathtool`, password managers). Run through `sh -c`, with a deadline.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Ask, CodeSource, is_code};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// How long a `mfa_process` may take (a YubiKey waiting for a touch, a password manager).
pub(crate) const MFA_PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

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
        run(&self.command, ask.profile)
    }
}

/// Runs `command`; its trimmed stdout is the code. Its stderr stays ours, so "touch your
/// key" messages reach the person. Neither its output nor its arguments are ever echoed
/// back: an argument may be a TOTP seed (`oathtool -b SEED`).
fn run(command: &str, profile: &str) -> Result<Secret<String>> {
    // Security: only the program's name goes into messages, never its arguments.
    let program = command.split_whitespace().next().unwrap_or("");
    let fix =
        format!("fix `mfa_process` in profile `{profile}` so it prints the current 6-digit code");
    let mut child = shell(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Mfa(format!("cannot run mfa_process `{program} …`: {e}; {fix}")))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.by_ref().take(4096).read_to_end(&mut out);
        let _ = tx.send(out);
    });
    let start = Instant::now();
    let timed_out = || {
        Error::Mfa(format!(
            "mfa_process `{program} …` gave no code within {}s; {fix}",
            MFA_PROCESS_TIMEOUT.as_secs()
        ))
    };
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::Mfa(format!("mfa_process: {e}")))?
        {
            break status;
        }
        if start.elapsed() > MFA_PROCESS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(timed_out());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // A background grandchild may hold stdout open after the shell exits: bounded too.
    let left = MFA_PROCESS_TIMEOUT
        .saturating_sub(start.elapsed())
        .max(Duration::from_secs(1));
    let bytes = rx.recv_timeout(left).map_err(|_| timed_out())?;
    let out = Secret::new(String::from_utf8_lossy(&bytes).trim().to_string());
    if !status.success() {
        return Err(Error::Mfa(format!(
            "mfa_process `{program} …` failed ({status}); {fix}"
        )));
    }
    if !is_code(out.expose()) {
        return Err(Error::Mfa(format!(
            "mfa_process `{program} …` did not print a 6-digit code; {fix}"
        )));
    }
    Ok(out)
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(command);
    c
}

#[cfg(not(unix))]
fn shell(command: &str) -> Command {
    let mut c = Command::new("cmd");
    c.arg("/C").arg(command);
    c
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn output_is_trimmed_and_checked() {
        assert_eq!(run("printf ' 123456\\n'", "p").unwrap().expose(), "123456");
        let e = run("echo 12345", "p").unwrap_err().to_string();
        assert!(
            e.contains("6-digit") && e.contains("`p`") && !e.contains("12345 "),
            "{e}"
        );
        let e = run("exit 3", "p").unwrap_err().to_string();
        assert!(e.contains("failed"), "{e}");
    }
}
