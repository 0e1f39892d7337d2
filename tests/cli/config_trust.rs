//! Config files you can trust: kubeconfig read back as written by every reader, two
//! `setup`s at once, `setup --dry-run` before any login, one meaning per profile, the
//! user's read-only files, and the newcomer's path.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::harness::{BIN, Home, MFA_SERIAL, Output, ROLE_ARN, repo_root, run, run_all};

const CA: &str = "Q0EK";

fn setup_cmd(home: &Home, cluster: &str, profile: &str, extra: &[&str]) -> std::process::Command {
    let mut cmd = home.eksop(&[
        "setup",
        "--cluster",
        cluster,
        "--profile",
        profile,
        "--source-profile",
        "src",
        "--role-arn",
        ROLE_ARN,
        "--mfa-serial",
        MFA_SERIAL,
        "--region",
        "eu-west-1",
        "--endpoint",
        "https://example.invalid",
        "--certificate-authority-data",
        CA,
    ]);
    cmd.args(extra);
    cmd
}

fn kube_json(home: &Home, file: &Path) -> serde_json::Value {
    let out = run(home
        .command("kubectl")
        .args(["config", "view", "-o", "json", "--raw", "--kubeconfig"])
        .arg(file));
    serde_json::from_str(&out.success().stdout)
        .unwrap_or_else(|e| panic!("kubectl config view: {e}: {}", out.stdout))
}

/// kubectl's view without eksop-auth's entries (and the current context it sets).
fn without_ours(mut v: serde_json::Value, ours: &str) -> serde_json::Value {
    for list in ["clusters", "users", "contexts"] {
        if let Some(items) = v[list].as_array_mut() {
            items.retain(|i| i["name"] != ours);
        }
    }
    v.as_object_mut().unwrap().remove("current-context");
    v
}

/// Kubeconfigs that YAML 1.1 and 1.2 readers disagree on, or that are easy to mangle.
const CORPUS: &[&str] = &[
    "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://c.example\ncontexts:\n- {name: c-on, context: {cluster: c, user: u, namespace: \"on\"}}\n- {name: c-yes, context: {cluster: c, user: u, namespace: \"yes\"}}\n- {name: c-no, context: {cluster: c, user: u, namespace: \"no\"}}\n- {name: c-y, context: {cluster: c, user: u, namespace: \"y\"}}\n- {name: c-off, context: {cluster: c, user: u, namespace: 'off'}}\n- {name: c-num, context: {cluster: c, user: u, namespace: \"1_000\"}}\n- {name: c-oct, context: {cluster: c, user: u, namespace: \"0777\"}}\n- {name: c-t, context: {cluster: c, user: u, namespace: \"true\"}}\n- {name: c-nul, context: {cluster: c, user: u, namespace: \"null\"}}\n- {name: c-tilde, context: {cluster: c, user: u, namespace: \"~\"}}\n- {name: c-exp, context: {cluster: c, user: u, namespace: \"1e3\"}}\n- {name: c-date, context: {cluster: c, user: u, namespace: \"2001-12-14\"}}\n- {name: c-hex, context: {cluster: c, user: u, namespace: \"0x1F\"}}\n- {name: c-inf, context: {cluster: c, user: u, namespace: \".inf\"}}\nusers:\n- name: u\n  user:\n    token: \"0123\"\ncurrent-context: c-on\n",
    "apiVersion: v1\nkind: Config\npreferences: {colors: true}\nclusters: [{name: flow, cluster: {server: \"https://x:6443\", insecure-skip-tls-verify: true, proxy-url: \"http://proxy:3128\"}}]\nusers: [{name: f, user: {username: \"admin\", password: \"p@ss: #word\"}}]\ncontexts: [{name: f, context: {cluster: flow, user: f}}]\ncurrent-context: f\n",
    "apiVersion: v1\nkind: Config\nclusters:\n- name: ext\n  cluster:\n    server: https://e\n    extensions:\n    - name: client.example/v1\n      extension:\n        count: 3\n        ratio: 1.5\n        flag: false\n        label: \"01\"\n        text: \"a: b # not a comment\"\n        quoted: '\"hi\"'\n        unicode: \"ünïcödé ✓\"\n        lead: \" spaced \"\n        multi: |\n          line one\n          line two\nusers:\n- name: exec\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [\"--region\", \"eu-west-1\", \"eks\", \"get-token\", \"--cluster-name=x\", \"-\"]\n      env:\n      - name: AWS_PROFILE\n        value: \"off\"\n      - name: EMPTY\n        value: \"\"\ncontexts:\n- name: ext\n  context: {cluster: ext, user: exec}\ncurrent-context: ext\n",
    "apiVersion: v1\r\nkind: Config\r\nclusters:\r\n- name: crlf\r\n  cluster:\r\n    server: https://crlf\r\nusers:\r\n- name: crlf\r\n  user: {}\r\ncontexts:\r\n- name: crlf\r\n  context:\r\n    cluster: crlf\r\n    user: crlf\r\ncurrent-context: crlf\r\n",
];

