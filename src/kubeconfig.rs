//! kubeconfig as a YAML document: upsert one cluster, user (with the eksop-auth exec block)
//! and context, and set `current-context`. Everything else — other entries, `preferences`,
//! extensions, unknown fields — is kept. YAML comments are not (kubectl drops them too).
//!
//! Also the one reader of kubeconfig for others (`doctor`), and where kubectl looks first.
//! Pure: text in, text out (`default_path` only reads the `Env` it is given).

use std::fmt;
use std::path::PathBuf;

use serde_norway::{Mapping, Value};

use crate::env::Env;

/// Why a kubeconfig cannot be read or edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KubeconfigError {
    /// Not valid YAML.
    Yaml(String),
    /// The document is not a mapping.
    NotAMapping,
    /// `clusters`, `users` or `contexts` is not a list.
    NotAList(&'static str),
    /// An item of that list is not a mapping.
    ItemNotAMapping(&'static str),
}

impl fmt::Display for KubeconfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KubeconfigError::Yaml(e) => write!(f, "not valid YAML: {e}"),
            KubeconfigError::NotAMapping => f.write_str("the document is not a mapping"),
            KubeconfigError::NotAList(k) => write!(f, "`{k}` is not a list"),
            KubeconfigError::ItemNotAMapping(k) => write!(f, "an item of `{k}` is not a mapping"),
        }
    }
}

/// The kubeconfig kubectl reads first: the first path of `KUBECONFIG`, else `~/.kube/config`.
pub(crate) fn default_path(env: &Env) -> PathBuf {
    let sep = if cfg!(windows) { ';' } else { ':' };
    env.get("KUBECONFIG")
        .and_then(|k| k.split(sep).find(|p| !p.is_empty()))
        .map(PathBuf::from)
        .unwrap_or_else(|| env.home().unwrap_or_default().join(".kube").join("config"))
}

/// What `setup` writes.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The name of the cluster and user entries (the cluster ARN, as update-kubeconfig does).
    pub(crate) name: String,
    pub(crate) context: String,
    pub(crate) server: String,
    pub(crate) ca_data: String,
    pub(crate) command: String,
    pub(crate) args: Vec<String>,
}

pub(crate) const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";
const INSTALL_HINT: &str = "eksop-auth is needed to log in to this cluster. Install it (./install.sh in its \
repository) and run `eksop-auth login`; `eksop-auth doctor` checks the set-up.";

fn key(k: &str) -> Value {
    Value::String(k.to_string())
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// Finds the item named `name` in the list under `list_key`, creating list and item.
fn named_item<'a>(
    doc: &'a mut Mapping,
    list_key: &'static str,
    name: &str,
) -> Result<&'a mut Mapping, KubeconfigError> {
    let list = doc
        .entry(key(list_key))
        .or_insert(Value::Sequence(Vec::new()));
    if list.is_null() {
        *list = Value::Sequence(Vec::new());
    }
    let Value::Sequence(items) = list else {
        return Err(KubeconfigError::NotAList(list_key));
    };
    let pos = items
        .iter()
        .position(|i| i.get("name").and_then(Value::as_str) == Some(name));
    let idx = match pos {
        Some(i) => i,
        None => {
            let mut m = Mapping::new();
            m.insert(key("name"), s(name));
            items.push(Value::Mapping(m));
            items.len() - 1
        }
    };
    match &mut items[idx] {
        Value::Mapping(m) => Ok(m),
        _ => Err(KubeconfigError::ItemNotAMapping(list_key)),
    }
}

/// The inner mapping `field` of an item, created if needed.
fn inner<'a>(item: &'a mut Mapping, field: &str) -> &'a mut Mapping {
    let v = item
        .entry(key(field))
        .or_insert(Value::Mapping(Mapping::new()));
    if !v.is_mapping() {
        *v = Value::Mapping(Mapping::new());
    }
    match v {
        Value::Mapping(m) => m,
        _ => unreachable!("just made it a mapping"),
    }
}

/// Whether `upsert` could edit this kubeconfig (checked before anything else happens).
pub(crate) fn check(existing: Option<&str>) -> Result<(), KubeconfigError> {
    let probe = Entry {
        name: "probe".into(),
        context: "probe".into(),
        server: String::new(),
        ca_data: String::new(),
        command: String::new(),
        args: Vec::new(),
    };
    upsert(existing, &probe).map(|_| ())
}

/// Returns the new kubeconfig text, or why the existing one cannot be edited.
pub(crate) fn upsert(existing: Option<&str>, e: &Entry) -> Result<String, KubeconfigError> {
    let text = existing.unwrap_or("");
    let mut doc = if text.trim().is_empty() {
        let mut m = Mapping::new();
        m.insert(key("apiVersion"), s("v1"));
        m.insert(key("kind"), s("Config"));
        m.insert(key("preferences"), Value::Mapping(Mapping::new()));
        m
    } else {
        parse(text)?
    };

    let cluster = named_item(&mut doc, "clusters", &e.name)?;
    let c = inner(cluster, "cluster");
    c.insert(key("certificate-authority-data"), s(&e.ca_data));
    c.insert(key("server"), s(&e.server));

    let user = named_item(&mut doc, "users", &e.name)?;
    let mut exec = Mapping::new();
    exec.insert(key("apiVersion"), s(EXEC_API_VERSION));
    exec.insert(
        key("args"),
        Value::Sequence(e.args.iter().map(|a| s(a)).collect()),
    );
    exec.insert(key("command"), s(&e.command));
    exec.insert(key("env"), Value::Null);
    exec.insert(key("installHint"), s(INSTALL_HINT));
    exec.insert(key("interactiveMode"), s("IfAvailable"));
    exec.insert(key("provideClusterInfo"), Value::Bool(false));
    let mut u = Mapping::new();
    u.insert(key("exec"), Value::Mapping(exec));
    user.insert(key("user"), Value::Mapping(u));

    let context = named_item(&mut doc, "contexts", &e.context)?;
    let c = inner(context, "context");
    c.insert(key("cluster"), s(&e.name));
    c.insert(key("user"), s(&e.name));

    doc.insert(key("current-context"), s(&e.context));
    serde_norway::to_string(&Value::Mapping(doc))
        .map_err(|err| KubeconfigError::Yaml(err.to_string()))
}

