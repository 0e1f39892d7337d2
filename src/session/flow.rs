//! The session use case, top to bottom: the warm path (one store read), waiting for a login
//! in progress, getting a code and assuming the role; `keep.rs` stores the result.

use std::time::{Duration, Instant, SystemTime};

use super::dismissal;
use super::keep::{failure_since, now_ms, record_failure, remind_if_ending, store};
use super::meta::{Meta, MetaDir};
use super::origin::origin_of;
use super::record::{Origin, Session};
use super::source;
use super::state::{Unusable, judge, judge_record};
use crate::aws::{AssumeRoleRequest, AssumedRole};
use crate::awsconfig::OperatorProfile;
use crate::credentials::Credentials;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::lock::{self, SessionLock, WaitObserver};
use crate::log::debug;
use crate::mfa::dialog::DIALOG_TIMEOUT;
use crate::mfa::{self, Ask, Caller, MFA_PROCESS_TIMEOUT, Nobody, PromptMode, SourceKind, replay};
use crate::settings::Settings;
use crate::store::record_key;
use crate::timefmt::rfc3339;

/// Whether a stored session may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Reuse a fresh stored session (`token`, `credential-process`).
    Cached,
    /// Always assume the role anew (`login`).
    New,
}

/// How long one call may spend waiting for a login and logging in; a person may be typing
/// the code in another process meanwhile.
const LOGIN_BUDGET: Duration = Duration::from_secs(180);
/// When to say that we are waiting.
const LOCK_NOTICE: Duration = Duration::from_secs(2);

/// One profile's session, as the flow sees it: where it is filed and what it must match.
pub(super) struct Target<'a> {
    pub(super) op: &'a OperatorProfile,
    pub(super) key: String,
    pub(super) origin: Origin,
    started: Instant,
}

impl<'a> Target<'a> {
    fn new(op: &'a OperatorProfile, settings: &Settings) -> Self {
        Target {
            op,
            key: record_key(&op.name),
            origin: origin_of(op, settings),
            started: Instant::now(),
        }
    }

    /// The longest session the profile allows now.
    fn allowed(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.op.duration_seconds).unwrap_or(0))
    }
}

/// A usable session for `op`: the stored one, or a new one from STS.
pub(crate) fn obtain(
    ctx: &mut Ctx,
    settings: &Settings,
    op: &OperatorProfile,
    interactive: Option<bool>,
    want: Want,
) -> Result<Session> {
    let t = Target::new(op, settings);
    let mut why_new = None;
    if want == Want::Cached {
        match stored_for(ctx, &t) {
            Ok(s) => {
                debug!(
                    ctx,
                    "cache hit: session valid until {}",
                    rfc3339(s.expires_at())
                );
                remind_if_ending(ctx, &t, &s);
                return Ok(s);
            }
            Err(why) => {
                let why = why.into_refusal()?;
                debug!(ctx, "cache miss: {why}");
                why_new = Some(why);
            }
        }
    }
    let caller = Caller {
        interactive,
        stdin_is_terminal: ctx.stdin_is_terminal,
    };
    let mode = match (PromptMode::from_env(&ctx.env)?, want) {
        // `login` is how a person asks for a prompt: `none` is for the calls kubectl makes.
        (PromptMode::None, Want::New) => PromptMode::Terminal,
        (mode, _) => mode,
    };
    let kind = match mfa::choose(op, caller, mode, ctx.sources.as_ref()) {
        Ok(kind) => kind,
        Err(nobody) => return nobody_can_answer(ctx, &t, why_new, nobody),
    };
    let dialog = matches!(kind, SourceKind::Dialog(_));
    // A dialog dismissed a moment ago: no new one, and no wait for the lock either.
    if dialog && want == Want::Cached {
        dismissal::refuse_if_recent(ctx, &t)?;
    }
    let waited_since = now_ms(ctx);
    let _lock = wait_for_lock(ctx, &t)?;
    if want == Want::Cached {
        if let Ok(s) = stored_for(ctx, &t) {
            debug!(
                ctx,
                "another process stored a fresh session while we waited; using it"
            );
            return Ok(s);
        }
        if dialog {
            dismissal::refuse_if_recent(ctx, &t)?;
        }
        // Like a command, a dialog that failed for the process we waited on would fail
        // for us too (or storm the desktop): only a terminal gets its own try.
        let person = kind == SourceKind::Terminal;
        if let Some(e) = failure_since(ctx, &t, waited_since, person) {
            return Err(e);
        }
    } else {
        dismissal::forget(ctx, &t);
    }
    let attempt = log_in(ctx, settings, &t, &kind).map_err(|e| match e {
        Error::DialogDismissed { how } => dismissal::remember(ctx, &t, how, want),
        e if dialog => dismissal::remember_failure(ctx, &t, e),
        e => e,
    });
    if let Err(e) = &attempt {
        record_failure(ctx, &t, e);
    }
    store(ctx, &t, attempt?, want)
}

