//! `eksop-auth token`: kubectl's entry point. Exactly one ExecCredential on stdout.

use crate::cli::TokenArgs;
use crate::ctx::Ctx;
use crate::eks_token;
use crate::error::{Error, Result};
use crate::protocol;
use crate::session::{self, Want};
use crate::settings::CredentialSource;

pub(crate) fn run(ctx: &mut Ctx, args: &TokenArgs) -> Result<()> {
    let info = protocol::parse_exec_info(ctx.env.get("KUBERNETES_EXEC_INFO"));
    let cluster = match (&args.cluster, &info.cluster) {
        (Some(c), Some(from_kubectl)) if c != from_kubectl => {
            ctx.log.warn(format_args!(
                "--cluster {c} is used, while the kubeconfig's cluster entry names cluster \
                 {from_kubectl}: if that is the cluster kubectl talks to, its tokens will be \
                 refused; `eksop-auth setup` writes both the same"
            ));
            c.clone()
        }
        (Some(c), _) => c.clone(),
        (None, Some(c)) => c.clone(),
        (None, None) => {
            return Err(Error::Config(format!(
                "no cluster name: pass --cluster NAME, or run under a client that passes the \
                 cluster's exec extension (kubeconfig user with `provideClusterInfo: true`, \
                 cluster with an `{}` extension `cluster: NAME`, as `eksop-auth setup \
                 --all-clusters` writes; the JavaScript client does not pass it, so for it use \
                 `eksop-auth setup --cluster NAME`)",
                protocol::EXEC_EXTENSION
            )));
        }
    };
    if cluster.trim().is_empty() {
        return Err(Error::Config(
            "--cluster is empty; pass the EKS cluster name, e.g. --cluster prod".into(),
        ));
    }
    if cluster.chars().any(char::is_control) {
        return Err(Error::Config(
            "--cluster contains a line break or another control character; pass the EKS \
             cluster name as it is (letters, digits, `-` and `_`), e.g. --cluster prod"
                .into(),
        ));
    }
    if let Some(warning) = info.warning {
        ctx.log.line(format_args!("{warning}"));
    }
    let settings = ctx.settings(&args.aws)?;
    let creds = match settings.source()? {
        CredentialSource::Operator(op) => {
            session::obtain(ctx, &settings, &op, info.interactive, Want::Cached)?.creds
        }
        other => session::load_credentials(ctx, &settings, other)?,
    };
    let token = eks_token::presign(&creds, &cluster, &settings.endpoint, ctx.now())?;
    protocol::write_exec_credential(
        &mut ctx.stdout,
        info.api_version,
        &token.token,
        token.expires_at,
    )
    .map_err(Error::Output)
}
