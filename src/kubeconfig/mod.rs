//! kubeconfig as a YAML document: upsert one cluster, user (with the eksop-auth exec block)
//! and context, and set `current-context`. Everything else — other entries, `preferences`,
//! extensions, unknown fields — is kept. YAML comments are not (kubectl drops them too).
//!
//! Also the one reader of kubeconfig for others (`doctor`), and where kubectl looks first.
//! Written so every reader reads back what was written (`yaml.rs`).
//! Pure: text in, text out (`default_path` only reads the `Env` it is given).

pub(crate) mod kuberc;
mod yaml;

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
    /// The name of the cluster entry (the cluster ARN, as update-kubeconfig does).
    pub(crate) name: String,
    /// The name of the user entry: the cluster's own (`name`), or one shared by every
    /// cluster of a profile and region.
    pub(crate) user: String,
    /// For a shared user: the EKS cluster name, written into the cluster entry's exec
    /// extension, which kubectl hands to the plugin (`provideClusterInfo: true`).
    pub(crate) shared_as: Option<String>,
    /// Whether the context becomes kubectl's current one.
    pub(crate) make_current: bool,
    pub(crate) context: String,
    pub(crate) server: String,
    pub(crate) ca_data: String,
    pub(crate) command: String,
    pub(crate) args: Vec<String>,
    /// Exec `env` values to set (others an earlier eksop-auth entry had are kept).
    pub(crate) env: Vec<(String, String)>,
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
        user: "probe".into(),
        shared_as: None,
        make_current: true,
        context: "probe".into(),
        server: String::new(),
        ca_data: String::new(),
        command: String::new(),
        args: Vec::new(),
        env: Vec::new(),
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
    if let Some(name) = &e.shared_as {
        set_exec_extension(c, name);
    }

    let user = named_item(&mut doc, "users", &e.user)?;
    let env = merged_env(user.get("user").and_then(|u| u.get("exec")), e);
    let mut exec = Mapping::new();
    exec.insert(key("apiVersion"), s(EXEC_API_VERSION));
    exec.insert(
        key("args"),
        Value::Sequence(e.args.iter().map(|a| s(a)).collect()),
    );
    exec.insert(key("command"), s(&e.command));
    exec.insert(key("env"), env);
    exec.insert(key("installHint"), s(INSTALL_HINT));
    exec.insert(key("interactiveMode"), s("IfAvailable"));
    exec.insert(
        key("provideClusterInfo"),
        Value::Bool(e.shared_as.is_some()),
    );
    let mut u = Mapping::new();
    u.insert(key("exec"), Value::Mapping(exec));
    user.insert(key("user"), Value::Mapping(u));

    let context = named_item(&mut doc, "contexts", &e.context)?;
    let c = inner(context, "context");
    c.insert(key("cluster"), s(&e.name));
    c.insert(key("user"), s(&e.user));

    let has_current = doc
        .get("current-context")
        .and_then(Value::as_str)
        .is_some_and(|c| !c.is_empty());
    if e.make_current || !has_current {
        doc.insert(key("current-context"), s(&e.context));
    }
    Ok(yaml::emit(&Value::Mapping(doc)))
}

/// Sets the `client.authentication.k8s.io/exec` extension of a cluster entry to name the
/// EKS cluster, keeping every other extension. (A per-cluster user ignores it: its
/// `--cluster` wins, so another context's shared user may keep relying on it.)
fn set_exec_extension(cluster: &mut Mapping, shared_as: &str) {
    let name = crate::protocol::EXEC_EXTENSION;
    let mut items = match cluster.get("extensions") {
        Some(Value::Sequence(s)) => s.clone(),
        _ => Vec::new(),
    };
    items.retain(|i| i.get("name").and_then(Value::as_str) != Some(name));
    let mut ext = Mapping::new();
    ext.insert(key("cluster"), s(shared_as));
    let mut item = Mapping::new();
    item.insert(key("name"), s(name));
    item.insert(key("extension"), Value::Mapping(ext));
    items.push(Value::Mapping(item));
    cluster.insert(key("extensions"), Value::Sequence(items));
}

/// The kubeconfig as `upsert` would write it with nothing to change: kubectl's layout,
/// comments and formatting gone. A file equal to this loses nothing when rewritten.
pub(crate) fn normalized(text: &str) -> Result<String, KubeconfigError> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    Ok(yaml::emit(&Value::Mapping(parse(text)?)))
}