#[test]
fn every_reader_reads_a_rewritten_kubeconfig_as_it_was() {
    for (i, text) in CORPUS.iter().enumerate() {
        let home = Home::new();
        let file = home.write(&format!("kube-{i}"), text);
        let before = kube_json(&home, &file);
        run(setup_cmd(&home, "demo", &home.profile, &["--kubeconfig"]).arg(&file)).success();
        let after = kube_json(&home, &file);
        let ours = "arn:aws:eks:eu-west-1:123456789012:cluster/demo";
        assert_eq!(
            without_ours(after, ours),
            without_ours(before, ours),
            "kubeconfig {i} changed meaning:\n{}",
            std::fs::read_to_string(&file).unwrap()
        );
        // And a second setup changes nothing at all.
        let once = std::fs::read(&file).unwrap();
        run(setup_cmd(&home, "demo", &home.profile, &["--kubeconfig"]).arg(&file)).success();
        assert_eq!(std::fs::read(&file).unwrap(), once);
    }
}

#[test]
fn two_setups_at_once_lose_nothing() {
    for round in 0..40 {
        let home = Home::new();
        home.write(
            ".aws/config",
            "[profile src]\naws_access_key_id = AKIAX\naws_secret_access_key = s\n",
        );
        let outs = run_all(vec![
            setup_cmd(&home, "one", "op-one", &[]),
            setup_cmd(&home, "two", "op-two", &[]),
        ]);
        for out in &outs {
            out.success();
        }
        let config = std::fs::read_to_string(home.path().join(".aws/config")).unwrap();
        let kube = std::fs::read_to_string(home.path().join(".kube/config")).unwrap();
        for name in ["one", "two"] {
            assert!(
                config.contains(&format!("[profile op-{name}]")),
                "round {round}: {config}"
            );
            assert!(
                kube.contains(&format!("cluster/{name}")),
                "round {round}: {kube}"
            );
        }
        assert!(!home.path().join(".kube/config.lock").exists());
        assert!(!home.path().join(".aws/config.lock").exists());
    }
}

#[test]
fn a_lock_left_behind_is_named_after_a_bounded_wait() {
    let home = Home::new();
    home.write(".kube/config.lock", "");
    let started = std::time::Instant::now();
    let out = run(&mut setup_cmd(&home, "demo", &home.profile, &[]));
    out.failure();
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let lock = home.path().join(".kube/config.lock");
    assert!(
        out.stderr.contains(&format!("remove {}", lock.display())),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, Some(10));
}

