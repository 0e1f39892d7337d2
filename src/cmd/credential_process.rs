//! `eksop-auth credential-process --profile P`: aws-cli's `credential_process` JSON from the
//! same stored session as `token`, with the same lock and MFA rules, so kubectl and aws-cli
//! share one MFA login. aws-cli swallows our stderr; prompts go to the terminal itself.

use crate::cli::CredentialProcessArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::protocol;
use crate::session::{self, Want};

pub(crate) fn run(ctx: &mut Ctx, args: &CredentialProcessArgs) -> Result<()> {
    let settings = ctx.settings(&args.aws)?;
    let op = settings.require_operator()?;
    let session = session::obtain(ctx, &settings, &op, None, Want::Cached)?;
    protocol::write_process_credentials(&mut ctx.stdout, &session.creds, session.expires_at())
        .map_err(Error::Output)
}
