//! The shared AWS config files (`~/.aws/config`, `~/.aws/credentials`) as text: reading
//! profiles the way the AWS SDKs do.
//!
//! Pure: text in, values out. Finding and reading the files is the caller's job.

mod edit;
mod operator;

use std::collections::BTreeMap;

pub(crate) use edit::{is_valid_profile_name, upsert_profile};
pub(crate) use operator::{DEFAULT_DURATION_SECONDS, OperatorProfile};

/// The merged profiles of the config and credentials files.
#[derive(Debug, Default, Clone)]
pub(crate) struct ProfileSet {
    profiles: BTreeMap<String, BTreeMap<String, String>>,
}

/// One profile's properties (keys lower-cased, values trimmed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Profile<'a> {
    pub(crate) name: &'a str,
    props: &'a BTreeMap<String, String>,
}

impl<'a> Profile<'a> {
    /// A property's value; `None` when absent or empty.
    pub(crate) fn get(&self, key: &str) -> Option<&'a str> {
        self.props
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Config,
    Credentials,
}

impl ProfileSet {
    /// Parses both files; the credentials file wins where both set a key, as in the SDKs.
    pub(crate) fn parse(config: &str, credentials: &str) -> Self {
        let mut set = ProfileSet::default();
        set.parse_into(config, FileKind::Config);
        set.parse_into(credentials, FileKind::Credentials);
        set
    }

    pub(crate) fn get(&self, name: &str) -> Option<Profile<'_>> {
        self.profiles
            .get_key_value(name)
            .map(|(name, props)| Profile { name, props })
    }

    #[cfg(test)]
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    fn parse_into(&mut self, text: &str, kind: FileKind) {
        let mut current: Option<String> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let Some(header) = trimmed.strip_prefix('[') {
                let inner = header.split(']').next().unwrap_or("").trim();
                current = section_profile_name(inner, kind).map(str::to_string);
                if let Some(name) = &current {
                    self.profiles.entry(name.clone()).or_default();
                }
                continue;
            }
            // Indented lines are sub-properties of a nested block (`s3 =` …): not ours to read.
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let (Some(name), Some((key, value))) = (&current, trimmed.split_once('=')) else {
                continue;
            };
            let props = self.profiles.entry(name.clone()).or_default();
            props.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
}

/// The profile a section header names, if it names one: `[default]` and `[profile X]` in
/// the config file, any `[X]` in the credentials file.
fn section_profile_name(inner: &str, kind: FileKind) -> Option<&str> {
    match kind {
        FileKind::Credentials => Some(inner).filter(|n| !n.is_empty()),
        FileKind::Config if inner == "default" => Some("default"),
        FileKind::Config => {
            let rest = inner.strip_prefix("profile")?;
            if !rest.starts_with([' ', '\t']) {
                return None;
            }
            Some(rest.trim()).filter(|n| !n.is_empty())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# comment
[default]
region = us-east-1

[profile dev]
region=eu-west-1
output = json
s3 =
    max_concurrent_requests = 20
role_arn = arn:aws:iam::111122223333:role/eks-operator

[sso-session corp]
sso_region = us-east-1

[services local]
sts =
  endpoint_url = http://localhost

[notaprofile]
region = xx
";

    const CREDENTIALS: &str = "\
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = secret

[dev]
region = ap-northeast-1

[only-creds]
aws_access_key_id = AKIAONLY
";

    #[test]
    fn reads_profiles_like_the_sdks() {
        let set = ProfileSet::parse(CONFIG, CREDENTIALS);
        let names: Vec<_> = set.names().collect();
        assert_eq!(names, ["default", "dev", "only-creds"]);
        let dev = set.get("dev").unwrap();
        assert_eq!(
            dev.get("region"),
            Some("ap-northeast-1"),
            "credentials file wins"
        );
        assert_eq!(dev.get("s3"), None, "nested block parent has no value");
        assert_eq!(
            dev.get("max_concurrent_requests"),
            None,
            "nested keys stay nested"
        );
        assert_eq!(
            dev.get("role_arn"),
            Some("arn:aws:iam::111122223333:role/eks-operator")
        );
        assert_eq!(
            set.get("default").unwrap().get("aws_access_key_id"),
            Some("AKIADEFAULT")
        );
        assert!(set.get("notaprofile").is_none());
        assert!(set.get("corp").is_none());
    }

    #[test]
    fn tolerates_windows_line_endings_and_odd_headers() {
        let set = ProfileSet::parse(
            "[profile  a ]\r\nregion = x\r\n[profile]\r\n[profilex]\r\n",
            "",
        );
        assert_eq!(set.get("a").unwrap().get("region"), Some("x"));
        assert_eq!(set.names().count(), 1);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn profile_reader_never_panics(config in ".*", credentials in ".*") {
            let set = ProfileSet::parse(&config, &credentials);
            for name in set.names() {
                let p = set.get(name).unwrap();
                let _ = OperatorProfile::from_profile(&p);
            }
        }

        #[test]
        fn profile_reader_on_ini_like_text(lines in prop::collection::vec("(\\[(profile )?[a-z ]{0,6}\\]|[a-z_]{1,8} ?= ?[a-z0-9:/]{0,12}| +[a-z]+ = 1|#.*|)", 0..30)) {
            let text = lines.join("\n");
            let set = ProfileSet::parse(&text, &text);
            for name in set.names() {
                let _ = OperatorProfile::from_profile(&set.get(name).unwrap());
            }
        }
    }
}
