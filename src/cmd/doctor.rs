//! `eksop-auth doctor`: a checklist of everything between a person and a working kubectl,
//! each failure with its fix. Runs without a terminal, bounds every network check, and
//! never prints a token, a presigned URL or a secret.

use std::io::Write;
use std::time::Duration;

use crate::awsconfig::OperatorProfile;
use crate::cli::DoctorArgs;
use crate::cmd::{AwsSettings, default_kubeconfig_path, operator, profile_credentials};
use crate::ctx::Ctx;
use crate::eks_token;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::session::{Session, human_duration, key_id_for_display};
use crate::sessions::{Lookup, Sessions};

/// More than this between our clock and STS breaks SigV4 (AWS allows 5 minutes) and TOTP.
const MAX_SKEW: Duration = Duration::from_secs(60);
const PROBE_PROFILE: &str = "eksop-auth-doctor-probe";

struct Report {
    lines: String,
    failed: usize,
}

impl Report {
    fn ok(&mut self, what: &str, detail: impl AsRef<str>) {
        self.lines
            .push_str(&format!("  ok    {what}: {}\n", detail.as_ref()));
    }

    fn fail(&mut self, what: &str, detail: impl AsRef<str>) {
        self.failed += 1;
        self.lines
            .push_str(&format!("  FAIL  {what}: {}\n", detail.as_ref()));
    }

    fn skip(&mut self, what: &str, why: &str) {
        self.lines
            .push_str(&format!("  --    {what}: skipped ({why})\n"));
    }
}

pub fn run(ctx: &mut Ctx, args: &DoctorArgs) -> Result<()> {
    let mut r = Report {
        lines: String::new(),
        failed: 0,
    };
    let settings = match AwsSettings::resolve(ctx, &args.aws) {
        Ok(s) => Some(s),
        Err(e) => {
            r.fail("profile", e.to_string());
            None
        }
    };
    let op = settings.as_ref().and_then(|s| match operator::require(s) {
        Ok(op) => {
            r.ok(
                "profile",
                format!(
                    "`{}`: role {}, MFA device {}, source profile `{}`, {} sessions, region {}",
                    op.name,
                    op.role_arn,
                    op.mfa_serial,
                    op.source_profile,
                    human_duration(Duration::from_secs(
                        u64::try_from(op.duration_seconds).unwrap_or(0)
                    )),
                    s.region
                        .as_deref()
                        .unwrap_or("(none: set `region` in the profile)")
                ),
            );
            Some(op)
        }
        Err(e) => {
            r.fail("profile", e.to_string());
            None
        }
    });

    match (&settings, &op) {
        (Some(s), Some(op)) => match profile_credentials(ctx, s, &op.source_profile, false) {
            Ok(c) => r.ok(
                "source credentials",
                format!(
                    "profile `{}`, access key {}",
                    op.source_profile,
                    key_id_for_display(&c.access_key_id)
                ),
            ),
            Err(e) => r.fail("source credentials", e.to_string()),
        },
        _ => r.skip("source credentials", "no usable profile"),
    }

    let sessions = match Sessions::open(&ctx.env, &ctx.stores) {
        Ok(s) => {
            let probe = Secret::new("probe".to_string());
            let works = s
                .store
                .set(PROBE_PROFILE, &probe)
                .and_then(|()| s.store.get(PROBE_PROFILE));
            let _ = s.store.delete(PROBE_PROFILE);
            match works {
                Ok(Some(v)) if v == probe => r.ok("session store", format!("{} reads and writes", s.store.backend())),
                Ok(_) => r.fail("session store", format!("{} accepted a write but did not return it; unlock the keyring or set EKSOP_AUTH_STORE=file", s.store.backend())),
                Err(e) => r.fail("session store", format!("{e}; unlock the keyring, or set EKSOP_AUTH_STORE=file")),
            }
            Some(s)
        }
        Err(e) => {
            r.fail("session store", e.to_string());
            None
        }
    };

    match &op {
        Some(op) if op.mfa_process.is_some() => r.ok("MFA code source", "mfa_process (no terminal needed)"),
        _ if ctx.prompter.terminal_available() => r.ok("MFA code source", "a controlling terminal for the prompt"),
        _ => r.fail(
            "MFA code source",
            "no controlling terminal and no `mfa_process`: nobody can type a code here; run `eksop-auth login` in a terminal first, or add `mfa_process` to the profile",
        ),
    }

    if let Some(s) = &settings {
        match ctx.aws.probe_sts(&s.endpoint.base_url, None) {
            Ok(p) => match p.date {
                Some(server) => {
                    let now = ctx.now();
                    let skew = now
                        .duration_since(server)
                        .or_else(|e| Ok::<_, ()>(e.duration()))
                        .unwrap_or_default();
                    if skew <= MAX_SKEW {
                        r.ok(
                            "clock",
                            format!(
                                "within {}s of STS at {}",
                                skew.as_secs(),
                                s.endpoint.base_url
                            ),
                        );
                    } else {
                        r.fail("clock", format!("{}s off from STS; SigV4 and MFA codes need the right time: enable NTP (e.g. `timedatectl set-ntp true`)", skew.as_secs()));
                    }
                }
                None => r.fail(
                    "clock",
                    format!("STS at {} sent no Date header", s.endpoint.base_url),
                ),
            },
            Err(e) => r.fail("clock", e.to_string()),
        }
    } else {
        r.skip("clock", "no usable profile to find the STS endpoint");
    }

    let mut live_session: Option<Session> = None;
    match (&sessions, &op) {
        (Some(sessions), Some(op)) => match sessions.lookup(&op.name, &op.role_arn) {
            Ok(Lookup::Found(s)) => match s.expires_at().duration_since(ctx.now()) {
                Ok(left) if s.is_fresh(ctx.now()) => {
                    r.ok(
                        "session",
                        format!("{} for another {}", s.assumed_arn, human_duration(left)),
                    );
                    live_session = Some(s);
                }
                _ => r.fail(
                    "session",
                    format!(
                        "expired or about to; run `eksop-auth login --profile {}`",
                        op.name
                    ),
                ),
            },
            Ok(Lookup::Missing) => r.fail(
                "session",
                format!("none stored; run `eksop-auth login --profile {}`", op.name),
            ),
            Ok(Lookup::Unusable(why)) => r.fail(
                "session",
                format!("{why}; run `eksop-auth login --profile {}`", op.name),
            ),
            Err(e) => r.fail("session", e.to_string()),
        },
        _ => r.skip("session", "no usable profile or store"),
    }

    match (&args.cluster, &op) {
        (Some(cluster), Some(op)) => check_kubeconfig(ctx, &mut r, cluster, op),
        (None, _) => r.skip("kubeconfig", "pass --cluster to check its entry"),
        _ => r.skip("kubeconfig", "no usable profile"),
    }

    match (&settings, &live_session) {
        (Some(s), Some(session)) => {
            let cluster = args.cluster.as_deref().unwrap_or("eksop-auth-doctor");
            let result = eks_token::presigned_url(&session.creds, cluster, &s.endpoint, ctx.now())
                .and_then(|url| ctx.aws.probe_sts(url.expose(), Some(cluster)));
            match result {
                Ok(p) if p.status == 200 && p.arn.is_some() => r.ok(
                    "token self-test",
                    format!("STS accepted a fresh token; the cluster will see {}", p.arn.unwrap_or_default()),
                ),
                Ok(p) => r.fail("token self-test", format!("STS refused a fresh token (HTTP {}: {}); run `eksop-auth login --profile {}`", p.status, p.detail, s.profile_name)),
                Err(e) => r.fail("token self-test", e.to_string()),
            }
        }
        _ => r.skip("token self-test", "needs a stored session"),
    }

    let verdict = if r.failed == 0 {
        "all checks passed".to_string()
    } else {
        format!("{} check(s) failed", r.failed)
    };
    let text = format!("eksop-auth doctor\n{}{verdict}\n", r.lines);
    ctx.stdout
        .write_all(text.as_bytes())
        .map_err(Error::Output)?;
    if r.failed == 0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "doctor: {verdict}; see the fixes above"
        )))
    }
}

