//! `eksop-auth setup`: writes the eks-operator profile into `~/.aws/config` and the cluster,
//! user (exec block) and context into kubeconfig. Both files are edited by pure functions
//! and written under their `.lock` files, re-read under the lock, atomically, with the
//! original's permissions after a one-time backup, and only when something changed; a
//! file the user made read-only is left alone. `--dry-run` prints the diff instead, and
//! works before any login.

use std::path::Path;
use std::time::Duration;

use crate::aws::DescribeClusterRequest;
use crate::awsconfig::upsert_profile;
use crate::awsconfig::{DEFAULT_DURATION_SECONDS, OperatorProfile, is_valid_profile_name};
use crate::cli::{AwsArgs, SetupArgs};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::filelock;
use crate::fsutil::{read_optional, write_if_changed};
use crate::kubeconfig::{self, cluster_arn};
use crate::session::{self, Want};
use crate::settings::{ConfigFiles, Settings};
use crate::textdiff::unified_diff;
use crate::timefmt::local_time;

/// How long `setup` waits for another writer of the same file.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// What DescribeCluster provides, when a dry run has no session to ask it with.
const FROM_EKS: &str = "<from EKS DescribeCluster at the first login>";

/// Where the cluster's endpoint and CA came from.
struct Cluster {
    server: String,
    ca_data: String,
    arn: String,
    /// The session's end, when one was at hand (stored, or just made).
    session_until: Option<std::time::SystemTime>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &SetupArgs) -> Result<()> {
    check_flags(args)?;
    let exe = ctx
        .env
        .current_exe()
        .map_err(|e| Error::Internal(format!("cannot find this program's path: {e}")))?
        .to_string_lossy()
        .into_owned();
    let files = ConfigFiles::load(&ctx.env)?;
    let (new_config, region) = edit_aws_config(args, &files, &exe)?;

    // Everything below reads the edited profile, not yet written.
    let aws_args = AwsArgs {
        profile: Some(args.profile.clone()),
        region: Some(region.clone()),
    };
    let edited = files.clone().with_config_text(new_config.clone())?;
    let settings = ctx.settings_from(edited, &aws_args)?;
    let op = settings.require_operator()?;

    // Refuse a kubeconfig we cannot edit before asking for MFA or calling AWS.
    let kube_path = args
        .kubeconfig
        .clone()
        .unwrap_or_else(|| kubeconfig::default_path(&ctx.env));
    let old_kube = read_text(&kube_path)?;
    kubeconfig::check(old_kube.as_deref()).map_err(|e| cannot_edit(&kube_path, &e))?;

    let cluster = cluster(ctx, args, &settings, &op, &region)?;
    let entry = entry(args, &exe, &region, &cluster);
    if args.dry_run {
        return show(
            ctx,
            &files,
            &new_config,
            &kube_path,
            old_kube.as_deref(),
            &entry,
        );
    }
    write_both(ctx, args, &exe, &kube_path, &entry)?;
    ctx.log.line(format_args!(
        "Next: {}",
        match cluster.session_until {
            Some(until) => format!(
                "`kubectl get nodes` (you are logged in until {})",
                local_time(until)
            ),
            None => format!(
                "`eksop-auth login --profile {}`, then `kubectl get nodes`",
                args.profile
            ),
        }
    ));
    Ok(())
}

fn cannot_edit(path: &Path, why: &kubeconfig::KubeconfigError) -> Error {
    Error::Config(format!(
        "{} is not a kubeconfig eksop-auth can edit ({why}); fix it or pass --kubeconfig PATH; \
         nothing was changed",
        path.display()
    ))
}

