//! Where MFA codes come from. Every source is a `CodeSource` (aws-vault's prompt drivers):
//! `mfa_process`, the controlling terminal, a desktop dialog, and in tests a script.
//! `choose` is the one rule for who can answer now; `Ctx` holds the `CodeSources` that
//! build them.

mod child;
pub(crate) mod dialog;
mod process;
pub(crate) mod replay;
mod terminal;

use std::fmt;

use crate::awsconfig::OperatorProfile;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::secret::Secret;

pub(crate) use dialog::DialogTool;

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

/// How a code is asked for when the caller gives no terminal: `EKSOP_AUTH_PROMPT`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PromptMode {
    /// On the terminal when there is one; otherwise fail with the `login` hint.
    #[default]
    Terminal,
    /// On the terminal when there is one; otherwise in a desktop dialog.
    Gui,
    /// Never ask (fail with the `login` hint); `mfa_process` still answers.
    None,
}

impl PromptMode {
    pub(crate) const VAR: &str = "EKSOP_AUTH_PROMPT";

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PromptMode::Terminal => "terminal",
            PromptMode::Gui => "gui",
            PromptMode::None => "none",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Self> {
        [PromptMode::Terminal, PromptMode::Gui, PromptMode::None]
            .into_iter()
            .find(|m| value.trim().eq_ignore_ascii_case(m.as_str()))
    }

    /// The mode `EKSOP_AUTH_PROMPT` asks for (unset: `terminal`).
    pub(crate) fn from_env(env: &Env) -> Result<Self> {
        match env.get(Self::VAR) {
            None => Ok(PromptMode::Terminal),
            Some(v) => Self::parse(v).ok_or_else(|| {
                Error::Config(format!(
                    "{}={v:?} is not a prompt mode; use `terminal` (the default), `gui` (a \
                     desktop dialog when there is no terminal) or `none` (never ask)",
                    Self::VAR
                ))
            }),
        }
    }
}

/// Which source answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceKind {
    /// The profile's `mfa_process` command.
    Process(String),
    /// A prompt on the controlling terminal.
    Terminal,
    /// A desktop dialog (`EKSOP_AUTH_PROMPT=gui`, no terminal).
    Dialog(DialogTool),
}

/// Why nobody can be asked for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Nobody {
    /// The caller (kubectl, another client) said `interactive: false`.
    CallerSaidNo,
    /// kubectl said `interactive: true`, but no terminal can be opened.
    TerminalUnavailable,
    /// Run directly without a terminal, and the profile has no `mfa_process`.
    Unattended,
    /// `EKSOP_AUTH_PROMPT=none`.
    PromptOff,
    /// `EKSOP_AUTH_PROMPT=gui`, but no dialog can be shown here (why).
    NoDialog(String),
}

impl Nobody {
    /// Whether a desktop dialog could have answered, had the user asked for one.
    pub(crate) fn gui_would_help(&self) -> bool {
        matches!(
            self,
            Nobody::CallerSaidNo | Nobody::TerminalUnavailable | Nobody::Unattended
        )
    }
}

impl fmt::Display for Nobody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Nobody::CallerSaidNo => f.write_str(
                "the calling program (kubectl or another Kubernetes client) did not hand over \
                 a terminal: interactiveMode Never, stdin not a terminal, or a TUI owns it",
            ),
            Nobody::TerminalUnavailable => f.write_str("no controlling terminal to prompt on"),
            Nobody::Unattended => {
                f.write_str("no terminal is attached and the profile has no `mfa_process`")
            }
            Nobody::PromptOff => f.write_str("EKSOP_AUTH_PROMPT=none: this call never asks"),
            Nobody::NoDialog(why) => write!(
                f,
                "no terminal, and EKSOP_AUTH_PROMPT=gui cannot show a dialog: {why}"
            ),
        }
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

/// Who can supply a code now: `mfa_process` first, then the terminal if the caller allows,
/// then — with `gui`, and only without a terminal — a desktop dialog.
pub(crate) fn choose(
    op: &OperatorProfile,
    caller: Caller,
    mode: PromptMode,
    sources: &dyn CodeSources,
) -> std::result::Result<SourceKind, Nobody> {
    if let Some(cmd) = &op.mfa_process {
        return Ok(SourceKind::Process(cmd.clone()));
    }
    if mode == PromptMode::None {
        return Err(Nobody::PromptOff);
    }
    let terminal = match caller.interactive {
        Some(false) => Err(Nobody::CallerSaidNo),
        Some(true) if sources.terminal_available() => Ok(SourceKind::Terminal),
        Some(true) => Err(Nobody::TerminalUnavailable),
        None if caller.stdin_is_terminal && sources.terminal_available() => {
            Ok(SourceKind::Terminal)
        }
        None => Err(Nobody::Unattended),
    };
    match (terminal, mode) {
        (Err(_), PromptMode::Gui) => sources
            .dialog()
            .map(SourceKind::Dialog)
            .map_err(Nobody::NoDialog),
        (terminal, _) => terminal,
    }
}

/// Builds code sources; `Ctx` holds the real one or a test's.
pub(crate) trait CodeSources {
    /// Whether a controlling terminal can be opened for a prompt.
    fn terminal_available(&self) -> bool;
    /// The desktop dialog this session can show, or why none.
    fn dialog(&self) -> std::result::Result<DialogTool, String>;
    fn open(&self, kind: &SourceKind) -> Box<dyn CodeSource>;
    /// A multi-select of `items` on the terminal (`setup` choosing clusters): the indexes
    /// picked.
    fn pick(&self, prompt: &str, items: &[String]) -> Result<Vec<usize>> {
        let _ = (prompt, items);
        Err(no_terminal_to_pick())
    }
    /// Whether `pick` can ask anyone.
    fn can_pick(&self) -> bool {
        false
    }
}

