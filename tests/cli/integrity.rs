//! A session belongs to who made it, and nothing on the machine can swap, resurrect or
//! corrupt it: identity changes, logout with an unreachable keyring, another local user in
//! the cache folder, broken STS answers, many waiters on a rejected code, a misbehaving
//! mfa_process, a crash between write and rename, and any profile name.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fakes::{FakeAws, FakeAwsOptions, SecretService};
use crate::harness::{Home, Output, run, run_all};

const NON_INTERACTIVE: &str =
    r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#;
const BOB_AKID: &str = "AKIABOBBOBBOBBOB0000";
const BOB_SECRET: &str = "bob-secret-access-key-for-tests";
const BOB_ARN: &str = "arn:aws:iam::123456789012:user/bob";

fn token(home: &Home) -> Output {
    run(&mut home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile]))
}

fn login(home: &Home) -> Output {
    run(&mut home.eksop(&["login", "--profile", &home.profile]))
}

fn config(home: &Home) -> String {
    std::fs::read_to_string(home.path().join(".aws/config")).unwrap()
}

fn fake_sts(opts: &FakeAwsOptions<'_>) -> FakeAws {
    FakeAws::start("prod", opts)
}

fn with_bob() -> FakeAwsOptions<'static> {
    FakeAwsOptions {
        users: &[(BOB_AKID, BOB_SECRET, BOB_ARN)],
        ..Default::default()
    }
}

#[track_caller]
fn refused_with(out: &Output, text: &str) {
    out.failure();
    assert!(out.stdout.is_empty(), "a token was printed: {}", out.stdout);
    assert!(
        out.stderr.contains(text),
        "missing {text:?} in:\n{}",
        out.stderr
    );
}

#[test]
fn a_profile_pointed_at_another_user_never_gets_the_old_session() {
    let sts = fake_sts(&with_bob());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    login(&home).success();
    home.set("KUBERNETES_EXEC_INFO", NON_INTERACTIVE);
    token(&home).success();
    // Another region of the same partition is the same identity: clusters in two regions
    // share one session.
    run(&mut home.eksop(&[
        "token",
        "--cluster",
        "prod",
        "--profile",
        &home.profile,
        "--region",
        "eu-central-1",
    ]))
    .success();
    let original = config(&home);
    let without_mfa = original.replace(&mfa, "");
    let bob = format!(
        "[profile bob]\naws_access_key_id = {BOB_AKID}\naws_secret_access_key = {BOB_SECRET}\n"
    );

    // Another source profile, with nobody to type a code: refused, naming both.
    home.write(
        ".aws/config",
        &format!(
            "{bob}{}",
            without_mfa.replace("source_profile = src", "source_profile = bob")
        ),
    );
    let out = token(&home);
    refused_with(
        &out,
        &format!(
            "profile `{}` now uses source profile `bob`; the stored session was made from `src`; \
             run `eksop-auth login --profile {}`",
            home.profile, home.profile
        ),
    );
    assert_eq!(out.code, Some(3));
    let cp = run(&mut home.eksop(&["credential-process", "--profile", &home.profile]));
    refused_with(&cp, "now uses source profile `bob`");

    // Another MFA device.
    home.write(
        ".aws/config",
        &without_mfa.replace("mfa/alice", "mfa/mallory"),
    );
    refused_with(
        &token(&home),
        "now uses MFA device arn:aws:iam::123456789012:mfa/mallory",
    );

    // The same source profile name, but someone else's keys in it.
    home.write(
        ".aws/config",
        &without_mfa
            .replace(crate::harness::SRC_AKID, BOB_AKID)
            .replace(crate::harness::SRC_SECRET, BOB_SECRET),
    );
    refused_with(&token(&home), "now holds access key ****0000");

    // Another STS partition.
    home.write(
        ".aws/config",
        &without_mfa.replace("region = eu-west-1", "region = cn-north-1"),
    );
    refused_with(&token(&home), "now uses the `aws-cn` partition");
    assert_eq!(sts.assume_role_calls().len(), 1, "nothing was re-issued");

    // Where a code can be had, the changed profile gets a fresh login of its own.
    home.write(
        ".aws/config",
        &format!(
            "{bob}{}",
            original.replace("source_profile = src", "source_profile = bob")
        ),
    );
    token(&home).success();
    let calls = sts.assume_role_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1]["access_key_id"], BOB_AKID,
        "signed with bob's keys"
    );
    // …and the original profile, restored, does not get bob's session either.
    home.write(".aws/config", &without_mfa);
    refused_with(
        &token(&home),
        "now uses source profile `src`; the stored session was made from `bob`",
    );
}

