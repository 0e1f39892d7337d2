//! `eksop-auth logout`: removes sessions from every store that holds a copy (found in the
//! stores themselves: file, the keyring and its kernel-keyring hot cache). For each, it
//! first records the logout (under the profile's lock, after any login in progress), so a
//! copy it cannot reach — or one it never knew of — is refused from then on; that record
//! outlives every session it could refuse. A copy it could not reach is named and makes
//! the command fail; the next `logout` finishes the job. Idempotent.

use std::time::Duration;

use crate::cache::Area;
use crate::cli::LogoutArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::lock::{self, WaitObserver};
use crate::session::meta::{Meta, MetaDir, TOMBSTONE_KEPT};
use crate::session::{Found, inventory};
use crate::settings::profile_name;
use crate::store::{Backend, SecretStore, describe, record_key};

/// How long `logout` waits for a login in progress before giving up.
const WAIT_FOR_LOGIN: Duration = Duration::from_secs(30);

struct Quiet;
impl WaitObserver for Quiet {
    fn still_waiting(&mut self) {}
}

pub(crate) fn run(ctx: &mut Ctx, args: &LogoutArgs) -> Result<()> {
    let named = (!args.all).then(|| profile_name(&ctx.env, args.profile.as_deref()).0);
    let key = named.as_deref().map(record_key);
    let cache = ctx.cache()?;
    // A write that was killed half-way may have left a session in a temp file, and an older
    // eksop-auth's records are of no use any more.
    cache.clean_temps()?;
    if args.all {
        for area in [Area::Store, Area::Sessions] {
            cache.remove_old_records(area)?;
        }
    }
    let (inv, stores) = inventory(ctx, key.as_deref())?;
    let metas = MetaDir::new(cache.clone());
    let live: Vec<&Found> = inv.found.iter().filter(|f| !gone(f)).collect();
    if live.is_empty() {
        match &named {
            Some(p) => ctx
                .log
                .line(format_args!("No session stored for profile `{p}`")),
            None => ctx.log.line(format_args!("no sessions to remove")),
        }
    }
    let mut left = Vec::new();
    for found in live {
        let profile = found
            .profile
            .clone()
            .or_else(|| named.clone())
            .unwrap_or_else(|| format!("(old record {})", found.key));
        let _lock = lock::acquire(
            &cache,
            &found.key,
            &profile,
            WAIT_FOR_LOGIN,
            WAIT_FOR_LOGIN,
            &mut Quiet,
        )?;
        let now = ctx.now();
        let old = found.is_old();
        // First the refusal, then the copies: whatever survives is never used again.
        if !old {
            metas.update(&found.key, &profile, now, |m| {
                m.set_logged_out(now);
            })?;
        }
        let (removed, failed) = remove_copies(found, &stores, &inv.reached, &inv.unreachable);
        let pending: Vec<Backend> = failed.iter().map(|(b, _)| *b).collect();
        if !old {
            metas.update(&found.key, &profile, now, |m| {
                m.backends.clear();
                m.failure = None;
                m.pending = pending;
            })?;
        }
        if failed.is_empty() {
            ctx.log.line(format_args!(
                "Logged out of profile `{profile}` (removed from {})",
                if removed.is_empty() {
                    "nowhere: only metadata was left".to_string()
                } else {
                    describe(&removed).replace('+', ", ")
                }
            ));
        } else {
            let why: Vec<String> = failed.iter().map(|(b, e)| format!("{b} ({e})")).collect();
            ctx.log.line(format_args!(
                "Logged out of profile `{profile}` here, but a copy is left in {}",
                why.join(", ")
            ));
            left.push(format!("profile `{profile}` in {}", why.join(", ")));
        }
    }
    forget_old_logouts(ctx, &metas, &inv);
    for (backend, why) in &inv.unreachable {
        if args.all && !left.iter().any(|l| l.contains(&backend.to_string())) {
            ctx.log.note(format_args!(
                "could not search {backend} here ({why}); sessions kept only there, if any, \
                 are untouched"
            ));
        }
    }
    if left.is_empty() {
        return Ok(());
    }
    Err(Error::LogoutIncomplete {
        missing: left.join("; "),
        again: match &named {
            Some(p) => format!("--profile {p}"),
            None => "--all".into(),
        },
    })
}

/// Nothing left to remove: no copy anywhere, and the metadata is only a remembered logout.
fn gone(found: &Found) -> bool {
    found.copies.is_empty()
        && match &found.meta {
            Meta::Present(m) => m.backends.is_empty() && m.pending.is_empty(),
            _ => false,
        }
}

/// Drops remembered logouts older than any session they could refuse.
fn forget_old_logouts(ctx: &Ctx, metas: &MetaDir, inv: &crate::session::Inventory) {
    let now = ctx.now();
    let Ok(keys) = metas.keys() else { return };
    for key in keys {
        let Ok(Meta::Present(m)) = metas.read(&key) else {
            continue;
        };
        let expired = m
            .logged_out()
            .is_some_and(|t| now.duration_since(t).unwrap_or_default() > TOMBSTONE_KEPT);
        let held = inv
            .found
            .iter()
            .any(|f| f.key == key && !f.copies.is_empty());
        if expired && !held && !m.stored_once() {
            let _ = metas.remove(&key);
        }
    }
}

/// Deletes every copy of `found`; returns where copies were removed and which stores that
/// should hold one (by finding or by the metadata) could not be reached.
fn remove_copies(
    found: &Found,
    stores: &[Box<dyn SecretStore>],
    reached: &[Backend],
    unreachable: &[(Backend, String)],
) -> (Vec<Backend>, Vec<(Backend, String)>) {
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    for store in stores {
        let backend = store.backends().first().copied();
        let held = backend.is_some_and(|b| found.copies.iter().any(|(c, _)| *c == b));
        match store.delete(&found.key) {
            Ok(()) if held => removed.extend(backend),
            Ok(()) => {}
            Err(e) => failed.extend(backend.map(|b| (b, e.to_string()))),
        }
    }
    let expected: Vec<Backend> = match &found.meta {
        Meta::Present(m) => m.backends.iter().chain(&m.pending).copied().collect(),
        _ => Vec::new(),
    };
    for b in expected {
        if !reached.contains(&b) && !failed.iter().any(|(f, _)| *f == b) {
            let why = unreachable
                .iter()
                .find(|(u, _)| *u == b)
                .map_or("it cannot be reached from here", |(_, w)| w.as_str());
            failed.push((b, why.to_string()));
        }
    }
    (removed, failed)
}
