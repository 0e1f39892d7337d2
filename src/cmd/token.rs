//! `eksop-auth token`: kubectl's entry point. Exactly one ExecCredential on stdout.

use crate::cli::TokenArgs;
use crate::cmd::operator::{self, Want};
use crate::cmd::{AwsSettings, chain_credentials};
use crate::ctx::Ctx;
use crate::eks_token;
use crate::error::{Error, Result};
use crate::protocol;

pub fn run(ctx: &mut Ctx, args: &TokenArgs) -> Result<()> {
    if args.cluster.trim().is_empty() {
        return Err(Error::Config(
            "--cluster is empty; pass the EKS cluster name, e.g. --cluster prod".into(),
        ));
    }
    let info = protocol::parse_exec_info(ctx.env.get("KUBERNETES_EXEC_INFO"));
    if let Some(warning) = info.warning {
        ctx.log.line(format_args!("{warning}"));
    }
    let settings = AwsSettings::resolve(ctx, &args.aws)?;
    let creds = match operator::operator_profile(&settings)? {
        Some(op) => operator::session(ctx, &settings, &op, info.interactive, Want::Cached)?.creds,
        None => chain_credentials(ctx, &settings)?,
    };
    let now = ctx.now();
    let token = eks_token::presign(&creds, &args.cluster, &settings.endpoint, now)?;
    protocol::write_exec_credential(
        &mut ctx.stdout,
        info.api_version,
        &token.token,
        token.expires_at,
    )
    .map_err(Error::Output)
}
