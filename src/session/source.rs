//! Loading the credentials a `CredentialSource` names: key pairs as read, anything else
//! through aws-config's chain (the only path that needs the SDK).

use crate::aws::ChainRequest;
use crate::credentials::{Credentials, key_id_for_display};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::log::debug;
use crate::settings::{CredentialSource, Settings};

pub(crate) fn load(
    ctx: &mut Ctx,
    settings: &Settings,
    source: CredentialSource,
) -> Result<Credentials> {
    match source {
        CredentialSource::Keys { origin, creds } => {
            debug!(
                ctx,
                "credentials: {origin} (access key {})",
                key_id_for_display(&creds.access_key_id)
            );
            Ok(creds)
        }
        CredentialSource::Chain { profile, use_env } => {
            debug!(
                ctx,
                "credentials: asking the AWS SDK's chain for profile `{profile}`"
            );
            let creds = ctx.aws.load_credentials(&ChainRequest {
                profile: &profile,
                use_env,
                region: settings.region.as_deref(),
            })?;
            debug!(
                ctx,
                "credentials: loaded access key {}",
                key_id_for_display(&creds.access_key_id)
            );
            Ok(creds)
        }
        CredentialSource::Operator(op) => Err(Error::Internal(format!(
            "profile `{}` is an eks-operator profile; its session comes from the session flow",
            op.name
        ))),
    }
}
