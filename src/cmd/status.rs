//! `eksop-auth status`: stored sessions for people, found in the stores themselves and in
//! the metadata beside them. Never prints a secret.

use std::io::Write;

use crate::cli::{AwsArgs, StatusArgs};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::session::meta::Meta;
use crate::session::{Found, inventory, stored_any_age};
use crate::store::{describe, record_key};
use crate::timefmt::{human_duration, local_time};

pub(crate) fn run(ctx: &mut Ctx, args: &StatusArgs) -> Result<()> {
    let key = args.profile.as_deref().map(record_key);
    let (inv, _stores) = inventory(ctx, key.as_deref())?;
    let mut out = String::new();
    if inv.found.is_empty() {
        out.push_str(&match &args.profile {
            Some(p) => {
                format!("no sessions for profile `{p}`; run `eksop-auth login --profile {p}`\n")
            }
            None => "no sessions; run `eksop-auth login --profile <profile>` to start one\n".into(),
        });
    }
    for found in &inv.found {
        out.push_str(&describe_found(ctx, found));
        if args.verify
            && !found.is_old()
            && let Some(profile) = &found.profile
        {
            let verdict = match verify(ctx, profile) {
                Ok(arn) => format!("{arn} (this is who the cluster sees)"),
                Err(why) => format!("NO: {why}"),
            };
            out.push_str(&format!("  verified  {verdict}\n"));
        }
    }
    for (backend, why) in &inv.unreachable {
        out.push_str(&format!(
            "(could not search {backend}: {why}; sessions kept only there are not listed)\n"
        ));
    }
    ctx.stdout
        .write_all(out.as_bytes())
        .and_then(|()| ctx.stdout.flush())
        .map_err(Error::Output)
}

fn describe_found(ctx: &Ctx, f: &Found) -> String {
    let stores: Vec<_> = f.copies.iter().map(|(b, _)| *b).collect();
    if f.is_old() {
        return format!(
            "a record of an older eksop-auth in {} (key `{}`): it cannot be used; `eksop-auth \
             logout --all` removes it\n",
            describe(&stores),
            f.key
        );
    }
    let name = f
        .profile
        .clone()
        .unwrap_or_else(|| format!("(record {})", f.key));
    let logout_hint = format!("`eksop-auth logout --profile {name}` removes it");
    let meta = match &f.meta {
        Meta::Present(m) => Some(m),
        _ => None,
    };
    let Some(s) = f.session() else {
        if !f.copies.is_empty() {
            return format!(
                "profile {name}\n  store     {}\n  record    damaged, not ours, or from an older \
                 eksop-auth; `eksop-auth login --profile {name}` replaces it\n",
                describe(&stores)
            );
        }
        let last = meta
            .filter(|m| !m.assumed_arn.is_empty())
            .map_or_else(String::new, |m| {
                format!(
                    " (last: {} until {})",
                    m.assumed_arn,
                    local_time(m.expires())
                )
            });
        return format!(
            "profile {name}\n  no session record is found here{last}; only metadata is left \
             ({logout_hint})\n"
        );
    };
    let when = match s.expires_at().duration_since(ctx.now()) {
        Ok(left) => format!("in {}", human_duration(left)),
        Err(e) => format!("expired {} ago", human_duration(e.duration())),
    };
    let mut text = format!(
        "profile {name}\n  role      {}\n  identity  {}\n  expires   {} ({when})\n  store     {}\n",
        s.origin.role_arn,
        s.assumed_arn,
        local_time(s.expires_at()),
        describe(&stores)
    );
    if let Some(line) = crate::identity::kubernetes_line(&s.assumed_arn) {
        text.push_str(&format!("  k8s user  {line}\n"));
    }
    if let Some(si) = &s.source_identity {
        text.push_str(&format!(
            "  source    identity `{si}` (recorded by CloudTrail)\n"
        ));
    }
    if matches!(f.meta, Meta::Damaged) {
        text.push_str(
            "  state     its metadata is damaged, so it is not used; `eksop-auth login` \
             replaces both\n",
        );
    } else if let Some(at) = meta.and_then(|m| m.logged_out())
        && s.issued_at <= at
    {
        text.push_str(&format!(
            "  state     logged out at {}, but this copy could not be removed; {logout_hint}\n",
            local_time(at)
        ));
    }
    text
}

/// GetCallerIdentity with the stored session of `profile`, if the profile still names the
/// identity that made it.
fn verify(ctx: &mut Ctx, profile: &str) -> std::result::Result<String, String> {
    let args = AwsArgs {
        profile: Some(profile.to_string()),
        region: None,
    };
    let settings = ctx.settings(&args).map_err(|e| e.to_string())?;
    let op = settings.require_operator().map_err(|e| e.to_string())?;
    let session = stored_any_age(ctx, &settings, &op)
        .map_err(|why| format!("{why}; run `eksop-auth login --profile {profile}`"))?;
    let arn = ctx
        .aws
        .caller_identity(&session.creds, &settings.endpoint)
        .map_err(|e| e.to_string())?
        .arn;
    // A session named after someone else: the profile's keys changed hands since (or an
    // older eksop-auth named it after the MFA device).
    if op.role_session_name.is_none() {
        let source = settings.source_of(&op.source_profile, false);
        let creds = crate::session::load_credentials(ctx, &settings, source)
            .map_err(|e| format!("cannot check the session name: {e}"))?;
        let user = ctx
            .aws
            .caller_identity(&creds, &settings.endpoint)
            .map_err(|e| format!("cannot check the session name: {e}"))?;
        let name = crate::identity::session_name_of(&arn).unwrap_or_default();
        if name != user.name {
            return Err(format!(
                "the session is named `{name}`, not after `{}` ({}), the IAM user the \
                 profile's source keys belong to now: an older eksop-auth named sessions after \
                 the MFA device, or the keys behind the profile changed hands; run `eksop-auth \
                 login --profile {profile}` for a session in that user's name",
                user.name, user.arn
            ));
        }
    }
    Ok(arn)
}
