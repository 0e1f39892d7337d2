//! The eks-operator session flow shared by `token` and `login`: reuse a stored session
//! while it has 15 minutes left; otherwise get an MFA code, call AssumeRole with the
//! source profile's keys, and store the new session.

use crate::aws::AssumeRoleRequest;
use crate::awsconfig::OperatorProfile;
use crate::cmd::{AwsSettings, profile_credentials};
use crate::ctx::Ctx;
use crate::debug;
use crate::error::{Error, Result};
use crate::prompt::run_mfa_process;
use crate::secret::Secret;
use std::time::Duration;

use crate::lock::{self, WaitObserver, lock_path};
use crate::session::{Session, human_duration, unix_seconds};
use crate::sessions::{Lookup, Sessions, code_already_used, remember_code};

/// Whether a stored session may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Reuse a fresh stored session (`token`).
    Cached,
    /// Always assume the role anew (`login`).
    New,
}

/// The invocation's profile as an eks-operator profile, if it is one (role + MFA device).
pub fn operator_profile(settings: &AwsSettings) -> Result<Option<OperatorProfile>> {
    match settings.profile() {
        Some(p) if OperatorProfile::is_operator(&p) => require(settings).map(Some),
        _ => Ok(None),
    }
}

/// The invocation's profile, which must be a complete eks-operator profile.
pub fn require(settings: &AwsSettings) -> Result<OperatorProfile> {
    let incomplete = |key, hint| Error::ProfileIncomplete {
        profile: settings.profile_name.clone(),
        key,
        file: settings.files.config_path.display().to_string(),
        hint,
    };
    let Some(p) = settings.profile() else {
        return Err(incomplete(
            "role_arn",
            format!(
                "there is no [profile {}] section; create one with `eksop-auth setup` or pass --profile",
                settings.profile_name
            ),
        ));
    };
    OperatorProfile::from_profile(&p).map_err(|m| incomplete(m.key, m.hint))
}

enum CodeSource<'a> {
    Process(&'a str),
    Terminal,
}

/// Who can supply a code now. `interactive` is kubectl's `spec.interactive` (None when not
/// run by kubectl). `Err` says why nobody can.
fn code_source<'a>(
    ctx: &Ctx,
    op: &'a OperatorProfile,
    interactive: Option<bool>,
) -> std::result::Result<CodeSource<'a>, String> {
    if let Some(cmd) = op.mfa_process.as_deref() {
        return Ok(CodeSource::Process(cmd));
    }
    match interactive {
        Some(false) => Err("kubectl did not hand over a terminal: interactiveMode Never, stdin not a terminal, or a TUI owns it".into()),
        Some(true) if ctx.prompter.terminal_available() => Ok(CodeSource::Terminal),
        Some(true) => Err("no controlling terminal to prompt on".into()),
        None if ctx.stdin_is_terminal && ctx.prompter.terminal_available() => Ok(CodeSource::Terminal),
        None => Err("no terminal is attached and the profile has no `mfa_process`".into()),
    }
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

/// The stored session if it is good for another 15 minutes, else why not.
fn stored_fresh(
    ctx: &mut Ctx,
    sessions: &Sessions,
    op: &OperatorProfile,
) -> std::result::Result<Session, String> {
    let now = ctx.now();
    match sessions.lookup(&op.name, &op.role_arn) {
        Ok(Lookup::Found(s)) if s.is_fresh(now) => Ok(s),
        Ok(Lookup::Found(s)) => Err(match s.expires_at().duration_since(now) {
            Ok(left) => format!(
                "it ends in {}, too soon for a 15-minute token",
                human_duration(left)
            ),
            Err(_) => "it has expired".into(),
        }),
        Ok(Lookup::Missing) => Err("none is stored".into()),
        Ok(Lookup::Unusable(why)) => {
            debug!(ctx, "ignoring the stored session: {why}");
            Err(format!("the stored one is unusable: {why}"))
        }
        Err(e) => {
            debug!(
                ctx,
                "cannot read the stored session ({e}); treating it as missing"
            );
            Err("the store could not be read".into())
        }
    }
}

/// The stored session for `op` if it has 15 minutes left; never prompts, never calls AWS.
pub fn stored_session(ctx: &mut Ctx, op: &OperatorProfile) -> Option<Session> {
    let sessions = Sessions::open(&ctx.env, &ctx.stores).ok()?;
    stored_fresh(ctx, &sessions, op).ok()
}

/// One line on stderr when the session ends within 30 minutes, at most every 10 minutes.
fn remind_if_ending(ctx: &mut Ctx, sessions: &Sessions, op: &OperatorProfile, s: &Session) {
    let now = ctx.now();
    let Ok(left) = s.expires_at().duration_since(now) else {
        return;
    };
    if left >= REMIND_WITHIN {
        return;
    }
    let Some(mut meta) = sessions.meta(&op.name) else {
        return;
    };
    let now_s = unix_seconds(now);
    if meta
        .reminded_at
        .is_some_and(|t| now_s.saturating_sub(t) < REMIND_EVERY)
    {
        return;
    }
    ctx.log.line(format_args!(
        "eksop-auth: the eks-operator session for profile `{}` ends in {}; run `eksop-auth login --profile {}` to start a new one",
        op.name,
        human_duration(left),
        op.name
    ));
    meta.reminded_at = Some(now_s);
    let _ = sessions.write_meta(&meta);
}

struct WaitNotice<'a> {
    log: &'a mut crate::ctx::Log,
    profile: &'a str,
}

impl WaitObserver for WaitNotice<'_> {
    fn still_waiting(&mut self) {
        self.log.line(format_args!(
            "eksop-auth: waiting for the MFA login for profile `{}` in another process…",
            self.profile
        ));
    }
}

