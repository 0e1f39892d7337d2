//! Who a person is to AWS and to the cluster: the IAM user behind the source keys (from
//! GetCallerIdentity), the role session name made from it, and the Kubernetes user names a
//! role session maps to. Pure: no network.

/// The caller of GetCallerIdentity, as far as a session needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    pub(crate) arn: String,
    /// The name as AWS would accept it for RoleSessionName and SourceIdentity.
    pub(crate) name: String,
    /// An IAM user (`…:user/…`): the only kind of caller `${aws:username}` names, so the
    /// only one the shipped trust policy accepts and the only one we send SourceIdentity for.
    pub(crate) is_user: bool,
}

impl Principal {
    /// Reads a GetCallerIdentity ARN; anything not shaped like one is refused.
    pub(crate) fn from_arn(arn: &str) -> Result<Principal, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let well_formed = parts.len() == 6
            && parts[0] == "arn"
            && !parts[1].is_empty()
            && matches!(parts[2], "iam" | "sts")
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && !parts[5].is_empty()
            && printable(arn);
        if !well_formed {
            return Err(format!("`{arn}` is not an IAM or STS ARN"));
        }
        let resource = parts[5];
        let raw = resource.rsplit('/').next().unwrap_or(resource);
        if raw.is_empty() {
            return Err(format!("`{arn}` names no user"));
        }
        Ok(Principal {
            arn: arn.to_string(),
            name: fix_name(raw),
            is_user: parts[2] == "iam" && resource.starts_with("user/"),
        })
    }
}

/// Only what an ARN can hold (printable ASCII, no spaces): an answer is never printed with
/// bytes that could steer a terminal.
pub(crate) fn printable(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_graphic())
}

/// The longest RoleSessionName and SourceIdentity AWS accepts.
const MAX_NAME: usize = 64;

/// A name AWS accepts as RoleSessionName and SourceIdentity (`[\w+=,.@-]{2,64}`), made
/// deterministically from `raw`: every other character becomes `-`, the name is cut at 64
/// characters, and a one-character name gets a `-` appended. IAM user names already use
/// only those characters, so only a one-character user name changes.
pub(crate) fn fix_name(raw: &str) -> String {
    let mut name: String = raw
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .take(MAX_NAME)
        .collect();
    while name.chars().count() < 2 {
        name.push('-');
    }
    name
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Why AWS would refuse `name` as a RoleSessionName, if it would.
pub(crate) fn invalid_name(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(2..=MAX_NAME).contains(&len) {
        return Some(format!(
            "it has {len} characters; AWS wants 2 to {MAX_NAME}"
        ));
    }
    name.chars()
        .find(|c| !allowed(*c))
        .map(|c| format!("AWS allows only letters, digits and `_+=,.@-`, not `{c}`"))
}

/// The role session name in an assumed-role ARN (`…:assumed-role/ROLE/NAME`).
pub(crate) fn session_name_of(assumed_arn: &str) -> Option<&str> {
    let (_, rest) = assumed_arn.split_once(":assumed-role/")?;
    let (_, name) = rest.split_once('/')?;
    (!name.is_empty()).then_some(name)
}

/// The Kubernetes user names a role session maps to: with the shipped aws-auth mapping
/// (`username: eks-operator:{{SessionName}}`), and with an EKS access entry's default
/// (the assumed-role ARN itself).
pub(crate) fn kubernetes_names(assumed_arn: &str) -> Option<(String, String)> {
    let name = session_name_of(assumed_arn)?;
    Some((format!("eks-operator:{name}"), assumed_arn.to_string()))
}

/// One line saying whom the cluster sees, for `login` and `status`.
pub(crate) fn kubernetes_line(assumed_arn: &str) -> Option<String> {
    let (aws_auth, entry) = kubernetes_names(assumed_arn)?;
    Some(format!(
        "{aws_auth} (with the shipped aws-auth mapping), {entry} (with an EKS access entry)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_of_every_kind() {
        let user = Principal::from_arn("arn:aws:iam::123456789012:user/team/alice").unwrap();
        assert_eq!((user.name.as_str(), user.is_user), ("alice", true));
        let role =
            Principal::from_arn("arn:aws:sts::123456789012:assumed-role/Sso/bob@corp.example")
                .unwrap();
        assert_eq!(
            (role.name.as_str(), role.is_user),
            ("bob@corp.example", false)
        );
        let root = Principal::from_arn("arn:aws-cn:iam::123456789012:root").unwrap();
        assert_eq!((root.name.as_str(), root.is_user), ("root", false));
        for bad in [
            "",
            "alice",
            "arn:aws:iam::1:user/alice",
            "arn:aws:s3:::bucket/x",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:iam::12345678901x:user/a",
            "arn:aws:iam::123456789012:user/a\u{1b}[2Jb",
            "arn:aws:iam::123456789012:user/a b",
        ] {
            assert!(Principal::from_arn(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_aws_would_refuse_are_fixed_deterministically() {
        assert_eq!(fix_name("alice"), "alice");
        assert_eq!(fix_name("a"), "a-");
        assert_eq!(fix_name(""), "--");
        assert_eq!(fix_name("jürgen müller"), "j-rgen-m-ller");
        assert_eq!(fix_name("aws:x"), "aws-x");
        assert_eq!(fix_name(&"x".repeat(70)).len(), 64);
        for n in ["a-", "j-rgen-m-ller", "alice.smith@corp=1,2+3_"] {
            assert_eq!(invalid_name(n), None, "{n}");
            assert_eq!(fix_name(n), n, "idempotent");
        }
        assert!(invalid_name("a").is_some());
        assert!(invalid_name("al ice").unwrap().contains('`'));
        assert!(invalid_name(&"x".repeat(65)).is_some());
    }

    #[test]
    fn who_the_cluster_sees() {
        let arn = "arn:aws:sts::123456789012:assumed-role/eks-operator/alice";
        assert_eq!(session_name_of(arn), Some("alice"));
        assert_eq!(
            kubernetes_names(arn).unwrap(),
            ("eks-operator:alice".into(), arn.into())
        );
        assert_eq!(session_name_of("arn:aws:iam::1:user/alice"), None);
        assert_eq!(session_name_of("arn:aws:sts::1:assumed-role/r/"), None);
    }
}
