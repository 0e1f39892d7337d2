//! The shared config files' line syntax, as aws-config (aws-runtime's `env_config` parser,
//! the code that loads the source credentials) reads it: sections, `key = value`, comments
//! (`#`/`;` at the start of a line, or after whitespace), continuation and sub-property
//! lines, and the errors that make it refuse a whole file. Each section keeps its line
//! numbers, for messages and for editing.

/// Spaces and tabs: the only whitespace the format knows.
const WS: &[char] = &[' ', '\t'];

/// A file the SDKs would refuse, with the line (1-based) and aws-config's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) message: &'static str,
}

/// One `[…]` section as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// The text between the brackets, comment removed.
    pub(crate) raw: String,
    /// The header's line index (0-based).
    pub(crate) header: usize,
    /// The index of the line after the section's last line.
    pub(crate) end: usize,
    /// `(lower-cased key, value, line index of the key, lines the property spans)`, in
    /// file order; a key may appear more than once.
    pub(crate) props: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) line: usize,
    /// 1 + its continuation or sub-property lines.
    pub(crate) lines: usize,
}

/// Drops an inline comment: `#`/`;` after whitespace (or anywhere, in a header).
fn prepare_line(line: &str, comments_need_whitespace: bool) -> &str {
    let line = line.trim_matches(WS);
    let mut prev_ws = false;
    let mut cut = line.len();
    for (i, c) in line.char_indices() {
        if (c == '#' || c == ';') && (prev_ws || !comments_need_whitespace) {
            cut = i;
            break;
        }
        prev_ws = c.is_whitespace();
    }
    line[..cut].trim_matches(WS)
}

/// `Ok((lower-cased key, value))`, or `Err(true)` without a name, `Err(false)` without `=`.
fn property_line(line: &str) -> Result<(String, &str), bool> {
    let line = prepare_line(line, true);
    let (k, v) = line.split_once('=').ok_or(false)?;
    let (k, v) = (k.trim_matches(WS), v.trim_matches(WS));
    if k.is_empty() {
        return Err(true);
    }
    Ok((k.to_ascii_lowercase(), v))
}

/// The characters aws-config allows in section, profile and key names.
pub(crate) fn valid_identifier(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

/// Splits a file into its sections.
pub(crate) fn parse(text: &str) -> Result<Vec<Section>, SyntaxError> {
    let err = |line: usize, message| SyntaxError {
        line: line + 1,
        message,
    };
    let mut sections: Vec<Section> = Vec::new();
    // The property that continuation lines extend: (index in the section, is a `key =`).
    let mut open: Option<(usize, bool)> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(s) = sections.last_mut()
            && !line.starts_with('[')
        {
            s.end = i + 1;
        }
        if line.trim_matches(WS).is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') {
            let l = prepare_line(line, false);
            let inner = l
                .strip_prefix('[')
                .unwrap_or(l)
                .strip_suffix(']')
                .ok_or(err(i, "Profile definition must end with ']'"))?;
            sections.push(Section {
                raw: inner.to_string(),
                header: i,
                end: i + 1,
                props: Vec::new(),
            });
            open = None;
        } else if line.starts_with(WS) {
            let Some(s) = sections.last_mut() else {
                return Err(err(i, "Expected a profile definition"));
            };
            let Some((p, sub)) = open else {
                return Err(err(i, "Expected a property definition, found continuation"));
            };
            if sub {
                match property_line(line) {
                    Err(false) => {
                        return Err(err(i, "Expected an '=' sign defining a sub-property"));
                    }
                    Err(true) => return Err(err(i, "Sub-property did not have a name")),
                    Ok(_) => {}
                }
            }
            let prop = &mut s.props[p];
            prop.value.push('\n');
            prop.value.push_str(line.trim_matches(WS));
            prop.lines = i + 1 - prop.line;
        } else {
            let Some(s) = sections.last_mut() else {
                return Err(err(i, "Expected a profile definition"));
            };
            let (key, value) = match property_line(line) {
                Err(false) => return Err(err(i, "Expected an '=' sign defining a property")),
                Err(true) => return Err(err(i, "Property did not have a name")),
                Ok(kv) => kv,
            };
            open = Some((s.props.len(), value.is_empty()));
            s.props.push(Property {
                key,
                value: value.to_string(),
                line: i,
                lines: 1,
            });
        }
    }
    Ok(sections)
}

/// Which file a section is in: the header rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Config,
    Credentials,
}

/// The profile a section defines: `(name, written as [profile default])`, or `None` for
/// other sections (`[sso-session x]`, `[services x]`, `[profilex]`…). Names outside
/// aws-config's alphabet are kept (eksop-auth's own profile may use one; the SDKs ignore
/// such a profile, so it cannot serve as a source profile).
pub(crate) fn profile_of(raw: &str, kind: FileKind) -> Option<(String, bool)> {
    let t = raw.trim_matches(WS);
    let (prefix, name) = match t.split_once(WS) {
        Some((p, s)) => (Some(p.trim_matches(WS)), s.trim_matches(WS)),
        None => (None, t),
    };
    if name.is_empty() {
        return None;
    }
    match (kind, prefix) {
        (FileKind::Config, Some("profile")) => Some((name.to_string(), name == "default")),
        (FileKind::Config, None) if name == "default" => Some(("default".into(), false)),
        (FileKind::Credentials, None) => Some((name.to_string(), false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_aws_config_reads_them() {
        let s =
            parse("[profile a] # c\nk = v # c\nsub =\n  x = 1\n  y = 2\n\n[b]\nc = v#c\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].raw.as_str(), s[0].header, s[0].end),
            ("profile a", 0, 6)
        );
        assert_eq!(s[0].props[0].value, "v");
        assert_eq!(
            (s[0].props[1].value.as_str(), s[0].props[1].lines),
            ("\nx = 1\ny = 2", 3)
        );
        assert_eq!(s[1].props[0].value, "v#c");
        for (text, line, message) in [
            ("k = v", 1, "Expected a profile definition"),
            (
                "[a]\nnoequals",
                2,
                "Expected an '=' sign defining a property",
            ),
            ("[a]\n= v", 2, "Property did not have a name"),
            ("[a] x", 1, "Profile definition must end with ']'"),
            (
                "[a]\n  cont",
                2,
                "Expected a property definition, found continuation",
            ),
            (
                "[a]\ns3 =\n  nope",
                3,
                "Expected an '=' sign defining a sub-property",
            ),
        ] {
            assert_eq!(parse(text), Err(SyntaxError { line, message }), "{text:?}");
        }
    }

    #[test]
    fn headers() {
        use FileKind::*;
        assert_eq!(
            profile_of(" profile  ops ", Config),
            Some(("ops".into(), false))
        );
        assert_eq!(
            profile_of("profile\tops", Config),
            Some(("ops".into(), false))
        );
        assert_eq!(
            profile_of("profile default", Config),
            Some(("default".into(), true))
        );
        assert_eq!(
            profile_of("default", Config),
            Some(("default".into(), false))
        );
        for other in [
            "profileops",
            "Profile ops",
            "sso-session x",
            "services x",
            "profile",
            "ops",
        ] {
            assert_eq!(profile_of(other, Config), None, "{other}");
        }
        assert_eq!(profile_of("ops", Credentials), Some(("ops".into(), false)));
        assert_eq!(profile_of("profile ops", Credentials), None);
    }
}