/// Runs `logout --all` on drop, so a keyring test leaves nothing in the kernel keyring.
struct LogoutOnDrop(std::process::Command);

impl Drop for LogoutOnDrop {
    fn drop(&mut self) {
        let _ = run(&mut self.0);
    }
}

#[test]
fn logged_out_means_gone_even_when_a_keyring_was_unreachable() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let ss = SecretService::start();
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa)
        .unset("EKSOP_AUTH_STORE");
    for (k, v) in ss.env() {
        home.set(&k, &v);
    }
    let _cleanup = LogoutOnDrop(home.eksop(&["logout", "--all"]));
    login(&home).success();

    // `logout --all` from a shell that cannot reach Secret Service.
    let mut away = home.eksop(&["logout", "--all"]);
    away.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}/nowhere", home.path().display()),
    );
    let out = run(&mut away);
    out.failure();
    assert!(
        out.stderr.contains("secret-service") && out.stderr.contains("eksop-auth logout --all"),
        "{}",
        out.stderr
    );
    // The copy left there is found, shown as logged out, and never used.
    let status = run(&mut home.eksop(&["status"]));
    assert!(
        status
            .success()
            .stdout
            .contains(&format!("profile {}", home.profile))
            && status.stdout.contains("state     logged out at"),
        "{}",
        status.stdout
    );
    home.set("KUBERNETES_EXEC_INFO", NON_INTERACTIVE);
    let out = run(home
        .eksop(&["token", "--cluster", "prod", "--profile", &home.profile])
        .env("EKSOP_AUTH_LOG", "debug"));
    // mfa_process can still log in afresh; the old copy itself was not served.
    out.success();
    assert!(
        out.stderr.contains("it was logged out at"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.assume_role_calls().len(), 2);

    // The next logout, with Secret Service back, finishes the job.
    run(&mut home.eksop(&["logout", "--all"])).success();
    let search =
        run(home
            .command("secret-tool")
            .args(["search", "--all", "service", "eksop-auth"]));
    assert!(
        !search.stdout.contains("attribute.service")
            && !search.stderr.contains("attribute.service"),
        "left in Secret Service: {}{}",
        search.stdout,
        search.stderr
    );
    let status = run(&mut home.eksop(&["status"]));
    assert!(
        status.success().stdout.starts_with("no sessions"),
        "{}",
        status.stdout
    );
    // Without mfa_process, nothing is left to use.
    home.write(".aws/config", &config(&home).replace(&mfa, ""));
    refused_with(&token(&home), "none is stored");
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn every_folder_is_private_whatever_the_umask() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 864200");
    let mut cmd = home.command("sh");
    cmd.args(["-c", "umask 000; exec \"$0\" login --profile \"$1\""])
        .arg(crate::harness::BIN)
        .arg(&home.profile);
    run(&mut cmd).success();
    let cache = home.path().join(".cache");
    for dir in [
        "",
        "eksop-auth",
        "eksop-auth/store",
        "eksop-auth/sessions",
        "eksop-auth/locks",
        "eksop-auth/mfa",
    ] {
        assert_eq!(mode(&cache.join(dir)), 0o700, "{dir}");
    }
    for file in [home.store_file(), home.meta_file()] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// Runs `script` as the user `nobody`, as another local user on the machine would.
fn as_nobody(home: &Home, script: &str) {
    let out = run(home.command("setpriv").args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(out.code, Some(0), "as nobody: {}{}", out.stdout, out.stderr);
}

#[test]
fn another_local_user_cannot_plant_or_redirect_anything() {
    if !crate::harness::root_or_skip("acting as another user") {
        return;
    }
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    login(&home).success();
    let cache = home.path().join(".cache/eksop-auth");
    // Let `nobody` walk to the cache dir, as a world-readable home would.
    for dir in [home.path(), &home.path().join(".cache")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let record = std::fs::read_to_string(home.store_file()).unwrap();
    let forged = record.replace("\"id\":\"ASIA", "\"id\":\"ASIAEVIL");

    // The cache dir left open (an older eksop-auth under umask 000): another user swaps
    // in a store of their own. It is refused, not signed with.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let store = cache.join("store");
    let planted = store.join(format!("{}.json", home.record_key()));
    std::fs::rename(&store, cache.join("store.mine")).unwrap();
    std::fs::write(home.path().join("forged.json"), &forged).unwrap();
    as_nobody(
        &home,
        &format!(
            "mkdir {s} && cp {f} {p} && chmod 644 {p}",
            s = store.display(),
            f = home.path().join("forged.json").display(),
            p = planted.display()
        ),
    );
    let out = token(&home);
    refused_with(
        &out,
        &format!(
            "refusing to use {}: it is writable by group or others",
            cache.display()
        ),
    );
    assert_eq!(out.code, Some(9));
    // Closed again, the foreign `store/` itself is refused, with the fix.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    refused_with(
        &token(&home),
        &format!(
            "refusing to use {}: it belongs to uid 65534",
            store.display()
        ),
    );
    refused_with(&token(&home), &format!("rm -rf {}", store.display()));
    std::fs::remove_dir_all(&store).unwrap();
    std::fs::rename(cache.join("store.mine"), &store).unwrap();
    token(&home).success();

    // Planted metadata and a foreign lock folder are refused too.
    let sessions = cache.join("sessions");
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::rename(&sessions, cache.join("sessions.mine")).unwrap();
    as_nobody(
        &home,
        &format!(
            "mkdir {s} && printf '{{\"profile\":\"p\",\"role_arn\":\"arn:aws:iam::1:role/evil\",\"expires_at\":4102444800,\"backends\":[\"file\"]}}' > {s}/{k}.json",
            s = sessions.display(),
            k = home.record_key()
        ),
    );
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    let status = run(&mut home.eksop(&["status"]));
    refused_with(&status, &format!("refusing to use {}", sessions.display()));
    assert!(!status.stdout.contains("role/evil"));
    std::fs::remove_dir_all(&sessions).unwrap();
    std::fs::rename(cache.join("sessions.mine"), &sessions).unwrap();
    let locks = cache.join("locks");
    std::fs::remove_dir_all(&locks).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    as_nobody(&home, &format!("mkdir -m 755 {}", locks.display()));
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    refused_with(
        &login(&home),
        &format!(
            "refusing to use {}: it belongs to uid 65534",
            locks.display()
        ),
    );
}

#[test]
fn a_link_in_the_store_is_never_written_through() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    login(&home).success();
    let victim = home.write("precious.txt", "do not touch");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_file(home.store_file()).unwrap();
    std::os::unix::fs::symlink(&victim, home.store_file()).unwrap();
    refused_with(&login(&home), "it is a symbolic link");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "do not touch");
    assert_eq!(mode(&victim), 0o644, "not chmodded");
}

