//! `eksop-auth status`: stored sessions for people. Reads only the non-secret metadata, so
//! it never unlocks a keyring (unless `--verify`) and never prints a secret.

use std::io::Write;

use crate::cli::{AwsArgs, StatusArgs};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::session::meta::{MetaDir, SessionMeta};
use crate::session::stored_any_age;
use crate::store::describe;
use crate::timefmt::{human_duration, local_time};

pub(crate) fn run(ctx: &mut Ctx, args: &StatusArgs) -> Result<()> {
    let mut all = MetaDir::new(ctx.cache()?).all();
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
            describe(&m.backends)
        ));
        if args.verify {
            let verdict = match verify(ctx, m) {
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
fn verify(ctx: &mut Ctx, m: &SessionMeta) -> std::result::Result<String, String> {
    let args = AwsArgs {
        profile: Some(m.profile.clone()),
        region: None,
    };
    let settings = ctx.settings(&args).map_err(|e| e.to_string())?;
    let session = stored_any_age(ctx, &m.profile, &m.role_arn)
        .map_err(|why| format!("{why}; run `eksop-auth login --profile {}`", m.profile))?;
    ctx.aws
        .caller_identity(&session.creds, &settings.endpoint)
        .map_err(|e| e.to_string())
}