#[test]
fn dry_run_on_a_fresh_machine_shows_both_files_and_writes_nothing() {
    let home = Home::new();
    let out = run(&mut home.eksop(&[
        "setup",
        "--cluster",
        "prod",
        "--profile",
        "ops",
        "--source-profile",
        "alice",
        "--role-arn",
        ROLE_ARN,
        "--mfa-serial",
        MFA_SERIAL,
        "--region",
        "eu-west-1",
        "--dry-run",
    ]));
    out.success();
    for line in [
        "+[profile ops]",
        "+source_profile = alice",
        "+duration_seconds = 43200",
        "+- name: arn:aws:eks:eu-west-1:123456789012:cluster/prod",
        "server: \"<from EKS DescribeCluster at the first login>\"",
        "certificate-authority-data: \"<from EKS DescribeCluster at the first login>\"",
        "+      command: ",
    ] {
        assert!(
            out.stdout.contains(line),
            "missing {line:?}:\n{}",
            out.stdout
        );
    }
    let mut left: Vec<PathBuf> = std::fs::read_dir(home.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    left.retain(|p| p.file_name().is_some_and(|n| n != ".aws"));
    assert!(left.is_empty(), "a dry run wrote {left:?}");
    assert_eq!(
        std::fs::read_dir(home.path().join(".aws")).unwrap().count(),
        0
    );
}

#[test]
fn no_secret_of_any_kubeconfig_entry_reaches_a_diff() {
    let home = Home::new();
    home.write(
        ".aws/config",
        "[profile src]\naws_access_key_id = AKIAX\naws_secret_access_key = aws-secret-1\n",
    );
    home.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nusers:\n- name: oidc\n  user:\n    auth-provider:\n      name: oidc\n      config:\n        client-id: k8s\n        client-secret: oidc-secret-2\n        id-token: eyJ-id-token-3\n        refresh-token: refresh-4\n- name: exec\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: vault-login\n      env:\n      - name: VAULT_TOKEN\n        value: hvs.env-secret-5\n- name: flow\n  user: {username: admin, password: flow-password-6, token: flow-token-7}\n- name: key\n  user:\n    client-key-data: a2V5LTg=\n",
    );
    let out = run(&mut setup_cmd(&home, "demo", &home.profile, &["--dry-run"]));
    out.success();
    for secret in [
        "aws-secret-1",
        "oidc-secret-2",
        "eyJ-id-token-3",
        "refresh-4",
        "hvs.env-secret-5",
        "flow-password-6",
        "flow-token-7",
        "a2V5LTg=",
    ] {
        assert!(
            !out.stdout.contains(secret),
            "{secret} in the diff:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("client-key-data: <redacted>"),
        "{}",
        out.stdout
    );
}

#[test]
fn one_profile_one_meaning() {
    let home = Home::new();
    let twice = "[profile src]\naws_access_key_id = AKIAX\naws_secret_access_key = s\n[profile ops]\nregion = us-east-1\n\n[profile  ops]\nregion = eu-west-1\n";
    home.write(".aws/config", twice);
    let out = run(&mut setup_cmd(&home, "demo", "ops", &[]));
    out.failure();
    assert!(
        out.stderr
            .contains("profile `ops` is defined more than once (lines 4, 7)"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, Some(2));
    assert_eq!(
        std::fs::read_to_string(home.path().join(".aws/config")).unwrap(),
        twice
    );
    assert!(!home.path().join(".kube/config").exists());
    // The spelling the SDKs accept for the header is the block that is edited.
    let spaced = "[profile src]\naws_access_key_id = AKIAX\naws_secret_access_key = s\n[ profile ops ]\nregion = us-east-1\n";
    home.write(".aws/config", spaced);
    run(&mut setup_cmd(&home, "demo", "ops", &[])).success();
    let config = std::fs::read_to_string(home.path().join(".aws/config")).unwrap();
    assert!(
        config.starts_with(&spaced.replace("region = us-east-1", "region = eu-west-1")),
        "{config}"
    );
    assert_eq!(config.matches("profile ops").count(), 1, "{config}");
    // A file the SDKs would refuse is refused here too, with the line.
    home.write(
        ".aws/config",
        "[profile src]\nthis line has no equals sign\n",
    );
    let out = run(&mut setup_cmd(&home, "demo", "ops", &[]));
    assert!(
        out.failure()
            .stderr
            .contains("line 2: Expected an '=' sign"),
        "{}",
        out.stderr
    );
}

#[test]
fn read_only_files_stay_as_the_user_made_them() {
    let home = Home::new();
    home.write(
        ".aws/config",
        "[profile src]\naws_access_key_id = AKIAX\naws_secret_access_key = s\n",
    );
    let kube = home.write(".kube/config", "apiVersion: v1\nkind: Config\n");
    std::fs::set_permissions(&kube, std::fs::Permissions::from_mode(0o444)).unwrap();
    let config_before = std::fs::read(home.path().join(".aws/config")).unwrap();
    let out = run(&mut setup_cmd(&home, "demo", &home.profile, &[]));
    out.failure();
    assert!(
        out.stderr
            .contains(&format!("{} is read-only (mode 0444)", kube.display())),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&kube).unwrap(),
        "apiVersion: v1\nkind: Config\n"
    );
    assert_eq!(
        std::fs::metadata(&kube).unwrap().permissions().mode() & 0o777,
        0o444
    );
    assert_eq!(
        std::fs::read(home.path().join(".aws/config")).unwrap(),
        config_before,
        "nothing half-done"
    );
    // A stale temp file of a writer that died never blocks a write.
    std::fs::set_permissions(&kube, std::fs::Permissions::from_mode(0o600)).unwrap();
    home.write(".kube/.config.2147483646.00000000000000ab.tmp", "stale");
    run(&mut setup_cmd(&home, "demo", &home.profile, &[])).success();
}

fn output_of(cmd: &mut std::process::Command) -> Output {
    run(cmd)
}

#[test]
fn the_newcomers_path() {
    // install.sh into a fresh prefix installs completions and the man page there.
    let home = Home::new();
    let prefix = home.path().join("prefix");
    let out = output_of(
        home.command("bash")
            .arg(repo_root().join("install.sh"))
            .env("PREFIX", &prefix)
            .env("EKSOP_AUTH_BIN", BIN),
    );
    out.success();
    for f in [
        "bin/eksop-auth",
        "share/bash-completion/completions/eksop-auth",
        "share/zsh/site-functions/_eksop-auth",
        "share/fish/vendor_completions.d/eksop-auth.fish",
        "share/man/man1/eksop-auth.1",
    ] {
        assert!(
            prefix.join(f).is_file(),
            "install.sh did not install {f}:\n{}{}",
            out.stdout,
            out.stderr
        );
    }
    // The man page names only pages that exist.
    let man = std::fs::read_to_string(prefix.join("share/man/man1/eksop-auth.1")).unwrap();
    assert!(
        !man.contains("eksop\\-auth\\-token(1)") && !man.contains("eksop-auth-token(1)"),
        "{man}"
    );
    assert!(man.contains("eksop\\-auth login"), "{man}");
    // The README tells its own story, and its speed claim is a figure the bench prints.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        !readme.to_lowercase().contains("the seed"),
        "the README still says `the seed`"
    );
    // The headline ratio is the one section 10 shows from a `scripts/bench` run, against
    // the aws-cli version that run printed.
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let headline = between(&flat, "byte for byte**, ", " times faster in one run of");
    let (section, aws) = (
        between(&flat, "Median speed-up: **", "×**"),
        between(&flat, "against aws-cli/", " "),
    );
    assert_eq!(
        headline, section,
        "the README's headline and section 10 differ"
    );
    assert!(
        flat.contains(&format!("`aws eks get-token` (aws-cli/{aws})")),
        "section 10 does not name aws-cli/{aws}"
    );
    let bench = std::fs::read_to_string(repo_root().join("scripts/bench")).unwrap();
    assert!(
        bench.contains("median speed-up: {rows[1][1] / rows[0][1]:.0f}x against {aws_version}")
            && bench.contains("AssumeRole calls for the 32"),
        "scripts/bench no longer prints what the README quotes"
    );
    assert!(flat.contains("with one AssumeRole for the 32"));
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no `{start}`")) + start.len();
    let len = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no `{end}`"));
    &text[from..from + len]
}