/// Whether the kubeconfig has a cluster or user named `name`, or a context named `context`.
pub(crate) fn defines(text: &str, name: &str, context: &str) -> bool {
    let Ok(doc) = parse(text) else { return false };
    let named = |list: &str, n: &str| {
        doc.get(list)
            .and_then(Value::as_sequence)
            .is_some_and(|items| {
                items
                    .iter()
                    .any(|i| i.get("name").and_then(Value::as_str) == Some(n))
            })
    };
    named("clusters", name) || named("users", name) || named("contexts", context)
}

/// The first context whose cluster is the cluster entry `cluster`.
pub(crate) fn context_of_cluster(text: &str, cluster: &str) -> Option<String> {
    let doc = parse(text).ok()?;
    doc.get("contexts")?
        .as_sequence()?
        .iter()
        .find(|c| {
            c.get("context")
                .and_then(|x| x.get("cluster"))
                .and_then(Value::as_str)
                == Some(cluster)
        })?
        .get("name")?
        .as_str()
        .map(String::from)
}

/// Every exec `command` of the kubeconfig's users, in order, each once.
pub(crate) fn exec_commands(text: &str) -> Vec<String> {
    let Ok(doc) = parse(text) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for u in seq(&doc, "users") {
        if let Some(c) = u
            .get("user")
            .and_then(|u| u.get("exec"))
            .and_then(|e| e.get("command"))
            .and_then(Value::as_str)
            && !out.iter().any(|o| o == c)
        {
            out.push(c.to_string());
        }
    }
    out
}

/// The server and CA of the cluster a context using kubeconfig user `user` points at.
/// For a user shared by several clusters, the context of EKS cluster `eks` (by the cluster
/// entry's exec extension) is preferred.
pub(crate) fn cluster_of_user(text: &str, user: &str, eks: &str) -> Option<(String, String)> {
    let doc = parse(text).ok()?;
    let entries: Vec<String> = doc
        .get("contexts")?
        .as_sequence()?
        .iter()
        .filter_map(|c| c.get("context"))
        .filter(|c| c.get("user").and_then(Value::as_str) == Some(user))
        .filter_map(|c| c.get("cluster").and_then(Value::as_str).map(String::from))
        .collect();
    let named = entry_names(&doc, eks);
    let cluster = entries
        .iter()
        .find(|e| named.contains(e))
        .or_else(|| entries.first())?;
    cluster_of(text, cluster)
}

/// The server and CA the kubeconfig has for cluster `name`.
pub(crate) fn cluster_of(text: &str, name: &str) -> Option<(String, String)> {
    let doc = parse(text).ok()?;
    let cluster = doc
        .get("clusters")?
        .as_sequence()?
        .iter()
        .find(|i| i.get("name").and_then(Value::as_str) == Some(name))?
        .get("cluster")?;
    let field = |k: &str| cluster.get(k).and_then(Value::as_str).map(String::from);
    Some((field("server")?, field("certificate-authority-data")?))
}

/// The exec `env` to write: what an earlier eksop-auth entry had (a user's own additions),
/// with `e.env` set over it; nothing of another plugin's entry.
fn merged_env(old_exec: Option<&Value>, e: &Entry) -> Value {
    let ours = old_exec
        .and_then(|x| x.get("command"))
        .and_then(Value::as_str)
        .and_then(|c| std::path::Path::new(c).file_stem())
        .is_some_and(|stem| stem == "eksop-auth");
    let mut items: Vec<Value> = if ours {
        old_exec
            .and_then(|x| x.get("env"))
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    for (name, value) in &e.env {
        items.retain(|i| i.get("name").and_then(Value::as_str) != Some(name));
        let mut m = Mapping::new();
        m.insert(key("name"), s(name));
        m.insert(key("value"), s(value));
        items.push(Value::Mapping(m));
    }
    if items.is_empty() {
        Value::Null
    } else {
        Value::Sequence(items)
    }
}

/// The kubeconfig text in kubectl's layout with every secret-looking value replaced by
/// `<redacted>`, for a diff: values of keys named like secrets, exec `env` values (often
/// tokens), exec arguments after a secret-looking flag (`--password x`,
/// `--oidc-client-secret=x`), the password in a URL, and anywhere else a value equal to one
/// of those (an alias of a password under another key).
pub(crate) fn redacted(text: &str) -> Result<String, KubeconfigError> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    let mut doc = Value::Mapping(parse(text)?);
    let mut secrets = std::collections::HashSet::new();
    redact(&mut doc, Within::Other, &mut secrets);
    redact_copies(&mut doc, &secrets);
    Ok(yaml::emit(&doc))
}

const HIDDEN: &str = "<redacted>";

/// Where a value sits, as far as redaction goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Within {
    Env,
    ExecArgs,
    Other,
}

