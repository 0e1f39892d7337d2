//! The time source: the wall clock, or a fixed time in tests. `Ctx` holds one; the AWS SDK
//! is handed the same one, so signing, freshness and the SDK agree on "now".

use std::time::SystemTime;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Clock {
    Real,
    #[cfg_attr(not(test), allow(dead_code))]
    Fixed(SystemTime),
}

impl Clock {
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn now(&self) -> SystemTime {
        match self {
            Clock::Real => SystemTime::now(),
            Clock::Fixed(t) => *t,
        }
    }
}

impl aws_smithy_async::time::TimeSource for Clock {
    fn now(&self) -> SystemTime {
        Clock::now(self)
    }
}
