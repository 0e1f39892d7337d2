//! kubectl's `kuberc` (kubectl ≥ 1.35): the credential-plugin policy. kubectl runs an exec
//! plugin only if `credentialPluginPolicy` allows it: `AllowAll` (also when unset),
//! `DenyAll`, or `Allowlist` with `credentialPluginAllowlist: [{name: PATH}]` (kubectl 1.35
//! knows only `name:`, and refuses every command over an entry it cannot read; 1.37 also
//! reads `command:`), where PATH must equal the kubeconfig's exec `command` (a bare name
//! is looked up on PATH; symlinks are not resolved). Only `kubectl.config.k8s.io/v1beta1`
//! files carry the policy. Everything else in the file is kept.
//! Pure: text in, text out (`path` only reads the `Env` it is given).

use std::path::PathBuf;

use serde_norway::{Mapping, Value};

use super::{key, yaml};
use crate::env::Env;

const API_VERSION: &str = "kubectl.config.k8s.io/v1beta1";
const POLICY: &str = "credentialPluginPolicy";
const ALLOWLIST: &str = "credentialPluginAllowlist";

/// The kuberc kubectl reads: `$KUBERC`, else `~/.kube/kuberc`; none with `KUBERC=off`,
/// `KUBECTL_KUBERC=false`, or no home to find it in.
pub(crate) fn path(env: &Env) -> Option<PathBuf> {
    if env.get("KUBECTL_KUBERC") == Some("false") {
        return None;
    }
    match env.get("KUBERC") {
        Some("off") => None,
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => env.home().map(|h| h.join(".kube").join("kuberc")),
    }
}

/// How kubectl finds a bare allowlist name: the first such program on `env`'s PATH.
pub(crate) fn path_lookup(env: &Env) -> impl Fn(&str) -> Option<String> + '_ {
    |name| {
        env.find_program(name)
            .map(|p| p.to_string_lossy().into_owned())
    }
}

/// What the policy says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Policy {
    /// No file, or no policy in it: kubectl allows every plugin.
    Unset,
    AllowAll,
    DenyAll,
    /// The commands listed (`command:` or `name:`).
    Allowlist(Vec<String>),
    /// A value kubectl refuses (every command then fails), with why.
    Unknown(String),
}

impl Policy {
    /// Whether kubectl runs `command` under this policy; `lookup` finds a bare entry name
    /// on PATH, as kubectl does.
    pub(crate) fn allows(&self, command: &str, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Policy::Unset | Policy::AllowAll => true,
            Policy::Allowlist(list) => list.iter().any(|c| {
                c == command || (!c.contains('/') && lookup(c).as_deref() == Some(command))
            }),
            Policy::DenyAll | Policy::Unknown(_) => false,
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Policy::Unset => "unset (AllowAll)",
            Policy::AllowAll => "AllowAll",
            Policy::DenyAll => "DenyAll",
            Policy::Allowlist(_) => "Allowlist",
            Policy::Unknown(v) => v,
        }
    }
}

/// kubeconfig's reader: the same YAML rules, the same refusals.
fn parse(text: &str) -> Result<Mapping, String> {
    super::parse(text).map_err(|e| e.to_string())
}

/// The policy of a kuberc's text (`None`: no file).
pub(crate) fn policy(text: Option<&str>) -> Result<Policy, String> {
    let Some(text) = text else {
        return Ok(Policy::Unset);
    };
    let doc = parse(text)?;
    // Another version (v1alpha1) has no policy: kubectl ignores these fields there.
    if doc
        .get(key("apiVersion"))
        .and_then(Value::as_str)
        .is_some_and(|v| v != API_VERSION)
    {
        return Ok(Policy::Unset);
    }
    let value = match doc.get(key(POLICY)) {
        // An allowlist without a policy is refused by kubectl, with every command.
        None | Some(Value::Null) if doc.get(key(ALLOWLIST)).is_some_and(|v| !v.is_null()) => {
            return Ok(Policy::Unknown(format!("unset, with a {ALLOWLIST}")));
        }
        None | Some(Value::Null) => return Ok(Policy::Unset),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Ok(Policy::Unknown(yaml::emit(other).trim().to_string())),
    };
    Ok(match value.as_str() {
        "" => Policy::Unset,
        "AllowAll" => Policy::AllowAll,
        "DenyAll" => Policy::DenyAll,
        "Allowlist" => Policy::Allowlist(allowlist(&doc)),
        _ => Policy::Unknown(value),
    })
}