#[test]
fn unusable_sts_answers_store_nothing_and_say_so() {
    for fault in [
        "truncate",
        "empty-token",
        "backdate",
        "far-date",
        "html",
        "garbage",
    ] {
        let sts = fake_sts(&FakeAwsOptions {
            faults: &[fault],
            ..Default::default()
        });
        let mut home = Home::new();
        home.operator_profile(sts.sts_url(), "mfa_process = echo 314159");
        let out = login(&home);
        out.failure();
        assert!(
            out.stderr
                .contains("STS returned an incomplete answer to AssumeRole (HTTP")
                && out.stderr.contains(&format!("request id fault-{fault}"))
                && out.stderr.contains("nothing was stored"),
            "{fault}: {}",
            out.stderr
        );
        assert_eq!(out.code, Some(7), "{fault}");
        assert!(!home.store_file().exists(), "{fault}: a session was stored");
        let status = run(&mut home.eksop(&["status"]));
        assert!(
            status.stdout.starts_with("no sessions"),
            "{fault}: {}",
            status.stdout
        );
    }
}

#[test]
fn a_gigabyte_answer_is_cut_not_buffered() {
    let sts = fake_sts(&FakeAwsOptions {
        faults: &["huge"],
        ..Default::default()
    });
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 271828");
    let started = Instant::now();
    let mut cmd = home.command("/usr/bin/time");
    cmd.args([
        "-f",
        "max-rss-kib=%M",
        crate::harness::BIN,
        "login",
        "--profile",
        &home.profile,
    ]);
    let out = run(&mut cmd);
    let rss: u64 = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("max-rss-kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS in {}", out.stderr));
    assert!(out.stderr.contains("incomplete answer"), "{}", out.stderr);
    assert!(rss < 64 * 1024, "peak RSS {rss} KiB");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(!home.store_file().exists());
}

