//! `eksop-auth login`: the start of the workday. Always asks for a code, assumes the role,
//! stores the session and says who you are until when.

use std::time::Duration;

use crate::cli::LoginArgs;
use crate::cmd::AwsSettings;
use crate::cmd::operator::{self, Want};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::session::human_duration;

pub fn run(ctx: &mut Ctx, args: &LoginArgs) -> Result<()> {
    let settings = AwsSettings::resolve(ctx, &args.aws)?;
    let op = operator::require(&settings)?;
    let session = operator::session(ctx, &settings, &op, None, Want::New)?;
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

/// `2026-11-30 05:52:10 +09:00`: the user's local time.
pub fn local_time(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}
