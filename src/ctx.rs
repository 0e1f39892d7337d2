//! `Ctx`: the one place real implementations are chosen — process environment, wall clock,
//! stdout/stderr, the AWS seam. `Ctx::for_test` swaps in fakes. No other module reads the
//! environment or the clock.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::aws::{AwsApi, SdkAws};
use crate::prompt::{Prompter, TtyPrompter};
use crate::store::{MemoryStore, Stores};

/// A snapshot of the process environment (empty values count as unset, as in the AWS SDKs).
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    #[allow(clippy::disallowed_methods)]
    fn from_process() -> Self {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect())
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env(pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// An AWS-style boolean setting (`true`/`false`, any case).
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    pub fn home(&self) -> Option<PathBuf> {
        self.get("HOME")
            .or_else(|| self.get("USERPROFILE"))
            .map(PathBuf::from)
    }

    /// A path setting with a leading `~` expanded, as the AWS SDKs do.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        let value = self.get(key)?;
        match value
            .strip_prefix("~/")
            .or_else(|| value.strip_prefix("~\\"))
        {
            Some(rest) => self.home().map(|h| h.join(rest)),
            None if value == "~" => self.home(),
            None => Some(PathBuf::from(value)),
        }
    }
}

/// The level of detail on stderr: 0 = warnings and errors, 1 = debug, 2 = trace.
pub type Verbosity = u8;

/// stderr, for people: diagnostics by level, warnings and the final error. Never a secret.
pub struct Log {
    out: Box<dyn Write>,
    pub verbosity: Verbosity,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log")
            .field("verbosity", &self.verbosity)
            .finish_non_exhaustive()
    }
}

impl Log {
    pub fn new(out: Box<dyn Write>, verbosity: Verbosity) -> Self {
        Log { out, verbosity }
    }

    /// A diagnostic line at `level` (1 = debug, 2 = trace).
    pub fn at(&mut self, level: Verbosity, args: fmt::Arguments<'_>) {
        if self.verbosity >= level {
            let tag = if level >= 2 { "trace" } else { "debug" };
            let _ = writeln!(self.out, "eksop-auth {tag}: {args}");
        }
    }

    /// A warning, shown at every verbosity.
    pub fn warn(&mut self, args: fmt::Arguments<'_>) {
        let _ = writeln!(self.out, "eksop-auth: warning: {args}");
    }

    /// A line exactly as given (results of `login`, `status`, the final error).
    pub fn line(&mut self, args: fmt::Arguments<'_>) {
        let _ = writeln!(self.out, "{args}");
    }
}

enum Clock {
    Real,
    Fixed(SystemTime),
}

pub struct Ctx {
    pub env: Env,
    clock: Clock,
    pub stdout: Box<dyn Write>,
    pub log: Log,
    pub aws: Box<dyn AwsApi>,
    pub prompter: Box<dyn Prompter>,
    /// Where sessions are kept.
    pub stores: Stores,
    /// Whether our stdin is a terminal (someone is at the keyboard of a direct run).
    pub stdin_is_terminal: bool,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("verbosity", &self.log.verbosity)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// The real process: its env, the system clock, stdio and the AWS SDK.
    pub fn real(verbose_flags: u8) -> Self {
        let env = Env::from_process();
        let from_env = match env
            .get("EKSOP_AUTH_LOG")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("trace") => 2,
            Some("debug") => 1,
            _ => 0,
        };
        Ctx {
            env,
            clock: Clock::Real,
            stdout: Box::new(std::io::stdout()),
            log: Log::new(Box::new(std::io::stderr()), verbose_flags.max(from_env)),
            aws: Box::new(SdkAws),
            prompter: Box::new(TtyPrompter),
            stores: Stores::Real,
            stdin_is_terminal: std::io::IsTerminal::is_terminal(&std::io::stdin()),
        }
    }

    /// Fakes for in-process tests: the given env, a fixed clock, captured output, a fake
    /// AWS, a scripted prompter and an in-memory store.
    pub fn for_test(env: Env, now: SystemTime, fakes: TestFakes) -> Self {
        Ctx {
            env,
            clock: Clock::Fixed(now),
            stdout: fakes.stdout,
            log: Log::new(fakes.stderr, 2),
            aws: fakes.aws,
            prompter: fakes.prompter,
            stores: Stores::Memory(fakes.store),
            stdin_is_terminal: false,
        }
    }

    /// Moves the fixed clock (tests only; the real clock moves by itself).
    pub fn set_now(&mut self, now: SystemTime) {
        self.clock = Clock::Fixed(now);
    }

    #[allow(clippy::disallowed_methods)]
    pub fn now(&self) -> SystemTime {
        match self.clock {
            Clock::Real => SystemTime::now(),
            Clock::Fixed(t) => t,
        }
    }
}

/// The fakes `Ctx::for_test` wires in.
pub struct TestFakes {
    pub stdout: Box<dyn Write>,
    pub stderr: Box<dyn Write>,
    pub aws: Box<dyn AwsApi>,
    pub prompter: Box<dyn Prompter>,
    pub store: std::sync::Arc<MemoryStore>,
}

impl fmt::Debug for TestFakes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TestFakes")
    }
}

/// `debug!(ctx, "…", args)`: a level-1 diagnostic.
#[macro_export]
macro_rules! debug {
    ($ctx:expr, $($arg:tt)*) => { $ctx.log.at(1, format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::Env;
    use std::path::PathBuf;

    #[test]
    fn env_paths_expand_tilde_and_empty_is_unset() {
        let env = Env::from_pairs([("HOME", "/h"), ("A", "~/x/y"), ("B", "/abs"), ("C", "")]);
        assert_eq!(env.path("A"), Some(PathBuf::from("/h/x/y")));
        assert_eq!(env.path("B"), Some(PathBuf::from("/abs")));
        assert_eq!(env.get("C"), None);
        assert_eq!(Env::from_pairs([("F", "TRUE")]).flag("F"), Some(true));
    }
}
