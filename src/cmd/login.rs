//! `eksop-auth login`: the start of the workday. Always asks for a code, assumes the role,
//! stores the session and says who you are until when.

use std::time::Duration;

use crate::cli::LoginArgs;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::session::{self, Want};
use crate::timefmt::{human_duration, local_time};

pub(crate) fn run(ctx: &mut Ctx, args: &LoginArgs) -> Result<()> {
    let settings = ctx.settings(&args.aws)?;
    let op = settings.require_operator()?;
    let session = session::obtain(ctx, &settings, &op, None, Want::New)?;
    let valid_for = session
        .expires_at()
        .duration_since(ctx.now())
        .unwrap_or(Duration::ZERO);
    // Round to the minute so a 12-hour session reads "(12h)", not "(11h59m)".
    let valid_for = Duration::from_secs((valid_for.as_secs() + 30) / 60 * 60);
    ctx.log.line(format_args!(
        "Logged in as {}; session valid until {} ({})",
        session.assumed_arn,
        local_time(session.expires_at()),
        human_duration(valid_for)
    ));
    Ok(())
}