fn no_terminal_to_pick() -> Error {
    Error::Config(
        "there is no terminal to choose clusters on; pass --cluster NAME, or --all-clusters for \
         every cluster"
            .into(),
    )
}

/// mfa_process, the real terminal and the desktop's dialog.
#[derive(Debug)]
pub(crate) struct RealSources {
    env: Env,
}

impl RealSources {
    pub(crate) fn new(env: &Env) -> Self {
        RealSources { env: env.clone() }
    }
}

impl CodeSources for RealSources {
    fn terminal_available(&self) -> bool {
        terminal::available()
    }

    fn dialog(&self) -> std::result::Result<DialogTool, String> {
        dialog::find(&self.env, dialog::Os::this())
    }

    fn pick(&self, prompt: &str, items: &[String]) -> Result<Vec<usize>> {
        terminal::pick(prompt, items).unwrap_or_else(|| Err(no_terminal_to_pick()))
    }

    fn can_pick(&self) -> bool {
        cfg!(unix) && terminal::available()
    }

    fn open(&self, kind: &SourceKind) -> Box<dyn CodeSource> {
        match kind {
            SourceKind::Process(cmd) => Box::new(process::MfaProcess::new(cmd)),
            SourceKind::Terminal => Box::new(TtyPrompter),
            SourceKind::Dialog(tool) => {
                Box::new(dialog::Dialog::new(tool.clone(), dialog::asker()))
            }
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

        fn dialog(&self) -> std::result::Result<DialogTool, String> {
            Err("this test has no desktop".into())
        }

        fn open(&self, kind: &SourceKind) -> Box<dyn CodeSource> {
            match kind {
                SourceKind::Process(cmd) => Box::new(process::MfaProcess::new(cmd)),
                SourceKind::Terminal | SourceKind::Dialog(_) => Box::new(self.clone()),
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
            role_session_name: Some("nn".into()),
            set_source_identity: true,
        }
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(is_code("012345"));
        for bad in ["12345", "1234567", "12a456", " 12345", ""] {
            assert!(!is_code(bad), "{bad:?}");
        }
    }

    /// A machine with or without a terminal and a desktop.
    struct Machine {
        terminal: bool,
        desktop: bool,
    }

    impl CodeSources for Machine {
        fn terminal_available(&self) -> bool {
            self.terminal
        }
        fn dialog(&self) -> std::result::Result<DialogTool, String> {
            if self.desktop {
                Ok(DialogTool::Zenity("/usr/bin/zenity".into()))
            } else {
                Err("no DISPLAY".into())
            }
        }
        fn open(&self, _: &SourceKind) -> Box<dyn CodeSource> {
            unreachable!()
        }
    }

    #[test]
    fn mfa_process_first_then_the_terminal_if_the_caller_allows_then_a_dialog() {
        use PromptMode::{Gui, None as Off, Terminal};
        let caller = |interactive, stdin_is_terminal| Caller {
            interactive,
            stdin_is_terminal,
        };
        let m = |terminal, desktop| Machine { terminal, desktop };
        let zenity = || {
            Ok(SourceKind::Dialog(DialogTool::Zenity(
                "/usr/bin/zenity".into(),
            )))
        };
        let cases = [
            // mfa_process whatever the caller, the machine and the mode.
            (
                Some("x"),
                caller(Some(false), false),
                Off,
                m(false, false),
                Ok(SourceKind::Process("x".into())),
            ),
            (
                None,
                caller(Some(false), true),
                Terminal,
                m(true, true),
                Err(Nobody::CallerSaidNo),
            ),
            (
                None,
                caller(Some(true), false),
                Terminal,
                m(true, false),
                Ok(SourceKind::Terminal),
            ),
            (
                None,
                caller(Some(true), false),
                Terminal,
                m(false, true),
                Err(Nobody::TerminalUnavailable),
            ),
            (
                None,
                caller(None, true),
                Terminal,
                m(true, false),
                Ok(SourceKind::Terminal),
            ),
            (
                None,
                caller(None, false),
                Terminal,
                m(true, true),
                Err(Nobody::Unattended),
            ),
            // gui: a terminal the caller hands over still comes first.
            (
                None,
                caller(Some(true), false),
                Gui,
                m(true, true),
                Ok(SourceKind::Terminal),
            ),
            (
                None,
                caller(Some(false), true),
                Gui,
                m(true, true),
                zenity(),
            ),
            (None, caller(None, false), Gui, m(false, true), zenity()),
            (
                None,
                caller(Some(false), false),
                Gui,
                m(false, false),
                Err(Nobody::NoDialog("no DISPLAY".into())),
            ),
            // none: never, not even on a terminal.
            (
                None,
                caller(Some(true), true),
                Off,
                m(true, true),
                Err(Nobody::PromptOff),
            ),
        ];
        for (i, (process, caller, mode, machine, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                choose(&op(process), caller, mode, &machine),
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn prompt_modes() {
        let env = |v: &str| Env::from_pairs([(PromptMode::VAR, v)]);
        assert_eq!(
            PromptMode::from_env(&Env::default()).unwrap(),
            PromptMode::Terminal
        );
        assert_eq!(
            PromptMode::from_env(&env(" GUI ")).unwrap(),
            PromptMode::Gui
        );
        assert_eq!(
            PromptMode::from_env(&env("none")).unwrap(),
            PromptMode::None
        );
        let e = PromptMode::from_env(&env("dialog"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"dialog\"") && e.contains("`gui`"), "{e}");
    }
}
