//! The session use case, top to bottom: the warm path (one store read), waiting for a login
//! in progress, getting a code and assuming the role, storing the result.

use std::time::Duration;

use super::record::Session;
use super::state::{Unusable, judge, judge_record};
use super::{meta, source};
use crate::aws::{AssumeRoleRequest, AssumedRole};
use crate::awsconfig::OperatorProfile;
use crate::credentials::Credentials;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::lock::{self, SessionLock, WaitObserver};
use crate::log::debug;
use crate::mfa::{self, Ask, Caller, Nobody, SourceKind, replay};
use crate::settings::Settings;
use crate::timefmt::{human_duration, rfc3339, unix_seconds};

/// Whether a stored session may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Reuse a fresh stored session (`token`, `credential-process`).
    Cached,
    /// Always assume the role anew (`login`).
    New,
}

/// How long a caller waits for another process's MFA login before giving up; a person
/// may be typing the code there.
const LOCK_WAIT: Duration = Duration::from_secs(180);
/// When to say that we are waiting.
const LOCK_NOTICE: Duration = Duration::from_secs(2);
/// Remind about the end of the session when less than this is left…
const REMIND_WITHIN: Duration = Duration::from_secs(30 * 60);
/// …at most this often.
const REMIND_EVERY: u64 = 10 * 60;

/// A usable session for `op`: the stored one, or a new one from STS.
pub(crate) fn obtain(
    ctx: &mut Ctx,
    settings: &Settings,
    op: &OperatorProfile,
    interactive: Option<bool>,
    want: Want,
) -> Result<Session> {
    let mut why_new = None;
    if want == Want::Cached {
        match stored(ctx, op) {
            Ok(s) => {
                debug!(
                    ctx,
                    "cache hit: session valid until {}",
                    rfc3339(s.expires_at())
                );
                remind_if_ending(ctx, op, &s);
                return Ok(s);
            }
            Err(why) => {
                debug!(ctx, "cache miss: {why}");
                why_new = Some(why);
            }
        }
    }
    let caller = Caller {
        interactive,
        stdin_is_terminal: ctx.stdin_is_terminal,
    };
    let kind = match mfa::choose(op, caller, ctx.sources.terminal_available()) {
        Ok(kind) => kind,
        Err(nobody) => return nobody_can_answer(ctx, op, why_new, nobody),
    };
    let _lock = wait_for_lock(ctx, op)?;
    if want == Want::Cached
        && let Ok(s) = stored(ctx, op)
    {
        debug!(
            ctx,
            "another process stored a fresh session while we waited; using it"
        );
        return Ok(s);
    }
    // Load the source keys before asking for a code, so a broken source profile does not
    // waste one.
    let source_creds = source::load(ctx, settings, settings.source_of(&op.source_profile, false))?;
    let assumed = assume_with_code(ctx, settings, op, &source_creds, &kind)?;
    Ok(store(ctx, op, assumed))
}

/// The stored session for `op` if it is good for another 15 minutes, else why not. Never
/// prompts, never calls AWS.
pub(crate) fn stored(ctx: &Ctx, op: &OperatorProfile) -> std::result::Result<Session, Unusable> {
    judge(read(ctx, &op.name)?, &op.role_arn, ctx.now())
}

/// The stored session of `profile` for `role_arn`, whatever its age (for `status --verify`).
pub(crate) fn stored_any_age(
    ctx: &Ctx,
    profile: &str,
    role_arn: &str,
) -> std::result::Result<Session, Unusable> {
    judge_record(read(ctx, profile)?, role_arn)
}

/// The record as stored: `None` when there is none, `Some(None)` when it is unreadable.
fn read(ctx: &Ctx, profile: &str) -> std::result::Result<Option<Option<Session>>, Unusable> {
    let unreachable = |e: Error| Unusable::StoreUnreachable {
        detail: e.to_string(),
    };
    let store = ctx.session_store().map_err(unreachable)?;
    let record = store.get(profile).map_err(unreachable)?;
    Ok(record.map(|text| Session::decode(text.expose())))
}

/// Nobody here can type a code. Someone may be logging in elsewhere right now (a terminal
/// kubectl, `eksop-auth login`): wait for them; otherwise say how to log in.
fn nobody_can_answer(
    ctx: &mut Ctx,
    op: &OperatorProfile,
    why_new: Option<Unusable>,
    nobody: Nobody,
) -> Result<Session> {
    let Some(why_new) = why_new else {
        return Err(Error::Mfa(format!(
            "cannot ask for the MFA code: {nobody}. Run `eksop-auth login --profile {}` in a \
             terminal, or add `mfa_process = <command printing the code>` to the profile",
            op.name
        )));
    };
    let cache = ctx.cache()?;
    if lock::held_elsewhere(&cache, &op.name)? {
        debug!(
            ctx,
            "no code source here; waiting for the MFA login in another process"
        );
        let _lock = wait_for_lock(ctx, op)?;
        if let Ok(s) = stored(ctx, op) {
            return Ok(s);
        }
    }
    Err(Error::LoginRequired {
        profile: op.name.clone(),
        reason: format!("{why_new}; {nobody}"),
        extra: String::new(),
    })
}

