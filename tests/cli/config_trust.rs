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
    // Merge keys apply in order (a later `<<` overrides), scalars as go-yaml v2 reads them.
    "apiVersion: v1\nkind: Config\nx-prod: &prod {server: \"https://prod.example:6443\"}\nx-ns: &ns {namespace: team-a}\nclusters:\n- name: merged\n  cluster:\n    server: https://staging.example:6443\n    <<: *prod\n    extensions:\n    - name: scalars\n      extension: {a: _1, b: ._1, c: -9223372036854775808, d: !!binary aGVsbG8=, e: ! on, f: 1e400, g: !!str 12, \"<<\": {k: 1}, h: -_1}\ncontexts:\n- name: merged\n  context:\n    cluster: merged\n    user: merged\n    <<: *ns\n    namespace: team-b\n- name: merged-late\n  context:\n    cluster: merged\n    user: merged\n    namespace: team-c\n    <<: *ns\nusers:\n- name: merged\n  user: {}\ncurrent-context: merged\n",
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

#[test]
fn a_setup_that_changes_nothing_keeps_the_file_as_the_user_wrote_it() {
    let home = Home::new();
    let kube = home.path().join(".kube/config");
    run(&mut setup_cmd(&home, "demo", &home.profile, &[])).success();
    // The user adds a comment after the first setup.
    let edited = format!("# my clusters\n{}", std::fs::read_to_string(&kube).unwrap());
    std::fs::write(&kube, &edited).unwrap();
    let dry = run(&mut setup_cmd(&home, "demo", &home.profile, &["--dry-run"]));
    assert_eq!(dry.success().stdout, "no changes\n");
    let out = run(&mut setup_cmd(&home, "demo", &home.profile, &[]));
    assert!(
        out.success()
            .stderr
            .contains(&format!("unchanged {}", kube.display())),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&kube).unwrap(), edited);
    // A real change rewrites it; the dry run says what is lost, and a copy keeps it.
    let dry = run(&mut setup_cmd(
        &home,
        "other",
        &home.profile,
        &["--dry-run"],
    ));
    assert!(
        dry.success()
            .stdout
            .contains("comments and formatting are not kept"),
        "{}",
        dry.stdout
    );
    // Each rewrite that drops something keeps a copy: the first as `.eksop-auth.bak`,
    // later ones with the time in the name.
    for (round, cluster) in ["other", "third"].iter().enumerate() {
        if round > 0 {
            let with_comment = format!(
                "# round {round}\n{}",
                std::fs::read_to_string(&kube).unwrap()
            );
            std::fs::write(&kube, &with_comment).unwrap();
        }
        let before = std::fs::read_to_string(&kube).unwrap();
        let out = run(&mut setup_cmd(&home, cluster, &home.profile, &[]));
        out.success();
        let copy = out
            .stderr
            .split("the file as it was is in ")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .unwrap_or_else(|| panic!("no copy named: {}", out.stderr))
            .to_string();
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), before);
        let want = if round == 0 {
            ".eksop-auth.bak"
        } else {
            ".eksop-auth.20"
        };
        assert!(copy.contains(want) && copy.ends_with(".bak"), "{copy}");
    }
}

#[test]
fn no_secret_reaches_a_diff_through_args_urls_aliases_or_key_spelling() {
    let home = Home::new();
    home.write(
        ".aws/config",
        "[profile src]\nAws_Access_Key_Id = AKIAX\nmfa_process = oathtool --totp -b JBSWY3DPEHPK3PXP\nAws_Secret_Access_Key = aws-secret-1\nAws_Session_Token = SESS5\naws_security_token = OLD6\n",
    );
    home.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: p\n  cluster:\n    server: https://p\n    proxy-url: http://alice:ProxyPass1@proxy:3128\nusers:\n- name: k\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubectl\n      args: [oidc-login, get-token, --oidc-client-secret=ClientSecret2, --password, ArgPass8]\n- name: a\n  user:\n    password: &pw AliasPass3\n    username: *pw\n",
    );
    let out = run(&mut setup_cmd(&home, "demo", "ops", &["--dry-run"]));
    assert!(
        out.success()
            .stdout
            .contains(" Aws_Session_Token = <redacted>"),
        "{}",
        out.stdout
    );
    for secret in [
        "aws-secret-1",
        "SESS5",
        "OLD6",
        "JBSWY3DPEHPK3PXP",
        "ProxyPass1",
        "ClientSecret2",
        "ArgPass8",
        "AliasPass3",
    ] {
        assert!(
            !out.stdout.contains(secret),
            "{secret} in the diff:\n{}",
            out.stdout
        );
    }
}

