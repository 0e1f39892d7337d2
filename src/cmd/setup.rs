//! `eksop-auth setup`: writes the eks-operator profile into `~/.aws/config` and the cluster,
//! user (exec block) and context into kubeconfig. Both files are edited by pure functions
//! and written under their `.lock` files, re-read under the lock, atomically, with the
//! original's permissions after a one-time backup, and only when something changed; a
//! file the user made read-only is left alone. `--dry-run` prints the diff instead, and
//! works before any login.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::aws::{DescribeClusterRequest, ListClustersRequest};
use crate::awsconfig::upsert_profile;
use crate::awsconfig::{DEFAULT_DURATION_SECONDS, OperatorProfile, is_valid_profile_name};
use crate::cli::{AwsArgs, SetupArgs};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::filelock;
use crate::fsutil::{KeepOld, read_optional, write_if_changed};
use crate::kubeconfig::kuberc::{self, Change};
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

/// What every setup reads first: this program's path, the AWS files and the edited
/// profile (not yet written).
struct Prepared {
    exe: String,
    files: ConfigFiles,
    new_config: String,
    region: String,
    settings: Settings,
    op: OperatorProfile,
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
    let p = Prepared {
        exe,
        files,
        new_config,
        region,
        settings,
        op,
    };
    match &args.cluster {
        Some(name) => one_cluster(ctx, args, &p, name),
        // Choosing needs someone at a terminal: say so before asking for a code.
        None if !args.all_clusters && !ctx.sources.can_pick() => Err(Error::Config(
            "which cluster? pass --cluster NAME, or --all-clusters for every cluster the \
             eks-operator session lists (on a terminal, setup offers a choice); nothing was \
             changed"
                .into(),
        )),
        None => many_clusters(ctx, args, &p),
    }
}

fn one_cluster(ctx: &mut Ctx, args: &SetupArgs, p: &Prepared, name: &str) -> Result<()> {
    let (exe, region) = (&p.exe, &p.region);
    // Refuse what the write would refuse before asking for MFA or calling AWS.
    let guess = cluster_arn(&p.op.role_arn, region, name);
    let context = context_name(args, &guess, name, region);
    let kube_path = kube_target(ctx, args, &guess, &context)?;
    let old_kube = read_kube(&kube_path)?;
    kubeconfig::check(old_kube.as_deref()).map_err(|e| cannot_edit(&kube_path, &e))?;
    if !args.dry_run {
        let known = old_kube
            .as_deref()
            .and_then(|t| kubeconfig::cluster_of(t, &guess))
            .map(|(server, ca_data)| Cluster {
                server,
                ca_data,
                arn: guess.clone(),
                session_until: None,
            });
        let may_change = match (&known, old_kube.as_deref()) {
            (Some(c), Some(old)) => {
                let probe = entry(args, exe, region, name, c);
                kubeconfig::upsert(Some(old), &probe).ok() != kubeconfig::normalized(old).ok()
            }
            _ => true,
        };
        preflight_all(ctx, args, p, &kube_path, old_kube.as_deref(), may_change)?;
    }

    let cluster = cluster(ctx, args, p, name)?;
    let entries = [entry(args, exe, region, name, &cluster)];
    if args.dry_run {
        let plan = plan(ctx, args, exe, &kube_path, &entries)?;
        return show(ctx, &plan, &kube_path);
    }
    write_both(ctx, args, exe, &kube_path, &entries)?;
    next_step(ctx, args, cluster.session_until);
    Ok(())
}

/// The preflight of every file the write will touch, before MFA or AWS.
fn preflight_all(
    ctx: &Ctx,
    args: &SetupArgs,
    p: &Prepared,
    kube_path: &Path,
    old_kube: Option<&str>,
    kube_may_change: bool,
) -> Result<()> {
    let files = &p.files;
    if files.config_existed.then_some(files.config_text.as_str()) != Some(p.new_config.as_str()) {
        preflight(&files.config_path, CONFIG_ALTERNATIVE)?;
    }
    if kube_may_change {
        preflight(kube_path, KUBE_ALTERNATIVE)?;
    }
    // The kuberc, planned against today's kubeconfig (our command is always added).
    if let Some(k) = kuberc_plan(ctx, args, &p.exe, old_kube.unwrap_or(""))?
        && matches!(k.change, Change::Write(_))
    {
        preflight(&k.path, KUBERC_ALTERNATIVE)?;
    }
    Ok(())
}

