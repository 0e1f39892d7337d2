//! The prompt on the controlling terminal (dialoguer on /dev/tty, never stdout): it works
//! when stdout is kubectl's pipe, when stderr is aws-cli's pipe, and when stdin is
//! /dev/null. The only module that imports dialoguer.

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

/// Whether a controlling terminal can be opened for a prompt.
pub(crate) fn available() -> bool {
    open_terminal().is_ok()
}

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