/// Takes the profile's session lock, saying once if another process makes us wait.
fn wait_for_lock(
    ctx: &mut Ctx,
    lock_file: &std::path::Path,
    op: &OperatorProfile,
) -> Result<lock::SessionLock> {
    let mut notice = WaitNotice {
        log: &mut ctx.log,
        profile: &op.name,
    };
    lock::acquire(lock_file, &op.name, LOCK_NOTICE, LOCK_WAIT, &mut notice)
}

/// A usable session for `op`, from the store or from STS.
pub fn session(
    ctx: &mut Ctx,
    settings: &AwsSettings,
    op: &OperatorProfile,
    interactive: Option<bool>,
    want: Want,
) -> Result<Session> {
    let sessions = Sessions::open(&ctx.env, &ctx.stores)?;
    debug!(
        ctx,
        "profile `{}`: eks-operator role {}, store {}",
        op.name,
        op.role_arn,
        sessions.store.backend()
    );
    // The warm path: one store read, no lock.
    let mut why_new = "login asked for a new session".to_string();
    if want == Want::Cached {
        match stored_fresh(ctx, &sessions, op) {
            Ok(s) => {
                debug!(
                    ctx,
                    "cache hit: session valid until {}",
                    crate::protocol::rfc3339(s.expires_at())
                );
                remind_if_ending(ctx, &sessions, op, &s);
                return Ok(s);
            }
            Err(why) => why_new = why,
        }
        debug!(ctx, "cache miss: {why_new}");
    }

    let lock_file = lock_path(&crate::store::cache_dir(&ctx.env)?, &op.name);
    let source = match code_source(ctx, op, interactive) {
        Ok(s) => s,
        Err(why) if want == Want::Cached => {
            // Nobody here can type a code, but someone may be logging in elsewhere right
            // now (a terminal kubectl, `eksop-auth login`): wait for them, not fail.
            if lock::held_elsewhere(&lock_file)? {
                debug!(
                    ctx,
                    "no code source here; waiting for the MFA login in another process"
                );
                let _lock = wait_for_lock(ctx, &lock_file, op)?;
                if let Ok(s) = stored_fresh(ctx, &sessions, op) {
                    return Ok(s);
                }
            }
            return Err(Error::LoginRequired {
                profile: op.name.clone(),
                reason: format!("{why_new}; {why}"),
            });
        }
        Err(why) => {
            return Err(Error::Mfa(format!(
                "cannot ask for the MFA code: {why}. Run `eksop-auth login --profile {}` in a terminal, \
                 or add `mfa_process = <command printing the code>` to the profile",
                op.name
            )));
        }
    };

    // One MFA login per profile at a time; the others wait and then use its session.
    debug!(ctx, "taking the session lock {}", lock_file.display());
    let _lock = wait_for_lock(ctx, &lock_file, op)?;
    if want == Want::Cached
        && let Ok(s) = stored_fresh(ctx, &sessions, op)
    {
        debug!(
            ctx,
            "another process stored a fresh session while we waited; using it"
        );
        return Ok(s);
    }

    // Load the source keys before asking for a code, so a broken source profile does not
    // waste one.
    let source_creds = profile_credentials(ctx, settings, &op.source_profile, false)?;
    let mut note: Option<String> = None;
    let mut retried = false;
    let (assumed, code) = loop {
        let code: Secret<String> = match source {
            CodeSource::Process(cmd) => {
                debug!(ctx, "MFA code: running mfa_process");
                run_mfa_process(cmd, &op.name)?
            }
            CodeSource::Terminal => ctx.prompter.ask_code(&op.mfa_serial, note.as_deref())?,
        };
        if let Some(wait) = code_already_used(&ctx.env, &op.mfa_serial, code.expose(), ctx.now()) {
            debug!(
                ctx,
                "MFA code already used in this 30-second step; not sending it"
            );
            let msg = format!(
                "That code was already used (AWS accepts each code once); wait for the next code, in about {wait}s."
            );
            match source {
                CodeSource::Terminal if !retried => {
                    retried = true;
                    note = Some(msg);
                    continue;
                }
                _ => return Err(Error::Mfa(format!("{msg} Then run the command again."))),
            }
        }
        debug!(
            ctx,
            "AssumeRole {} at {} for {}s",
            op.role_arn,
            settings.endpoint.base_url,
            op.duration_seconds
        );
        let result = ctx.aws.assume_role(&AssumeRoleRequest {
            source: &source_creds,
            endpoint: &settings.endpoint,
            role_arn: &op.role_arn,
            session_name: &op.role_session_name,
            mfa_serial: &op.mfa_serial,
            code: &code,
            duration_seconds: op.duration_seconds,
            profile: &op.name,
        });
        match result {
            Ok(r) => break (r, code),
            // A person mistyped: one more try with a precise note.
            Err(Error::MfaCodeRejected { .. })
                if matches!(source, CodeSource::Terminal) && !retried =>
            {
                retried = true;
                note = Some("AWS rejected that code. Wait for the next one and enter it.".into());
            }
            Err(e) => return Err(e),
        }
    };
    let now = ctx.now();
    remember_code(&ctx.env, &op.mfa_serial, code.expose(), now);
    debug!(
        ctx,
        "AssumeRole ok (request id {}): {}",
        assumed.request_id.as_deref().unwrap_or("-"),
        assumed.assumed_arn
    );
    let session = Session {
        creds: assumed.creds,
        assumed_arn: assumed.assumed_arn,
        role_arn: op.role_arn.clone(),
    };
    if let Err(e) = sessions.save(&op.name, &op.mfa_serial, &session, now) {
        ctx.log.warn(format_args!(
            "could not store the session ({e}); this call works, but the next one will ask for MFA again"
        ));
    }
    Ok(session)
}
