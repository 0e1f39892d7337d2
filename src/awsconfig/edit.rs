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
    /// A key to be set appears more than once in the profile's section.
    DuplicateKey {
        name: String,
        key: String,
        lines: Vec<usize>,
    },
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
                "profile `{name}` sets `{key}` more than once (lines {}); keep one",
                join(lines)
            ),
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
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    // New lines follow the file's own line ending.
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut splices = Vec::new();
    let mut added = String::new();
    for (key, value) in values {
        let found: Vec<&ini::Property> = section.props.iter().filter(|p| p.key == *key).collect();
        match found.as_slice() {
            [] => added.push_str(&format!("{key} = {value}{nl}")),
            [p] if p.value == *value && p.lines == 1 => {}
            [p] => {
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
            many => {
                return Err(EditError::DuplicateKey {
                    name: name.into(),
                    key: (*key).into(),
                    lines: many.iter().map(|p| p.line + 1).collect(),
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

fn append_profile(text: &str, name: &str, values: &[(&str, String)]) -> String {
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
    out
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
    }
}
