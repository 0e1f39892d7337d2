//! Editing `~/.aws/config` as text: one `[profile X]` block changes, every other line stays
//! byte for byte. Pure: text in, text out.

use super::{FileKind, section_profile_name};

/// Sets `values` in the `[profile name]` block of a config file's text (creating the block
/// at the end if there is none). Every other line stays byte for byte — comments, blank
/// lines, other profiles, nested blocks; a key already set to the same value is not
/// touched, so applying the same edit twice changes nothing.
pub(crate) fn upsert_profile(text: &str, name: &str, values: &[(&str, String)]) -> String {
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
pub(crate) fn is_valid_profile_name(name: &str) -> bool {
    !name.is_empty() && name.trim() == name && !name.contains(['[', ']', '\n', '\r', '#', ';'])
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
}