/// The kubeconfig user that runs this binary for `cluster` with a sane exec block.
fn check_kubeconfig(ctx: &Ctx, r: &mut Report, cluster: &str, op: &OperatorProfile) {
    let path = default_kubeconfig_path(&ctx.env);
    let fix = format!(
        "run `eksop-auth setup --cluster {cluster} --profile {}`",
        op.name
    );
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return r.fail(
                "kubeconfig",
                format!("cannot read {} ({e}); {fix}", path.display()),
            );
        }
    };
    let doc: serde_norway::Value = match serde_norway::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            return r.fail(
                "kubeconfig",
                format!("{} is not valid YAML ({e})", path.display()),
            );
        }
    };
    let me = std::env::current_exe().and_then(|p| p.canonicalize()).ok();
    let users = doc
        .get("users")
        .and_then(|u| u.as_sequence())
        .cloned()
        .unwrap_or_default();
    let found = users.iter().find_map(|u| {
        let exec = u.get("user")?.get("exec")?;
        let args: Vec<&str> = exec
            .get("args")?
            .as_sequence()?
            .iter()
            .filter_map(|a| a.as_str())
            .collect();
        args.windows(2)
            .any(|w| w[0] == "--cluster" && w[1] == cluster)
            .then_some(())?;
        Some((
            u.get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("?")
                .to_string(),
            exec.clone(),
            args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ))
    });
    let Some((name, exec, args)) = found else {
        return r.fail(
            "kubeconfig",
            format!(
                "{} has no user running `eksop-auth token --cluster {cluster}`; {fix}",
                path.display()
            ),
        );
    };
    let command = exec.get("command").and_then(|c| c.as_str()).unwrap_or("");
    let points_here = me
        .as_ref()
        .is_some_and(|m| std::path::Path::new(command).canonicalize().ok().as_ref() == Some(m));
    let api = exec
        .get("apiVersion")
        .and_then(|a| a.as_str())
        .unwrap_or("");
    let mode = exec
        .get("interactiveMode")
        .and_then(|a| a.as_str())
        .unwrap_or("IfAvailable");
    let profile_ok = args
        .windows(2)
        .any(|w| w[0] == "--profile" && w[1] == op.name);
    let problems: Vec<String> = [
        (!points_here).then(|| {
            format!(
                "its command `{command}` is not this eksop-auth ({})",
                me.map(|m| m.display().to_string()).unwrap_or_default()
            )
        }),
        (api != crate::protocol::V1 && api != crate::protocol::V1BETA1).then(|| {
            format!("apiVersion `{api}` is not client.authentication.k8s.io/v1 or v1beta1")
        }),
        (mode == "Never").then(|| {
            "interactiveMode Never: kubectl can never let you type an MFA code".to_string()
        }),
        (!profile_ok).then(|| format!("its args do not name --profile {}", op.name)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if problems.is_empty() {
        r.ok(
            "kubeconfig",
            format!(
                "user `{name}` in {} runs this binary for cluster {cluster}",
                path.display()
            ),
        );
    } else {
        r.fail(
            "kubeconfig",
            format!(
                "user `{name}` in {}: {}; {fix}",
                path.display(),
                problems.join("; ")
            ),
        );
    }
}