#[test]
fn waiters_on_a_rejected_code_fail_with_it_instead_of_retrying() {
    let sts = fake_sts(&FakeAwsOptions {
        mfa_codes: &["111111"],
        ..Default::default()
    });
    let mut home = Home::new();
    // A YubiKey-style command that is slow enough for everyone to queue, and wrong.
    let mfa = home
        .counting_mfa_process("222222")
        .replace("echo 222222", "sleep 1; echo 222222");
    home.operator_profile(sts.sts_url(), &mfa);
    let started = Instant::now();
    let outs = run_all(
        (0..32)
            .map(|_| home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile]))
            .collect(),
    );
    let elapsed = started.elapsed();
    for out in &outs {
        out.failure();
        assert!(
            out.stderr.contains("rejected the MFA code"),
            "{}",
            out.stderr
        );
    }
    let calls = sts.assume_role_calls().len();
    assert!(calls <= 2, "{calls} AssumeRole calls for 32 waiters");
    assert!(home.mfa_runs() <= 2, "{} mfa_process runs", home.mfa_runs());
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn a_holder_killed_after_aws_took_the_code_makes_nobody_resend_it() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home
        .counting_mfa_process("424242")
        .replace("echo 424242", "sleep 1; echo 424242");
    home.operator_profile(sts.sts_url(), &mfa);
    let mut holder = home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile]);
    holder.env("EKSOP_AUTH_FAULT", "after-assume");
    let holder = std::thread::spawn(move || run(&mut holder));
    wait_for_first_mfa_run(&home);
    let outs = run_all(
        (0..31)
            .map(|_| home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile]))
            .collect(),
    );
    assert!(
        holder.join().unwrap().code.is_none(),
        "the holder was killed"
    );
    for out in &outs {
        out.failure();
        assert!(out.stderr.contains("already used"), "{}", out.stderr);
    }
    let log = sts.assume_role_calls();
    assert_eq!(log.len(), 1, "the consumed code was never resent: {log:?}");
    assert!(home.mfa_runs() <= 2, "{} mfa_process runs", home.mfa_runs());
}