/// Asks the source for a code and sends it; a person gets one more try after a reused or
/// rejected code.
fn assume_with_code(
    ctx: &mut Ctx,
    settings: &Settings,
    op: &OperatorProfile,
    source_creds: &Credentials,
    kind: &SourceKind,
) -> Result<AssumedRole> {
    let cache = ctx.cache()?;
    let mut source = ctx.sources.open(kind);
    let mut note: Option<String> = None;
    let mut retried = false;
    loop {
        let ask = Ask {
            profile: &op.name,
            device: &op.mfa_serial,
            note: note.as_deref(),
        };
        let code = source.code(&ask)?;
        if let Some(wait) = replay::already_used(&cache, &op.mfa_serial, code.expose(), ctx.now()) {
            debug!(
                ctx,
                "MFA code already used in this 30-second step; not sending it"
            );
            if source.is_person() && !retried {
                retried = true;
                note = Some(format!(
                    "That code was already used (AWS accepts each code once); wait for the next \
                     code, in about {wait}s."
                ));
                continue;
            }
            return Err(Error::MfaCodeReused { wait_seconds: wait });
        }
        debug!(
            ctx,
            "AssumeRole {} at {} for {}s",
            op.role_arn,
            settings.endpoint.base_url,
            op.duration_seconds
        );
        let result = ctx.aws.assume_role(&AssumeRoleRequest {
            source: source_creds,
            endpoint: &settings.endpoint,
            role_arn: &op.role_arn,
            session_name: &op.role_session_name,
            mfa_serial: &op.mfa_serial,
            code: &code,
            duration_seconds: op.duration_seconds,
            profile: &op.name,
        });
        match result {
            Ok(assumed) => {
                replay::remember(&cache, &op.mfa_serial, code.expose(), ctx.now());
                return Ok(assumed);
            }
            // A person mistyped: one more try with a precise note.
            Err(Error::MfaCodeRejected { .. }) if source.is_person() && !retried => {
                retried = true;
                note = Some("AWS rejected that code. Wait for the next one and enter it.".into());
            }
            Err(e) => return Err(e),
        }
    }
}

/// Keeps the new session (a store that fails is a warning: this call still works).
fn store(ctx: &mut Ctx, op: &OperatorProfile, assumed: AssumedRole) -> Session {
    debug!(
        ctx,
        "AssumeRole ok (request id {}): {}",
        assumed.request_id.as_deref().unwrap_or("-"),
        assumed.assumed_arn
    );
    let session = Session::new(
        assumed.creds.access_key_id,
        assumed.creds.secret_access_key,
        assumed.creds.session_token.unwrap_or_default(),
        assumed.expires_at,
        assumed.assumed_arn,
        op.role_arn.clone(),
    );
    if let Err(e) = save(ctx, op, &session) {
        ctx.log.warn(format_args!(
            "could not store the session ({e}); this call works, but the next one will ask for \
             MFA again"
        ));
    }
    session
}

/// Stores the secret record, then the metadata. The record's failure is returned;
/// metadata is written only for a record that is there (a layered store may have kept it
/// in its hot cache even though the durable store failed).
fn save(ctx: &Ctx, op: &OperatorProfile, session: &Session) -> Result<()> {
    let store = ctx.session_store()?;
    let stored = store.set(&op.name, &session.encode());
    if stored.is_err() && !matches!(store.get(&op.name), Ok(Some(_))) {
        return stored;
    }
    // Ask for the backends after writing: a durable store that failed drops out.
    let meta = meta::SessionMeta {
        profile: op.name.clone(),
        role_arn: session.role_arn.clone(),
        assumed_arn: session.assumed_arn.clone(),
        mfa_serial: op.mfa_serial.clone(),
        issued_at: unix_seconds(ctx.now()),
        expires_at: unix_seconds(session.expires_at()),
        backends: store.backends(),
        reminded_at: None,
    };
    meta::MetaDir::new(ctx.cache()?).write(&meta)?;
    stored
}

/// One line on stderr when the session ends within 30 minutes, at most every 10 minutes.
fn remind_if_ending(ctx: &mut Ctx, op: &OperatorProfile, s: &Session) {
    let now = ctx.now();
    let Ok(left) = s.expires_at().duration_since(now) else {
        return;
    };
    if left >= REMIND_WITHIN {
        return;
    }
    let Ok(cache) = ctx.cache() else { return };
    let metas = meta::MetaDir::new(cache);
    let Some(mut m) = metas.read(&op.name) else {
        return;
    };
    let now_s = unix_seconds(now);
    if m.reminded_at
        .is_some_and(|t| now_s.saturating_sub(t) < REMIND_EVERY)
    {
        return;
    }
    ctx.log.note(format_args!(
        "the eks-operator session for profile `{}` ends in {}; run `eksop-auth login --profile \
         {}` to start a new one",
        op.name,
        human_duration(left),
        op.name
    ));
    m.reminded_at = Some(now_s);
    let _ = metas.write(&m);
}

struct WaitNotice<'a> {
    log: &'a mut crate::log::Log,
    profile: &'a str,
}

impl WaitObserver for WaitNotice<'_> {
    fn still_waiting(&mut self) {
        self.log.note(format_args!(
            "waiting for the MFA login for profile `{}` in another process…",
            self.profile
        ));
    }
}

/// Takes the profile's session lock, saying once if another process makes us wait.
fn wait_for_lock(ctx: &mut Ctx, op: &OperatorProfile) -> Result<SessionLock> {
    let cache = ctx.cache()?;
    debug!(ctx, "taking the session lock for profile `{}`", op.name);
    let mut notice = WaitNotice {
        log: &mut ctx.log,
        profile: &op.name,
    };
    lock::acquire(&cache, &op.name, LOCK_NOTICE, LOCK_WAIT, &mut notice)
}
