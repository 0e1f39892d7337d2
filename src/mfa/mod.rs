//! Where MFA codes come from. Every source is a `CodeSource` (aws-vault's prompt drivers):
//! `mfa_process`, the controlling terminal, and in tests a script. `choose` is the one rule
//! for who can answer now; `Ctx` holds the `CodeSources` that build them.

mod process;
pub(crate) mod replay;
mod terminal;

use std::fmt;

use crate::awsconfig::OperatorProfile;
use crate::error::Result;
use crate::secret::Secret;

pub(crate) use terminal::TtyPrompter;

/// A TOTP code as AWS accepts it: exactly six digits.
pub(crate) fn is_code(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// What a source is asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    pub(crate) profile: &'a str,
    pub(crate) device: &'a str,
    /// Shown first (e.g. why the previous code did not work).
    pub(crate) note: Option<&'a str>,
    /// How long a command may take to answer (a person at a terminal is not hurried).
    pub(crate) timeout: std::time::Duration,
}

pub(crate) use process::MFA_PROCESS_TIMEOUT;

/// Somewhere an MFA code comes from.
pub(crate) trait CodeSource {
    /// Whether a person answers, who may be asked again after a typo or a reused code.
    fn is_person(&self) -> bool;
    fn code(&mut self, ask: &Ask<'_>) -> Result<Secret<String>>;
}

/// Which source answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceKind {
    /// The profile's `mfa_process` command.
    Process(String),
    /// A prompt on the controlling terminal.
    Terminal,
}

/// Why nobody can be asked for a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nobody {
    /// The caller (kubectl, another client) said `interactive: false`.
    CallerSaidNo,
    /// kubectl said `interactive: true`, but no terminal can be opened.
    TerminalUnavailable,
    /// Run directly without a terminal, and the profile has no `mfa_process`.
    Unattended,
}

impl fmt::Display for Nobody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Nobody::CallerSaidNo => {
                "the calling program (kubectl or another Kubernetes client) did not hand over \
                 a terminal: interactiveMode Never, stdin not a terminal, or a TUI owns it"
            }
            Nobody::TerminalUnavailable => "no controlling terminal to prompt on",
            Nobody::Unattended => "no terminal is attached and the profile has no `mfa_process`",
        })
    }
}

/// How the program was called, as far as prompting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller {
    /// kubectl's `spec.interactive`; `None` when not run by kubectl.
    pub(crate) interactive: Option<bool>,
    /// Whether our stdin is a terminal (someone is at the keyboard of a direct run).
    pub(crate) stdin_is_terminal: bool,
}

/// Who can supply a code now: `mfa_process` first, then the terminal if the caller allows.
pub(crate) fn choose(
    op: &OperatorProfile,
    caller: Caller,
    terminal_available: bool,
) -> std::result::Result<SourceKind, Nobody> {
    if let Some(cmd) = &op.mfa_process {
        return Ok(SourceKind::Process(cmd.clone()));
    }
    match caller.interactive {
        Some(false) => Err(Nobody::CallerSaidNo),
        Some(true) if terminal_available => Ok(SourceKind::Terminal),
        Some(true) => Err(Nobody::TerminalUnavailable),
        None if caller.stdin_is_terminal && terminal_available => Ok(SourceKind::Terminal),
        None => Err(Nobody::Unattended),
    }
}

/// Builds code sources; `Ctx` holds the real one or a test's.
pub(crate) trait CodeSources {
    /// Whether a controlling terminal can be opened for a prompt.
    fn terminal_available(&self) -> bool;
    fn open(&self, kind: &SourceKind) -> Box<dyn CodeSource>;
}

/// mfa_process and the real terminal.
#[derive(Debug, Default)]
pub(crate) struct RealSources;

impl CodeSources for RealSources {
    fn terminal_available(&self) -> bool {
        terminal::available()
    }

    fn open(&self, kind: &SourceKind) -> Box<dyn CodeSource> {
        match kind {
            SourceKind::Process(cmd) => Box::new(process::MfaProcess::new(cmd)),
            SourceKind::Terminal => Box::new(TtyPrompter),
        }
    }
}

/// Tests: mfa_process for real, the terminal answered from a list.
#[cfg(test)]
pub(crate) mod scripted {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    use super::*;
    use crate::error::Error;

    #[derive(Debug, Default, Clone)]
    pub(crate) struct Script {
        pub(crate) codes: Rc<RefCell<VecDeque<String>>>,
        pub(crate) asked: Rc<RefCell<usize>>,
    }

    impl CodeSources for Script {
        fn terminal_available(&self) -> bool {
            !self.codes.borrow().is_empty()
        }

        fn open(&self, kind: &SourceKind) -> Box<dyn CodeSource> {
            match kind {
                SourceKind::Process(cmd) => Box::new(process::MfaProcess::new(cmd)),
                SourceKind::Terminal => Box::new(self.clone()),
            }
        }
    }

    impl CodeSource for Script {
        fn is_person(&self) -> bool {
            true
        }

        fn code(&mut self, _ask: &Ask<'_>) -> Result<Secret<String>> {
            *self.asked.borrow_mut() += 1;
            self.codes
                .borrow_mut()
                .pop_front()
                .map(Secret::new)
                .ok_or_else(|| Error::Mfa("no terminal".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(mfa_process: Option<&str>) -> OperatorProfile {
        OperatorProfile {
            name: "p".into(),
            role_arn: "r".into(),
            source_profile: "s".into(),
            mfa_serial: "m".into(),
            duration_seconds: 43_200,
            mfa_process: mfa_process.map(String::from),
            role_session_name: "n".into(),
        }
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(is_code("012345"));
        for bad in ["12345", "1234567", "12a456", " 12345", ""] {
            assert!(!is_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn mfa_process_first_then_the_terminal_if_the_caller_allows() {
        let caller = |interactive, stdin_is_terminal| Caller {
            interactive,
            stdin_is_terminal,
        };
        assert_eq!(
            choose(&op(Some("x")), caller(Some(false), false), false),
            Ok(SourceKind::Process("x".into()))
        );
        assert_eq!(
            choose(&op(None), caller(Some(false), true), true),
            Err(Nobody::CallerSaidNo)
        );
        assert_eq!(
            choose(&op(None), caller(Some(true), false), true),
            Ok(SourceKind::Terminal)
        );
        assert_eq!(
            choose(&op(None), caller(Some(true), false), false),
            Err(Nobody::TerminalUnavailable)
        );
        assert_eq!(
            choose(&op(None), caller(None, true), true),
            Ok(SourceKind::Terminal)
        );
        assert_eq!(
            choose(&op(None), caller(None, false), true),
            Err(Nobody::Unattended)
        );
    }
}