/// The stored session for `op` if it is still the profile's and good for another 15
/// minutes, else why not. Never prompts, never calls AWS.
pub(crate) fn stored(
    ctx: &Ctx,
    settings: &Settings,
    op: &OperatorProfile,
) -> std::result::Result<Session, Unusable> {
    stored_for(ctx, &Target::new(op, settings))
}

fn stored_for(ctx: &Ctx, t: &Target<'_>) -> std::result::Result<Session, Unusable> {
    let (record, logged_out) = read(ctx, &t.key)?;
    judge(
        record,
        &t.op.name,
        &t.origin,
        t.allowed(),
        logged_out,
        ctx.now(),
    )
}

/// The stored session of `op` whatever its age, if the profile still names what made it
/// (for `status --verify`).
pub(crate) fn stored_any_age(
    ctx: &Ctx,
    settings: &Settings,
    op: &OperatorProfile,
) -> std::result::Result<Session, Unusable> {
    let t = Target::new(op, settings);
    let (record, logged_out) = read(ctx, &t.key)?;
    judge_record(record, &op.name, &t.origin, t.allowed(), logged_out)
}

type Stored = (Option<Option<Session>>, Option<SystemTime>);

/// The record as stored (`None`: none; `Some(None)`: unreadable) and since when records
/// are refused (the last logout; now, if the metadata is damaged).
fn read(ctx: &Ctx, key: &str) -> std::result::Result<Stored, Unusable> {
    let unreachable = |e: Error| match e {
        Error::UnsafePath { path, problem, fix } => Unusable::Unsafe { path, problem, fix },
        e => Unusable::StoreUnreachable {
            detail: e.to_string(),
        },
    };
    let refused_since = match MetaDir::new(ctx.cache().map_err(unreachable)?)
        .read(key)
        .map_err(unreachable)?
    {
        Meta::Present(m) => m.logged_out(),
        Meta::Absent => None,
        Meta::Damaged => Some(ctx.now()),
    };
    let store = ctx.session_store().map_err(unreachable)?;
    let record = store.get(key).map_err(unreachable)?;
    Ok((
        record.map(|text| Session::decode(text.expose())),
        refused_since,
    ))
}

/// Nobody here can type a code. Someone may be logging in elsewhere right now (a terminal
/// kubectl, `eksop-auth login`): wait for them; otherwise say how to log in.
fn nobody_can_answer(
    ctx: &mut Ctx,
    t: &Target<'_>,
    why_new: Option<Unusable>,
    nobody: Nobody,
) -> Result<Session> {
    let profile = &t.op.name;
    let gui = if nobody.gui_would_help() {
        "; for a desktop dialog instead, set EKSOP_AUTH_PROMPT=gui (`eksop-auth setup --prompt \
         gui` writes it into the kubeconfig entry)"
    } else {
        ""
    };
    let Some(mut why_new) = why_new else {
        return Err(Error::Mfa(format!(
            "cannot ask for the MFA code: {nobody}. Run `eksop-auth login --profile {profile}` \
             in a terminal, or add `mfa_process = <command printing the code>` to the \
             profile{gui}"
        )));
    };
    if why_new.identity_changed().is_none() && lock::held_elsewhere(&ctx.cache()?, &t.key)? {
        debug!(
            ctx,
            "no code source here; waiting for the MFA login in another process"
        );
        let waited_since = now_ms(ctx);
        let _lock = wait_for_lock(ctx, t)?;
        match stored_for(ctx, t) {
            Ok(s) => return Ok(s),
            Err(why) => why_new = why.into_refusal()?,
        }
        if let Some(e) = failure_since(ctx, t, waited_since, false) {
            return Err(e);
        }
    }
    if let Some(change) = why_new.identity_changed() {
        return Err(Error::IdentityChanged {
            profile: profile.clone(),
            change: change.to_string(),
        });
    }
    Err(Error::LoginRequired {
        profile: profile.clone(),
        reason: format!("{why_new}; {nobody}"),
        extra: gui.to_string(),
    })
}

/// Source keys, then a code, then AssumeRole.
fn log_in(
    ctx: &mut Ctx,
    settings: &Settings,
    t: &Target<'_>,
    kind: &SourceKind,
) -> Result<(AssumedRole, SystemTime)> {
    // Load the source keys before asking for a code, so a broken source profile does not
    // waste one.
    let source = settings.source_of(&t.op.source_profile, false);
    let source_creds = source::load(ctx, settings, source)?;
    let caller = learn_caller(ctx, settings, t.op, &source_creds)?;
    let names = Names::of(t.op, caller.as_ref());
    if let Some(c) = &caller {
        debug!(
            ctx,
            "source keys belong to {}; role session name `{}`, source identity {}",
            c.arn,
            names.session,
            names.source_identity.unwrap_or("not set")
        );
    }
    let issued_at = ctx.now();
    let assumed = assume_with_code(
        ctx,
        settings,
        t,
        &source_creds,
        &names,
        caller.as_ref(),
        kind,
    )?;
    Ok((assumed, issued_at))
}