/// A flag whose value is a secret.
fn secret_flag(arg: &str) -> bool {
    arg.starts_with('-') && crate::textdiff::is_secret_key(arg.trim_start_matches('-'))
}

/// `scheme://user:password@host…` with the password hidden.
fn without_url_password(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let (userinfo, host) = rest.split_once('@')?;
    if userinfo.contains('/') {
        return None;
    }
    let (user, _) = userinfo.split_once(':')?;
    Some(format!("{scheme}://{user}:{HIDDEN}@{host}"))
}

fn hide(v: &mut Value, secrets: &mut std::collections::HashSet<String>) {
    if let Value::String(s) = v {
        secrets.insert(std::mem::take(s));
    }
    if !v.is_null() {
        *v = Value::String(HIDDEN.into());
    }
}

fn redact(v: &mut Value, within: Within, secrets: &mut std::collections::HashSet<String>) {
    match v {
        Value::Mapping(m) => {
            // Our own settings (EKSOP_AUTH_PROMPT…) are not secrets: the diff shows them.
            let ours = within == Within::Env
                && m.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.starts_with("EKSOP_AUTH_"));
            for (k, val) in m.iter_mut() {
                let k = k.as_str().unwrap_or("");
                if crate::textdiff::is_secret_key(k)
                    || (within == Within::Env && k == "value" && !ours)
                {
                    hide(val, secrets);
                } else {
                    let next = match k {
                        "env" => Within::Env,
                        "args" => Within::ExecArgs,
                        _ => Within::Other,
                    };
                    redact(val, next, secrets);
                }
            }
        }
        Value::Sequence(items) if within == Within::ExecArgs => {
            let mut after_flag = false;
            for item in items.iter_mut() {
                let Some(arg) = item.as_str().map(String::from) else {
                    continue;
                };
                if after_flag && !arg.starts_with("--") {
                    hide(item, secrets);
                } else if let Some((flag, value)) = arg.split_once('=')
                    && secret_flag(flag)
                {
                    secrets.insert(value.to_string());
                    *item = Value::String(format!("{flag}={HIDDEN}"));
                }
                after_flag = !arg.contains('=') && secret_flag(&arg);
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|i| redact(i, within, secrets)),
        Value::String(s) => {
            if let Some(clean) = without_url_password(s) {
                *s = clean;
            }
        }
        _ => {}
    }
}

/// Hides every other copy of a secret value (short ones would hide ordinary words).
fn redact_copies(v: &mut Value, secrets: &std::collections::HashSet<String>) {
    match v {
        Value::Mapping(m) => m
            .iter_mut()
            .for_each(|(_, val)| redact_copies(val, secrets)),
        Value::Sequence(items) => items.iter_mut().for_each(|i| redact_copies(i, secrets)),
        Value::String(s) if s.len() >= 4 && secrets.contains(s.as_str()) => {
            *s = HIDDEN.into();
        }
        _ => {}
    }
}