/// Until the lock holder has started its mfa_process (it holds the lock by then).
fn wait_for_first_mfa_run(home: &Home) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while home.mfa_runs() == 0 {
        assert!(
            Instant::now() < deadline,
            "the first caller never ran mfa_process"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn alive(marker: &str) -> bool {
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&ps.stdout)
        .lines()
        .any(|l| l.contains(marker))
}

#[test]
fn mfa_process_cannot_hang_the_caller_or_leak_its_command_line() {
    let sts = fake_sts(&FakeAwsOptions::default());
    // A command whose child outlives the timeout: the whole group is ended.
    let marker = format!("sleep {}", 600 + std::process::id() % 300);
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), &format!("mfa_process = {marker} & {marker}"))
        .set("EKSOP_AUTH_MFA_PROCESS_TIMEOUT", "1");
    let started = Instant::now();
    let out = login(&home);
    assert!(
        out.stderr.contains("gave no code within 1s"),
        "{}",
        out.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive(&marker) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(&marker),
        "a descendant of mfa_process outlived the timeout"
    );

    // A child that keeps stdout open does not delay the code. (Its stderr goes elsewhere:
    // the harness itself would wait for the end of a stderr the child still holds.)
    let mut home = Home::new();
    home.operator_profile(
        sts.sts_url(),
        "mfa_process = echo 161803; sleep 3 2>/dev/null &",
    );
    let started = Instant::now();
    login(&home).success();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // A seed on the command line never shows.
    let mut home = Home::new();
    home.operator_profile(
        sts.sts_url(),
        "mfa_process = OATH_SEED=JBSWY3DPEHPK3PXP oathtool-missing --totp -b $OATH_SEED",
    );
    let out = login(&home);
    out.failure();
    assert!(
        !out.stderr.contains("JBSWY3") && !out.stderr.contains("OATH_SEED"),
        "{}",
        out.stderr
    );

    // Waiters behind a stuck holder are bounded by it, not by their own timeouts too.
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = sleep 30")
        .set("EKSOP_AUTH_MFA_PROCESS_TIMEOUT", "2");
    let started = Instant::now();
    let outs = run_all(
        (0..4)
            .map(|_| home.eksop(&["token", "--cluster", "prod", "--profile", &home.profile]))
            .collect(),
    );
    for out in &outs {
        assert!(
            out.failure().stderr.contains("gave no code within 2s"),
            "{}",
            out.stderr
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_crash_between_write_and_rename_leaves_no_secret_after_logout() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    let out = run(home
        .eksop(&["login", "--profile", &home.profile])
        .env("EKSOP_AUTH_FAULT", "before-rename:store"));
    assert!(out.code.is_none(), "killed at the fault point: {out:?}");
    let store = home.path().join(".cache/eksop-auth/store");
    let leftovers: Vec<_> = std::fs::read_dir(&store).unwrap().flatten().collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    let text = std::fs::read_to_string(leftovers[0].path()).unwrap();
    let secret = serde_json::from_str::<serde_json::Value>(&text).unwrap()["sk"]
        .as_str()
        .unwrap()
        .to_string();
    run(&mut home.eksop(&["logout", "--profile", &home.profile])).success();
    let mut found = Vec::new();
    for entry in walk(&home.path().join(".cache")) {
        if std::fs::read(&entry).is_ok_and(|b| String::from_utf8_lossy(&b).contains(&secret)) {
            found.push(entry);
        }
    }
    assert!(
        found.is_empty(),
        "the secret key is still on disk in {found:?}"
    );
    // And a stale temp file never blocks the next write.
    login(&home).success();
    token(&home).success();
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn any_profile_name_works_end_to_end() {
    for name in [
        "p".repeat(250),
        "ü".repeat(50),
        "ops/eks-operator@prod".to_string(),
    ] {
        let sts = fake_sts(&FakeAwsOptions::default());
        let mut home = Home::new();
        home.profile = name.clone();
        let mfa = home.counting_distinct_mfa_process();
        home.operator_profile(sts.sts_url(), &mfa);
        token(&home).success();
        token(&home).success();
        assert_eq!(
            home.mfa_runs(),
            1,
            "{name}: the session was stored and reused"
        );
        let status = run(&mut home.eksop(&["status"]));
        assert!(
            status
                .success()
                .stdout
                .contains(&format!("profile {name}\n")),
            "{}",
            status.stdout
        );
        run(&mut home.eksop(&["logout", "--profile", &name])).success();
        assert!(
            run(&mut home.eksop(&["status"]))
                .stdout
                .starts_with("no sessions")
        );
    }
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 123456");
    let out = run(&mut home.eksop(&[
        "token",
        "--cluster",
        "prod\nrm -rf /",
        "--profile",
        &home.profile,
    ]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("--cluster contains a line break"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("internal error"), "{}", out.stderr);
}

#[test]
fn a_copy_that_logout_did_not_know_of_is_refused_after_it() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    login(&home).success();
    // A copy somewhere logout does not look (another store, a backup, another session's
    // keyring)…
    let record = std::fs::read(home.store_file()).unwrap();
    run(&mut home.eksop(&["logout", "--profile", &home.profile])).success();
    assert!(!home.store_file().exists());
    // …that comes back after a logout that reported success is still refused.
    std::fs::write(home.store_file(), &record).unwrap();
    std::fs::set_permissions(home.store_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    home.write(".aws/config", &config(&home).replace(&mfa, ""));
    home.set("KUBERNETES_EXEC_INFO", NON_INTERACTIVE);
    refused_with(&token(&home), "it was logged out at");
    assert_eq!(sts.assume_role_calls().len(), 1);
}

#[test]
fn a_keyring_name_that_is_a_path_stays_a_name() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "mfa_process = echo 111213")
        .unset("EKSOP_AUTH_STORE");
    let victim = home.write("victim.json", "precious");
    // A kernel key of this installation whose name is a path (what an older version, or a
    // careless script, could leave).
    let description = home.kernel_description().replace(
        &home.record_key(),
        &home.path().join("victim").display().to_string(),
    );
    let add =
        format!("keyctl add user '{description}' junk $(keyctl get_persistent @s) >/dev/null");
    run(home
        .command("keyctl")
        .args(["session", "-", "sh", "-c", &add]))
    .success();
    let status = run(&mut home.eksop(&["status"]));
    assert!(
        status
            .success()
            .stdout
            .contains("a record of an older eksop-auth"),
        "{}",
        status.stdout
    );
    run(&mut home.eksop(&["logout", "--all"])).success();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!home.path().join("victim.json.tmp").exists());
    let left = run(home.command("sh").args([
        "-c",
        &format!("keyctl show $(keyctl get_persistent @s) | grep -F '{description}' || true"),
    ]));
    assert!(
        left.stdout.trim().is_empty(),
        "the key is still there: {}",
        left.stdout
    );
}

#[test]
fn mfa_process_may_ask_on_the_terminal() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    // A password-manager-style command that reads from the terminal itself.
    home.operator_profile(
        sts.sts_url(),
        "mfa_process = printf 'code: ' >/dev/tty; read -r c </dev/tty; echo $c",
    );
    let mut cmd = home.eksop(&["login", "--profile", &home.profile]);
    cmd.env("EKSOP_AUTH_MFA_PROCESS_TIMEOUT", "20");
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn in a pty");
    p.exp_string("code: ").unwrap();
    p.send_line("192837").unwrap();
    p.exp_string("Logged in as").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(sts.assume_role_calls()[0]["params"]["TokenCode"], "192837");
}

