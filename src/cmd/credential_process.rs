//! `eksop-auth credential-process --profile P`: aws-cli's `credential_process` JSON from the
//! same stored session as `token`, with the same lock and MFA rules, so kubectl and aws-cli
//! share one MFA login. aws-cli swallows our stderr; prompts go to the terminal itself.

use std::io::Write;

use serde::Serialize;

use crate::cli::CredentialProcessArgs;
use crate::cmd::AwsSettings;
use crate::cmd::operator::{self, Want};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::protocol::rfc3339;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessCredentials<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
}

pub fn run(ctx: &mut Ctx, args: &CredentialProcessArgs) -> Result<()> {
    let settings = AwsSettings::resolve(ctx, &args.aws)?;
    let op = operator::require(&settings)?;
    let session = operator::session(ctx, &settings, &op, None, Want::Cached)?;
    let doc = ProcessCredentials {
        version: 1,
        access_key_id: &session.creds.access_key_id,
        secret_access_key: session.creds.secret_access_key.expose(),
        session_token: session
            .creds
            .session_token
            .as_ref()
            .map_or("", |t| t.expose()),
        expiration: rfc3339(session.expires_at()),
    };
    let mut buf = serde_json::to_vec(&doc).map_err(|e| Error::Internal(e.to_string()))?;
    buf.push(b'\n');
    ctx.stdout
        .write_all(&buf)
        .and_then(|()| ctx.stdout.flush())
        .map_err(Error::Output)
}
