//! stderr, for people: diagnostics by level, warnings, results of `login`, and the final
//! error. Never a secret; the `debug!` macro is how modules below `cmd/` add detail.

use std::fmt;
use std::io::Write;

/// The level of detail on stderr: 0 = warnings and errors, 1 = debug, 2 = trace.
pub(crate) type Verbosity = u8;

pub(crate) struct Log {
    out: Box<dyn Write>,
    pub(crate) verbosity: Verbosity,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log")
            .field("verbosity", &self.verbosity)
            .finish_non_exhaustive()
    }
}

impl Log {
    pub(crate) fn new(out: Box<dyn Write>, verbosity: Verbosity) -> Self {
        Log { out, verbosity }
    }

    /// A diagnostic line at `level` (1 = debug, 2 = trace).
    pub(crate) fn at(&mut self, level: Verbosity, args: fmt::Arguments<'_>) {
        if self.verbosity >= level {
            let tag = if level >= 2 { "trace" } else { "debug" };
            let _ = writeln!(self.out, "eksop-auth {tag}: {args}");
        }
    }

    /// A warning, shown at every verbosity.
    pub(crate) fn warn(&mut self, args: fmt::Arguments<'_>) {
        let _ = writeln!(self.out, "eksop-auth: warning: {args}");
    }

    /// A note for people, shown at every verbosity (`eksop-auth: …`).
    pub(crate) fn note(&mut self, args: fmt::Arguments<'_>) {
        let _ = writeln!(self.out, "eksop-auth: {args}");
    }

    /// A line exactly as given (results of `login`, `setup`, the final error).
    pub(crate) fn line(&mut self, args: fmt::Arguments<'_>) {
        let _ = writeln!(self.out, "{args}");
    }
}

/// `debug!(ctx, "…", args)`: a level-1 diagnostic on `ctx.log`.
macro_rules! debug {
    ($ctx:expr, $($arg:tt)*) => { $ctx.log.at(1, format_args!($($arg)*)) };
}
pub(crate) use debug;