fn next_step(ctx: &mut Ctx, args: &SetupArgs, session_until: Option<std::time::SystemTime>) {
    ctx.log.line(format_args!(
        "Next: {}",
        match session_until {
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
}

/// The context name: `--alias` with `{cluster}` and `{region}` filled in, else the ARN.
fn context_name(args: &SetupArgs, arn: &str, cluster: &str, region: &str) -> String {
    match &args.alias {
        Some(a) => a.replace("{cluster}", cluster).replace("{region}", region),
        None => arn.to_string(),
    }
}

/// `--all-clusters`, or the clusters picked on the terminal: every cluster the session
/// lists in the regions asked for, one context each, one shared user per profile and
/// region, one session (one MFA code) for all of it.
fn many_clusters(ctx: &mut Ctx, args: &SetupArgs, p: &Prepared) -> Result<()> {
    let regions = if args.regions.is_empty() {
        vec![p.region.clone()]
    } else {
        args.regions.clone()
    };
    // The files first, before any code is asked for: the kubeconfig as kubectl picks it
    // (with several in KUBECONFIG, which one cannot depend on clusters not listed yet).
    let kube_path = kube_target(ctx, args, "", "")?;
    let old_kube = read_kube(&kube_path)?;
    kubeconfig::check(old_kube.as_deref()).map_err(|e| cannot_edit(&kube_path, &e))?;
    if !args.dry_run {
        preflight_all(ctx, args, p, &kube_path, old_kube.as_deref(), true)?;
    }
    let session = if args.dry_run {
        // A dry run changes nothing, and listing needs a session: the stored one.
        session::stored(ctx, &p.settings, &p.op).map_err(|why| {
            Error::Config(format!(
                "a dry run lists the clusters with the stored session, and there is none to \
                 use ({why}); run `eksop-auth login --profile {}` first, then the dry run",
                p.op.name
            ))
        })?
    } else {
        session::obtain(ctx, &p.settings, &p.op, None, Want::Cached)?
    };
    let endpoint_url = p.settings.eks_endpoint_url.as_deref();
    let mut found: Vec<(String, String)> = Vec::new();
    for region in &regions {
        let names = ctx.aws.list_clusters(&ListClustersRequest {
            creds: &session.creds,
            region,
            endpoint_url,
        })?;
        found.extend(names.into_iter().map(|n| (region.clone(), n)));
    }
    if found.is_empty() {
        return Err(Error::Config(format!(
            "EKS lists no clusters in {} for the eks-operator session; check --regions (or the \
             profile's region), or name the cluster with --cluster; nothing was changed",
            regions.join(", ")
        )));
    }
    if !args.all_clusters {
        let labels: Vec<String> = found.iter().map(|(r, n)| format!("{n} ({r})")).collect();
        let picked = ctx.sources.pick(
            "Clusters to set up (space toggles, enter confirms)",
            &labels,
        )?;
        found = picked
            .into_iter()
            .filter_map(|i| found.get(i).cloned())
            .collect();
        if found.is_empty() {
            ctx.log
                .line(format_args!("no cluster chosen; nothing was changed"));
            return Ok(());
        }
    }
    if found.len() > 1
        && args
            .alias
            .as_deref()
            .is_some_and(|a| !a.contains("{cluster}"))
    {
        return Err(Error::Config(
            "--alias names one context, and there are several clusters: put `{cluster}` in it \
             (e.g. --alias {cluster} or --alias {cluster}-{region}); nothing was changed"
                .into(),
        ));
    }
    // Two clusters under one context name would leave one of them unreachable.
    let mut names_seen = std::collections::HashSet::new();
    for (region, name) in &found {
        let arn = cluster_arn(&p.op.role_arn, region, name);
        let context = context_name(args, &arn, name, region);
        if !names_seen.insert(context.clone()) {
            return Err(Error::Config(format!(
                "--alias gives two clusters the context name `{context}` (a cluster named \
                 `{name}` is in more than one region): put `{{region}}` in it too, e.g. \
                 --alias {{cluster}}-{{region}}; nothing was changed"
            )));
        }
    }
    let mut entries = Vec::new();
    for (region, name) in &found {
        let info = ctx.aws.describe_cluster(&DescribeClusterRequest {
            creds: &session.creds,
            region,
            endpoint_url,
            name,
        })?;
        // An existing context for this cluster is updated, not joined by a second one.
        let context = match (&args.alias, old_kube.as_deref()) {
            (None, Some(old)) => kubeconfig::context_of_cluster(old, &info.arn),
            _ => None,
        }
        .unwrap_or_else(|| context_name(args, &info.arn, name, region));
        let cluster = Cluster {
            server: info.endpoint,
            ca_data: info.ca_data,
            arn: info.arn,
            session_until: None,
        };
        entries.push(shared_entry(args, &p.exe, region, name, &cluster, context));
    }
    let names: Vec<String> = found.iter().map(|(r, n)| format!("{n} ({r})")).collect();
    if args.dry_run {
        ctx.log.line(format_args!(
            "{} cluster(s) to set up: {}",
            names.len(),
            names.join(", ")
        ));
        let plan = plan(ctx, args, &p.exe, &kube_path, &entries)?;
        return show(ctx, &plan, &kube_path);
    }
    write_both(ctx, args, &p.exe, &kube_path, &entries)?;
    next_step(ctx, args, Some(session.expires_at()));
    Ok(())
}

fn cannot_edit(path: &Path, why: &kubeconfig::KubeconfigError) -> Error {
    Error::Config(format!(
        "{} is not a kubeconfig eksop-auth can edit ({why}); fix it or pass --kubeconfig PATH; \
         nothing was changed",
        path.display()
    ))
}

const CONFIG_ALTERNATIVE: &str = "point AWS_CONFIG_FILE at another file";
const KUBE_ALTERNATIVE: &str = "pass --kubeconfig PATH";
const KUBERC_ALTERNATIVE: &str = "point KUBERC at another file, or set KUBERC=off";

/// The kubeconfig, which must be UTF-8 text to be rewritten without loss.
fn read_kube(path: &Path) -> Result<Option<String>> {
    match read_optional(path)? {
        None => Ok(None),
        Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            Error::Config(format!(
                "{} is not UTF-8 text, so eksop-auth will not rewrite it; convert it to UTF-8 \
                 or pass --kubeconfig PATH; nothing was changed",
                path.display()
            ))
        }),
    }
}

/// The kubeconfig to write, as kubectl picks it: `--kubeconfig`; else with several files in
/// KUBECONFIG, the one that already has these entries, else the first that exists, else
/// the last; else the only one, or ~/.kube/config.
fn kube_target(ctx: &Ctx, args: &SetupArgs, name: &str, context: &str) -> Result<PathBuf> {
    if let Some(p) = &args.kubeconfig {
        return Ok(p.clone());
    }
    let listed: Vec<PathBuf> = ctx
        .env
        .get("KUBECONFIG")
        .map(|v| {
            std::env::split_paths(v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if listed.len() <= 1 {
        return Ok(kubeconfig::default_path(&ctx.env));
    }
    for p in &listed {
        if let Some(text) = read_kube(p)?
            && kubeconfig::defines(&text, name, context)
        {
            return Ok(p.clone());
        }
    }
    Ok(listed
        .iter()
        .find(|p| p.exists())
        .or(listed.last())
        .cloned()
        .unwrap_or_else(|| kubeconfig::default_path(&ctx.env)))
}

/// What the write will need, checked before anything slow happens: the file is not
/// read-only nor another user's, and its `.lock` can be made beside it.
fn preflight(path: &Path, alternative: &'static str) -> Result<()> {
    refuse_read_only(path, alternative)?;
    crate::fsutil::check_replaceable(path)?;
    filelock::probe(path, LOCK_WAIT)
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
    if let Some(c) = &args.cluster
        && (c.trim().is_empty() || c.chars().any(char::is_control))
    {
        return Err(Error::Config(
            "--cluster must be the EKS cluster name, e.g. --cluster prod".into(),
        ));
    }
    if args.cluster.is_some() && !args.regions.is_empty() {
        return Err(Error::Config(
            "--regions lists where to find clusters; with --cluster, pass --region instead".into(),
        ));
    }
    if let Some(r) = args
        .regions
        .iter()
        .find(|r| !crate::sts_endpoint::is_valid_region(r))
    {
        return Err(Error::Config(format!(
            "--regions: `{r}` is not an AWS region (e.g. --regions eu-west-1,us-east-1)"
        )));
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
    if args.no_source_identity {
        values.push(("set_source_identity", "false".into()));
    }
    let refuse = |e: crate::awsconfig::EditError| {
        Error::Config(format!(
            "{}: {e}; nothing was changed",
            files.config_path.display()
        ))
    };
    // The credentials file is read first: a key it sets for the profile would hide ours.
    let keys: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
    if let Some((key, line)) = files.credentials_setting(&args.profile, &keys).first() {
        return Err(Error::Config(format!(
            "{} line {line} sets `{key}` for profile `{}`, and aws-cli and the SDKs read that \
             before {}; remove it there (setup edits only the config file); nothing was changed",
            files.credentials_path.display(),
            args.profile,
            files.config_path.display()
        )));
    }
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
fn cluster(ctx: &mut Ctx, args: &SetupArgs, p: &Prepared, name: &str) -> Result<Cluster> {
    let (settings, op, region) = (&p.settings, &p.op, p.region.as_str());
    let arn = || cluster_arn(&op.role_arn, region, name);
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
        name,
    })?;
    Ok(Cluster {
        server: info.endpoint,
        ca_data: info.ca_data,
        arn: info.arn,
        session_until: Some(session.expires_at()),
    })
}

fn entry(args: &SetupArgs, exe: &str, region: &str, name: &str, c: &Cluster) -> kubeconfig::Entry {
    kubeconfig::Entry {
        name: c.arn.clone(),
        user: c.arn.clone(),
        shared_as: None,
        make_current: true,
        context: context_name(args, &c.arn, name, region),
        server: c.server.clone(),
        ca_data: c.ca_data.clone(),
        command: exe.to_string(),
        args: [
            "token",
            "--cluster",
            name,
            "--profile",
            &args.profile,
            "--region",
            region,
        ]
        .map(String::from)
        .to_vec(),
        env: args
            .prompt
            .map(|m| {
                (
                    crate::mfa::PromptMode::VAR.to_string(),
                    m.as_str().to_string(),
                )
            })
            .into_iter()
            .collect(),
    }
}

/// The entry of one of several clusters that share the user of their profile and region:
/// the user learns the cluster from its exec extension, and the current context stays.
fn shared_entry(
    args: &SetupArgs,
    exe: &str,
    region: &str,
    name: &str,
    c: &Cluster,
    context: String,
) -> kubeconfig::Entry {
    kubeconfig::Entry {
        context,
        user: format!("eksop-auth:{}:{region}", args.profile),
        shared_as: Some(name.to_string()),
        make_current: false,
        args: ["token", "--profile", &args.profile, "--region", region]
            .map(String::from)
            .to_vec(),
        ..entry(args, exe, region, name, c)
    }
}

/// What `setup` would change in both files, read now.
struct Plan {
    config_path: PathBuf,
    old_config: Option<String>,
    new_config: String,
    old_kube: Option<String>,
    new_kube: String,
    /// Whether the kubeconfig's content changes (not just its layout).
    kube_changes: bool,
    /// Whether rewriting it drops comments or formatting.
    kube_loses_layout: bool,
    /// kubectl's kuberc, unless `KUBERC=off`, and what its plugin policy needs.
    kuberc: Option<Kuberc>,
}

struct Kuberc {
    path: PathBuf,
    old: Option<String>,
    change: Change,
    /// Whether rewriting it drops comments or formatting.
    loses_layout: bool,
    /// The other plugins a new allowlist names, and those it cannot.
    listed: Vec<String>,
    skipped: Vec<String>,
}

impl Kuberc {
    /// What a new allowlist says of the kubeconfig's other plugins, if anything.
    fn other_plugins_note(&self) -> String {
        let mut note = String::new();
        if !self.listed.is_empty() {
            note.push_str(&format!(
                "note: the allowlist also names the kubeconfig's other plugins: {}\n",
                self.listed.join(", ")
            ));
        }
        if !self.skipped.is_empty() {
            note.push_str(&format!(
                "note: not listed, because kubectl takes only a bare name or a clean absolute \
                 path there (one such entry would make it refuse every command): {}; those \
                 plugins stop working with kubectl ≥ 1.35 unless you list their absolute paths\n",
                self.skipped.join(", ")
            ));
        }
        note
    }
}

/// What the kuberc needs for kubectl ≥ 1.35 to run `exe`, given the kubeconfig to be.
fn kuberc_plan(ctx: &Ctx, args: &SetupArgs, exe: &str, new_kube: &str) -> Result<Option<Kuberc>> {
    let Some(path) = kuberc::path(&ctx.env) else {
        return Ok(None);
    };
    let old = read_kube(&path)?;
    let refuse = |e: String| {
        Error::Config(format!(
            "{} (kubectl's kuberc) cannot be read: {e}; fix it, or set KUBERC=off to have \
             kubectl and eksop-auth ignore it; nothing was changed",
            path.display()
        ))
    };
    let others = kubeconfig::exec_commands(new_kube);
    let lookup = kuberc::path_lookup(&ctx.env);
    let planned =
        kuberc::plan(old.as_deref(), exe, &others, args.kuberc_allow, &lookup).map_err(refuse)?;
    let (change, listed, skipped) = (planned.change, planned.listed, planned.skipped);
    let loses_layout = match (&old, &change) {
        (Some(o), Change::Write(_)) => kuberc::normalized(o).map_err(refuse)? != *o,
        _ => false,
    };
    Ok(Some(Kuberc {
        path,
        old,
        change,
        loses_layout,
        listed,
        skipped,
    }))
}

impl Plan {
    fn config_changes(&self) -> bool {
        self.old_config.as_deref() != Some(self.new_config.as_str())
    }
}

fn plan(
    ctx: &Ctx,
    args: &SetupArgs,
    exe: &str,
    kube_path: &Path,
    entries: &[kubeconfig::Entry],
) -> Result<Plan> {
    let files = ConfigFiles::load(&ctx.env)?;
    let (new_config, _) = edit_aws_config(args, &files, exe)?;
    let old_kube = read_kube(kube_path)?;
    let mut new_kube = old_kube.clone().unwrap_or_default();
    for entry in entries {
        new_kube =
            kubeconfig::upsert(Some(&new_kube), entry).map_err(|e| cannot_edit(kube_path, &e))?;
    }
    let normalized = old_kube
        .as_deref()
        .map(kubeconfig::normalized)
        .transpose()
        .map_err(|e| cannot_edit(kube_path, &e))?;
    let kuberc = kuberc_plan(ctx, args, exe, &new_kube)?;
    Ok(Plan {
        kuberc,
        kube_changes: normalized.as_deref() != Some(new_kube.as_str()),
        kube_loses_layout: old_kube.is_some() && normalized != old_kube,
        old_config: files.config_existed.then(|| files.config_text.clone()),
        config_path: files.config_path,
        new_config,
        old_kube,
        new_kube,
    })
}

/// The two diffs; the kubeconfig one in kubectl's layout, every secret redacted.
fn show(ctx: &mut Ctx, p: &Plan, kube_path: &Path) -> Result<()> {
    let mut out = unified_diff(
        &p.config_path,
        p.old_config.as_deref().unwrap_or(""),
        &p.new_config,
    );
    if p.kube_changes {
        let redact = |t: &str| kubeconfig::redacted(t).map_err(|e| cannot_edit(kube_path, &e));
        out.push_str(&unified_diff(
            kube_path,
            &redact(p.old_kube.as_deref().unwrap_or(""))?,
            &redact(&p.new_kube)?,
        ));
        if p.kube_loses_layout {
            out.push_str(&format!(
                "note: {} is rewritten in kubectl's layout, so its comments and formatting are \
                 not kept (as with `kubectl config`); a copy of it as it is now is kept beside it\n",
                kube_path.display()
            ));
        }
    }
    if let Some(k) = &p.kuberc {
        match &k.change {
            Change::Write(new) => {
                out.push_str(&unified_diff(&k.path, k.old.as_deref().unwrap_or(""), new));
                out.push_str(&k.other_plugins_note());
                if k.loses_layout {
                    out.push_str(&format!(
                        "note: {} is rewritten in kubectl's layout, so its comments are not \
                         kept; a copy of it as it is now is kept beside it\n",
                        k.path.display()
                    ));
                }
            }
            Change::Warn(w) => out.push_str(&format!("note: {}: {w}\n", k.path.display())),
            Change::None => {}
        }
    }
    if out.is_empty() {
        out.push_str("no changes\n");
    }
    ctx.stdout.write_all(out.as_bytes()).map_err(Error::Output)
}

/// Both files under their `.lock`s (always in this order, so two setups cannot wait on
/// each other), each re-read under its lock so a change made meanwhile is kept; a setup
/// that changes nothing takes no lock and writes nothing.
fn write_both(
    ctx: &mut Ctx,
    args: &SetupArgs,
    exe: &str,
    kube_path: &Path,
    entries: &[kubeconfig::Entry],
) -> Result<()> {
    let first = plan(ctx, args, exe, kube_path, entries)?;
    let mut wrote = (false, None, false);
    let mut kuberc_wrote = None;
    let kuberc_changes = |p: &Plan| {
        p.kuberc
            .as_ref()
            .is_some_and(|k| matches!(k.change, Change::Write(_)))
    };
    if first.config_changes() || first.kube_changes || kuberc_changes(&first) {
        let _config_lock = filelock::lock(&first.config_path, LOCK_WAIT)?;
        let _kube_lock = filelock::lock(kube_path, LOCK_WAIT)?;
        let _kuberc_lock = match first.kuberc.as_ref().filter(|_| kuberc_changes(&first)) {
            Some(k) => Some(filelock::lock(&k.path, LOCK_WAIT)?),
            None => None,
        };
        let p = plan(ctx, args, exe, kube_path, entries)?;
        // Every refusal before the first write: all three files, or none.
        if p.config_changes() {
            refuse_read_only(&p.config_path, CONFIG_ALTERNATIVE)?;
        }
        if p.kube_changes {
            refuse_read_only(kube_path, KUBE_ALTERNATIVE)?;
        }
        let kuberc_new = p.kuberc.as_ref().and_then(|k| match &k.change {
            Change::Write(new) => Some((k, new)),
            _ => None,
        });
        if let Some((k, _)) = kuberc_new
            && _kuberc_lock.is_some()
        {
            refuse_read_only(&k.path, KUBERC_ALTERNATIVE)?;
        }
        let now = ctx.now();
        wrote.0 = write_if_changed(
            &p.config_path,
            p.old_config.as_deref(),
            &p.new_config,
            KeepOld::Once,
            now,
        )?
        .changed;
        if p.kube_changes {
            let keep = if p.kube_loses_layout {
                KeepOld::Always
            } else {
                KeepOld::Once
            };
            let w = write_if_changed(kube_path, p.old_kube.as_deref(), &p.new_kube, keep, now)?;
            wrote.2 = w.changed;
            wrote.1 = w.backup.filter(|_| p.kube_loses_layout);
        }
        match kuberc_new {
            Some((k, new)) if _kuberc_lock.is_some() => {
                let keep = if k.loses_layout {
                    KeepOld::Always
                } else {
                    KeepOld::Once
                };
                let w = write_if_changed(&k.path, k.old.as_deref(), new, keep, now)?;
                kuberc_wrote = Some((k.path.clone(), w.backup.filter(|_| k.loses_layout)));
            }
            // Changed by someone else since the first read: theirs stands.
            Some((k, _)) => ctx.log.warn(format_args!(
                "{} changed while setup ran; it was left as it is now: run setup again to check \
                 it",
                k.path.display()
            )),
            None => {}
        }
    }
    let (aws_changed, layout_copy, kube_changed) = wrote;
    if let Some((path, copy)) = kuberc_wrote {
        ctx.log.line(format_args!(
            "updated {}: kubectl may run {exe} (credentialPluginAllowlist){}",
            path.display(),
            copy.map(|b| format!("; the file as it was is in {}", b.display()))
                .unwrap_or_default()
        ));
        if let Some(k) = &first.kuberc {
            let note = k.other_plugins_note();
            if !note.is_empty() {
                ctx.log.line(format_args!("{}", note.trim_end()));
            }
        }
    } else if let Some(k) = &first.kuberc
        && let Change::Warn(w) = &k.change
    {
        ctx.log.warn(format_args!("{}: {w}", k.path.display()));
    }
    let said = |changed: bool| if changed { "updated" } else { "unchanged" };
    ctx.log.line(format_args!(
        "{} {}: [profile {}]{}",
        said(aws_changed),
        first.config_path.display(),
        args.profile,
        args.cli_profile
            .as_ref()
            .map(|c| format!(", [profile {c}] (credential_process, region)"))
            .unwrap_or_default()
    ));
    let what = match entries {
        [e] => format!(
            "cluster and user {}, context {} (current)",
            e.name, e.context
        ),
        many => {
            let mut users: Vec<&str> = many.iter().map(|e| e.user.as_str()).collect();
            users.dedup();
            let contexts: Vec<&str> = many.iter().map(|e| e.context.as_str()).collect();
            format!(
                "{} clusters, shared user {}, contexts {}",
                many.len(),
                users.join(", "),
                contexts.join(", ")
            )
        }
    };
    ctx.log.line(format_args!(
        "{} {}: {what}{}",
        said(kube_changed),
        kube_path.display(),
        layout_copy
            .map(|b| format!(
                "; its comments and formatting were not kept (as with `kubectl config`), the \
                 file as it was is in {}",
                b.display()
            ))
            .unwrap_or_default()
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
