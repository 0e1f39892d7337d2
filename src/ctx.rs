//! `Ctx`: the one place real implementations are chosen — the environment snapshot, the
//! clock, stdout and stderr, the AWS seam, the MFA code sources and the session store.
//! `Ctx::for_test` swaps in fakes.

use std::fmt;
use std::io::Write;
use std::time::SystemTime;

use crate::aws::{AwsApi, SdkAws};
use crate::cache::CacheDir;
use crate::cli::AwsArgs;
use crate::clock::Clock;
use crate::env::Env;
use crate::error::Result;
use crate::log::{Log, Verbosity, debug};
use crate::mfa::{CodeSources, RealSources};
use crate::settings::{ConfigFiles, Settings};
use crate::store::{Reach, SecretStore, Stores};

pub(crate) struct Ctx {
    pub(crate) env: Env,
    clock: Clock,
    pub(crate) stdout: Box<dyn Write>,
    pub(crate) log: Log,
    pub(crate) aws: Box<dyn AwsApi>,
    pub(crate) sources: Box<dyn CodeSources>,
    stores: Stores,
    /// Whether our stdin is a terminal (someone is at the keyboard of a direct run).
    pub(crate) stdin_is_terminal: bool,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("verbosity", &self.log.verbosity)
            .finish_non_exhaustive()
    }
}

/// `EKSOP_AUTH_LOG=debug|trace`.
fn verbosity_from_env(env: &Env) -> Verbosity {
    match env
        .get("EKSOP_AUTH_LOG")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("trace") => 2,
        Some("debug") => 1,
        _ => 0,
    }
}

impl Ctx {
    /// The real process: its env, the system clock, stdio, the AWS SDK, the terminal and
    /// `mfa_process`, and the store `EKSOP_AUTH_STORE` chooses.
    pub(crate) fn real(verbose_flags: u8) -> Self {
        let env = Env::from_process();
        let clock = Clock::Real;
        Ctx {
            log: Log::new(
                Box::new(std::io::stderr()),
                verbose_flags.max(verbosity_from_env(&env)),
            ),
            aws: Box::new(SdkAws::new(&env, clock)),
            sources: Box::new(RealSources::new(&env)),
            stores: Stores::real(&env),
            stdin_is_terminal: std::io::IsTerminal::is_terminal(&std::io::stdin()),
            stdout: Box::new(std::io::stdout()),
            clock,
            env,
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The cache dir and its layout.
    pub(crate) fn cache(&self) -> Result<CacheDir> {
        CacheDir::locate(&self.env)
    }

    /// The session store, opened on first use.
    pub(crate) fn session_store(&self) -> Result<&dyn SecretStore> {
        self.stores.session_store(&self.env, &self.cache()?)
    }

    /// Every store that may hold a copy of a session (for `logout`).
    pub(crate) fn every_store(&self) -> Result<Vec<Reach>> {
        Ok(self.stores.every(&self.env, &self.cache()?))
    }

    /// The invocation's settings from the flags, the environment and the config files.
    pub(crate) fn settings(&mut self, args: &AwsArgs) -> Result<Settings> {
        let files = ConfigFiles::load(&self.env)?;
        self.settings_from(files, args)
    }

    /// As `settings`, with config files already read (and perhaps edited in memory).
    pub(crate) fn settings_from(&mut self, files: ConfigFiles, args: &AwsArgs) -> Result<Settings> {
        let settings = Settings::resolve(&self.env, files, args)?;
        debug!(self, "{}", settings.describe());
        Ok(settings)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use super::*;
    use crate::store::MemoryStore;

    /// The fakes `Ctx::for_test` wires in.
    pub(crate) struct TestFakes {
        pub(crate) stdout: Box<dyn Write>,
        pub(crate) stderr: Box<dyn Write>,
        pub(crate) aws: Box<dyn AwsApi>,
        pub(crate) sources: Box<dyn CodeSources>,
        pub(crate) store: Arc<MemoryStore>,
    }

    impl Ctx {
        /// Fakes for in-process tests: the given env, a fixed clock, captured output, a fake
        /// AWS, scripted code sources and an in-memory store.
        pub(crate) fn for_test(env: Env, now: SystemTime, fakes: TestFakes) -> Self {
            Ctx {
                env,
                clock: Clock::Fixed(now),
                stdout: fakes.stdout,
                log: Log::new(fakes.stderr, 2),
                aws: fakes.aws,
                sources: fakes.sources,
                stores: Stores::memory(fakes.store),
                stdin_is_terminal: false,
            }
        }

        /// Swaps in another session store.
        pub(crate) fn set_stores(&mut self, stores: Stores) {
            self.stores = stores;
        }

        /// Moves the fixed clock.
        pub(crate) fn set_now(&mut self, now: SystemTime) {
            self.clock = Clock::Fixed(now);
        }
    }
}