#[test]
fn the_credentials_file_and_hostile_flag_values_cannot_change_what_a_profile_means() {
    let mut home = Home::new();
    home.write(
        ".aws/config",
        "[profile src]\naws_access_key_id = AKIAX\naws_secret_access_key = s\n",
    );
    let config = || std::fs::read_to_string(home.path().join(".aws/config")).unwrap();
    let before = config();
    home.write(
        ".aws/credentials",
        &format!(
            "[{}]\nrole_arn = arn:aws:iam::123456789012:role/old\n",
            home.profile
        ),
    );
    let out = run(&mut setup_cmd(&home, "demo", &home.profile, &[]));
    assert!(
        out.failure().stderr.contains("line 2 sets `role_arn`"),
        "{}",
        out.stderr
    );
    assert_eq!(config(), before);
    std::fs::remove_file(home.path().join(".aws/credentials")).unwrap();
    // A value with a line break would add a key of its own; ` ;` would cut it short.
    for bad in [
        "echo 123456\nrole_arn = arn:aws:iam::999999999999:role/evil",
        "ykman oath accounts code -s aws ; true",
    ] {
        let out = run(&mut setup_cmd(
            &home,
            "demo",
            &home.profile,
            &["--mfa-process", bad],
        ));
        out.failure();
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert_eq!(config(), before, "{bad:?}");
        assert!(!home.path().join(".kube/config").exists());
    }
    let _ = &mut home;
}

#[test]
fn links_owners_and_the_kubeconfig_list_are_kept_as_kubectl_keeps_them() {
    let mut home = Home::new();
    // A link to a file not written yet (a dotfiles manager): the file is created there.
    std::fs::create_dir_all(home.path().join("dotfiles")).unwrap();
    std::fs::create_dir_all(home.path().join(".kube")).unwrap();
    std::os::unix::fs::symlink("../dotfiles/kubeconfig", home.path().join(".kube/config")).unwrap();
    run(&mut setup_cmd(&home, "demo", &home.profile, &[])).success();
    let link = std::fs::symlink_metadata(home.path().join(".kube/config")).unwrap();
    assert!(link.file_type().is_symlink());
    assert!(
        std::fs::read_to_string(home.path().join("dotfiles/kubeconfig"))
            .unwrap()
            .contains("cluster/demo")
    );
    // Several files in KUBECONFIG: the first that exists is written, none is created.
    let (a, b) = (home.path().join("a.yaml"), home.path().join("b.yaml"));
    std::fs::write(&b, "apiVersion: v1\nkind: Config\n").unwrap();
    home.set("KUBECONFIG", &format!("{}:{}", a.display(), b.display()));
    run(&mut setup_cmd(&home, "demo", &home.profile, &[])).success();
    assert!(!a.exists());
    assert!(
        std::fs::read_to_string(&b)
            .unwrap()
            .contains("cluster/demo")
    );
}

#[test]
fn a_file_of_another_user_stays_theirs() {
    if !crate::harness::root_or_skip("owning a file as another user") {
        return;
    }
    let home = Home::new();
    let kube = home.write(".kube/config", "apiVersion: v1\nkind: Config\n");
    std::os::unix::fs::chown(&kube, Some(65534), Some(65534)).unwrap();
    run(&mut setup_cmd(&home, "demo", &home.profile, &[])).success();
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(&kube).unwrap();
    assert_eq!((m.uid(), m.gid()), (65534, 65534));
    assert!(
        std::fs::read_to_string(&kube)
            .unwrap()
            .contains("cluster/demo")
    );
}