#[test]
fn a_login_right_after_a_logout_is_kept() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    home.set("KUBERNETES_EXEC_INFO", NON_INTERACTIVE);
    // Each round runs well within a second, so a logout and the next login often share one.
    for round in 1..=5 {
        run(&mut home.eksop(&["logout", "--all"])).success();
        login(&home).success();
        let out = token(&home);
        assert!(out.success().stderr.is_empty(), "{}", out.stderr);
        assert_eq!(sts.assume_role_calls().len(), round, "round {round}");
    }
}

#[test]
fn a_clock_set_back_after_a_logout_does_not_refuse_the_next_login() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &mfa);
    home.set("KUBERNETES_EXEC_INFO", NON_INTERACTIVE);
    login(&home).success();
    run(&mut home.eksop(&["logout", "--all"])).success();
    // Five minutes back (NTP correcting a fast clock): still well within the answer's skew.
    let earlier = |args: &[&str]| {
        let mut cmd = home.command("faketime");
        cmd.args(["-f", "-5m", crate::harness::BIN]).args(args);
        run(&mut cmd)
    };
    earlier(&["login", "--profile", &home.profile]).success();
    let out = earlier(&["token", "--cluster", "prod", "--profile", &home.profile]);
    assert!(out.success().stderr.is_empty(), "{}", out.stderr);
    assert_eq!(sts.assume_role_calls().len(), 2);
}

#[test]
fn a_logout_under_a_clock_hours_fast_does_not_refuse_every_later_login() {
    let sts = fake_sts(&FakeAwsOptions::default());
    let mut home = Home::new();
    let mfa = home.counting_distinct_mfa_process();
    home.operator_profile(sts.sts_url(), &format!("{mfa}\nduration_seconds = 1800"));
    home.set("KUBERNETES_EXEC_INFO", NON_INTERACTIVE);
    login(&home).success();
    let mut fast = home.command("faketime");
    fast.args(["-f", "+1h", crate::harness::BIN, "logout", "--all"]);
    run(&mut fast).success();
    login(&home).success();
    for _ in 0..2 {
        let out = run(home
            .eksop(&["token", "--cluster", "prod", "--profile", &home.profile])
            .env("EKSOP_AUTH_LOG", "debug"));
        assert!(out.success().stderr.contains("cache hit"), "{}", out.stderr);
    }
    assert_eq!(sts.assume_role_calls().len(), 2);
}
