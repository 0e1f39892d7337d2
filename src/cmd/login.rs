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
    let name = crate::identity::session_name_of(&session.assumed_arn).unwrap_or("?");
    let whose = if op.role_session_name.is_some() {
        "from `role_session_name` in the profile"
    } else {
        "your IAM user name"
    };
    let source_identity = match &session.source_identity {
        Some(si) => format!("source identity `{si}` (CloudTrail names it on every call)"),
        None if !op.set_source_identity => {
            "no source identity (`set_source_identity = false` in the profile)".into()
        }
        None => "no source identity recorded (STS set none: the source keys are not an IAM \
                 user's, or the endpoint ignores it)"
            .into(),
    };
    ctx.log.line(format_args!(
        "Session name `{name}` ({whose}); {source_identity}"
    ));
    if let Some(line) = crate::identity::kubernetes_line(&session.assumed_arn) {
        ctx.log.line(format_args!("Kubernetes user: {line}"));
    }
    Ok(())
}