#[test]
fn what_cannot_be_rewritten_safely_is_refused_at_once() {
    let home = Home::new();
    // An alias bomb: a few hundred bytes, billions of values.
    let mut bomb =
        String::from("apiVersion: v1\nkind: Config\nx0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..=9 {
        let p = i - 1;
        bomb.push_str(&format!(
            "x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let kube = home.write(".kube/config", &bomb);
    let started = std::time::Instant::now();
    let out = run(&mut setup_cmd(&home, "demo", &home.profile, &["--dry-run"]));
    assert!(
        out.failure().stderr.contains("excessive aliasing"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Not UTF-8: left as it is, byte for byte.
    std::fs::write(
        &kube,
        b"apiVersion: v1\nkind: Config\npreferences: {x: \"caf\xe9\"}\n",
    )
    .unwrap();
    let out = run(&mut setup_cmd(&home, "demo", &home.profile, &[]));
    assert!(out.failure().stderr.contains("not UTF-8"), "{}", out.stderr);
    assert_eq!(
        std::fs::read(&kube).unwrap(),
        b"apiVersion: v1\nkind: Config\npreferences: {x: \"caf\xe9\"}\n"
    );
}

#[test]
fn a_setup_that_must_fail_fails_before_the_mfa_prompt_and_takes_no_lock_for_nothing() {
    let mut home = Home::new();
    let mfa = home.counting_mfa_process("123456");
    home.operator_profile(&crate::fakes::dead_endpoint(), &mfa);
    // Needs a login for DescribeCluster; the kubeconfig is read-only.
    let kube = home.write(".kube/config", "apiVersion: v1\nkind: Config\n");
    std::fs::set_permissions(&kube, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = run(&mut home.eksop(&["setup", "--cluster", "prod", "--profile", &home.profile]));
    assert!(
        out.failure().stderr.contains("is read-only"),
        "{}",
        out.stderr
    );
    assert_eq!(home.mfa_runs(), 0, "asked for a code first");
    // A lock left behind is waited on, and named, before the prompt too.
    std::fs::set_permissions(&kube, std::fs::Permissions::from_mode(0o600)).unwrap();
    home.write(".kube/config.lock", "");
    let out = run(&mut home.eksop(&["setup", "--cluster", "prod", "--profile", &home.profile]));
    assert_eq!(out.failure().code, Some(10), "{}", out.stderr);
    assert_eq!(home.mfa_runs(), 0, "asked for a code first");
    std::fs::remove_file(home.path().join(".kube/config.lock")).unwrap();
    // A setup with nothing to change needs no lock: it works in a folder it cannot write.
    std::fs::set_permissions(&kube, std::fs::Permissions::from_mode(0o600)).unwrap();
    let plain = Home::new();
    run(&mut setup_cmd(&plain, "demo", &plain.profile, &[])).success();
    let dir = plain.path().join(".kube");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    let aws = plain.path().join(".aws");
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o500)).unwrap();
    let mut again = setup_cmd(&plain, "demo", &plain.profile, &[]);
    let out = if crate::harness::is_root() {
        // root writes anywhere: act as nobody, who owns the folders for this check.
        for p in [&dir, &aws] {
            std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
            for e in std::fs::read_dir(p).unwrap().flatten() {
                std::os::unix::fs::chown(e.path(), Some(65534), Some(65534)).unwrap();
            }
        }
        std::os::unix::fs::chown(plain.path(), Some(65534), Some(65534)).unwrap();
        let program = again.get_program().to_owned();
        let args: Vec<_> = again.get_args().map(ToOwned::to_owned).collect();
        let mut as_nobody = plain.command("setpriv");
        as_nobody
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(program)
            .args(args);
        run(&mut as_nobody)
    } else {
        run(&mut again)
    };
    assert!(out.success().stderr.contains("unchanged"), "{}", out.stderr);
    for p in [&dir, &aws] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}
