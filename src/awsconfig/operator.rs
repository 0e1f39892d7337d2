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
    /// aws-cli's `role_session_name`, when the profile sets one; otherwise the session is
    /// named after the IAM user behind the source keys (learned at login).
    pub(crate) role_session_name: Option<String>,
    /// Whether AssumeRole sends SourceIdentity = the IAM user name (`set_source_identity`,
    /// on unless the profile says `false`).
    pub(crate) set_source_identity: bool,
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
            None => None,
            Some(n) => match crate::identity::invalid_name(n) {
                None => Some(n.to_string()),
                Some(why) => {
                    return Err(Missing {
                        key: "role_session_name",
                        hint: format!(
                            "`{n}` is not a session name AWS accepts ({why}); remove the line to \
                             use your IAM user name"
                        ),
                    });
                }
            },
        };
        let set_source_identity = match p.get("set_source_identity") {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(Missing {
                    key: "set_source_identity",
                    hint: format!(
                        "`{v}` is not `true` or `false`; `false` is for a role whose trust policy \
                         does not allow sts:SetSourceIdentity"
                    ),
                });
            }
        };
        Ok(OperatorProfile {
            name: p.name.to_string(),
            role_arn,
            source_profile,
            mfa_serial,
            duration_seconds,
            mfa_process: p.get("mfa_process").map(str::to_string),
            role_session_name,
            set_source_identity,
        })
    }
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
            (op.duration_seconds, op.role_session_name.as_deref()),
            (43_200, None),
            "named after the IAM user, learned at login"
        );
        assert!(op.set_source_identity);
        assert!(OperatorProfile::is_operator(&set.get("op").unwrap()));
        let e = OperatorProfile::from_profile(&set.get("nosrc").unwrap()).unwrap_err();
        assert_eq!(e.key, "source_profile");
        let e = OperatorProfile::from_profile(&set.get("longer").unwrap()).unwrap_err();
        assert_eq!(e.key, "duration_seconds");
        let named = OperatorProfile::from_profile(&set.get("named").unwrap()).unwrap();
        assert_eq!(named.role_session_name.as_deref(), Some("alice"));
        assert_eq!(
            named.mfa_process.as_deref(),
            Some("ykman oath accounts code -s aws")
        );
        let bad = |line: &str| {
            let cfg =
                format!("[profile p]\nrole_arn = r\nmfa_serial = m\nsource_profile = a\n{line}\n");
            let set = ProfileSet::parse(&cfg, "").unwrap();
            OperatorProfile::from_profile(&set.get("p").unwrap()).map(|op| op.set_source_identity)
        };
        assert_eq!(bad("set_source_identity = False"), Ok(false));
        assert_eq!(
            bad("set_source_identity = yes").unwrap_err().key,
            "set_source_identity"
        );
        let e = bad("role_session_name = alice smith").unwrap_err();
        assert_eq!(e.key, "role_session_name");
        assert!(e.hint.contains("not ` `"), "{}", e.hint);
        assert_eq!(
            bad("role_session_name = a").unwrap_err().key,
            "role_session_name"
        );
    }
}