fn read_text(path: &Path) -> Result<Option<String>> {
    Ok(read_optional(path)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

fn check_flags(args: &SetupArgs) -> Result<()> {
    if args.endpoint.is_some() != args.certificate_authority_data.is_some() {
        return Err(Error::Config(
            "--endpoint and --certificate-authority-data go together; pass both, or neither to \
             read them from EKS"
                .into(),
        ));
    }
    for name in std::iter::once(&args.profile).chain(args.cli_profile.as_ref()) {
        if !is_valid_profile_name(name) {
            return Err(Error::Config(format!(
                "`{name}` cannot be a profile name (no brackets, `#`, `;`, spaces or line \
                 breaks); pick another"
            )));
        }
    }
    if args.cli_profile.as_ref() == Some(&args.profile) {
        return Err(Error::Config(
            "--cli-profile must differ from --profile (it holds only credential_process)".into(),
        ));
    }
    if args.cluster.trim().is_empty() || args.cluster.chars().any(char::is_control) {
        return Err(Error::Config(
            "--cluster must be the EKS cluster name, e.g. --cluster prod".into(),
        ));
    }
    match args.duration {
        Some(d) if !(900..=43_200).contains(&d) => Err(Error::Config(format!(
            "--duration {d} is out of range; use 900 to 43200 seconds (12 h)"
        ))),
        _ => Ok(()),
    }
}

/// The new `~/.aws/config` text and the region: given flags win, missing flags keep what
/// is there.
fn edit_aws_config(args: &SetupArgs, files: &ConfigFiles, exe: &str) -> Result<(String, String)> {
    if !files.config_is_utf8 {
        return Err(Error::Config(format!(
            "{} is not UTF-8 text, so eksop-auth will not rewrite it; convert it to UTF-8 and \
             run setup again; nothing was changed",
            files.config_path.display()
        )));
    }
    let existing = files.profiles.get(&args.profile);
    let has = |k: &str| existing.is_some_and(|p| p.has(k));
    let mut values: Vec<(&str, String)> = Vec::new();
    for (key, flag, value) in [
        ("source_profile", "--source-profile", &args.source_profile),
        ("role_arn", "--role-arn", &args.role_arn),
        ("mfa_serial", "--mfa-serial", &args.mfa_serial),
    ] {
        match value {
            Some(v) => values.push((key, v.clone())),
            None if has(key) => {}
            None => {
                return Err(Error::Config(format!(
                    "profile `{}` has no `{key}` in {}; pass {flag}",
                    args.profile,
                    files.config_path.display()
                )));
            }
        }
    }
    match args.duration {
        Some(d) => values.push(("duration_seconds", d.to_string())),
        None if !has("duration_seconds") => {
            values.push(("duration_seconds", DEFAULT_DURATION_SECONDS.to_string()))
        }
        None => {}
    }
    let region = args
        .region
        .clone()
        .or_else(|| existing.and_then(|p| p.get("region")).map(String::from))
        .ok_or_else(|| {
            Error::Config(format!(
                "profile `{}` has no region; pass --region (e.g. --region ap-northeast-1)",
                args.profile
            ))
        })?;
    values.push(("region", region.clone()));
    if let Some(cmd) = &args.mfa_process {
        values.push(("mfa_process", cmd.clone()));
    }
    let refuse = |e: crate::awsconfig::EditError| {
        Error::Config(format!(
            "{}: {e}; nothing was changed",
            files.config_path.display()
        ))
    };
    let mut text = upsert_profile(&files.config_text, &args.profile, &values).map_err(refuse)?;
    if let Some(cli) = &args.cli_profile {
        if let Some(p) = files.profiles.get(cli)
            && (p.has("role_arn") || p.has("source_profile"))
        {
            return Err(Error::Config(format!(
                "profile `{cli}` in {} has role_arn/source_profile, so aws-cli would assume the \
                 role itself; pick another --cli-profile name or remove those keys",
                files.config_path.display()
            )));
        }
        let quoted = if exe.contains(' ') {
            format!("\"{exe}\"")
        } else {
            exe.to_string()
        };
        let line = format!("{quoted} credential-process --profile {}", args.profile);
        let cli_values = [("credential_process", line), ("region", region.clone())];
        text = upsert_profile(&text, cli, &cli_values).map_err(refuse)?;
    }
    Ok((text, region))
}

/// Server, CA and ARN: from the flags, else from EKS DescribeCluster with the session —
/// or, for a dry run without one, marked as what DescribeCluster will provide.
fn cluster(
    ctx: &mut Ctx,
    args: &SetupArgs,
    settings: &Settings,
    op: &OperatorProfile,
    region: &str,
) -> Result<Cluster> {
    let arn = || cluster_arn(&op.role_arn, region, &args.cluster);
    if let (Some(e), Some(ca)) = (&args.endpoint, &args.certificate_authority_data) {
        let session_until = session::stored(ctx, settings, op)
            .ok()
            .map(|s| s.expires_at());
        return Ok(Cluster {
            server: e.clone(),
            ca_data: ca.clone(),
            arn: arn(),
            session_until,
        });
    }
    let session = if args.dry_run {
        // A dry run changes nothing: it uses a stored session, or shows what it would ask.
        match session::stored(ctx, settings, op) {
            Ok(s) => s,
            Err(_) => {
                return Ok(Cluster {
                    server: FROM_EKS.into(),
                    ca_data: FROM_EKS.into(),
                    arn: arn(),
                    session_until: None,
                });
            }
        }
    } else {
        session::obtain(ctx, settings, op, None, Want::Cached)?
    };
    let info = ctx.aws.describe_cluster(&DescribeClusterRequest {
        creds: &session.creds,
        region,
        endpoint_url: settings.eks_endpoint_url.as_deref(),
        name: &args.cluster,
    })?;
    Ok(Cluster {
        server: info.endpoint,
        ca_data: info.ca_data,
        arn: info.arn,
        session_until: Some(session.expires_at()),
    })
}

fn entry(args: &SetupArgs, exe: &str, region: &str, c: &Cluster) -> kubeconfig::Entry {
    kubeconfig::Entry {
        name: c.arn.clone(),
        context: args.alias.clone().unwrap_or_else(|| c.arn.clone()),
        server: c.server.clone(),
        ca_data: c.ca_data.clone(),
        command: exe.to_string(),
        args: [
            "token",
            "--cluster",
            &args.cluster,
            "--profile",
            &args.profile,
            "--region",
            region,
        ]
        .map(String::from)
        .to_vec(),
    }
}

/// The two diffs; the kubeconfig one in kubectl's layout, every secret redacted.
fn show(
    ctx: &mut Ctx,
    files: &ConfigFiles,
    new_config: &str,
    kube_path: &Path,
    old_kube: Option<&str>,
    entry: &kubeconfig::Entry,
) -> Result<()> {
    let old_config = if files.config_existed {
        files.config_text.as_str()
    } else {
        ""
    };
    let mut out = unified_diff(&files.config_path, old_config, new_config);
    let new_kube = kubeconfig::upsert(old_kube, entry).map_err(|e| cannot_edit(kube_path, &e))?;
    let redact = |t: &str| kubeconfig::redacted(t).map_err(|e| cannot_edit(kube_path, &e));
    out.push_str(&unified_diff(
        kube_path,
        &redact(old_kube.unwrap_or(""))?,
        &redact(&new_kube)?,
    ));
    if out.is_empty() {
        out.push_str("no changes\n");
    }
    ctx.stdout.write_all(out.as_bytes()).map_err(Error::Output)
}

/// Both files under their `.lock`s (always in this order, so two setups cannot wait on
/// each other), each re-read under its lock so a change made meanwhile is kept.
fn write_both(
    ctx: &mut Ctx,
    args: &SetupArgs,
    exe: &str,
    kube_path: &Path,
    entry: &kubeconfig::Entry,
) -> Result<()> {
    let config_path = ConfigFiles::load(&ctx.env)?.config_path;
    let _config_lock = filelock::lock(&config_path, LOCK_WAIT)?;
    let _kube_lock = filelock::lock(kube_path, LOCK_WAIT)?;
    let files = ConfigFiles::load(&ctx.env)?;
    let (new_config, _) = edit_aws_config(args, &files, exe)?;
    let old_config = files.config_existed.then(|| files.config_text.clone());
    let old_kube = read_text(kube_path)?;
    let new_kube =
        kubeconfig::upsert(old_kube.as_deref(), entry).map_err(|e| cannot_edit(kube_path, &e))?;
    let config_changes = old_config.as_deref() != Some(new_config.as_str());
    let kube_changes = old_kube.as_deref() != Some(new_kube.as_str());
    if config_changes {
        refuse_read_only(&config_path, "point AWS_CONFIG_FILE at another file")?;
    }
    if kube_changes {
        refuse_read_only(kube_path, "pass --kubeconfig PATH")?;
    }
    let aws_changed = write_if_changed(&config_path, old_config.as_deref(), &new_config)?;
    let kube_changed = write_if_changed(kube_path, old_kube.as_deref(), &new_kube)?;
    let said = |changed: bool| if changed { "updated" } else { "unchanged" };
    ctx.log.line(format_args!(
        "{} {}: [profile {}]{}",
        said(aws_changed),
        config_path.display(),
        args.profile,
        args.cli_profile
            .as_ref()
            .map(|c| format!(", [profile {c}] (credential_process, region)"))
            .unwrap_or_default()
    ));
    ctx.log.line(format_args!(
        "{} {}: cluster and user {}, context {} (current)",
        said(kube_changed),
        kube_path.display(),
        entry.name,
        entry.context
    ));
    Ok(())
}

/// A file without its owner's write bit is the user's decision to keep it as it is.
fn refuse_read_only(path: &Path, alternative: &'static str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            let mode = m.permissions().mode() & 0o7777;
            if mode & 0o200 == 0 {
                return Err(Error::ReadOnly {
                    path: path.to_path_buf(),
                    mode,
                    alternative,
                });
            }
        }
    }
    #[cfg(not(unix))]
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
        return Err(Error::ReadOnly {
            path: path.to_path_buf(),
            mode: 0o444,
            alternative,
        });
    }
    Ok(())
}
