//! Editing `~/.aws/config` as text: one `[profile X]` block changes, every other line stays
//! byte for byte. The block is found by the same rules the SDKs read it with, and a profile
//! defined twice (or a key set twice in it) is refused rather than edited where readers
//! would not look. Pure: text in, text out.

use std::fmt;

use super::ini::{self, FileKind, SyntaxError};
use super::sections_of;

/// Why a config file's text is not edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EditError {
    /// The SDKs themselves would refuse the file.
    Syntax(SyntaxError),
    /// The profile is defined by more than one section (1-based header lines).
    DuplicateProfile { name: String, lines: Vec<usize> },
    /// A key appears more than once in the profile's section.
    DuplicateKey {
        name: String,
        key: String,
        lines: Vec<usize>,
    },
    /// A value that would not read back as itself (a line break, a comment marker).
    BadValue { key: String, why: &'static str },
}

fn join(lines: &[usize]) -> String {
    lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Syntax(e) => write!(f, "line {}: {}", e.line, e.message),
            EditError::DuplicateProfile { name, lines } => write!(
                f,
                "profile `{name}` is defined more than once (lines {}), and which definition \
                 wins differs between readers; merge them into one section",
                join(lines)
            ),
            EditError::DuplicateKey { name, key, lines } => write!(
                f,
                "profile `{name}` sets `{key}` more than once (lines {}), and which one counts \
                 differs between readers; keep one",
                join(lines)
            ),
            EditError::BadValue { key, why } => write!(f, "the value for `{key}` {why}"),
        }
    }
}

/// An edit of the line list: replace `len` lines at `at` (0 for an insertion) with `text`.
struct Splice {
    at: usize,
    len: usize,
    text: String,
}

/// Sets `values` in the `[profile name]` block of a config file's text (creating the block
/// at the end if there is none). Every other line stays byte for byte — comments, blank
/// lines, other profiles, nested blocks; a key already set to the same value is not
/// touched, so applying the same edit twice changes nothing.
pub(crate) fn upsert_profile(
    text: &str,
    name: &str,
    values: &[(&str, String)],
) -> Result<String, EditError> {
    for (key, value) in values {
        check_value(key, value)?;
    }
    let sections = ini::parse(text).map_err(EditError::Syntax)?;
    let mine: Vec<&ini::Section> = sections_of(&sections, FileKind::Config)
        .into_iter()
        .filter(|(n, _)| n == name)
        .map(|(_, s)| s)
        .collect();
    let section = match mine.as_slice() {
        [] => return Ok(append_profile(text, name, values)),
        [one] => *one,
        many => {
            return Err(EditError::DuplicateProfile {
                name: name.into(),
                lines: many.iter().map(|s| s.header + 1).collect(),
            });
        }
    };
    // One profile, one meaning: no key twice, whether this edit sets it or not.
    for p in &section.props {
        let same: Vec<usize> = section
            .props
            .iter()
            .filter(|q| q.key == p.key)
            .map(|q| q.line + 1)
            .collect();
        if same.len() > 1 {
            return Err(EditError::DuplicateKey {
                name: name.into(),
                key: p.key.clone(),
                lines: same,
            });
        }
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let nl = newline_of(text);
    let mut splices = Vec::new();
    let mut added = String::new();
    for (key, value) in values {
        let found: Vec<&ini::Property> = section.props.iter().filter(|p| p.key == *key).collect();
        match found.as_slice() {
            [] => added.push_str(&format!("{key} = {value}{nl}")),
            [p] if p.value == *value && p.lines == 1 => {}
            _ => {
                let p = found[0];
                let eol = if lines[p.line + p.lines - 1].ends_with('\n') {
                    nl
                } else {
                    ""
                };
                splices.push(Splice {
                    at: p.line,
                    len: p.lines,
                    text: format!("{key} = {value}{eol}"),
                });
            }
        }
    }
    if !added.is_empty() {
        // After the block's last property (or sub-property), before trailing blanks and
        // comments that belong to whatever follows.
        let at = section
            .props
            .iter()
            .map(|p| p.line + p.lines)
            .max()
            .unwrap_or(section.header + 1);
        if let Some(before) = lines.get_mut(at - 1)
            && !before.ends_with('\n')
        {
            before.push_str(nl);
        }
        splices.push(Splice {
            at,
            len: 0,
            text: added,
        });
    }
    // From the bottom up, so earlier positions stay valid; an insertion goes in after a
    // replacement that ends where it starts.
    splices.sort_by_key(|s| std::cmp::Reverse((s.at, s.len == 0)));
    for s in splices {
        lines.splice(s.at..s.at + s.len, [s.text]);
    }
    Ok(lines.concat())
}

/// New lines follow the file's own line ending.
fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// A value reads back as itself only without line breaks, without a `#` or `;` after
/// whitespace (the rest would be a comment to aws-cli and the SDKs), and without spaces
/// at its ends (trimmed).
fn check_value(key: &str, value: &str) -> Result<(), EditError> {
    let bad = |why| {
        Err(EditError::BadValue {
            key: key.into(),
            why,
        })
    };
    if value.chars().any(char::is_control) {
        return bad("has a line break or another control character, which would end it there");
    }
    if value.trim() != value || value.is_empty() {
        return bad("is empty or starts or ends with a space, which readers drop");
    }
    let chars: Vec<char> = value.chars().collect();
    if chars
        .windows(2)
        .any(|w| w[0].is_whitespace() && (w[1] == '#' || w[1] == ';'))
    {
        return bad(
            "has ` #` or ` ;`, after which aws-cli and the SDKs read a comment; put the command \
             in a script and name that",
        );
    }
    Ok(())
}

fn append_profile(text: &str, name: &str, values: &[(&str, String)]) -> String {
    let nl = newline_of(text);
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(nl);
    }
    if !out.is_empty() {
        out.push_str(nl);
    }
    out.push_str(&if name == "default" {
        format!("[default]{nl}")
    } else {
        format!("[profile {name}]{nl}")
    });
    for (k, v) in values {
        out.push_str(&format!("{k} = {v}{nl}"));
    }
    out
}

