//! The command line, as clap derive types. Declarations only: no I/O, no logic.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "eksop-auth",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("EKSOP_AUTH_COMMIT"), ")"),
    about = "kubectl / aws-cli credential plugin for Amazon EKS: one MFA code per workday",
    long_about = None,
    propagate_version = true
)]
pub(crate) struct Cli {
    /// More detail on stderr (-v debug, -vv trace); never prints a secret.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// eksop-auth's own environment variables (the man page lists them; the AWS ones are the
/// SDKs').
pub(crate) const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "EKSOP_AUTH_PROMPT",
        "terminal (default), gui or none: how a code is asked for when the caller gives no \
         terminal (setup --prompt writes it into a kubeconfig entry)",
    ),
    (
        "EKSOP_AUTH_DIALOG_TIMEOUT",
        "seconds a desktop dialog waits for the code (default 120)",
    ),
    (
        "EKSOP_AUTH_DISMISS_WINDOW",
        "seconds no new dialog is shown for a profile after one was dismissed (default 60; 0: off)",
    ),
    (
        "EKSOP_AUTH_MFA_PROCESS_TIMEOUT",
        "seconds an mfa_process may take (default 120)",
    ),
    (
        "EKSOP_AUTH_STORE",
        "keyring (default) or file: where sessions are kept",
    ),
    (
        "EKSOP_AUTH_LOG",
        "debug or trace: more detail on stderr, never a secret",
    ),
];

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print an ExecCredential for kubectl (the kubeconfig `exec` entry point).
    #[command(after_help = "Example (what kubectl runs):\n  \
        eksop-auth token --cluster prod --profile ops-eks-operator --region ap-northeast-1\n\n\
        Without a terminal (Lens, IDEs, a detached kubectl) it fails with the login hint, or \
        with EKSOP_AUTH_PROMPT=gui shows a desktop dialog.")]
    Token(TokenArgs),

    /// Write the eks-operator profile into ~/.aws/config and the cluster into kubeconfig.
    #[command(
        after_help = "Example:\n  eksop-auth setup --cluster prod --profile ops-eks-operator --source-profile alice \\\n    \
        --role-arn arn:aws:iam::111122223333:role/eks-operator \\\n    \
        --mfa-serial arn:aws:iam::111122223333:mfa/alice --region ap-northeast-1 --cli-profile ops"
    )]
    Setup(Box<SetupArgs>),

    /// Print aws-cli `credential_process` JSON from the stored session (shares kubectl's login).
    #[command(
        after_help = "Example (~/.aws/config):\n  [profile ops]\n  credential_process = /home/you/.local/bin/eksop-auth credential-process --profile ops-eks-operator"
    )]
    CredentialProcess(CredentialProcessArgs),

    /// Check profile, credentials, store, terminal, clock, session, kubeconfig and a live token.
    #[command(
        after_help = "Example:\n  eksop-auth doctor --profile ops-eks-operator --cluster prod"
    )]
    Doctor(DoctorArgs),

    /// Print a shell completion script (bash, zsh, fish, powershell).
    #[command(
        after_help = "Example:\n  eksop-auth completions bash > ~/.local/share/bash-completion/completions/eksop-auth"
    )]
    Completions(CompletionsArgs),

    /// Print the man page (roff).
    #[command(hide = true)]
    Manpage,

    /// Start the workday: ask for the MFA code, assume the role for 12 h, store the session.
    #[command(after_help = "Example:\n  eksop-auth login --profile ops-eks-operator")]
    Login(LoginArgs),

    /// Show stored sessions: profile, role, identity, expiry, store. Never a secret.
    #[command(
        after_help = "Examples:\n  eksop-auth status\n  eksop-auth status --profile ops-eks-operator --verify"
    )]
    Status(StatusArgs),

    /// Remove stored sessions (from every store, hot caches included).
    #[command(
        after_help = "Examples:\n  eksop-auth logout --profile ops-eks-operator\n  eksop-auth logout --all"
    )]
    Logout(LogoutArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CredentialProcessArgs {
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// The EKS cluster name. Without it (and without --all-clusters), on a terminal, setup
    /// lists the clusters and lets you pick.
    #[arg(long, value_name = "NAME", conflicts_with = "all_clusters")]
    pub(crate) cluster: Option<String>,
    /// Every cluster the eks-operator session can list (EKS ListClusters), in the profile's
    /// region or --regions: one context per cluster, one shared user per profile and region,
    /// one MFA code in all.
    #[arg(long)]
    pub(crate) all_clusters: bool,
    /// The regions to list clusters in (comma-separated; default: the profile's region).
    #[arg(long, value_name = "REGION,…", value_delimiter = ',')]
    pub(crate) regions: Vec<String>,
    /// The eks-operator profile to create or update in ~/.aws/config.
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: String,
    /// The profile holding your IAM user's keys.
    #[arg(long, value_name = "PROFILE")]
    pub(crate) source_profile: Option<String>,
    /// The eks-operator role, e.g. arn:aws:iam::111122223333:role/eks-operator.
    #[arg(long, value_name = "ARN")]
    pub(crate) role_arn: Option<String>,
    /// Your MFA device, e.g. arn:aws:iam::111122223333:mfa/alice.
    #[arg(long, value_name = "ARN")]
    pub(crate) mfa_serial: Option<String>,
    /// The cluster's region (kept in the profile).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// Session length in seconds (default 43200 = 12 h; at most the role's MaxSessionDuration).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) duration: Option<i32>,
    /// A command that prints the MFA code (e.g. `ykman oath accounts code -s aws`).
    #[arg(long, value_name = "CMD")]
    pub(crate) mfa_process: Option<String>,
    /// The kubeconfig context name (default: the cluster ARN); `{cluster}` and `{region}`
    /// are replaced, e.g. `--alias {cluster}-{region}` with --all-clusters.
    #[arg(long, value_name = "CONTEXT")]
    pub(crate) alias: Option<String>,
    /// The kubeconfig to edit (default: first of $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub(crate) kubeconfig: Option<std::path::PathBuf>,
    /// The API server URL; with --certificate-authority-data, skips EKS DescribeCluster.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// The cluster CA (base64 PEM); with --endpoint, skips EKS DescribeCluster.
    #[arg(long, value_name = "B64")]
    pub(crate) certificate_authority_data: Option<String>,
    /// Also write [profile NAME] with `credential_process` and `region` only, so aws-cli
    /// shares the session.
    #[arg(long, value_name = "NAME")]
    pub(crate) cli_profile: Option<String>,
    /// How the MFA code is asked for when the caller gives no terminal (Lens, IDEs, a
    /// detached kubectl): `gui` shows a desktop dialog, `none` never asks, `terminal` only
    /// asks on a terminal. Written as EKSOP_AUTH_PROMPT into this cluster's kubeconfig entry.
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) prompt: Option<crate::mfa::PromptMode>,
    /// Do not send SourceIdentity (your IAM user name) with AssumeRole: for a role whose
    /// trust policy does not allow sts:SetSourceIdentity. Written as
    /// `set_source_identity = false` into the profile.
    #[arg(long)]
    pub(crate) no_source_identity: bool,
    /// With no credential-plugin policy in kubectl's kuberc (kubectl ≥ 1.35), set one:
    /// `Allowlist` with every exec command of the kubeconfig and this one. (An `Allowlist`
    /// policy gets this binary added without the flag; `DenyAll` is never changed.)
    #[arg(long)]
    pub(crate) kuberc_allow: bool,
    /// Print the changes as a unified diff and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
    /// Also check the kubeconfig entry for this cluster, and self-test a token for it.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    #[command(flatten)]
    pub(crate) aws: AwsArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Only this profile.
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: Option<String>,

    /// Also ask STS (GetCallerIdentity) who each stored session is: the identity the
    /// cluster will see, or why the session no longer works.
    #[arg(long)]
    pub(crate) verify: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// The profile to log out of (default: $AWS_PROFILE, $AWS_DEFAULT_PROFILE, then
    /// `default`).
    #[arg(long, value_name = "PROFILE", conflicts_with = "all")]
    pub(crate) profile: Option<String>,

    /// Every stored session.
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The EKS cluster name the token is for (signed into the token as `x-k8s-aws-id`).
    /// Without it, the name comes from kubectl: the cluster entry's exec extension
    /// (`provideClusterInfo: true`), as `setup --all-clusters` writes.
    #[arg(long, visible_alias = "cluster-name", value_name = "NAME")]
    pub(crate) cluster: Option<String>,

    #[command(flatten)]
    pub(crate) aws: AwsArgs,
}

/// Profile and region, shared by every command that talks to AWS.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct AwsArgs {
    /// The profile in ~/.aws/config (default: $AWS_PROFILE, $AWS_DEFAULT_PROFILE, then
    /// `default`).
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: Option<String>,

    /// The AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's `region`).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
}
