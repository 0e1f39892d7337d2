//! `eksop-auth setup`: writes the eks-operator profile into `~/.aws/config` and the cluster,
//! user (exec block) and context into kubeconfig. Both files are edited by pure functions,
//! written atomically with the original's permissions after a one-time backup, and only
//! when something changed; `--dry-run` prints the diff instead.

use std::path::PathBuf;

use crate::aws::DescribeClusterRequest;
use crate::awsconfig::{DEFAULT_DURATION_SECONDS, is_valid_profile_name, upsert_profile};
use crate::cli::{AwsArgs, SetupArgs};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fsutil::{read_optional, write_if_changed};
use crate::kubeconfig::{self, cluster_arn};
use crate::session::{self, Want};
use crate::settings::{ConfigFiles, Settings};
use crate::textdiff::unified_diff;

/// The two edits, computed before anything is written.
struct Plan {
    config_path: PathBuf,
    old_config: Option<String>,
    new_config: String,
    kube_path: PathBuf,
    old_kube: Option<String>,
    new_kube: String,
    entry: kubeconfig::Entry,
}

pub(crate) fn run(ctx: &mut Ctx, args: &SetupArgs) -> Result<()> {
    check_flags(args)?;
    let files = ConfigFiles::load(&ctx.env)?;
    if !files.config_is_utf8 {
        return Err(Error::Config(format!(
            "{} is not UTF-8 text, so eksop-auth will not rewrite it; convert it to UTF-8 and \
             run setup again; nothing was changed",
            files.config_path.display()
        )));
    }
    let exe = ctx
        .env
        .current_exe()
        .map_err(|e| Error::Internal(format!("cannot find this program's path: {e}")))?
        .to_string_lossy()
        .into_owned();
    let (new_config, region) = edit_aws_config(args, &files, &exe)?;

    // Everything below reads the edited profile, not yet written.
    let config_path = files.config_path.clone();
    let old_config = files.config_existed.then(|| files.config_text.clone());
    let aws_args = AwsArgs {
        profile: Some(args.profile.clone()),
        region: Some(region.clone()),
    };
    let settings = ctx.settings_from(files.with_config_text(new_config.clone()), &aws_args)?;
    let op = settings.require_operator()?;

    // Refuse a kubeconfig we cannot edit before asking for MFA or calling AWS.
    let kube_path = args
        .kubeconfig
        .clone()
        .unwrap_or_else(|| kubeconfig::default_path(&ctx.env));
    let old_kube = read_optional(&kube_path)?.map(|b| String::from_utf8_lossy(&b).into_owned());
    let cannot_edit = |why: kubeconfig::KubeconfigError| {
        Error::Config(format!(
            "{} is not a kubeconfig eksop-auth can edit ({why}); fix it or pass --kubeconfig \
             PATH; nothing was changed",
            kube_path.display()
        ))
    };
    kubeconfig::check(old_kube.as_deref()).map_err(cannot_edit)?;

    let (server, ca_data, arn) = cluster(ctx, args, &settings, &op, &region)?;
    let entry = kubeconfig::Entry {
        name: arn.clone(),
        context: args.alias.clone().unwrap_or(arn),
        server,
        ca_data,
        command: exe,
        args: [
            "token",
            "--cluster",
            &args.cluster,
            "--profile",
            &args.profile,
            "--region",
            &region,
        ]
        .map(String::from)
        .to_vec(),
    };
    let new_kube = kubeconfig::upsert(old_kube.as_deref(), &entry).map_err(cannot_edit)?;
    let plan = Plan {
        config_path,
        old_config,
        new_config,
        kube_path,
        old_kube,
        new_kube,
        entry,
    };
    if args.dry_run {
        show(ctx, &plan)
    } else {
        apply(ctx, args, &plan)
    }
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
                "`{name}` cannot be a profile name (no brackets, `#`, `;`, line breaks or \
                 surrounding spaces); pick another"
            )));
        }
    }
    if args.cli_profile.as_ref() == Some(&args.profile) {
        return Err(Error::Config(
            "--cli-profile must differ from --profile (it holds only credential_process)".into(),
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
    let mut text = upsert_profile(&files.config_text, &args.profile, &values);
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
        text = upsert_profile(
            &text,
            cli,
            &[("credential_process", line), ("region", region.clone())],
        );
    }
    Ok((text, region))
}

/// Server, CA and ARN: from the flags, else from EKS DescribeCluster with the session.
fn cluster(
    ctx: &mut Ctx,
    args: &SetupArgs,
    settings: &Settings,
    op: &crate::awsconfig::OperatorProfile,
    region: &str,
) -> Result<(String, String, String)> {
    if let (Some(e), Some(ca)) = (&args.endpoint, &args.certificate_authority_data) {
        return Ok((
            e.clone(),
            ca.clone(),
            cluster_arn(&op.role_arn, region, &args.cluster),
        ));
    }
    // A dry run changes nothing: it uses a stored session or stops.
    let session = if args.dry_run {
        session::stored(ctx, settings, op).map_err(|_| {
            Error::Config(format!(
                "--dry-run does not log in, and profile `{}` has no stored session to read the \
                 cluster with; run `eksop-auth login --profile {}` first, or pass --endpoint \
                 and --certificate-authority-data",
                args.profile, args.profile
            ))
        })?
    } else {
        session::obtain(ctx, settings, op, None, Want::Cached)?
    };
    let info = ctx.aws.describe_cluster(&DescribeClusterRequest {
        creds: &session.creds,
        region,
        endpoint_url: settings.eks_endpoint_url.as_deref(),
        name: &args.cluster,
    })?;
    Ok((info.endpoint, info.ca_data, info.arn))
}

fn show(ctx: &mut Ctx, plan: &Plan) -> Result<()> {
    let mut out = unified_diff(
        &plan.config_path,
        plan.old_config.as_deref().unwrap_or(""),
        &plan.new_config,
    );
    out.push_str(&unified_diff(
        &plan.kube_path,
        plan.old_kube.as_deref().unwrap_or(""),
        &plan.new_kube,
    ));
    if out.is_empty() {
        out.push_str("no changes\n");
    }
    ctx.stdout.write_all(out.as_bytes()).map_err(Error::Output)
}

fn apply(ctx: &mut Ctx, args: &SetupArgs, plan: &Plan) -> Result<()> {
    let aws_changed = write_if_changed(
        &plan.config_path,
        plan.old_config.as_deref(),
        &plan.new_config,
    )?;
    let kube_changed = write_if_changed(&plan.kube_path, plan.old_kube.as_deref(), &plan.new_kube)?;
    let said = |changed: bool| if changed { "updated" } else { "unchanged" };
    ctx.log.line(format_args!(
        "{} {}: [profile {}]{}",
        said(aws_changed),
        plan.config_path.display(),
        args.profile,
        args.cli_profile
            .as_ref()
            .map(|c| format!(", [profile {c}] (credential_process)"))
            .unwrap_or_default()
    ));
    ctx.log.line(format_args!(
        "{} {}: cluster and user {}, context {} (current)",
        said(kube_changed),
        plan.kube_path.display(),
        plan.entry.name,
        plan.entry.context
    ));
    ctx.log.line(format_args!(
        "Next: `eksop-auth login --profile {}`, then `kubectl get nodes`",
        args.profile
    ));
    Ok(())
}
