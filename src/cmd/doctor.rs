//! `eksop-auth doctor`: a checklist of everything between a person and a working kubectl,
//! each failure with its fix. Runs without a terminal, bounds every network check, and
//! never prints a token, a presigned URL or a secret.

use std::io::Write;
use std::time::Duration;

use crate::aws::{Review, ReviewRequest};
use crate::awsconfig::OperatorProfile;
use crate::cli::DoctorArgs;
use crate::credentials::key_id_for_display;
use crate::ctx::Ctx;
use crate::eks_token;
use crate::error::{Error, Result};
use crate::identity;
use crate::kubeconfig::{self, EXEC_API_VERSION, kuberc};
use crate::mfa::{self, Caller, PromptMode, SourceKind};
use crate::protocol::ApiVersion;
use crate::secret::Secret;
use crate::session::{self, Session};
use crate::settings::Settings;
use crate::timefmt::human_duration;

/// More than this between our clock and STS breaks SigV4 (AWS allows 5 minutes) and TOTP.
const MAX_SKEW: Duration = Duration::from_secs(60);
const PROBE_KEY: &str = "eksop-auth-doctor-probe";

#[derive(Default)]
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

    fn check<T>(
        &mut self,
        what: &str,
        r: std::result::Result<T, String>,
        ok: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match r {
            Ok(v) => {
                self.ok(what, ok(&v));
                Some(v)
            }
            Err(e) => {
                self.fail(what, e);
                None
            }
        }
    }
}

pub(crate) fn run(ctx: &mut Ctx, args: &DoctorArgs) -> Result<()> {
    let mut r = Report::default();
    let settings = match ctx.settings(&args.aws) {
        Ok(s) => Some(s),
        Err(e) => {
            r.fail("profile", e.to_string());
            None
        }
    };
    let op = settings.as_ref().and_then(|s| {
        let op = s.require_operator().map_err(|e| e.to_string());
        r.check("profile", op, |op| describe_profile(op, s))
    });
    match (&settings, &op) {
        (Some(s), Some(op)) => {
            let source = s.source_of(&op.source_profile, false);
            let creds = session::load_credentials(ctx, s, source).map_err(|e| e.to_string());
            r.check("source credentials", creds, |c| {
                format!(
                    "profile `{}`, access key {}",
                    op.source_profile,
                    key_id_for_display(&c.access_key_id)
                )
            });
        }
        _ => r.skip("source credentials", "no usable profile"),
    }
    check_store(ctx, &mut r);
    check_code_source(ctx, &mut r, op.as_ref());
    match &settings {
        Some(s) => check_clock(ctx, &mut r, s),
        None => r.skip("clock", "no usable profile to find the STS endpoint"),
    }
    let live = match (&settings, &op) {
        (Some(s), Some(op)) => r.check(
            "session",
            session::stored(ctx, s, op)
                .map_err(|why| format!("{why}; run `eksop-auth login --profile {}`", op.name)),
            |s| {
                format!(
                    "{} for another {}",
                    s.assumed_arn,
                    human_duration(s.expires_at().duration_since(ctx.now()).unwrap_or_default())
                )
            },
        ),
        _ => {
            r.skip("session", "no usable profile");
            None
        }
    };
    let user = match (&args.cluster, &op) {
        (Some(cluster), Some(op)) => check_kubeconfig(ctx, &mut r, cluster, op),
        (None, _) => {
            r.skip("kubeconfig", "pass --cluster to check its entry");
            None
        }
        _ => {
            r.skip("kubeconfig", "no usable profile");
            None
        }
    };
    match (&args.cluster, &op, &user) {
        (Some(cluster), Some(op), Some(user)) => check_kuberc(ctx, &mut r, cluster, op, user),
        _ => r.skip(KUBERC, "needs --cluster and its kubeconfig entry"),
    }
    check_no_terminal(ctx, &mut r, op.as_ref(), user.as_ref());
    match (&settings, &live) {
        (Some(s), Some(session)) => self_test(ctx, &mut r, s, session, args.cluster.as_deref()),
        _ => r.skip("token self-test", "needs a stored session"),
    }
    match (&settings, &live, &args.cluster, &user) {
        (Some(s), Some(session), Some(cluster), Some(user)) => {
            check_cluster_user(ctx, &mut r, s, session, cluster, user);
        }
        (_, _, None, _) => r.skip(CLUSTER_USER, "pass --cluster to ask the cluster"),
        _ => r.skip(
            CLUSTER_USER,
            "needs a stored session and the cluster's kubeconfig entry",
        ),
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
    match r.failed {
        0 => Ok(()),
        failed => Err(Error::ChecksFailed { failed }),
    }
}

fn describe_profile(op: &OperatorProfile, s: &Settings) -> String {
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
    )
}

