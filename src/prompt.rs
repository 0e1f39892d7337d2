//! Where MFA codes come from: `mfa_process` (a command whose stdout is the code), the
//! controlling terminal (dialoguer on /dev/tty, never stdout), or a script (tests).
//! The only module that imports dialoguer.

use std::collections::VecDeque;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// A TOTP code as AWS accepts it: exactly six digits.
pub fn is_code(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Asks a person for a code.
pub trait Prompter {
    /// Whether a controlling terminal can be opened for a prompt.
    fn terminal_available(&self) -> bool;
    /// Prompts (re-asking until the answer is six digits); `note` is shown first.
    fn ask_code(&mut self, device: &str, note: Option<&str>) -> Result<Secret<String>>;
}

/// The real prompt, on the controlling terminal: it works when stdout is kubectl's pipe,
/// when stderr is aws-cli's pipe, and when stdin is /dev/null.
#[derive(Debug, Default)]
pub struct TtyPrompter;

#[cfg(unix)]
fn open_terminal() -> std::io::Result<console::Term> {
    let read = std::fs::File::open("/dev/tty")?;
    let write = std::fs::OpenOptions::new().write(true).open("/dev/tty")?;
    Ok(console::Term::read_write_pair(read, write))
}

#[cfg(not(unix))]
fn open_terminal() -> std::io::Result<console::Term> {
    let term = console::Term::stderr();
    if term.features().is_attended() {
        Ok(term)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "no console",
        ))
    }
}

impl Prompter for TtyPrompter {
    fn terminal_available(&self) -> bool {
        open_terminal().is_ok()
    }

    fn ask_code(&mut self, device: &str, note: Option<&str>) -> Result<Secret<String>> {
        let term = open_terminal()
            .map_err(|e| Error::Mfa(format!("cannot open the terminal for the MFA prompt: {e}")))?;
        if let Some(note) = note {
            let _ = term.write_line(note);
        }
        let code: String = dialoguer::Input::new()
            .with_prompt(format!("MFA code for {device}"))
            .validate_with(|s: &String| -> std::result::Result<(), &str> {
                if is_code(s.trim()) {
                    Ok(())
                } else {
                    Err("enter the 6 digits your MFA device shows")
                }
            })
            .interact_text_on(&term)
            .map_err(|e| Error::Mfa(format!("MFA prompt failed: {e}")))?;
        Ok(Secret::new(code.trim().to_string()))
    }
}

/// Answers from a list (tests); fails like a closed terminal when the list runs out.
#[derive(Debug, Default)]
pub struct ScriptedPrompter {
    pub codes: VecDeque<String>,
    pub asked: usize,
}

impl Prompter for ScriptedPrompter {
    fn terminal_available(&self) -> bool {
        !self.codes.is_empty()
    }

    fn ask_code(&mut self, _device: &str, _note: Option<&str>) -> Result<Secret<String>> {
        self.asked += 1;
        self.codes
            .pop_front()
            .map(Secret::new)
            .ok_or_else(|| Error::Mfa("no terminal".into()))
    }
}

/// How long a `mfa_process` may take (a YubiKey waiting for a touch, a password manager).
pub const MFA_PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `mfa_process` through `sh -c`; its trimmed stdout is the code. Its stderr stays
/// ours, so "touch your key" messages reach the person. Neither its output nor its
/// arguments are ever echoed back: an argument may be a TOTP seed (`oathtool -b SEED`).
pub fn run_mfa_process(command: &str, profile: &str) -> Result<Secret<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        assert!(is_code("012345"));
        for bad in ["12345", "1234567", "12a456", " 12345", ""] {
            assert!(!is_code(bad), "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn mfa_process_output_is_trimmed_and_checked() {
        assert_eq!(
            run_mfa_process("printf ' 123456\\n'", "p")
                .unwrap()
                .expose(),
            "123456"
        );
        let e = run_mfa_process("echo 12345", "p").unwrap_err().to_string();
        assert!(
            e.contains("6-digit") && e.contains("`p`") && !e.contains("12345 "),
            "{e}"
        );
        let e = run_mfa_process("exit 3", "p").unwrap_err().to_string();
        assert!(e.contains("failed"), "{e}");
    }
}
