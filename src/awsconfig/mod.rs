//! The shared AWS config files (`~/.aws/config`, `~/.aws/credentials`) as text: reading
//! profiles exactly the way aws-config does (it is what loads the source credentials;
//! `ini.rs` holds its line rules), and refusing what it would refuse.
//!
//! Pure: text in, values out. Finding and reading the files is the caller's job.

mod edit;
mod ini;
mod operator;

use std::collections::BTreeMap;

pub(crate) use edit::{EditError, credentials_setting, is_valid_profile_name, upsert_profile};
pub(crate) use ini::{FileKind, SyntaxError};
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

impl ProfileSet {
    /// Parses both files; the credentials file wins where both set a key, as in the SDKs.
    /// A file aws-config would refuse is refused, with the line.
    pub(crate) fn parse(config: &str, credentials: &str) -> Result<Self, (FileKind, SyntaxError)> {
        let mut set = ProfileSet::default();
        for (text, kind) in [
            (config, FileKind::Config),
            (credentials, FileKind::Credentials),
        ] {
            let sections = ini::parse(text).map_err(|e| (kind, e))?;
            for (name, props) in profiles_of(&sections, kind) {
                set.profiles.entry(name).or_default().extend(props);
            }
        }
        Ok(set)
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
}

/// Which sections of one file make up each profile, in file order: in the config file a
/// `[profile default]` section hides plain `[default]` ones, as in aws-config.
pub(crate) fn sections_of(
    sections: &[ini::Section],
    kind: FileKind,
) -> Vec<(String, &ini::Section)> {
    let targets: Vec<_> = sections
        .iter()
        .map(|s| ini::profile_of(&s.raw, kind))
        .collect();
    let prefixed_default = targets.iter().any(|t| matches!(t, Some((_, true))));
    sections
        .iter()
        .zip(targets)
        .filter_map(|(s, t)| {
            let (name, prefixed) = t?;
            (name != "default" || prefixed || !prefixed_default).then_some((name, s))
        })
        .collect()
}

/// One file's profiles: sections merged in order, the later key winning; keys outside
/// aws-config's alphabet dropped, as it drops them.
fn profiles_of(
    sections: &[ini::Section],
    kind: FileKind,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (name, section) in sections_of(sections, kind) {
        let props = out.entry(name).or_default();
        for p in section
            .props
            .iter()
            .filter(|p| ini::valid_identifier(&p.key))
        {
            props.insert(p.key.clone(), p.value.clone());
        }
    }
    out
}

/// Whether aws-config would find a profile of this name at all.
#[cfg(test)]
pub(crate) fn sdk_can_name(name: &str) -> bool {
    ini::valid_identifier(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# comment
[default]
region = us-east-1

[profile dev]
region=eu-west-1 # inline
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
        let set = ProfileSet::parse(CONFIG, CREDENTIALS).unwrap();
        let names: Vec<_> = set.names().collect();
        assert_eq!(names, ["default", "dev", "only-creds"]);
        let dev = set.get("dev").unwrap();
        assert_eq!(
            dev.get("region"),
            Some("ap-northeast-1"),
            "credentials file wins"
        );
        assert_eq!(dev.get("s3"), Some("\nmax_concurrent_requests = 20"));
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
    fn header_spellings_and_refusals() {
        let set = ProfileSet::parse(
            "[ profile  a ]\r\nregion = x ; c\r\n[profile]\r\n[profilex]\r\n[default]\r\nk = 1\r\n[profile default]\r\nk = 2\r\n",
            "",
        )
        .unwrap();
        assert_eq!(set.get("a").unwrap().get("region"), Some("x"));
        assert_eq!(set.get("default").unwrap().get("k"), Some("2"));
        assert_eq!(set.names().count(), 2);
        let (kind, e) = ProfileSet::parse("[a]\nno equals sign", "").unwrap_err();
        assert_eq!((kind, e.line), (FileKind::Config, 2));
    }

    /// aws-config's own reading of two texts (aws-config reads the source credentials).
    #[allow(deprecated)] // aws-config offers these only under their deprecated names
    fn aws_config_reads(
        config: &str,
        credentials: &str,
    ) -> Option<aws_config::profile::ProfileSet> {
        use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
        use aws_types::os_shim_internal::{Env, Fs};
        use std::task::{Context, Poll, Waker};
        let files = ProfileFiles::builder()
            .with_contents(ProfileFileKind::Config, config)
            .with_contents(ProfileFileKind::Credentials, credentials)
            .build();
        let (fs, env) = (Fs::from_slice(&[]), Env::from_slice(&[]));
        let load = std::pin::pin!(aws_config::profile::load(&fs, &env, &files, None));
        match load.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(r) => r.ok(),
            Poll::Pending => unreachable!("reading from memory never waits"),
        }
    }

    pub(super) fn agree(config: &str, credentials: &str) -> Result<(), String> {
        use aws_config::profile::{Profile as SdkProfile, Property};
        let ours = ProfileSet::parse(config, credentials);
        let Some(sdk) = aws_config_reads(config, credentials) else {
            return match ours {
                Err(_) => Ok(()),
                Ok(_) => Err("aws-config refuses the files, ours reads them".into()),
            };
        };
        let ours = ours.map_err(|e| format!("ours refuses what aws-config reads: {e:?}"))?;
        let mut sdk_names: Vec<&str> = sdk.profiles().collect();
        sdk_names.sort_unstable();
        let our_names: Vec<&str> = ours.names().filter(|n| sdk_can_name(n)).collect();
        if sdk_names != our_names {
            return Err(format!(
                "profiles: aws-config {sdk_names:?}, ours {our_names:?}"
            ));
        }
        for name in our_names {
            let props = &ours.profiles[name];
            let expected = SdkProfile::new(
                name.to_string(),
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), Property::new(k.clone(), v.clone())))
                    .collect(),
            );
            if sdk.get_profile(name) != Some(&expected) {
                return Err(format!(
                    "profile {name}: aws-config {:?}, ours {expected:?}",
                    sdk.get_profile(name)
                ));
            }
        }
        Ok(())
    }

    #[test]
    fn agrees_with_aws_config_on_hand_picked_files() {
        for (config, credentials) in [
            (CONFIG, CREDENTIALS),
            ("[profile a]\nk = v # c\nl = v#c\nm = #c\n", ""),
            ("[profile a]\nk = first\n  second\n\n  third\n", ""),
            ("[profile x]\na=1\nb=1\n[profile y]\n[profile x]\na=2\n", ""),
            (
                "[default]\nregion=a\nx=1\n[profile default]\nregion=b\n",
                "",
            ),
            ("[profile default]\nregion=a\n", "[default]\nregion=b\n"),
            (
                "[profile a]\nbad key = v\nRegion = A\n",
                "[profile b]\n[ok]\nk=v\n",
            ),
            ("[profile a]\nk = v\r\n", ""),
            (" [profile a]\n", ""),
        ] {
            agree(config, credentials)
                .unwrap_or_else(|e| panic!("{config:?} {credentials:?}: {e}"));
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "default",
        "ops",
        "dev",
        "Ops",
        "a.b@c:d/e+f%g_h-i",
        "bad!name",
        "é",
    ];
    /// Header spellings; those in one group differ only by whitespace (aws-config's answer
    /// to two spellings of one profile in one file depends on hash order, so a generated
    /// file uses one spelling per group and name).
    const HEADERS: &[(usize, &str)] = &[
        (0, "[profile {n}]"),
        (0, "[ profile {n} ]"),
        (0, "[profile\t{n}]"),
        (0, "[profile  {n}] # c"),
        (1, "[{n}]"),
        (1, "[ {n} ]"),
        (2, "[sso-session {n}]"),
        (3, "[services {n}]"),
        (4, "[Profile {n}]"),
        (5, "[profile{n}]"),
    ];
    const KEYS: &[&str] = &[
        "region",
        "Region",
        "output",
        "role_arn",
        "source_profile",
        "k-1",
        "a.b",
        "bad key",
        "kä",
        "s3",
    ];
    const SEPS: &[&str] = &["=", " = ", "\t=\t", "  =", "= "];

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (0..KEYS.len(), 0..SEPS.len(),
                  "[A-Za-z0-9:/._@+=-]{0,10}( ?[#;][a-z ]{0,4})?",
                  prop::collection::vec("[a-z]{1,4}( = [a-z0-9]{0,3})?( #x)?", 0..3))
                .prop_map(|(k, sep, value, conts)| {
                    let mut out = format!("{}{}{}", KEYS[k], SEPS[sep], value);
                    for c in conts {
                        // Under `key =` a line with `=` is a sub-property; text otherwise.
                        if value.is_empty() && !c.contains('=') {
                            continue;
                        }
                        out.push_str(&format!("\n  {c}"));
                    }
                    out
                }),
            1 => "[#;][ a-z#;]{0,6}",
            1 => "[ \t]{0,2}",
        ]
    }

    fn file() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(
                (
                    (0..HEADERS.len(), 0..NAMES.len()),
                    prop::collection::vec(line(), 0..5),
                ),
                0..6,
            ),
            any::<bool>(),
        )
            .prop_map(|(sections, crlf)| {
                let mut spelling = std::collections::HashMap::new();
                let mut out = Vec::new();
                for ((h, n), lines) in sections {
                    let h = *spelling.entry((HEADERS[h].0, n)).or_insert(h);
                    out.push(HEADERS[h].1.replace("{n}", NAMES[n]));
                    out.extend(lines);
                }
                out.join(if crlf { "\r\n" } else { "\n" })
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Our reader and aws-config's own parser agree on every profile's keys, and on
        /// which files to refuse.
        #[test]
        fn our_reader_agrees_with_aws_config(config in file(), credentials in file()) {
            super::tests::agree(&config, &credentials).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn our_reader_agrees_on_junk(
            config in prop::collection::vec("[\\[\\] \t#;=a-z]{0,8}", 0..8).prop_map(|v| v.join("\n")),
        ) {
            super::tests::agree(&config, "").map_err(TestCaseError::fail)?;
        }
    }
}
