//! kubeconfig as a YAML document: upsert one cluster, user (with the eksop-auth exec block)
//! and context, and set `current-context`. Everything else — other entries, `preferences`,
//! extensions, unknown fields — is kept. YAML comments are not (kubectl drops them too).
//!
//! Pure: text in, text out.

use serde_norway::{Mapping, Value};

/// What `setup` writes.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name of the cluster and user entries (the cluster ARN, as update-kubeconfig does).
    pub name: String,
    pub context: String,
    pub server: String,
    pub ca_data: String,
    pub command: String,
    pub args: Vec<String>,
}

pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";
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
    list_key: &str,
    name: &str,
) -> Result<&'a mut Mapping, String> {
    let list = doc
        .entry(key(list_key))
        .or_insert(Value::Sequence(Vec::new()));
    if list.is_null() {
        *list = Value::Sequence(Vec::new());
    }
    let Value::Sequence(items) = list else {
        return Err(format!("`{list_key}` is not a list"));
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
        _ => Err(format!("an item of `{list_key}` is not a mapping")),
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
pub fn check(existing: Option<&str>) -> Result<(), String> {
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
pub fn upsert(existing: Option<&str>, e: &Entry) -> Result<String, String> {
    let text = existing.unwrap_or("");
    let mut doc = if text.trim().is_empty() {
        let mut m = Mapping::new();
        m.insert(key("apiVersion"), s("v1"));
        m.insert(key("kind"), s("Config"));
        m.insert(key("preferences"), Value::Mapping(Mapping::new()));
        m
    } else {
        match serde_norway::from_str::<Value>(text).map_err(|err| err.to_string())? {
            Value::Mapping(m) => m,
            Value::Null => Mapping::new(),
            _ => return Err("the document is not a mapping".into()),
        }
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
    serde_norway::to_string(&Value::Mapping(doc)).map_err(|err| err.to_string())
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
        assert!(upsert(Some("- a list"), &entry()).is_err());
        assert!(upsert(Some("clusters: 5"), &entry()).is_err());
    }
}
