//! An eks-operator profile: a role with an MFA device, assumed directly from a source
//! profile. Pure: read from a parsed `Profile`.

use super::Profile;

/// The 12 hours the eks-operator role allows; aws-cli's own default would be 1 hour.
pub(crate) const DEFAULT_DURATION_SECONDS: i32 = 43_200;

/// An eks-operator profile: an MFA-gated role assumed directly from a source profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OperatorProfile {
    pub(crate) name: String,
    pub(crate) role_arn: String,
    pub(crate) source_profile: String,
    pub(crate) mfa_serial: String,
    pub(crate) duration_seconds: i32,
    pub(crate) mfa_process: Option<String>,
    pub(crate) role_session_name: String,
}

/// What is wrong with a profile that should be an eks-operator profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Missing {
    pub(crate) key: &'static str,
    pub(crate) hint: String,
}

impl OperatorProfile {
    /// Whether the profile asks for our flow: a role with an MFA device.
    pub(crate) fn is_operator(p: &Profile<'_>) -> bool {
        p.has("role_arn") && p.has("mfa_serial")
    }

    /// Reads the profile, naming the first missing or invalid key.
    pub(crate) fn from_profile(p: &Profile<'_>) -> Result<Self, Missing> {
        let need = |key: &'static str, hint: &str| {
            p.get(key).map(str::to_string).ok_or(Missing {
                key,
                hint: hint.to_string(),
            })
        };
        let role_arn = need(
            "role_arn",
            "add `role_arn = arn:aws:iam::ACCOUNT:role/eks-operator`, or run `eksop-auth setup`",
        )?;
        let mfa_serial = need(
            "mfa_serial",
            "add `mfa_serial = arn:aws:iam::ACCOUNT:mfa/YOUR-DEVICE` (IAM console → Security credentials)",
        )?;
        let source_profile = need(
            "source_profile",
            "add `source_profile = <the profile holding your IAM user's keys>`",
        )?;
        if source_profile == p.name {
            return Err(Missing {
                key: "source_profile",
                hint: "it names the profile itself; point it at the profile that holds your IAM user's keys".into(),
            });
        }
        let duration_seconds = match p.get("duration_seconds") {
            None => DEFAULT_DURATION_SECONDS,
            Some(v) => v
                .parse::<i32>()
                .ok()
                .filter(|d| (900..=43_200).contains(d))
                .ok_or(Missing {
                    key: "duration_seconds",
                    hint: format!(
                        "`{v}` is not a number of seconds from 900 to 43200; use 43200 for 12 hours"
                    ),
                })?,
        };
        let role_session_name = match p.get("role_session_name") {
            Some(n) => n.to_string(),
            None => default_session_name(&mfa_serial),
        };
        Ok(OperatorProfile {
            name: p.name.to_string(),
            role_arn,
            source_profile,
            mfa_serial,
            duration_seconds,
            mfa_process: p.get("mfa_process").map(str::to_string),
            role_session_name,
        })
    }
}

/// The human behind the session, for CloudTrail and the EKS audit log: the MFA device's
/// name (`…:mfa/alice` → `alice`), reduced to what RoleSessionName allows (`[\w+=,.@-]`, 2–64).
pub(crate) fn default_session_name(mfa_serial: &str) -> String {
    let base = mfa_serial.rsplit('/').next().unwrap_or(mfa_serial);
    let mut name: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(64)
        .collect();
    // AWS wants at least two characters: keep the person's name first.
    if name.len() < 2 {
        name = format!("{name}-eksop-auth");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsconfig::ProfileSet;

    #[test]
    fn operator_profile_defaults_and_errors() {
        let cfg = "[profile op]\nrole_arn = arn:aws:iam::1:role/eks-operator\nmfa_serial = arn:aws:iam::1:mfa/A\nsource_profile = a\n\
                   [profile nosrc]\nrole_arn = r\nmfa_serial = m\n\
                   [profile longer]\nrole_arn = r\nmfa_serial = m\nsource_profile = a\nduration_seconds = 90000\n\
                   [profile named]\nrole_arn = r\nmfa_serial = GAHT1234\nsource_profile = a\nrole_session_name = alice\nmfa_process = ykman oath accounts code -s aws\n";
        let set = ProfileSet::parse(cfg, "").unwrap();
        let op = OperatorProfile::from_profile(&set.get("op").unwrap()).unwrap();
        assert_eq!(
            (op.duration_seconds, op.role_session_name.as_str()),
            (43_200, "A-eksop-auth")
        );
        assert!(OperatorProfile::is_operator(&set.get("op").unwrap()));
        let e = OperatorProfile::from_profile(&set.get("nosrc").unwrap()).unwrap_err();
        assert_eq!(e.key, "source_profile");
        let e = OperatorProfile::from_profile(&set.get("longer").unwrap()).unwrap_err();
        assert_eq!(e.key, "duration_seconds");
        let named = OperatorProfile::from_profile(&set.get("named").unwrap()).unwrap();
        assert_eq!(named.role_session_name, "alice");
        assert_eq!(
            named.mfa_process.as_deref(),
            Some("ykman oath accounts code -s aws")
        );
        assert_eq!(
            default_session_name("arn:aws:iam::1:mfa/team/bob.smith"),
            "bob.smith"
        );
        assert_eq!(default_session_name("x"), "x-eksop-auth");
    }
}