/// A write and a read of a probe record.
fn check_store(ctx: &Ctx, r: &mut Report) {
    let store = match ctx.session_store() {
        Ok(s) => s,
        Err(e) => return r.fail("session store", e.to_string()),
    };
    let probe = Secret::new("probe".to_string());
    let works = store
        .set(PROBE_KEY, &probe, "eksop-auth doctor probe")
        .and_then(|()| store.get(PROBE_KEY));
    let _ = store.delete(PROBE_KEY);
    let name = crate::store::describe(&store.backends());
    match works {
        Ok(Some(v)) if v == probe => r.ok("session store", format!("{name} reads and writes")),
        Ok(_) => r.fail(
            "session store",
            format!(
                "{name} accepted a write but did not return it; unlock the keyring or set \
                 EKSOP_AUTH_STORE=file"
            ),
        ),
        Err(e) => r.fail(
            "session store",
            format!("{e}; unlock the keyring, or set EKSOP_AUTH_STORE=file"),
        ),
    }
}

/// The same rule `token` and `login` follow, for a caller like this one.
fn check_code_source(ctx: &Ctx, r: &mut Report, op: Option<&OperatorProfile>) {
    let Some(op) = op else {
        return r.skip("MFA code source", "no usable profile");
    };
    let caller = Caller {
        interactive: None,
        stdin_is_terminal: ctx.stdin_is_terminal,
    };
    let mode = match PromptMode::from_env(&ctx.env) {
        Ok(m) => m,
        Err(e) => return r.fail("MFA code source", e.to_string()),
    };
    match mfa::choose(op, caller, mode, ctx.sources.as_ref()) {
        Ok(SourceKind::Process(_)) => r.ok("MFA code source", "mfa_process (no terminal needed)"),
        Ok(SourceKind::Terminal) => {
            r.ok("MFA code source", "a controlling terminal for the prompt")
        }
        Ok(SourceKind::Dialog(tool)) => r.ok(
            "MFA code source",
            format!(
                "no terminal here: a {} dialog (EKSOP_AUTH_PROMPT=gui)",
                tool.name()
            ),
        ),
        Err(nobody) => r.fail(
            "MFA code source",
            format!(
                "{nobody}: nobody can type a code here; run `eksop-auth login` in a terminal \
                 first, or add `mfa_process` to the profile"
            ),
        ),
    }
}

fn check_clock(ctx: &Ctx, r: &mut Report, s: &Settings) {
    let url = &s.endpoint.base_url;
    match ctx.aws.probe_sts(url, None) {
        Ok(p) => match p.date {
            Some(server) => {
                let now = ctx.now();
                let skew = now.duration_since(server).unwrap_or_else(|e| e.duration());
                if skew <= MAX_SKEW {
                    r.ok(
                        "clock",
                        format!("within {}s of STS at {url}", skew.as_secs()),
                    );
                } else {
                    r.fail(
                        "clock",
                        format!(
                            "{}s off from STS; SigV4 and MFA codes need the right time: enable \
                             NTP (e.g. `timedatectl set-ntp true`)",
                            skew.as_secs()
                        ),
                    );
                }
            }
            None => r.fail("clock", format!("STS at {url} sent no Date header")),
        },
        Err(e) => r.fail("clock", e.to_string()),
    }
}

