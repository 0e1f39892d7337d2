//! `eksop-auth status`: stored sessions for people. Reads only the non-secret metadata, so
//! it never unlocks a keyring and never prints a secret.

use std::io::Write;

use crate::cli::{AwsArgs, StatusArgs};
use crate::cmd::AwsSettings;
use crate::cmd::login::local_time;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::session::human_duration;
use crate::sessions::{Lookup, SessionMeta, Sessions, all_meta};

pub fn run(ctx: &mut Ctx, args: &StatusArgs) -> Result<()> {
    let mut all = all_meta(&ctx.env)?;
    if let Some(p) = &args.profile {
        all.retain(|m| &m.profile == p);
    }
    let now = ctx.now();
    let mut out = String::new();
    if all.is_empty() {
        match &args.profile {
            Some(p) => out.push_str(&format!(
                "no sessions for profile `{p}`; run `eksop-auth login --profile {p}`\n"
            )),
            None => out
                .push_str("no sessions; run `eksop-auth login --profile <profile>` to start one\n"),
        }
    }
    // Opened once (a keyring connection each time would add up), only to verify.
    let sessions = if args.verify && !all.is_empty() {
        Some(Sessions::open(&ctx.env, &ctx.stores).map_err(|e| e.to_string()))
    } else {
        None
    };
    for m in &all {
        let when = match m.expires().duration_since(now) {
            Ok(left) => format!("in {}", human_duration(left)),
            Err(e) => format!("expired {} ago", human_duration(e.duration())),
        };
        out.push_str(&format!(
            "profile {}\n  role      {}\n  identity  {}\n  expires   {} ({when})\n  store     {}\n",
            m.profile,
            m.role_arn,
            m.assumed_arn,
            local_time(m.expires()),
            m.backend
        ));
        if let Some(sessions) = &sessions {
            let verdict = match sessions
                .as_ref()
                .map_err(String::clone)
                .and_then(|s| verify(ctx, s, m))
            {
                Ok(arn) => format!("{arn} (this is who the cluster sees)"),
                Err(why) => format!("NO: {why}"),
            };
            out.push_str(&format!("  verified  {verdict}\n"));
        }
    }
    ctx.stdout
        .write_all(out.as_bytes())
        .and_then(|()| ctx.stdout.flush())
        .map_err(Error::Output)
}

/// GetCallerIdentity with the stored session of `m.profile`.
fn verify(
    ctx: &mut Ctx,
    sessions: &Sessions,
    m: &SessionMeta,
) -> std::result::Result<String, String> {
    let args = AwsArgs {
        profile: Some(m.profile.clone()),
        region: None,
    };
    let settings = AwsSettings::resolve(ctx, &args).map_err(|e| e.to_string())?;
    match sessions
        .lookup(&m.profile, &m.role_arn)
        .map_err(|e| e.to_string())?
    {
        Lookup::Found(s) => ctx
            .aws
            .caller_identity(&s.creds, &settings.endpoint)
            .map(|id| id.arn)
            .map_err(|e| e.to_string()),
        Lookup::Missing => Err(format!(
            "the session is no longer in the {} store; run `eksop-auth login --profile {}`",
            sessions.store.backend(),
            m.profile
        )),
        Lookup::Unusable(why) => Err(format!(
            "{why}; run `eksop-auth login --profile {}`",
            m.profile
        )),
    }
}
