//! `eksop-auth logout`: removes sessions from every store that may hold a copy (file, the
//! keyring and its kernel-keyring hot cache) and their metadata. Idempotent.

use crate::cli::LogoutArgs;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::sessions::{all_meta, remove_everywhere};

pub fn run(ctx: &mut Ctx, args: &LogoutArgs) -> Result<()> {
    let stored = all_meta(&ctx.env)?;
    let profiles: Vec<String> = if args.all {
        stored.iter().map(|m| m.profile.clone()).collect()
    } else {
        let name = args
            .profile
            .clone()
            .or_else(|| ctx.env.get("AWS_PROFILE").map(String::from))
            .unwrap_or_else(|| "default".into());
        vec![name]
    };
    if profiles.is_empty() {
        ctx.log.line(format_args!("no sessions to remove"));
    }
    for profile in profiles {
        let meta = stored.iter().find(|m| m.profile == profile);
        let backends = remove_everywhere(&ctx.env, &ctx.stores, &profile)?;
        let verb = if meta.is_some() {
            "Logged out of"
        } else {
            "No session stored for"
        };
        ctx.log.line(format_args!(
            "{verb} profile `{profile}` (checked: {})",
            backends.join(", ")
        ));
        // A copy in a keyring we could not reach here stays there.
        if let Some(m) = meta {
            for stored_in in m
                .backend
                .split('+')
                .filter(|b| !backends.iter().any(|c| c == b))
            {
                ctx.log.warn(format_args!(
                    "the session was also stored in {stored_in}, which cannot be reached from here; \
                     run `eksop-auth logout --profile {profile}` where it can (e.g. your desktop session)"
                ));
            }
        }
    }
    Ok(())
}
