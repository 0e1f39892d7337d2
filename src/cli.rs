//! The command line, as clap derive types. Declarations only: no I/O, no logic.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "eksop-auth",
    version,
    about = "kubectl / aws-cli credential plugin for Amazon EKS: one MFA code per workday",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    /// More detail on stderr (-v debug, -vv trace); never prints a secret.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an ExecCredential for kubectl (the kubeconfig `exec` entry point).
    #[command(after_help = "Example (what kubectl runs):\n  \
        eksop-auth token --cluster prod --profile ops-eks-operator --region ap-northeast-1")]
    Token(TokenArgs),

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
pub struct LoginArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this profile.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Also ask STS (GetCallerIdentity) who each stored session is: the identity the
    /// cluster will see, or why the session no longer works.
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The profile to log out of (default: $AWS_PROFILE, then `default`).
    #[arg(long, value_name = "PROFILE", conflicts_with = "all")]
    pub profile: Option<String>,

    /// Every stored session.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The EKS cluster name the token is for (signed into the token as `x-k8s-aws-id`).
    #[arg(long, visible_alias = "cluster-name", value_name = "NAME")]
    pub cluster: String,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Profile and region, shared by every command that talks to AWS.
#[derive(Debug, Args, Clone, Default)]
pub struct AwsArgs {
    /// The profile in ~/.aws/config (default: $AWS_PROFILE, then `default`).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,

    /// The AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's `region`).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}
