//! `eksop-auth setup`: writes the eks-operator profile into `~/.aws/config` and the cluster,
//! user (exec block) and context into kubeconfig. Both files are edited by pure functions,
//! written atomically with the original's permissions after a one-time backup, and only
//! when something changed; `--dry-run` prints the diff instead.

use std::path::{Path, PathBuf};

use crate::aws::DescribeClusterRequest;
use crate::awsconfig::{DEFAULT_DURATION_SECONDS, is_valid_profile_name, upsert_profile};
use crate::cli::{AwsArgs, SetupArgs};
use crate::cmd::operator::{self, Want};
use crate::cmd::{AwsSettings, ConfigFiles, default_kubeconfig_path};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fsutil::{private_dir, read_optional, write_atomic};
use crate::kubeconfig;

pub fn run(ctx: &mut Ctx, args: &SetupArgs) -> Result<()> {
    if args.endpoint.is_some() != args.certificate_authority_data.is_some() {
        return Err(Error::Config(
            "--endpoint and --certificate-authority-data go together; pass both, or neither to read them from EKS".into(),
        ));
    }
    for name in std::iter::once(&args.profile).chain(args.cli_profile.as_ref()) {
        if !is_valid_profile_name(name) {
            return Err(Error::Config(format!(
                "`{name}` cannot be a profile name (no brackets, `#`, `;`, line breaks or surrounding spaces); pick another"
            )));
        }
    }
    let files = ConfigFiles::load(ctx)?;
    if !files.config_is_utf8 {
        return Err(Error::Config(format!(
            "{} is not UTF-8 text, so eksop-auth will not rewrite it; convert it to UTF-8 and run setup again; nothing was changed",
            files.config_path.display()
        )));
    }
    let existing = files.profiles.get(&args.profile);
    let has = |k: &str| existing.is_some_and(|p| p.has(k));

    // The eks-operator profile: given flags win, missing flags keep what is there.
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
        Some(d) if !(900..=43_200).contains(&d) => {
            return Err(Error::Config(format!(
                "--duration {d} is out of range; use 900 to 43200 seconds (12 h)"
            )));
        }
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
    let mut new_config = upsert_profile(&files.config_text, &args.profile, &values);

    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Error::Internal(format!("cannot find this program's path: {e}")))?;
    let exe = exe.to_string_lossy().into_owned();
    if let Some(cli) = &args.cli_profile {
        if cli == &args.profile {
            return Err(Error::Config(
                "--cli-profile must differ from --profile (it holds only credential_process)"
                    .into(),
            ));
        }
        if let Some(p) = files.profiles.get(cli)
            && (p.has("role_arn") || p.has("source_profile"))
        {
            return Err(Error::Config(format!(
                "profile `{cli}` in {} has role_arn/source_profile, so aws-cli would assume the role itself; \
                 pick another --cli-profile name or remove those keys",
                files.config_path.display()
            )));
        }
        let quoted = if exe.contains(' ') {
            format!("\"{exe}\"")
        } else {
            exe.clone()
        };
        let line = format!("{quoted} credential-process --profile {}", args.profile);
        new_config = upsert_profile(
            &new_config,
            cli,
            &[("credential_process", line), ("region", region.clone())],
        );
    }

    // Everything below reads the edited profile, not yet written.
    let config_path = files.config_path.clone();
    let old_config = files.config_existed.then(|| files.config_text.clone());
    let files = files.with_config_text(new_config.clone());
    let aws_args = AwsArgs {
        profile: Some(args.profile.clone()),
        region: Some(region.clone()),
    };
    let settings = AwsSettings::from_files(ctx, files, &aws_args)?;
    let op = operator::require(&settings)?;

    // Refuse a kubeconfig we cannot edit before asking for MFA or calling AWS.
    // `--kubeconfig`, else the file kubectl reads first.
    let kube_path = args
        .kubeconfig
        .clone()
        .unwrap_or_else(|| default_kubeconfig_path(&ctx.env));
    let old_kube = read_optional(&kube_path)?.map(|b| String::from_utf8_lossy(&b).into_owned());
    let cannot_edit = |why: String| {
        Error::Config(format!(
            "{} is not a kubeconfig eksop-auth can edit ({why}); fix it or pass --kubeconfig PATH; nothing was changed",
            kube_path.display()
        ))
    };
    kubeconfig::check(old_kube.as_deref()).map_err(cannot_edit)?;

    let (server, ca_data, arn) = match (&args.endpoint, &args.certificate_authority_data) {
        (Some(e), Some(ca)) => (
            e.clone(),
            ca.clone(),
            cluster_arn(&op.role_arn, &region, &args.cluster),
        ),
        _ => {
            // A dry run changes nothing: it uses a stored session or stops.
            let session = if args.dry_run {
                operator::stored_session(ctx, &op).ok_or_else(|| {
                    Error::Config(format!(
                        "--dry-run does not log in, and profile `{}` has no stored session to read the cluster with; \
                         run `eksop-auth login --profile {}` first, or pass --endpoint and --certificate-authority-data",
                        args.profile, args.profile
                    ))
                })?
            } else {
                operator::session(ctx, &settings, &op, None, Want::Cached)?
            };
            let endpoint_url = ctx
                .env
                .get("AWS_ENDPOINT_URL_EKS")
                .or_else(|| ctx.env.get("AWS_ENDPOINT_URL"))
                .map(String::from);
            let info = ctx.aws.describe_cluster(&DescribeClusterRequest {
                creds: &session.creds,
                region: &region,
                endpoint_url: endpoint_url.as_deref(),
                name: &args.cluster,
            })?;
            (info.endpoint, info.ca_data, info.arn)
        }
    };

    let entry = kubeconfig::Entry {
        name: arn.clone(),
        context: args.alias.clone().unwrap_or_else(|| arn.clone()),
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

    if args.dry_run {
        let mut out = unified_diff(
            &config_path,
            old_config.as_deref().unwrap_or(""),
            &new_config,
        );
        out.push_str(&unified_diff(
            &kube_path,
            old_kube.as_deref().unwrap_or(""),
            &new_kube,
        ));
        if out.is_empty() {
            out.push_str("no changes\n");
        }
        return ctx.stdout.write_all(out.as_bytes()).map_err(Error::Output);
    }

    let aws_changed = write_if_changed(&config_path, old_config.as_deref(), &new_config)?;
    let kube_changed = write_if_changed(&kube_path, old_kube.as_deref(), &new_kube)?;
    let said = |changed: bool| if changed { "updated" } else { "unchanged" };
    ctx.log.line(format_args!(
        "{} {}: [profile {}]{}",
        said(aws_changed),
        config_path.display(),
        args.profile,
        args.cli_profile
            .as_ref()
            .map(|c| format!(", [profile {c}] (credential_process)"))
            .unwrap_or_default()
    ));
    ctx.log.line(format_args!(
        "{} {}: cluster and user {arn}, context {} (current)",
        said(kube_changed),
        kube_path.display(),
        entry.context
    ));
    ctx.log.line(format_args!(
        "Next: `eksop-auth login --profile {}`, then `kubectl get nodes`",
        args.profile
    ));
    Ok(())
}

