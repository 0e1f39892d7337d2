//! The prompt on the controlling terminal, never stdout: dialoguer on /dev/tty, and on
//! Windows the console itself (`CONIN$`/`CONOUT$`). Either way it works when stdout is
//! kubectl's pipe, when stderr is aws-cli's pipe, and when stdin is /dev/null or a pipe.
//! The only module that imports dialoguer.

use super::{Ask, CodeSource, is_code};
use crate::error::{Error, Result};
use crate::secret::Secret;

#[derive(Debug, Default)]
pub(crate) struct TtyPrompter;

#[cfg(unix)]
fn open_terminal() -> std::io::Result<console::Term> {
    let read = std::fs::File::open("/dev/tty")?;
    let write = std::fs::OpenOptions::new().write(true).open("/dev/tty")?;
    Ok(console::Term::read_write_pair(read, write))
}

/// Whether a controlling terminal can be opened for a prompt.
pub(crate) fn available() -> bool {
    open_terminal().is_ok()
}

/// A multi-select on the controlling terminal (space toggles, enter confirms), every item
/// picked to begin with; `None` without a terminal.
#[cfg(unix)]
pub(crate) fn pick(prompt: &str, items: &[String]) -> Option<Result<Vec<usize>>> {
    let term = open_terminal().ok()?;
    let defaults = vec![true; items.len()];
    Some(
        dialoguer::MultiSelect::new()
            .with_prompt(prompt)
            .items(items)
            .defaults(&defaults)
            .interact_on(&term)
            .map_err(|e| Error::Config(format!("choosing clusters failed: {e}"))),
    )
}

/// The console has no multi-select here: name the clusters instead.
#[cfg(windows)]
pub(crate) fn pick(_prompt: &str, _items: &[String]) -> Option<Result<Vec<usize>>> {
    None
}

/// The process's console, whatever stdin and stdout are redirected to.
#[cfg(windows)]
fn open_terminal() -> std::io::Result<(std::fs::File, std::fs::File)> {
    let read = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("CONIN$")?;
    let write = std::fs::OpenOptions::new().write(true).open("CONOUT$")?;
    Ok((read, write))
}

/// How many answers that are not six digits the console prompt takes.
#[cfg(windows)]
const TRIES: usize = 3;

#[cfg(windows)]
impl CodeSource for TtyPrompter {
    fn is_person(&self) -> bool {
        true
    }

    fn code(&mut self, ask: &Ask<'_>) -> Result<Secret<String>> {
        use std::io::{BufRead, Write};
        let failed = |e: std::io::Error| Error::Mfa(format!("MFA prompt failed: {e}"));
        let (read, mut write) = open_terminal()
            .map_err(|e| Error::Mfa(format!("cannot open the console for the MFA prompt: {e}")))?;
        let mut lines = std::io::BufReader::new(read);
        if let Some(note) = ask.note {
            writeln!(write, "{note}").map_err(failed)?;
        }
        for _ in 0..TRIES {
            write!(write, "MFA code for {}: ", ask.device).map_err(failed)?;
            write.flush().map_err(failed)?;
            let mut line = String::new();
            if lines.read_line(&mut line).map_err(failed)? == 0 {
                break;
            }
            let code = line.trim();
            if is_code(code) {
                return Ok(Secret::new(code.to_string()));
            }
            writeln!(write, "enter the 6 digits your MFA device shows").map_err(failed)?;
        }
        Err(Error::Mfa(
            "MFA prompt failed: no 6-digit code was entered".into(),
        ))
    }
}

#[cfg(unix)]
impl CodeSource for TtyPrompter {
    fn is_person(&self) -> bool {
        true
    }

    fn code(&mut self, ask: &Ask<'_>) -> Result<Secret<String>> {
        let term = open_terminal()
            .map_err(|e| Error::Mfa(format!("cannot open the terminal for the MFA prompt: {e}")))?;
        if let Some(note) = ask.note {
            let _ = term.write_line(note);
        }
        let code: String = dialoguer::Input::new()
            .with_prompt(format!("MFA code for {}", ask.device))
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