/// A fresh token, checked by STS the way the EKS API server checks it.
fn self_test(ctx: &Ctx, r: &mut Report, s: &Settings, session: &Session, cluster: Option<&str>) {
    let cluster = cluster.unwrap_or("eksop-auth-doctor");
    let result = eks_token::presigned_url(&session.creds, cluster, &s.endpoint, ctx.now())
        .and_then(|url| ctx.aws.probe_sts(url.expose(), Some(cluster)));
    match result {
        Ok(p) if p.status == 200 && p.arn.is_some() => r.ok(
            "token self-test",
            format!(
                "STS accepted a fresh token; the cluster will see {}",
                p.arn.unwrap_or_default()
            ),
        ),
        Ok(p) => r.fail(
            "token self-test",
            format!(
                "STS refused a fresh token (HTTP {}: {}); run `eksop-auth login --profile {}`",
                p.status, p.detail, s.profile_name
            ),
        ),
        Err(e) => r.fail("token self-test", e.to_string()),
    }
}

const CLUSTER_USER: &str = "kubernetes user";
const KUBERC: &str = "kubectl plugin policy";

/// Whether kubectl ≥ 1.35 may run the kubeconfig's exec command, by kuberc's
/// credential-plugin policy (which compares the command as written, or finds a bare name
/// on PATH; symlinks are not resolved).
fn check_kuberc(
    ctx: &Ctx,
    r: &mut Report,
    cluster: &str,
    op: &OperatorProfile,
    user: &kubeconfig::ExecUser,
) {
    let Some(path) = kuberc::path(&ctx.env) else {
        return r.skip(KUBERC, "KUBERC=off: kubectl reads no kuberc");
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return r.fail(KUBERC, format!("cannot read {}: {e}", path.display())),
    };
    let policy = match kuberc::policy(text.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            return r.fail(
                KUBERC,
                format!(
                    "{} cannot be read ({e}); kubectl ≥ 1.35 fails on it too: fix it",
                    path.display()
                ),
            );
        }
    };
    let command = &user.command;
    let lookup = kuberc::path_lookup(&ctx.env);
    let fix = format!(
        "run `eksop-auth setup --cluster {cluster} --profile {}` (it adds the command to an \
         Allowlist), or put `- name: {command}` under credentialPluginAllowlist in {}",
        op.name,
        path.display()
    );
    match policy {
        kuberc::Policy::Unset if text.is_none() => r.ok(
            KUBERC,
            format!("no kuberc at {}: kubectl runs every plugin", path.display()),
        ),
        p if p.allows(command, &lookup) => r.ok(
            KUBERC,
            format!(
                "{}: credentialPluginPolicy {} lets kubectl run {command}",
                path.display(),
                p.name()
            ),
        ),
        kuberc::Policy::DenyAll => r.fail(
            KUBERC,
            format!(
                "{}: credentialPluginPolicy DenyAll: kubectl ≥ 1.35 refuses {command} (\"plugin \
                 not allowed\"); change it to Allowlist with `- name: {command}`",
                path.display()
            ),
        ),
        p => r.fail(
            KUBERC,
            format!(
                "{}: credentialPluginPolicy {} does not list {command} (as written, or as a bare name on PATH), so kubectl ≥ \
                 1.35 refuses it (\"not permitted by the credential plugin allowlist\"); {fix}",
                path.display(),
                p.name()
            ),
        ),
    }
}