/// The ARN EKS would report, built from the role's account and partition.
fn cluster_arn(role_arn: &str, region: &str, name: &str) -> String {
    let parts: Vec<&str> = role_arn.split(':').collect();
    let partition = parts.get(1).copied().unwrap_or("aws");
    let account = parts.get(4).copied().unwrap_or("");
    format!("arn:{partition}:eks:{region}:{account}:cluster/{name}")
}

/// Writes `new` atomically when it differs from `old`, keeping the original's permissions
/// and backing the original up once (`<file>.eksop-auth.bak`). New files are 0600 in a
/// 0700 directory.
fn write_if_changed(path: &Path, old: Option<&str>, new: &str) -> Result<bool> {
    if old == Some(new) {
        return Ok(false);
    }
    let mode = existing_mode(path).unwrap_or(0o600);
    if let Some(old) = old {
        let backup = PathBuf::from(format!("{}.eksop-auth.bak", path.display()));
        if !backup.exists() {
            write_atomic(&backup, old.as_bytes(), mode)?;
        }
    } else if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        private_dir(dir)?;
    }
    write_atomic(path, new.as_bytes(), mode)?;
    Ok(true)
}

/// The permission bits of an existing file (Unix); `None` elsewhere or when absent.
fn existing_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Keys whose values a diff must not show (the context lines around an edit are often
/// another profile's keys, and a rewritten kubeconfig shows every line).
const SECRET_KEYS: [&str; 8] = [
    "aws_secret_access_key",
    "aws_session_token",
    "token",
    "client-key-data",
    "password",
    "id-token",
    "refresh-token",
    "access-token",
];

/// `key = value` / `key: value` with a secret key → the value replaced by `<redacted>`.
fn redact_line(line: &str) -> String {
    let body = line.get(1..).unwrap_or("");
    let trimmed = body.trim_start().trim_start_matches("- ");
    for sep in ['=', ':'] {
        if let Some((key, value)) = trimmed.split_once(sep)
            && SECRET_KEYS.contains(&key.trim())
            && !value.trim().is_empty()
        {
            let cut = line.len() - value.len();
            return format!("{} <redacted>", &line[..cut]);
        }
    }
    line.to_string()
}

fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let name = path.display().to_string();
    let diff = similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&name, &name)
        .to_string();
    let mut out = String::with_capacity(diff.len());
    for line in diff.lines() {
        let header = line.starts_with("---") || line.starts_with("+++") || line.starts_with("@@");
        out.push_str(&if header {
            line.to_string()
        } else {
            redact_line(line)
        });
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_line;

    #[test]
    fn diffs_hide_secret_values() {
        assert_eq!(
            redact_line(" aws_secret_access_key = abc"),
            " aws_secret_access_key = <redacted>"
        );
        assert_eq!(redact_line("+    token: abc"), "+    token: <redacted>");
        assert_eq!(
            redact_line("-    client-key-data: QUJD"),
            "-    client-key-data: <redacted>"
        );
        assert_eq!(redact_line(" region = us-east-1"), " region = us-east-1");
        assert_eq!(redact_line("+  - --cluster"), "+  - --cluster");
    }
}
