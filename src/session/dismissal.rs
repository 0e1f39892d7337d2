//! A desktop dialog that was cancelled, closed or not answered is remembered for the
//! profile for a short window (`EKSOP_AUTH_DISMISS_WINDOW` seconds, 60 by default; 0 turns
//! it off). Within it no new dialog is shown: every call fails at once with when it may ask
//! again, so pollers (Lens, kubectl's five retries of a failing plugin) cost nothing and
//! never flood the desktop. `login` forgets it.

use std::time::Duration;

use super::flow::{Target, Want};
use super::keep::now_ms;
use super::meta::{Dismissal, MetaDir};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::log::debug;
use crate::timefmt::{from_unix_millis, local_hm};

/// How long a dismissed dialog keeps new ones away by default.
pub(crate) const DISMISS_WINDOW: Duration = Duration::from_secs(60);

pub(crate) fn window(ctx: &Ctx) -> Result<Duration> {
    Ok(ctx
        .env
        .seconds("EKSOP_AUTH_DISMISS_WINDOW")?
        .unwrap_or(DISMISS_WINDOW))
}

fn refusal(profile: &str, d: &Dismissal, window: Duration) -> Error {
    let at = from_unix_millis(d.at_ms);
    Error::PromptDismissed {
        profile: profile.to_string(),
        how: d.how.clone(),
        at: local_hm(at, false),
        again: local_hm(at + window, true),
    }
}

/// Fails when a dialog for this profile was dismissed within the window.
pub(super) fn refuse_if_recent(ctx: &mut Ctx, t: &Target<'_>) -> Result<()> {
    let window = window(ctx)?;
    let Some(d) = MetaDir::new(ctx.cache()?)
        .read(&t.key)?
        .present()
        .and_then(|m| m.dismissed)
    else {
        return Ok(());
    };
    let now = now_ms(ctx);
    // A dismissal "in the future" (the clock was set back) is over: asking is harmless.
    let recent = now >= d.at_ms && u128::from(now - d.at_ms) < window.as_millis();
    if recent {
        debug!(
            ctx,
            "the MFA dialog was dismissed recently; not showing another"
        );
        return Err(refusal(&t.op.name, &d, window));
    }
    Ok(())
}

/// Remembers a dismissal (the caller holds the lock) and says what it means: for `token`,
/// when it will ask again; for `login`, just what happened.
pub(super) fn remember(ctx: &Ctx, t: &Target<'_>, how: String, want: Want) -> Error {
    let d = Dismissal {
        at_ms: now_ms(ctx),
        how,
    };
    let window = match window(ctx) {
        Ok(w) => w,
        Err(e) => return e,
    };
    if !window.is_zero()
        && let Ok(cache) = ctx.cache()
    {
        let _ = MetaDir::new(cache).update(&t.key, &t.op.name, ctx.now(), |m| {
            m.dismissed = Some(d.clone());
        });
    }
    match want {
        Want::Cached if !window.is_zero() => refusal(&t.op.name, &d, window),
        _ => Error::DialogDismissed { how: d.how },
    }
}

/// `login` starts afresh (the caller holds the lock).
pub(super) fn forget(ctx: &Ctx, t: &Target<'_>) {
    let Ok(cache) = ctx.cache() else { return };
    let metas = MetaDir::new(cache);
    if metas
        .read(&t.key)
        .ok()
        .and_then(|m| m.present())
        .is_some_and(|m| m.dismissed.is_some())
    {
        let _ = metas.update(&t.key, &t.op.name, ctx.now(), |m| m.dismissed = None);
    }
}
