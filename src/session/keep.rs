//! Keeping what the flow learned: the new session and its metadata, the reminder that a
//! session ends soon, and a failed login for the processes that waited on it. Everything
//! here that changes metadata runs holding the profile's lock (the reminder only when it
//! can take it at once).

use std::time::{Duration, SystemTime};

use super::flow::{Target, Want};
use super::meta::{Failure, Meta, MetaDir};
use super::record::{Keys, Session};
use crate::aws::AssumedRole;
use crate::ctx::Ctx;
use crate::error::{Error, Result, exit};
use crate::lock;
use crate::log::debug;
use crate::store::{Backend, record_label};
use crate::timefmt::{human_duration, unix_seconds};

/// Remind about the end of the session when less than this is left…
const REMIND_WITHIN: Duration = Duration::from_secs(30 * 60);
/// …at most this often.
const REMIND_EVERY: u64 = 10 * 60;

/// Milliseconds since the epoch on the ctx clock, for comparing with other processes.
pub(super) fn now_ms(ctx: &Ctx) -> u64 {
    ctx.now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The failure of the login this process waited on, when retrying would only repeat it:
/// a command gives the same code again, and a rejected code stays rejected. A person at a
/// terminal may still try a fresh code.
pub(super) fn failure_since(
    ctx: &Ctx,
    t: &Target<'_>,
    since_ms: u64,
    person: bool,
) -> Option<Error> {
    if person {
        return None;
    }
    let meta = MetaDir::new(ctx.cache().ok()?)
        .read(&t.key)
        .ok()?
        .present()?;
    let failure = meta.failure.filter(|f| f.at_ms >= since_ms)?;
    Some(Error::Relayed {
        exit_code: failure.exit_code,
        message: format!(
            "the MFA login for profile `{}` that this call waited on failed: {}",
            t.op.name, failure.message
        ),
    })
}

/// Tells the processes waiting on this login why it failed (best effort; the caller holds
/// the lock).
pub(super) fn record_failure(ctx: &Ctx, t: &Target<'_>, e: &Error) {
    if matches!(e, Error::Relayed { .. }) {
        return;
    }
    let failure = Failure {
        at_ms: now_ms(ctx),
        exit_code: match e.exit_code() {
            0 => exit::MFA,
            code => code,
        },
        message: e.to_string(),
    };
    if let Ok(cache) = ctx.cache() {
        let metas = MetaDir::new(cache);
        let _ = metas.update(&t.key, &t.op.name, ctx.now(), |m| m.failure = Some(failure));
    }
}

/// Keeps the new session. For `token` a store that fails is a warning, as this call still
/// works; `login` exists to store it, so there it is an error.
pub(super) fn store(
    ctx: &mut Ctx,
    t: &Target<'_>,
    (assumed, issued_at): (AssumedRole, SystemTime),
    want: Want,
) -> Result<Session> {
    debug!(
        ctx,
        "AssumeRole ok (request id {}): {}",
        assumed.request_id.as_deref().unwrap_or("-"),
        assumed.assumed_arn
    );
    // A clock set back since the last logout must not make the new session look older
    // than it, and so refused: it counts as issued just after the logout, unless that is
    // past its end (a logout under a clock hours fast); then `save` moves the logout back.
    let issued_at = match ctx.cache().and_then(|c| MetaDir::new(c).read(&t.key)) {
        Ok(Meta::Present(m)) => match m.logged_out() {
            Some(at) if at >= issued_at => {
                let after = at + Duration::from_millis(1);
                if after + Duration::from_secs(1) < assumed.expires_at {
                    after
                } else {
                    issued_at
                }
            }
            _ => issued_at,
        },
        _ => issued_at,
    };
    let keys = Keys {
        access_key_id: assumed.creds.access_key_id,
        secret_access_key: assumed.creds.secret_access_key,
        session_token: assumed.creds.session_token.unwrap_or_default(),
        issued_at,
        expires_at: assumed.expires_at,
    };
    let mut session = Session::new(
        keys,
        assumed.assumed_arn,
        t.op.name.clone(),
        t.origin.clone(),
    );
    session.source_identity = assumed.source_identity;
    match save(ctx, t, &session) {
        Ok(()) => {}
        Err(Saved::Partly(e)) => ctx.log.warn(format_args!(
            "could not keep the session in the durable keyring ({e}); it is kept in the \
             kernel keyring only, until the next reboot"
        )),
        Err(Saved::Not(e)) if want == Want::New => return Err(e),
        Err(Saved::Not(e)) => ctx.log.warn(format_args!(
            "could not store the session ({e}); this call works, but the next one will ask \
             for MFA again"
        )),
    }
    Ok(session)
}

/// Why a session was not (fully) stored.
enum Saved {
    /// A copy is stored (the kernel keyring), the durable store failed.
    Partly(Error),
    Not(Error),
}

/// Stores the secret record, then the metadata (only for a record that is there). The
/// metadata keeps every store used since the last logout, and the logout itself.
fn save(ctx: &Ctx, t: &Target<'_>, session: &Session) -> std::result::Result<(), Saved> {
    let store = ctx.session_store().map_err(Saved::Not)?;
    let written = store.set(&t.key, &session.encode(), &record_label(&t.op.name));
    let outcome = match written {
        Ok(()) => Ok(()),
        Err(e) if matches!(store.get(&t.key), Ok(Some(_))) => Err(Saved::Partly(e)),
        Err(e) => return Err(Saved::Not(e)),
    };
    let metas = MetaDir::new(ctx.cache().map_err(Saved::Not)?);
    let mut meta = match metas.read(&t.key).map_err(Saved::Not)? {
        Meta::Present(m) => m,
        Meta::Absent => Default::default(),
        // Whatever damaged metadata said, only this new record is good.
        Meta::Damaged => {
            let mut m = super::meta::SessionMeta::default();
            m.set_logged_out(session.issued_at - Duration::from_millis(1));
            m
        }
    };
    // Under our lock, the logout is over: what this login stored is good. (Only a logout
    // in this session's future gets here: the copies it refused were overwritten above, or
    // sit in stores this installation no longer reads.)
    if meta.logged_out().is_some_and(|at| at >= session.issued_at) {
        meta.set_logged_out(session.issued_at - Duration::from_millis(1));
    }
    meta.profile = t.op.name.clone();
    meta.assumed_arn = session.assumed_arn.clone();
    meta.expires_at = unix_seconds(session.expires_at());
    meta.reminded_at = None;
    meta.failure = None;
    meta.dismissed = None;
    // Ask after writing: a durable store that failed drops out.
    let mut backends: Vec<Backend> = store.backends();
    for b in &meta.backends {
        if !backends.contains(b) {
            backends.push(*b);
        }
    }
    meta.backends = backends;
    metas.write(&t.key, &meta).map_err(Saved::Not)?;
    outcome
}

/// One line on stderr when the session ends within 30 minutes, at most every 10 minutes.
pub(super) fn remind_if_ending(ctx: &mut Ctx, t: &Target<'_>, s: &Session) {
    let now = ctx.now();
    let Ok(left) = s.expires_at().duration_since(now) else {
        return;
    };
    if left >= REMIND_WITHIN {
        return;
    }
    let Ok(cache) = ctx.cache() else { return };
    // A login or logout in progress owns the metadata: skip this reminder then.
    let Ok(Some(_lock)) = lock::try_acquire(&cache, &t.key) else {
        return;
    };
    let metas = MetaDir::new(cache);
    let now_s = unix_seconds(now);
    if let Ok(Meta::Present(m)) = metas.read(&t.key)
        && m.reminded_at
            .is_some_and(|r| now_s.saturating_sub(r) < REMIND_EVERY)
    {
        return;
    }
    ctx.log.note(format_args!(
        "the eks-operator session for profile `{p}` ends in {}; run `eksop-auth login \
         --profile {p}` to start a new one",
        human_duration(left),
        p = t.op.name
    ));
    let _ = metas.update(&t.key, &t.op.name, now, |m| m.reminded_at = Some(now_s));
}
