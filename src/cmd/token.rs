//! `eksop-auth token`: kubectl's entry point. Exactly one ExecCredential on stdout.

use crate::cli::TokenArgs;
use crate::ctx::Ctx;
use crate::eks_token;
use crate::error::{Error, Result};
use crate::protocol;
use crate::session::{self, Want};
use crate::settings::CredentialSource;

pub(crate) fn run(ctx: &mut Ctx, args: &TokenArgs) -> Result<()> {
    if args.cluster.trim().is_empty() {
        return Err(Error::Config(
            "--cluster is empty; pass the EKS cluster name, e.g. --cluster prod".into(),
        ));
    }
    if args.cluster.chars().any(char::is_control) {
        return Err(Error::Config(
            "--cluster contains a line break or another control character; pass the EKS \
             cluster name as it is (letters, digits, `-` and `_`), e.g. --cluster prod"
                .into(),
        ));
    }
    let info = protocol::parse_exec_info(ctx.env.get("KUBERNETES_EXEC_INFO"));
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
    let token = eks_token::presign(&creds, &args.cluster, &settings.endpoint, ctx.now())?;
    protocol::write_exec_credential(
        &mut ctx.stdout,
        info.api_version,
        &token.token,
        token.expires_at,
    )
    .map_err(Error::Output)
}