fn allowlist(doc: &Mapping) -> Vec<String> {
    let Some(Value::Sequence(items)) = doc.get(key(ALLOWLIST)) else {
        return Vec::new();
    };
    items
        .iter()
        .flat_map(|item| {
            ["command", "name"]
                .into_iter()
                .filter_map(|k| item.get(k).and_then(Value::as_str).map(String::from))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What `setup` does to the kuberc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing to do: kubectl already runs our plugin (or there is no policy to keep).
    None,
    /// The new text of the file.
    Write(String),
    /// Left alone, with what to tell the user.
    Warn(String),
}

fn entry(field: &str, command: &str) -> Value {
    let mut m = Mapping::new();
    m.insert(key(field), Value::String(command.to_string()));
    Value::Mapping(m)
}

/// A command kubectl accepts in an allowlist: a bare name, or a clean absolute path.
/// (It refuses every command over an entry that is neither.)
fn listable(command: &str) -> bool {
    !command.is_empty()
        && (!command.contains('/')
            || (command.starts_with('/')
                && !command.ends_with('/')
                && !command.contains("//")
                && !command.split('/').any(|part| part == "." || part == "..")))
}

/// What `setup` does, and the commands it left out of a new allowlist (for a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub(crate) change: Change,
    /// The other plugins `--kuberc-allow` listed.
    pub(crate) listed: Vec<String>,
    /// Exec commands kubectl would not take in an allowlist, so not listed.
    pub(crate) skipped: Vec<String>,
}

/// The change that lets kubectl run `ours`: under `Allowlist`, add it if missing; under
/// `DenyAll` or a value kubectl refuses, change nothing and say what to add; with no
/// policy, nothing — unless `allowlist` (`--kuberc-allow`), which sets `Allowlist` with
/// `ours` and every other exec command of the kubeconfig (`others`), so they keep working.
/// Entries are written as `name:` (what kubectl 1.35 reads), or as `command:` in a file
/// whose entries all say so.
pub(crate) fn plan(
    existing: Option<&str>,
    ours: &str,
    others: &[String],
    allowlist: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Planned, String> {
    let policy = policy(existing)?;
    let only = |change| Planned {
        change,
        listed: Vec::new(),
        skipped: Vec::new(),
    };
    let lines = format!(
        "{POLICY}: Allowlist\n{ALLOWLIST}:\n- name: {}",
        yaml::emit(&Value::String(ours.to_string())).trim_end()
    );
    let mut doc = match existing {
        Some(text) => parse(text)?,
        None => Mapping::new(),
    };
    if let Some(v) = doc
        .get(key("apiVersion"))
        .and_then(Value::as_str)
        .filter(|v| *v != API_VERSION)
    {
        let note = format!(
            "it is apiVersion {v}, which has no credential-plugin policy (kubectl ≥ 1.35 allows \
             every plugin); it is left as it is"
        );
        return Ok(only(if allowlist {
            Change::Warn(note)
        } else {
            Change::None
        }));
    }
    match policy {
        Policy::DenyAll => {
            return Ok(only(Change::Warn(format!(
                "its {POLICY} is DenyAll, so kubectl ≥ 1.35 runs no credential plugin and will \
                 refuse eksop-auth; it is left as it is. To allow eksop-auth only, replace that \
                 line with:\n{lines}"
            ))));
        }
        Policy::Unknown(v) => {
            return Ok(only(Change::Warn(format!(
                "its {POLICY} is `{v}`, which kubectl refuses (AllowAll, DenyAll or Allowlist, \
                 with the list); it is left as it is. To allow eksop-auth, set:\n{lines}"
            ))));
        }
        Policy::Allowlist(_) if policy.allows(ours, lookup) => return Ok(only(Change::None)),
        Policy::Unset if !allowlist => return Ok(only(Change::None)),
        Policy::AllowAll => return Ok(only(Change::None)),
        Policy::Allowlist(_) | Policy::Unset => {}
    }
    if !doc.contains_key(key("apiVersion")) {
        doc.insert(key("apiVersion"), key(API_VERSION));
    }
    if !doc.contains_key(key("kind")) {
        doc.insert(key("kind"), key("Preference"));
    }
    let mut items = match doc.get(key(ALLOWLIST)) {
        Some(Value::Sequence(s)) => s.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(_) => return Err(format!("`{ALLOWLIST}` is not a list")),
    };
    let field = if !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("command").is_some() && i.get("name").is_none())
    {
        "command"
    } else {
        "name"
    };
    let (mut listed, mut skipped) = (Vec::new(), Vec::new());
    if matches!(policy, Policy::Unset) {
        doc.insert(key(POLICY), key("Allowlist"));
        for other in others.iter().filter(|o| *o != ours) {
            if !listable(other) {
                skipped.push(other.clone());
            } else if !listed.contains(other) {
                items.push(entry(field, other));
                listed.push(other.clone());
            }
        }
    }
    items.push(entry(field, ours));
    doc.insert(key(ALLOWLIST), Value::Sequence(items));
    Ok(Planned {
        change: Change::Write(yaml::emit(&Value::Mapping(doc))),
        listed,
        skipped,
    })
}

/// The text as this module writes it (to tell a rewrite that loses comments).
pub(crate) fn normalized(text: &str) -> Result<String, String> {
    Ok(yaml::emit(&Value::Mapping(parse(text)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "/opt/eksop-auth/bin/eksop-auth";
    const HEAD: &str = "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n";

    fn others() -> Vec<String> {
        ["/usr/local/bin/kubelogin", OURS, "./bin/odd", "", "aws"]
            .map(String::from)
            .to_vec()
    }

    fn nowhere(_: &str) -> Option<String> {
        None
    }

    fn change(existing: Option<&str>, allow: bool) -> Change {
        plan(existing, OURS, &others(), allow, &nowhere)
            .unwrap()
            .change
    }

    #[test]
    fn the_four_states() {
        // No file, no policy: nothing, unless asked.
        assert_eq!(change(None, false), Change::None);
        let planned = plan(None, OURS, &others(), true, &nowhere).unwrap();
        let Change::Write(created) = planned.change else {
            panic!()
        };
        assert_eq!(
            created,
            format!(
                "{HEAD}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr/local/bin/kubelogin\n- name: aws\n- name: {OURS}\n"
            )
        );
        assert_eq!(planned.listed, ["/usr/local/bin/kubelogin", "aws"]);
        assert_eq!(
            planned.skipped,
            ["./bin/odd", ""],
            "kubectl refuses such entries"
        );
        assert_eq!(change(Some(&created), true), Change::None);
        // AllowAll: kubectl runs us already.
        let all = format!("{HEAD}credentialPluginPolicy: AllowAll\n");
        assert_eq!(change(Some(&all), true), Change::None);
        // DenyAll: left alone, with the lines to add.
        let deny = format!("{HEAD}credentialPluginPolicy: DenyAll\n");
        let Change::Warn(w) = change(Some(&deny), true) else {
            panic!()
        };
        assert!(
            w.contains(&format!(
                "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: {OURS}"
            )),
            "{w}"
        );
        // Allowlist without us: we are added in the file's own style, the rest kept, once.
        let list = format!(
            "{HEAD}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- command: /usr/bin/aws-iam-authenticator\ndefaults:\n- command: apply\n  options:\n  - name: server-side\n    default: \"true\"\n"
        );
        let Change::Write(added) = change(Some(&list), false) else {
            panic!()
        };
        assert!(
            added.contains("- command: /usr/bin/aws-iam-authenticator\n"),
            "{added}"
        );
        assert!(added.contains(&format!("- command: {OURS}\n")), "{added}");
        assert!(added.contains("name: server-side"), "{added}");
        assert!(
            !added.contains("kubelogin"),
            "only a new Allowlist lists others"
        );
        assert_eq!(change(Some(&added), false), Change::None);
        assert!(policy(Some(&added)).unwrap().allows(OURS, &nowhere));
    }

    #[test]
    fn entries_match_as_kubectl_matches_them() {
        let p = policy(Some(&format!(
            "{HEAD}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist: [{{name: /a}}, {{command: /b}}, {{name: plug}}]\n"
        )))
        .unwrap();
        assert!(p.allows("/a", &nowhere) && p.allows("/b", &nowhere));
        assert!(!p.allows("a", &nowhere) && !p.allows("/b/", &nowhere));
        // A bare name is found on PATH.
        let path = |n: &str| (n == "plug").then(|| "/usr/bin/plug".to_string());
        assert!(p.allows("/usr/bin/plug", &path) && !p.allows("/usr/bin/plug", &nowhere));
        assert!(
            !policy(Some("credentialPluginPolicy: denyall\n"))
                .unwrap()
                .allows("/a", &nowhere)
        );
        assert_eq!(policy(Some("{}")), Ok(Policy::Unset));
        assert!(policy(Some("- a\n")).is_err());
        let Change::Warn(w) = change(Some("credentialPluginPolicy: Sometimes\n"), false) else {
            panic!()
        };
        assert!(w.contains("`Sometimes`, which kubectl refuses"), "{w}");
        // An allowlist without a policy makes kubectl refuse everything.
        let bare = format!("{HEAD}credentialPluginAllowlist:\n- name: /a\n");
        assert!(!policy(Some(&bare)).unwrap().allows("/a", &nowhere));
        // Another apiVersion has no policy at all.
        let alpha = "apiVersion: kubectl.config.k8s.io/v1alpha1\nkind: Preference\ncredentialPluginPolicy: DenyAll\n";
        assert_eq!(policy(Some(alpha)), Ok(Policy::Unset));
        assert_eq!(change(Some(alpha), false), Change::None);
        assert!(matches!(change(Some(alpha), true), Change::Warn(_)));
    }

    #[test]
    fn where_kubectl_looks() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        assert_eq!(
            path(&env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.kube/kuberc"))
        );
        assert_eq!(
            path(&env(&[("HOME", "/h"), ("KUBERC", "/k")])),
            Some(PathBuf::from("/k"))
        );
        assert_eq!(path(&env(&[("HOME", "/h"), ("KUBERC", "off")])), None);
        assert_eq!(
            path(&env(&[("HOME", "/h"), ("KUBECTL_KUBERC", "false")])),
            None
        );
        assert_eq!(path(&env(&[])), None, "no home: not the current folder");
    }
}
