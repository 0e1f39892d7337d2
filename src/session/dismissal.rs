//! A desktop dialog that was cancelled, closed or not answered — or a login through one
//! that failed (AWS unreachable, a code rejected twice) — is remembered for the profile for
//! a short window (`EKSOP_AUTH_DISMISS_WINDOW` seconds, 60 by default; 0 turns it off).
//! Within it no new dialog is shown: every call fails at once with when it may ask again,
//! so pollers (Lens, kubectl's five retries of a failing plugin) cost nothing and never
//! flood the desktop. `login` forgets it.

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
    let (at, again) = (local_hm(at, false), local_hm(at + window, true));
    if d.exit_code == 0 {
        return Error::PromptDismissed {
            profile: profile.to_string(),
            how: d.how.clone(),
            at,
            again,
        };
    }
    Error::Relayed {
        exit_code: d.exit_code,
        message: format!(
            "the MFA login through a dialog for profile `{profile}` failed at {at} ({}); run \
             `eksop-auth login --profile {profile}`, or it will ask again after {again}",
            d.how.trim_end_matches('.')
        ),
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
            "a dialog for this profile was dismissed, or its login failed, recently; not \
             showing another"
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
        exit_code: 0,
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

/// A login through a dialog failed: the next callers fail with it for the window instead
/// of each showing a dialog again (the caller holds the lock). `e` is returned as it is.
pub(super) fn remember_failure(ctx: &Ctx, t: &Target<'_>, e: Error) -> Error {
    if matches!(e, Error::Relayed { .. } | Error::PromptDismissed { .. }) {
        return e;
    }
    let Ok(window) = window(ctx) else { return e };
    if window.is_zero() {
        return e;
    }
    let mut how = e.to_string();
    if how.len() > 1000 {
        let mut cut = 1000;
        while !how.is_char_boundary(cut) {
            cut -= 1;
        }
        how.truncate(cut);
    }
    let d = Dismissal {
        at_ms: now_ms(ctx),
        how,
        exit_code: match e.exit_code() {
            0 => crate::error::exit::MFA,
            c => c,
        },
    };
    if let Ok(cache) = ctx.cache() {
        let _ = MetaDir::new(cache).update(&t.key, &t.op.name, ctx.now(), |m| {
            m.dismissed = Some(d);
        });
    }
    e
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
