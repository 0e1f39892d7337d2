//! `mfa_process`: a command whose stdout is the code (aws-vault's convention, for YubiKey
//! `ykman`, `oathtool`, password managers). Run through `sh -c`; a timeout ends it with
//! everything it started. Without a terminal it runs in a process group of its own (the
//! group is killed); with one it stays in ours, so it may still ask on the terminal (a
//! background group would be stopped by the terminal), and its descendants are found and
//! killed one by one. The code is its output's first line, taken as soon as the command
//! itself has finished, whatever its children still hold open. Nothing of the command line
//! is ever shown: it may carry a TOTP seed.

use std::process::Command;
use std::time::Duration;
#[cfg(test)]
use std::time::Instant;

use super::child::{self, Ended};
use super::{Ask, CodeSource, is_code};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// How long a `mfa_process` may take by default (a YubiKey waiting for a touch, a password
/// manager); `EKSOP_AUTH_MFA_PROCESS_TIMEOUT` (seconds) changes it.
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
        run(&self.command, ask.profile, ask.timeout)
    }
}

fn fix(profile: &str) -> String {
    format!("fix `mfa_process` in profile `{profile}` so it prints the current 6-digit code")
}

fn run(command: &str, profile: &str, timeout: Duration) -> Result<Secret<String>> {
    let own_group = !super::terminal::available();
    let running = child::start(shell(command), own_group, false)
        .map_err(|e| Error::Mfa(format!("cannot start mfa_process: {e}; {}", fix(profile))))?;
    let (status, line) = match running
        .wait(timeout)
        .map_err(|e| Error::Mfa(format!("mfa_process: {e}")))?
    {
        Ended::TimedOut => {
            return Err(Error::Mfa(format!(
                "mfa_process gave no code within {}s and was stopped, with everything it \
                 started; {} (or raise EKSOP_AUTH_MFA_PROCESS_TIMEOUT)",
                timeout.as_secs(),
                fix(profile)
            )));
        }
        Ended::Exited { status, line, .. } => (status, line),
    };
    if !status.success() {
        return Err(Error::Mfa(format!(
            "mfa_process failed ({status}); {}",
            fix(profile)
        )));
    }
    let Some(line) = line else {
        return Err(Error::Mfa(format!(
            "mfa_process printed no complete line; {}",
            fix(profile)
        )));
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

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command);
    cmd
}

#[cfg(not(unix))]
fn shell(command: &str) -> Command {
    let mut cmd = Command::new("cmd");
    cmd.arg("/C").arg(command);
    cmd
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