/// The lines (1-based) of the credentials file's `[name]` section that set any of `keys`:
/// the SDKs read those before the config file's.
pub(crate) fn credentials_setting(
    credentials: &str,
    name: &str,
    keys: &[&str],
) -> Vec<(String, usize)> {
    let Ok(sections) = ini::parse(credentials) else {
        return Vec::new();
    };
    sections_of(&sections, FileKind::Credentials)
        .into_iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, s)| s.props.iter())
        .filter(|p| keys.contains(&p.key.as_str()))
        .map(|p| (p.key.clone(), p.line + 1))
        .collect()
}

/// Whether `name` can be a profile name in a section header that reads back as itself.
pub(crate) fn is_valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.trim() == name
        && !name.contains(['[', ']', '\n', '\r', '#', ';', ' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsconfig::ProfileSet;

    fn upsert(text: &str, name: &str, values: &[(&str, String)]) -> String {
        upsert_profile(text, name, values).unwrap()
    }

    #[test]
    fn upsert_keeps_every_other_line_and_is_idempotent() {
        let original = "# top comment\n[default]\nregion = us-east-1\n\n[profile ops]\n; inline comment\nregion = eu-west-1\ns3 =\n    max_concurrent_requests = 20\n\n# about the next one\n[profile other]\noutput = json";
        let values = [
            ("role_arn", "arn:aws:iam::1:role/eks-operator".to_string()),
            ("region", "eu-west-1".to_string()),
        ];
        let once = upsert(original, "ops", &values);
        assert_eq!(
            once,
            "# top comment\n[default]\nregion = us-east-1\n\n[profile ops]\n; inline comment\nregion = eu-west-1\ns3 =\n    max_concurrent_requests = 20\nrole_arn = arn:aws:iam::1:role/eks-operator\n\n# about the next one\n[profile other]\noutput = json"
        );
        assert_eq!(upsert(&once, "ops", &values), once);
        let changed = upsert(&once, "ops", &[("region", "ap-northeast-1".to_string())]);
        assert!(
            changed.contains("region = ap-northeast-1\ns3 =")
                && changed.contains("[default]\nregion = us-east-1")
        );
        let added = upsert(original, "new", &[("role_arn", "r".to_string())]);
        assert_eq!(
            added,
            format!("{original}\n\n[profile new]\nrole_arn = r\n")
        );
        assert_eq!(
            upsert("", "x", &[("a", "1".into())]),
            "[profile x]\na = 1\n"
        );
        let crlf = upsert(
            "[profile a]\r\nregion = x\r\n",
            "a",
            &[("output", "json".to_string())],
        );
        assert_eq!(crlf, "[profile a]\r\nregion = x\r\noutput = json\r\n");
        let last = upsert(original, "other", &[("region", "x".to_string())]);
        assert!(
            last.ends_with("[profile other]\noutput = json\nregion = x\n"),
            "{last}"
        );
    }

    #[test]
    fn the_block_readers_read_is_the_one_edited() {
        // Other header spellings are the same profile, as for the SDKs.
        let spaced = upsert(
            "[ profile ops ]\nregion = a\n",
            "ops",
            &[("region", "b".into())],
        );
        assert_eq!(spaced, "[ profile ops ]\nregion = b\n");
        // An inline comment is not part of the value; a multi-line value is replaced whole.
        let text = "[profile ops]\nregion = a # mine\nrole_arn =\n  x = 1\nk = v\n";
        assert_eq!(upsert(text, "ops", &[("region", "a".into())]), text);
        assert_eq!(
            upsert(text, "ops", &[("role_arn", "r".into())]),
            "[profile ops]\nregion = a # mine\nrole_arn = r\nk = v\n"
        );
        // `[profile default]` hides `[default]`.
        let d = upsert(
            "[default]\nk = 1\n[profile default]\nk = 2\n",
            "default",
            &[("k", "3".into())],
        );
        assert_eq!(d, "[default]\nk = 1\n[profile default]\nk = 3\n");
        let read = ProfileSet::parse(&d, "").unwrap();
        assert_eq!(read.get("default").unwrap().get("k"), Some("3"));
    }

    #[test]
    fn two_definitions_are_refused_with_their_lines() {
        let e = upsert_profile(
            "[profile ops]\na = 1\n[profile  ops]\nb = 2\n",
            "ops",
            &[("a", "2".into())],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "profile `ops` is defined more than once (lines 1, 3), and which definition wins \
             differs between readers; merge them into one section"
        );
        let e = upsert_profile(
            "[profile ops]\nregion = a\nRegion = b\n",
            "ops",
            &[("region", "c".into())],
        )
        .unwrap_err();
        assert_eq!(
            e,
            EditError::DuplicateKey {
                name: "ops".into(),
                key: "region".into(),
                lines: vec![2, 3]
            }
        );
        assert!(matches!(
            upsert_profile("[profile ops]\nnope\n", "ops", &[]),
            Err(EditError::Syntax(_))
        ));
        // A key set twice is refused even when this edit does not set it.
        let e = upsert_profile(
            "[profile ops]\nrole_arn = a\nrole_arn = b\n",
            "ops",
            &[("region", "c".into())],
        )
        .unwrap_err();
        assert!(matches!(e, EditError::DuplicateKey { key, .. } if key == "role_arn"));
    }

    #[test]
    fn values_that_would_not_read_back_are_refused() {
        for (value, part) in [
            ("echo 1\nrole_arn = arn:aws:iam::9:role/evil", "line break"),
            ("ykman oath code -s aws ; true", "` ;`"),
            ("oathtool #x", "` #`"),
            (" lead", "space"),
            ("", "empty"),
        ] {
            let e = upsert_profile("", "ops", &[("mfa_process", value.to_string())]).unwrap_err();
            assert!(e.to_string().contains(part), "{value:?}: {e}");
        }
        // `#` and `;` inside a word are fine.
        let text = upsert("", "ops", &[("mfa_process", "pass show aws#1;x".into())]);
        let read = ProfileSet::parse(&text, "").unwrap();
        assert_eq!(
            read.get("ops").unwrap().get("mfa_process"),
            Some("pass show aws#1;x")
        );
    }

    #[test]
    fn new_profiles_follow_the_files_line_endings() {
        let text = upsert("[default]\r\nregion = a\r\n", "ops", &[("k", "v".into())]);
        assert_eq!(
            text,
            "[default]\r\nregion = a\r\n\r\n[profile ops]\r\nk = v\r\n"
        );
    }

    #[test]
    fn the_credentials_file_says_where_it_sets_a_key() {
        let creds = "[ops]\naws_access_key_id = A\nrole_arn = arn:aws:iam::1:role/old\n";
        assert_eq!(
            credentials_setting(creds, "ops", &["role_arn", "region"]),
            [("role_arn".to_string(), 3)]
        );
        assert!(credentials_setting(creds, "other", &["role_arn"]).is_empty());
    }
}
