//! The shared AWS config files (`~/.aws/config`, `~/.aws/credentials`) as text: reading
//! profiles the way the AWS SDKs do.
//!
//! Pure: text in, values out. Finding and reading the files is the caller's job.

use std::collections::BTreeMap;

/// The merged profiles of the config and credentials files.
#[derive(Debug, Default, Clone)]
pub struct ProfileSet {
    profiles: BTreeMap<String, BTreeMap<String, String>>,
}

/// One profile's properties (keys lower-cased, values trimmed).
#[derive(Debug, Clone, Copy)]
pub struct Profile<'a> {
    pub name: &'a str,
    props: &'a BTreeMap<String, String>,
}

impl<'a> Profile<'a> {
    /// A property's value; `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.props
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn has(&self, key: &str) -> bool {
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
    pub fn parse(config: &str, credentials: &str) -> Self {
        let mut set = ProfileSet::default();
        set.parse_into(config, FileKind::Config);
        set.parse_into(credentials, FileKind::Credentials);
        set
    }

    pub fn get(&self, name: &str) -> Option<Profile<'_>> {
        self.profiles
            .get_key_value(name)
            .map(|(name, props)| Profile { name, props })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
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

/// Sets `values` in the `[profile name]` block of a config file's text (creating the block
/// at the end if there is none). Every other line stays byte for byte — comments, blank
/// lines, other profiles, nested blocks; a key already set to the same value is not
/// touched, so applying the same edit twice changes nothing.
pub fn upsert_profile(text: &str, name: &str, values: &[(&str, String)]) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    // New lines follow the file's own line ending.
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let header = lines.iter().position(|l| {
        let t = l.trim();
        t.starts_with('[')
            && section_profile_name(
                t[1..].split(']').next().unwrap_or("").trim(),
                FileKind::Config,
            ) == Some(name)
    });
    let Some(header) = header else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&if name == "default" {
            "[default]\n".to_string()
        } else {
            format!("[profile {name}]\n")
        });
        for (k, v) in values {
            out.push_str(&format!("{k} = {v}\n"));
        }
        return out;
    };
    for (key, value) in values {
        let end = lines[header + 1..]
            .iter()
            .position(|l| is_header(l))
            .map_or(lines.len(), |i| header + 1 + i);
        let existing = (header + 1..end).find(|&i| {
            let l = &lines[i];
            !l.starts_with([' ', '\t'])
                && l.split_once('=')
                    .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        });
        match existing {
            Some(i) => {
                let current = lines[i]
                    .split_once('=')
                    .map(|(_, v)| v.trim())
                    .unwrap_or("");
                if current != value {
                    let eol = if lines[i].ends_with("\r\n") {
                        "\r\n"
                    } else if lines[i].ends_with('\n') {
                        "\n"
                    } else {
                        ""
                    };
                    lines[i] = format!("{key} = {value}{eol}");
                }
            }
            None => {
                // After the block's last property (or sub-property), before trailing blanks
                // and comments that belong to whatever follows.
                let last = (header + 1..end)
                    .rev()
                    .find(|&i| {
                        let t = lines[i].trim();
                        !t.is_empty() && !t.starts_with('#') && !t.starts_with(';')
                    })
                    .unwrap_or(header);
                if !lines[last].ends_with('\n') {
                    lines[last].push_str(nl);
                }
                lines.insert(last + 1, format!("{key} = {value}{nl}"));
            }
        }
    }
    lines.concat()
}

/// Whether `name` can be a profile name in a section header that reads back as itself.
pub fn is_valid_profile_name(name: &str) -> bool {
    !name.is_empty() && name.trim() == name && !name.contains(['[', ']', '\n', '\r', '#', ';'])
}

/// The 12 hours the eks-operator role allows; aws-cli's own default would be 1 hour.
pub const DEFAULT_DURATION_SECONDS: i32 = 43_200;

/// An eks-operator profile: an MFA-gated role assumed directly from a source profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorProfile {
    pub name: String,
    pub role_arn: String,
    pub source_profile: String,
    pub mfa_serial: String,
    pub duration_seconds: i32,
    pub mfa_process: Option<String>,
    pub role_session_name: String,
}

/// What is wrong with a profile that should be an eks-operator profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub key: &'static str,
    pub hint: String,
}

impl OperatorProfile {
    /// Whether the profile asks for our flow: a role with an MFA device.
    pub fn is_operator(p: &Profile<'_>) -> bool {
        p.has("role_arn") && p.has("mfa_serial")
    }

    /// Reads the profile, naming the first missing or invalid key.
    pub fn from_profile(p: &Profile<'_>) -> Result<Self, Missing> {
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
pub fn default_session_name(mfa_serial: &str) -> String {
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

    #[test]
    fn upsert_keeps_every_other_line_and_is_idempotent() {
        let original = "# top comment\n[default]\nregion = us-east-1\n\n[profile ops]\n; inline comment\nregion = eu-west-1\ns3 =\n    max_concurrent_requests = 20\n\n# about the next one\n[profile other]\noutput = json";
        let values = [
            ("role_arn", "arn:aws:iam::1:role/eks-operator".to_string()),
            ("region", "eu-west-1".to_string()),
        ];
        let once = upsert_profile(original, "ops", &values);
        assert_eq!(
            once,
            "# top comment\n[default]\nregion = us-east-1\n\n[profile ops]\n; inline comment\nregion = eu-west-1\ns3 =\n    max_concurrent_requests = 20\nrole_arn = arn:aws:iam::1:role/eks-operator\n\n# about the next one\n[profile other]\noutput = json"
        );
        assert_eq!(upsert_profile(&once, "ops", &values), once);
        let changed = upsert_profile(&once, "ops", &[("region", "ap-northeast-1".to_string())]);
        assert!(
            changed.contains("region = ap-northeast-1\ns3 =")
                && changed.contains("[default]\nregion = us-east-1")
        );
        let added = upsert_profile(original, "new", &[("role_arn", "r".to_string())]);
        assert_eq!(
            added,
            format!("{original}\n\n[profile new]\nrole_arn = r\n")
        );
        assert_eq!(
            upsert_profile("", "x", &[("a", "1".into())]),
            "[profile x]\na = 1\n"
        );
        let crlf = upsert_profile(
            "[profile a]\r\nregion = x\r\n",
            "a",
            &[("output", "json".to_string())],
        );
        assert_eq!(crlf, "[profile a]\r\nregion = x\r\noutput = json\r\n");
        let last = upsert_profile(original, "other", &[("region", "x".to_string())]);
        assert!(
            last.ends_with("[profile other]\noutput = json\nregion = x\n"),
            "{last}"
        );
    }

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

    #[test]
    fn operator_profile_defaults_and_errors() {
        let cfg = "[profile op]\nrole_arn = arn:aws:iam::1:role/eks-operator\nmfa_serial = arn:aws:iam::1:mfa/A\nsource_profile = a\n\
                   [profile nosrc]\nrole_arn = r\nmfa_serial = m\n\
                   [profile longer]\nrole_arn = r\nmfa_serial = m\nsource_profile = a\nduration_seconds = 90000\n\
                   [profile named]\nrole_arn = r\nmfa_serial = GAHT1234\nsource_profile = a\nrole_session_name = alice\nmfa_process = ykman oath accounts code -s aws\n";
        let set = ProfileSet::parse(cfg, "");
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