/// Who the source keys belong to (GetCallerIdentity, which no IAM policy can deny), when a
/// name is to be made from it: the session is named after the IAM user unless the profile
/// names it, and SourceIdentity is that user's name unless the profile turns it off.
/// Asked before the code, so a broken source profile does not waste one.
fn learn_caller(
    ctx: &Ctx,
    settings: &Settings,
    op: &OperatorProfile,
    source_creds: &Credentials,
) -> Result<Option<Principal>> {
    if op.role_session_name.is_some() && !op.set_source_identity {
        return Ok(None);
    }
    ctx.aws
        .caller_identity(source_creds, &settings.endpoint)
        .map(Some)
}

/// The names AssumeRole sends.
pub(crate) struct Names<'a> {
    pub(crate) session: &'a str,
    pub(crate) source_identity: Option<&'a str>,
}

impl<'a> Names<'a> {
    pub(crate) fn of(op: &'a OperatorProfile, caller: Option<&'a Principal>) -> Self {
        let session = match (&op.role_session_name, caller) {
            (Some(n), _) => n.as_str(),
            (None, Some(c)) => c.name.as_str(),
            // Not reached: without a configured name the caller is always asked.
            (None, None) => "eksop-auth",
        };
        // `${aws:username}` names IAM users only; a role or federated source keeps the
        // source identity its own session may carry.
        let source_identity = caller
            .filter(|c| op.set_source_identity && c.is_user)
            .map(|c| c.name.as_str());
        Names {
            session,
            source_identity,
        }
    }
}

/// What a call keeps of its budget for after the code: AssumeRole (at most 15 s) and
/// storing the session, so it ends before the processes waiting on it give up.
const AFTER_THE_CODE: Duration = Duration::from_secs(30);

/// How long a command or a dialog may take to give a code: the setting, within this
/// call's budget.
fn code_timeout(ctx: &Ctx, t: &Target<'_>, kind: &SourceKind) -> Result<Duration> {
    let setting = match kind {
        SourceKind::Dialog(_) => ctx
            .env
            .seconds("EKSOP_AUTH_DIALOG_TIMEOUT")?
            .unwrap_or(DIALOG_TIMEOUT),
        _ => ctx
            .env
            .seconds("EKSOP_AUTH_MFA_PROCESS_TIMEOUT")?
            .unwrap_or(MFA_PROCESS_TIMEOUT),
    };
    let left = LOGIN_BUDGET
        .saturating_sub(t.started.elapsed())
        .saturating_sub(AFTER_THE_CODE);
    Ok(setting.min(left).max(Duration::from_secs(1)))
}

/// Asks the source for a code and sends it; a person gets one more try after a reused or
/// rejected code.
fn assume_with_code(
    ctx: &mut Ctx,
    settings: &Settings,
    t: &Target<'_>,
    source_creds: &Credentials,
    names: &Names<'_>,
    caller: Option<&Principal>,
    kind: &SourceKind,
) -> Result<AssumedRole> {
    let (op, cache) = (t.op, ctx.cache()?);
    let mut source = ctx.sources.open(kind);
    let mut note: Option<String> = None;
    let mut retried = false;
    loop {
        let ask = Ask {
            profile: &op.name,
            device: &op.mfa_serial,
            note: note.as_deref(),
            timeout: code_timeout(ctx, t, kind)?,
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
            session_name: names.session,
            source_identity: names.source_identity,
            caller,
            mfa_serial: &op.mfa_serial,
            code: &code,
            duration_seconds: op.duration_seconds,
            profile: &op.name,
        });
        match result {
            Ok(assumed) => {
                // AWS took the code: record that first, so that nobody resends it even if
                // this process dies before the session is stored.
                replay::remember(&cache, &op.mfa_serial, code.expose(), ctx.now());
                crate::fsutil::fault_point("after-assume");
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

/// Takes the profile's session lock within what is left of this call's budget, saying
/// once if another process makes us wait.
fn wait_for_lock(ctx: &mut Ctx, t: &Target<'_>) -> Result<SessionLock> {
    let cache = ctx.cache()?;
    debug!(ctx, "taking the session lock for profile `{}`", t.op.name);
    let mut notice = WaitNotice {
        log: &mut ctx.log,
        profile: &t.op.name,
    };
    let left = LOGIN_BUDGET.saturating_sub(t.started.elapsed());
    lock::acquire(&cache, &t.key, &t.op.name, LOCK_NOTICE, left, &mut notice)
}
