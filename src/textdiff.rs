//! The unified diff `setup --dry-run` prints, with every secret-looking value redacted.
//! Pure: texts in, text out.

use std::path::Path;

/// What a key's name says its value is a secret (the context lines around an edit are
/// often another profile's keys, and a rewritten kubeconfig shows every line): any spelling
/// (aws-config reads keys case-blind), aws_security_token too, and `mfa_process`, whose
/// command line may hold a TOTP seed.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let k = key.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "passwd",
        "client-key",
        "mfa_process",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// `key = value` / `key: value` with a secret key → the value replaced by `<redacted>`.
fn redact_line(line: &str) -> String {
    let body = line.get(1..).unwrap_or("");
    let trimmed = body.trim_start().trim_start_matches("- ");
    for sep in ['=', ':'] {
        if let Some((key, value)) = trimmed.split_once(sep)
            && is_secret_key(key)
            && !value.trim().is_empty()
            && value.trim() != "<redacted>"
        {
            let cut = line.len() - value.len();
            return format!("{} <redacted>", &line[..cut]);
        }
    }
    line.to_string()
}

pub(crate) fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let name = path.display().to_string();
    let diff = similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&name, &name)
        .to_string();
    let mut out = String::with_capacity(diff.len());
    for line in diff.lines() {
        let header = line.starts_with("---") || line.starts_with("+++") || line.starts_with("@@");
        out.push_str(&if header {
            line.to_string()
        } else {
            redact_line(line)
        });
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_line;

    #[test]
    fn diffs_hide_secret_values() {
        assert_eq!(
            redact_line(" aws_secret_access_key = abc"),
            " aws_secret_access_key = <redacted>"
        );
        assert_eq!(redact_line("+    token: abc"), "+    token: <redacted>");
        assert_eq!(
            redact_line("-    client-key-data: QUJD"),
            "-    client-key-data: <redacted>"
        );
        assert_eq!(redact_line(" region = us-east-1"), " region = us-east-1");
        for line in [
            " Aws_Session_Token = SESS5",
            " aws_security_token = OLD",
            "+mfa_process = oathtool --totp -b JBSWY3DPEHPK3PXP",
            "+    client-secret: s",
        ] {
            let shown = redact_line(line);
            assert!(shown.ends_with(" <redacted>"), "{line} -> {shown}");
        }
        assert_eq!(redact_line("+  - --cluster"), "+  - --cluster");
    }
}