/// Who the cluster says the session is: a SelfSubjectReview (`kubectl auth whoami`) with a
/// fresh token, sent to the server of the kubeconfig context that uses our user.
fn check_cluster_user(
    ctx: &Ctx,
    r: &mut Report,
    s: &Settings,
    session: &Session,
    cluster: &str,
    user: &kubeconfig::ExecUser,
) {
    use base64::Engine as _;
    let path = kubeconfig::default_path(&ctx.env);
    let Some((server, ca)) = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| kubeconfig::cluster_of_user(&t, &user.name, cluster))
    else {
        return r.skip(
            CLUSTER_USER,
            &format!(
                "no context in {} uses user `{}` with a server and certificate-authority-data",
                path.display(),
                user.name
            ),
        );
    };
    // The token is a bearer credential: never over plain HTTP.
    if !server.starts_with("https://") {
        return r.fail(
            CLUSTER_USER,
            format!(
                "the server of cluster {cluster} in {} is `{server}`, not https://; no token is \
                 sent to it. Run `eksop-auth setup --cluster {cluster}` to write the EKS \
                 endpoint",
                path.display()
            ),
        );
    }
    let Ok(ca_pem) = base64::engine::general_purpose::STANDARD.decode(ca.trim()) else {
        return r.fail(
            CLUSTER_USER,
            format!(
                "the certificate-authority-data of {server} in {} is not base64; run `eksop-auth \
                 setup --cluster {cluster}` to write it again",
                path.display()
            ),
        );
    };
    let review =
        eks_token::presign(&session.creds, cluster, &s.endpoint, ctx.now()).and_then(|token| {
            ctx.aws.self_subject_review(&ReviewRequest {
                server: &server,
                ca_pem: &ca_pem,
                token: &token.token,
            })
        });
    let role = &session.origin.role_arn;
    match review {
        Ok(Review {
            username: Some(name),
            ..
        }) => {
            let expected = identity::kubernetes_names(&session.assumed_arn);
            let odd = match expected {
                Some((aws_auth, entry)) if name != aws_auth && name != entry => format!(
                    "; expected `{aws_auth}` (aws-auth) or `{entry}` (access entry): the \
                     cluster's mapping of {role} names users another way"
                ),
                _ => String::new(),
            };
            r.ok(
                CLUSTER_USER,
                format!("{server} says you are `{name}` (SelfSubjectReview){odd}"),
            );
        }
        Ok(Review { status: 401, .. }) => r.fail(
            CLUSTER_USER,
            format!(
                "{server} refused the token (401 Unauthorized) although STS accepted it: the \
                 cluster does not map {role} (or no longer does, after a rotation). Map it with \
                 deploy/access-entry.sh or deploy/aws-auth-configmap.yaml, or, if the role was \
                 rotated, run `eksop-auth setup --role-arn <the new role>` and log in again"
            ),
        ),
        Ok(Review {
            status: status @ 403..=405,
            ..
        }) => r.skip(
            CLUSTER_USER,
            &format!(
                "{server} took the token but does not answer SelfSubjectReview (HTTP {status}; \
                 Kubernetes before 1.28 lacks it), so the user name is not confirmed"
            ),
        ),
        Ok(Review { status, .. }) if (200..300).contains(&status) => r.fail(
            CLUSTER_USER,
            format!("{server} answered SelfSubjectReview without a readable user name"),
        ),
        Ok(Review {
            status, message, ..
        }) => r.fail(
            CLUSTER_USER,
            format!("{server} answered SelfSubjectReview with HTTP {status}: {message}"),
        ),
        Err(e) => r.fail(CLUSTER_USER, e.to_string()),
    }
}

/// What a caller that gives no terminal (Lens, an IDE, a detached kubectl) gets: the
/// prompt mode its kubeconfig entry sets (else this shell's), and what that mode can do on
/// this machine.
fn check_no_terminal(
    ctx: &Ctx,
    r: &mut Report,
    op: Option<&OperatorProfile>,
    user: Option<&kubeconfig::ExecUser>,
) {
    const WHAT: &str = "callers without a terminal";
    let Some(op) = op else {
        return r.skip(WHAT, "no usable profile");
    };
    if op.mfa_process.is_some() {
        return r.ok(WHAT, "mfa_process gives them the code");
    }
    let from_entry = user.and_then(|u| {
        u.env
            .iter()
            .rev()
            .find(|(k, _)| k == PromptMode::VAR)
            .map(|(_, v)| (v.clone(), format!("kubeconfig user `{}`", u.name)))
    });
    let (value, from) = match from_entry {
        Some(found) => found,
        None => match ctx.env.get(PromptMode::VAR) {
            Some(v) => (
                v.to_string(),
                "this shell's environment, which a desktop app may not have; `eksop-auth setup \
                 --prompt` puts it in the kubeconfig"
                    .to_string(),
            ),
            None => ("terminal".to_string(), "the default".to_string()),
        },
    };
    let Some(mode) = PromptMode::parse(&value) else {
        return r.fail(
            WHAT,
            format!(
                "{}={value:?} ({from}) is not a prompt mode; use terminal, gui or none",
                PromptMode::VAR
            ),
        );
    };
    let setting = format!("{}={} ({from})", PromptMode::VAR, mode.as_str());
    let hint = format!(
        "they fail at once with the `eksop-auth login --profile {}` hint",
        op.name
    );
    match mode {
        PromptMode::Terminal => r.ok(
            WHAT,
            format!(
                "{setting}: {hint}; `eksop-auth setup --prompt gui` gives them a desktop dialog"
            ),
        ),
        PromptMode::None => r.ok(WHAT, format!("{setting}: {hint}")),
        PromptMode::Gui => {
            let os = mfa::dialog::Os::this();
            match mfa::dialog::find_tool(&ctx.env, os) {
                Err(why) => r.fail(WHAT, format!("{setting}, but {why}; until then {hint}")),
                Ok(tool) => {
                    let display = match mfa::dialog::desktop(&ctx.env, os) {
                        Ok(()) => String::new(),
                        Err(why) => format!(
                            " when they run in a desktop session (this shell is not in one: {why})"
                        ),
                    };
                    let window = crate::session::dismiss_window(ctx)
                        .map(|w| w.as_secs().to_string())
                        .unwrap_or_else(|_| "?".into());
                    r.ok(
                        WHAT,
                        format!(
                            "{setting}: a {} dialog{display}, naming the profile, the device and \
                             the program that asks; one at a time, and none for {window}s after \
                             one is dismissed",
                            tool.name()
                        ),
                    )
                }
            }
        }
    }
}