fn parse(text: &str) -> Result<Mapping, KubeconfigError> {
    match serde_norway::from_str::<Value>(text).map_err(|e| KubeconfigError::Yaml(e.to_string()))? {
        Value::Mapping(m) => Ok(m),
        Value::Null => Ok(Mapping::new()),
        _ => Err(KubeconfigError::NotAMapping),
    }
}

/// A kubeconfig user whose exec block runs `token --cluster <cluster>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecUser {
    pub(crate) name: String,
    pub(crate) command: String,
    pub(crate) args: Vec<String>,
    pub(crate) api_version: String,
    /// As written, or kubectl's default for v1beta1 (`IfAvailable`).
    pub(crate) interactive_mode: String,
}

/// The first user whose exec args name `--cluster <cluster>`.
pub(crate) fn find_exec_user(
    text: &str,
    cluster: &str,
) -> Result<Option<ExecUser>, KubeconfigError> {
    let doc = parse(text)?;
    let users = match doc.get("users") {
        Some(Value::Sequence(u)) => u.clone(),
        _ => Vec::new(),
    };
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Ok(users.iter().find_map(|u| {
        let exec = u.get("user")?.get("exec")?;
        let args: Vec<String> = exec
            .get("args")?
            .as_sequence()?
            .iter()
            .filter_map(|a| a.as_str().map(String::from))
            .collect();
        args.windows(2)
            .any(|w| w[0] == "--cluster" && w[1] == cluster)
            .then_some(())?;
        Some(ExecUser {
            name: str_of(u, "name").unwrap_or_else(|| "?".into()),
            command: str_of(exec, "command").unwrap_or_default(),
            api_version: str_of(exec, "apiVersion").unwrap_or_default(),
            interactive_mode: str_of(exec, "interactiveMode")
                .unwrap_or_else(|| "IfAvailable".into()),
            args,
        })
    }))
}

/// The ARN EKS would report, built from the role's account and partition.
pub(crate) fn cluster_arn(role_arn: &str, region: &str, name: &str) -> String {
    let parts: Vec<&str> = role_arn.split(':').collect();
    let partition = parts.get(1).copied().unwrap_or("aws");
    let account = parts.get(4).copied().unwrap_or("");
    format!("arn:{partition}:eks:{region}:{account}:cluster/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            name: "arn:aws:eks:eu-west-1:1:cluster/prod".into(),
            context: "prod".into(),
            server: "https://x.eks.amazonaws.com".into(),
            ca_data: "Q0E=".into(),
            command: "/usr/local/bin/eksop-auth".into(),
            args: ["token", "--cluster", "prod"].map(String::from).to_vec(),
        }
    }

    #[test]
    fn keeps_other_entries_and_is_idempotent() {
        let existing = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://other\n    extensions:\n    - name: x\n      extension: {a: 1}\nusers:\n- name: other\n  user:\n    token: abc\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: other\n    namespace: ns\ncurrent-context: other\npreferences: {}\nunknown-field: 42\n";
        let once = upsert(Some(existing), &entry()).unwrap();
        let twice = upsert(Some(&once), &entry()).unwrap();
        assert_eq!(once, twice);
        let v: Value = serde_norway::from_str(&once).unwrap();
        assert_eq!(v["clusters"].as_sequence().unwrap().len(), 2);
        assert_eq!(v["clusters"][0]["cluster"]["extensions"][0]["name"], "x");
        assert_eq!(v["users"][0]["user"]["token"], "abc");
        assert_eq!(v["contexts"][0]["context"]["namespace"], "ns");
        assert_eq!(v["unknown-field"], 42);
        assert_eq!(v["current-context"], "prod");
        assert_eq!(
            v["users"][1]["user"]["exec"]["interactiveMode"],
            "IfAvailable"
        );
        assert_eq!(v["users"][1]["user"]["exec"]["args"][2], "prod");
    }

    #[test]
    fn creates_a_new_file_and_refuses_garbage() {
        let new = upsert(None, &entry()).unwrap();
        assert!(new.starts_with("apiVersion: v1\nkind: Config\n"), "{new}");
        assert!(upsert(Some("clusters: [unclosed"), &entry()).is_err());
        assert_eq!(
            upsert(Some("- a list"), &entry()),
            Err(KubeconfigError::NotAMapping)
        );
        assert_eq!(
            upsert(Some("clusters: 5"), &entry()),
            Err(KubeconfigError::NotAList("clusters"))
        );
    }

    #[test]
    fn finds_the_user_that_runs_a_cluster() {
        let text = upsert(None, &entry()).unwrap();
        let u = find_exec_user(&text, "prod").unwrap().unwrap();
        assert_eq!(u.command, "/usr/local/bin/eksop-auth");
        assert_eq!(u.interactive_mode, "IfAvailable");
        assert_eq!(u.api_version, EXEC_API_VERSION);
        assert!(find_exec_user(&text, "other").unwrap().is_none());
    }
}
