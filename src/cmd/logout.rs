//! `eksop-auth logout`: removes sessions from every store that may hold a copy (file, the
//! keyring and its kernel-keyring hot cache) and their metadata. Idempotent.

use crate::cli::LogoutArgs;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::session::meta::MetaDir;
use crate::settings::profile_name;
use crate::store::describe;

pub(crate) fn run(ctx: &mut Ctx, args: &LogoutArgs) -> Result<()> {
    let metas = MetaDir::new(ctx.cache()?);
    let stored = metas.all();
    let profiles: Vec<String> = if args.all {
        stored.iter().map(|m| m.profile.clone()).collect()
    } else {
        vec![profile_name(&ctx.env, args.profile.as_deref()).0]
    };
    if profiles.is_empty() {
        ctx.log.line(format_args!("no sessions to remove"));
        return Ok(());
    }
    let stores = ctx.every_store()?;
    for profile in profiles {
        let meta = stored.iter().find(|m| m.profile == profile);
        let mut reached = Vec::new();
        for store in &stores {
            if store.delete(&profile).is_ok() {
                reached.extend(store.backends());
            }
        }
        metas.remove(&profile)?;
        let verb = if meta.is_some() {
            "Logged out of"
        } else {
            "No session stored for"
        };
        ctx.log.line(format_args!(
            "{verb} profile `{profile}` (checked: {})",
            describe(&reached).replace('+', ", ")
        ));
        // A copy in a keyring we could not reach here stays there.
        for stored_in in meta
            .iter()
            .flat_map(|m| &m.backends)
            .filter(|b| !reached.contains(b))
        {
            ctx.log.warn(format_args!(
                "the session was also stored in {stored_in}, which cannot be reached from \
                 here; run `eksop-auth logout --profile {profile}` where it can (e.g. your \
                 desktop session)"
            ));
        }
    }
    Ok(())
}