/// The kubeconfig user that runs this binary for `cluster` with a sane exec block.
fn check_kubeconfig(
    ctx: &Ctx,
    r: &mut Report,
    cluster: &str,
    op: &OperatorProfile,
) -> Option<kubeconfig::ExecUser> {
    let path = kubeconfig::default_path(&ctx.env);
    let fix = format!(
        "run `eksop-auth setup --cluster {cluster} --profile {}`",
        op.name
    );
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            r.fail(
                "kubeconfig",
                format!("cannot read {} ({e}); {fix}", path.display()),
            );
            return None;
        }
    };
    let user = match kubeconfig::find_exec_user(&text, cluster) {
        Ok(Some(u)) => u,
        Ok(None) => {
            r.fail(
                "kubeconfig",
                format!(
                    "{} has no user running `eksop-auth token --cluster {cluster}`; {fix}",
                    path.display()
                ),
            );
            return None;
        }
        Err(e) => {
            r.fail("kubeconfig", format!("{}: {e}", path.display()));
            return None;
        }
    };
    let me = ctx.env.current_exe().ok();
    let points_here = me.as_ref().is_some_and(|m| {
        std::path::Path::new(&user.command)
            .canonicalize()
            .ok()
            .as_ref()
            == Some(m)
    });
    let profile_ok = user
        .args
        .windows(2)
        .any(|w| w[0] == "--profile" && w[1] == op.name);
    let problems: Vec<String> = [
        (!points_here).then(|| {
            format!(
                "its command `{}` is not this eksop-auth ({})",
                user.command,
                me.map(|m| m.display().to_string()).unwrap_or_default()
            )
        }),
        match ApiVersion::parse(&user.api_version) {
            None => Some(format!(
                "apiVersion `{}` is not client.authentication.k8s.io/v1 or {EXEC_API_VERSION}",
                user.api_version
            )),
            Some(ApiVersion::V1Alpha1) => Some(
                "apiVersion client.authentication.k8s.io/v1alpha1 works only with kubectl \
                 before 1.24"
                    .to_string(),
            ),
            Some(_) => None,
        },
        (user.interactive_mode == "Never"
            && op.mfa_process.is_none()
            && !user.env.iter().any(|(k, v)| {
                k == PromptMode::VAR && PromptMode::parse(v) == Some(PromptMode::Gui)
            }))
        .then(|| {
            "interactiveMode Never: kubectl can never let you type an MFA code (add \
             `mfa_process`, or `setup --prompt gui` for a dialog)"
                .to_string()
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
                "user `{}` in {} runs this binary for cluster {cluster}",
                user.name,
                path.display()
            ),
        );
    } else {
        r.fail(
            "kubeconfig",
            format!(
                "user `{}` in {}: {}; {fix}",
                user.name,
                path.display(),
                problems.join("; ")
            ),
        );
    }
    Some(user)
}