fn parse(text: &str) -> Result<Mapping, KubeconfigError> {
    match yaml::parse(text).map_err(KubeconfigError::Yaml)? {
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
    /// The exec block's `env` (name, value), as kubectl sets it for the plugin.
    pub(crate) env: Vec<(String, String)>,
}

/// The first user whose exec args name `--cluster <cluster>`.
pub(crate) fn find_exec_user(
    text: &str,
    cluster: &str,
) -> Result<Option<ExecUser>, KubeconfigError> {
    let doc = parse(text)?;
    let users = seq(&doc, "users");
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    // A user shared by several clusters (`setup --all-clusters`) learns the name from the
    // cluster entry's exec extension: the users of the contexts of such a cluster.
    let shared = shared_users_of(&doc, cluster);
    Ok(users.iter().find_map(|u| {
        let exec = u.get("user")?.get("exec")?;
        let args: Vec<String> = exec
            .get("args")?
            .as_sequence()?
            .iter()
            .filter_map(|a| a.as_str().map(String::from))
            .collect();
        let named = args
            .windows(2)
            .any(|w| w[0] == "--cluster" && w[1] == cluster);
        let via_extension = !args.iter().any(|a| a == "--cluster")
            && exec.get("provideClusterInfo").and_then(Value::as_bool) == Some(true)
            && str_of(u, "name").is_some_and(|n| shared.contains(&n));
        (named || via_extension).then_some(())?;
        Some(ExecUser {
            name: str_of(u, "name").unwrap_or_else(|| "?".into()),
            command: str_of(exec, "command").unwrap_or_default(),
            api_version: str_of(exec, "apiVersion").unwrap_or_default(),
            interactive_mode: str_of(exec, "interactiveMode")
                .unwrap_or_else(|| "IfAvailable".into()),
            env: exec_env(exec),
            args,
        })
    }))
}

/// The users of contexts whose cluster entry names EKS cluster `cluster` in its exec
/// extension.
fn shared_users_of(doc: &Mapping, cluster: &str) -> Vec<String> {
    let entries = entry_names(doc, cluster);
    seq(doc, "contexts")
        .iter()
        .filter_map(|c| c.get("context"))
        .filter(|c| {
            c.get("cluster")
                .and_then(Value::as_str)
                .is_some_and(|n| entries.iter().any(|e| e == n))
        })
        .filter_map(|c| c.get("user").and_then(Value::as_str).map(String::from))
        .collect()
}

fn seq(doc: &Mapping, k: &str) -> Vec<Value> {
    match doc.get(k) {
        Some(Value::Sequence(s)) => s.clone(),
        _ => Vec::new(),
    }
}

/// The cluster entries whose exec extension names EKS cluster `cluster`.
fn entry_names(doc: &Mapping, cluster: &str) -> Vec<String> {
    seq(doc, "clusters")
        .iter()
        .filter(|c| {
            c.get("cluster")
                .and_then(|x| x.get("extensions"))
                .and_then(Value::as_sequence)
                .is_some_and(|exts| {
                    exts.iter().any(|e| {
                        e.get("name").and_then(Value::as_str)
                            == Some(crate::protocol::EXEC_EXTENSION)
                            && e.get("extension")
                                .and_then(|x| x.get("cluster"))
                                .and_then(Value::as_str)
                                == Some(cluster)
                    })
                })
        })
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
        .collect()
}

/// An exec block's `env` list as (name, value) pairs.
fn exec_env(exec: &Value) -> Vec<(String, String)> {
    exec.get("env")
        .and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some((
                        i.get("name")?.as_str()?.to_string(),
                        i.get("value")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
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
            user: "arn:aws:eks:eu-west-1:1:cluster/prod".into(),
            shared_as: None,
            make_current: true,
            context: "prod".into(),
            server: "https://x.eks.amazonaws.com".into(),
            ca_data: "Q0E=".into(),
            command: "/usr/local/bin/eksop-auth".into(),
            args: ["token", "--cluster", "prod"].map(String::from).to_vec(),
            env: Vec::new(),
        }
    }

    #[test]
    fn clusters_share_one_user_through_the_exec_extension() {
        let shared = |name: &str, current: bool| Entry {
            name: format!("arn:aws:eks:eu-west-1:1:cluster/{name}"),
            user: "eksop-auth:op:eu-west-1".into(),
            shared_as: Some(name.into()),
            make_current: current,
            context: name.into(),
            args: ["token", "--profile", "op", "--region", "eu-west-1"]
                .map(String::from)
                .to_vec(),
            ..entry()
        };
        let other = "apiVersion: v1\nkind: Config\nclusters:\n- name: arn:aws:eks:eu-west-1:1:cluster/a\n  cluster:\n    server: https://old\n    extensions:\n    - name: example.com/x\n      extension: {k: v}\ncurrent-context: mine\n";
        let one = upsert(Some(other), &shared("a", false)).unwrap();
        let two = upsert(Some(&one), &shared("b", false)).unwrap();
        let doc = yaml::parse(&two).unwrap();
        assert_eq!(doc["current-context"], s("mine"), "kept");
        assert_eq!(doc["users"].as_sequence().unwrap().len(), 1, "{two}");
        let a = &doc["clusters"][0]["cluster"];
        assert_eq!(a["server"], s("https://x.eks.amazonaws.com"));
        assert_eq!(
            a["extensions"][0]["name"],
            s("example.com/x"),
            "kept: {two}"
        );
        assert_eq!(
            a["extensions"][1]["name"],
            s("client.authentication.k8s.io/exec")
        );
        assert_eq!(a["extensions"][1]["extension"]["cluster"], s("a"));
        assert_eq!(
            doc["clusters"][1]["cluster"]["extensions"][0]["extension"]["cluster"],
            s("b")
        );
        assert_eq!(
            doc["users"][0]["user"]["exec"]["provideClusterInfo"],
            Value::Bool(true)
        );
        assert_eq!(
            doc["contexts"][1]["context"]["user"],
            s("eksop-auth:op:eu-west-1")
        );
        assert_eq!(
            upsert(Some(&two), &shared("b", false)).unwrap(),
            two,
            "idempotent"
        );
        // No current context yet: the first written becomes it.
        let fresh = upsert(None, &shared("a", false)).unwrap();
        assert!(fresh.contains("current-context: a\n"), "{fresh}");
    }

    #[test]
    fn exec_env_is_set_over_what_our_entry_had() {
        let gui = Entry {
            env: vec![("EKSOP_AUTH_PROMPT".into(), "gui".into())],
            ..entry()
        };
        let once = upsert(None, &gui).unwrap();
        let u = find_exec_user(&once, "prod").unwrap().unwrap();
        assert_eq!(u.env, [("EKSOP_AUTH_PROMPT".into(), "gui".into())]);
        // A value the user added by hand survives a later setup; ours is replaced.
        let mut doc = yaml::parse(&once).unwrap();
        let env = doc["users"][0]["user"]["exec"]["env"]
            .as_sequence_mut()
            .unwrap();
        let mut added = Mapping::new();
        added.insert(key("name"), s("AWS_CONFIG_FILE"));
        added.insert(key("value"), s("/etc/aws"));
        env.insert(0, Value::Mapping(added));
        let edited = yaml::emit(&doc);
        let none = Entry {
            env: vec![("EKSOP_AUTH_PROMPT".into(), "none".into())],
            ..entry()
        };
        let again = upsert(Some(&edited), &none).unwrap();
        let u = find_exec_user(&again, "prod").unwrap().unwrap();
        assert_eq!(
            u.env,
            [
                ("AWS_CONFIG_FILE".into(), "/etc/aws".into()),
                ("EKSOP_AUTH_PROMPT".into(), "none".into())
            ]
        );
        // Without a value to set, what is there stays.
        let kept = upsert(Some(&again), &entry()).unwrap();
        assert_eq!(find_exec_user(&kept, "prod").unwrap().unwrap().env, u.env);
        // Another plugin's entry (aws eks update-kubeconfig) leaves nothing behind.
        let aws = "users:\n- name: arn:aws:eks:eu-west-1:1:cluster/prod\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token]\n      env:\n      - name: AWS_PROFILE\n        value: old\n";
        let replaced = upsert(Some(aws), &entry()).unwrap();
        assert!(!replaced.contains("AWS_PROFILE"), "{replaced}");
    }

    #[test]
    fn keeps_other_entries_and_is_idempotent() {
        let existing = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://other\n    extensions:\n    - name: x\n      extension: {a: 1}\nusers:\n- name: other\n  user:\n    token: abc\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: other\n    namespace: ns\ncurrent-context: other\npreferences: {}\nunknown-field: 42\n";
        let once = upsert(Some(existing), &entry()).unwrap();
        let twice = upsert(Some(&once), &entry()).unwrap();
        assert_eq!(once, twice);
        let v: Value = yaml::parse(&once).unwrap();
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
    fn every_secret_is_redacted_in_block_and_flow_style() {
        let text = "users:\n- name: oidc\n  user:\n    auth-provider:\n      config:\n        client-secret: s3cr3t\n        id-token: eyJ\n- name: e\n  user:\n    exec:\n      env:\n      - name: VAULT_TOKEN\n        value: hvs.abc\n- name: f\n  user: {username: u, password: hunter2, token: abc}\n";
        let shown = redacted(text).unwrap();
        for secret in ["s3cr3t", "eyJ", "hvs.abc", "hunter2", "abc\n"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("name: VAULT_TOKEN") && shown.contains("username: u"),
            "{shown}"
        );
        // Our own setting is shown as it is.
        let ours = "users:\n- name: e\n  user:\n    exec:\n      env:\n      - name: EKSOP_AUTH_PROMPT\n        value: gui\n";
        assert!(redacted(ours).unwrap().contains("value: gui"));
    }

    #[test]
    fn secrets_in_exec_args_urls_and_aliases_are_redacted() {
        let text = "clusters:\n- name: c\n  cluster:\n    server: https://x\n    proxy-url: http://alice:ProxyPass1@proxy:3128\nusers:\n- name: k\n  user:\n    exec:\n      command: kubectl\n      args: [oidc-login, get-token, --oidc-client-secret=ClientSecret2, --password, ArgPass8, --oidc-issuer-url=https://issuer]\n- name: a\n  user:\n    password: &pw AliasPass3\n    username: *pw\n";
        let shown = redacted(text).unwrap();
        for secret in ["ProxyPass1", "ClientSecret2", "ArgPass8", "AliasPass3"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        for kept in [
            "http://alice:<redacted>@proxy:3128",
            "--oidc-client-secret=<redacted>",
            "--oidc-issuer-url=https://issuer",
            "- get-token",
        ] {
            assert!(shown.contains(kept), "{kept} not in {shown}");
        }
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
