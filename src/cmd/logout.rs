//! `eksop-auth logout`: removes sessions from every store that may hold a copy (file, the
//! keyring and its kernel-keyring hot cache) and their metadata. Idempotent.

use crate::cli::LogoutArgs;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::sessions::{all_meta, remove_everywhere};

pub fn run(ctx: &mut Ctx, args: &LogoutArgs) -> Result<()> {
    let profiles: Vec<String> = if args.all {
        all_meta(&ctx.env)?.into_iter().map(|m| m.profile).collect()
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
        let had = all_meta(&ctx.env)?.iter().any(|m| m.profile == profile);
        let backends = remove_everywhere(&ctx.env, &ctx.stores, &profile)?;
        ctx.log.line(format_args!(
            "{} profile `{profile}` (checked: {})",
            if had {
                "Logged out of"
            } else {
                "No session stored for"
            },
            backends.join(", ")
        ));
    }
    Ok(())
}
