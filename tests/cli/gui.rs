//! Callers without a terminal and `EKSOP_AUTH_PROMPT=gui`: one desktop dialog per profile
//! however many callers arrive, no storm after a dismissal, a dialog that never answers
//! ended at its timeout, a rejected code asked for once more — with a fake `zenity` first
//! on PATH — and the real thing: a real zenity on an Xvfb display, answered with xdotool,
//! for a detached kubectl.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::fakes::{FakeAws, FakeAwsOptions};
use crate::harness::{BIN, Home, Output, need, repo_root, run, run_all};

const NON_INTERACTIVE: &str =
    r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#;

/// A fake zenity: each run leaves `zenity-run-<pid>` (its arguments, NUL-separated); what
/// it does comes from `zenity-mode`: `code` (a new code each run), `list` (the next line of
/// `zenity-codes`), `cancel` (the Cancel status eksop-auth asks zenity for), `hang` (never
/// answers; it and its child leave their pids), `chatty` (GTK warnings by the hundred on
/// stderr, then a code).
const FAKE_ZENITY: &str = r#"#!/bin/sh
dir="$(cd "$(dirname "$0")/.." && pwd)"
for a in "$@"; do printf '%s\0' "$a"; done > "$dir/zenity-run-$$"
n=$(ls "$dir" | grep -c '^zenity-run-')
case "$(cat "$dir/zenity-mode")" in
  code) printf '8%05d\n' "$n" ;;
  list) sed -n "${n}p" "$dir/zenity-codes" ;;
  cancel) exit "${ZENITY_CANCEL:-1}" ;;
  hang) echo $$ > "$dir/zenity-pid"; sleep 1000 & echo $! > "$dir/zenity-child"; wait ;;
  chatty)
    for i in $(seq 150); do echo "(zenity:$$): Gtk-WARNING **: a warning of eighty characters or so, line $i" >&2; done
    sleep 0.3
    for i in $(seq 150); do echo "(zenity:$$): Gtk-WARNING **: and another one, line $i" >&2; done
    printf '8%05d\n' "$n" ;;
esac
"#;

/// A home with the operator profile, no mfa_process, a fake desktop and the fake zenity.
fn desktop_home(sts: &FakeAws) -> Home {
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "");
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let zenity = home.write("bin/zenity", FAKE_ZENITY);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&zenity, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    home.set("PATH", &path)
        .set("DISPLAY", ":99")
        .set("EKSOP_AUTH_PROMPT", "gui")
        .set("KUBERNETES_EXEC_INFO", NON_INTERACTIVE);
    mode(&home, "code");
    home
}

fn mode(home: &Home, m: &str) {
    home.write("zenity-mode", m);
}

/// The arguments of every dialog shown so far.
fn dialogs(home: &Home) -> Vec<Vec<String>> {
    let mut runs: Vec<(std::time::SystemTime, Vec<String>)> = std::fs::read_dir(home.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("zenity-run-"))
        .map(|e| {
            let args = std::fs::read(e.path()).unwrap();
            let args = args
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            (e.metadata().unwrap().modified().unwrap(), args)
        })
        .collect();
    runs.sort_by_key(|(t, _)| *t);
    runs.into_iter().map(|(_, a)| a).collect()
}

/// The full path of a program on the test's PATH.
fn which(program: &str) -> PathBuf {
    need(program);
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap()
}

/// `token` as a caller detached from any terminal (`setsid`).
fn detached_token(home: &Home) -> Command {
    let mut cmd = home.command("setsid");
    cmd.args([
        "-w",
        BIN,
        "token",
        "--cluster",
        "prod",
        "--profile",
        &home.profile,
    ]);
    cmd
}

/// `setup` for cluster `prod` against the fake API server, with `--prompt mode`.
fn setup_with_prompt(home: &Home, sts: &FakeAws, mode: &str) {
    setup_prompt(home, sts, mode, &[]).success();
}

/// The same `setup`, with `extra` arguments, as it ended.
fn setup_prompt(home: &Home, sts: &FakeAws, mode: &str, extra: &[&str]) -> Output {
    let mut cmd = home.eksop(&[
        "setup",
        "--cluster",
        "prod",
        "--profile",
        &home.profile,
        "--endpoint",
        sts.apiserver_url(),
        "--certificate-authority-data",
        sts.ca_data(),
        "--prompt",
        mode,
    ]);
    cmd.args(extra);
    run(&mut cmd)
}

/// What a dialog's `--text` said.
fn text_of(args: &[String]) -> &str {
    &args[args.iter().position(|a| a == "--text").unwrap() + 1]
}

fn token_of(out: &Output) -> String {
    out.success().json()["status"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Whether the token-verifying API server lets this token in.
fn accepted(home: &Home, sts: &FakeAws, token: &str) -> bool {
    use base64::Engine as _;
    let ca = home.path().join("apiserver-ca.pem");
    if !ca.exists() {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(sts.ca_data())
            .unwrap();
        std::fs::write(&ca, pem).unwrap();
    }
    let out = run(home
        .command("kubectl")
        .args(["--kubeconfig=/dev/null", "--server", sts.apiserver_url()])
        .arg(format!("--certificate-authority={}", ca.display()))
        .args(["--token", token, "get", "--raw", "/version"]));
    out.code == Some(0)
}

#[test]
fn twenty_callers_without_a_terminal_get_one_dialog() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = desktop_home(&sts);
    let outs = run_all((0..20).map(|_| detached_token(&home)).collect());
    let shown = dialogs(&home);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(sts.assume_role_calls().len(), 1);
    for out in &outs {
        assert!(accepted(&home, &sts, &token_of(out)), "{}", out.stderr);
    }
    // Hidden input, our title, and the text names the profile and the device.
    let args = &shown[0];
    let text = text_of(args);
    assert!(args.contains(&"--hide-text".to_string()), "{args:?}");
    assert!(
        args.contains(&"eksop-auth: MFA code".to_string()),
        "{args:?}"
    );
    assert!(
        text.contains(&home.profile) && text.contains("arn:aws:iam::123456789012:mfa/alice"),
        "{text}"
    );
    // The program that asked (here the test itself; kubectl below).
    assert!(
        text.starts_with('“') && text.contains("” asks for an MFA code"),
        "{text}"
    );
}

#[test]
fn a_dismissed_dialog_is_not_shown_again_for_a_minute() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = desktop_home(&sts);
    mode(&home, "cancel");
    let started = Instant::now();
    let outs = run_all((0..20).map(|_| detached_token(&home)).collect());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    for out in &outs {
        assert_eq!(out.code, Some(3), "{}", out.stderr);
        assert!(
            out.stderr.contains("the MFA prompt was dismissed at")
                && out.stderr.contains(&format!(
                    "run `eksop-auth login --profile {}`",
                    home.profile
                ))
                && out.stderr.contains("or it will ask again after"),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
    }
    assert_eq!(dialogs(&home).len(), 1);
    assert_eq!(sts.assume_role_calls().len(), 0);
    // A second wave within the window: no dialog, and each call fails at once.
    mode(&home, "code");
    for _ in 0..10 {
        let started = Instant::now();
        let out = run(&mut detached_token(&home));
        let took = started.elapsed();
        assert_eq!(out.code, Some(3), "{}", out.stderr);
        assert!(took < Duration::from_millis(50), "took {took:?}");
    }
    assert_eq!(dialogs(&home).len(), 1);
    // After the window it asks again.
    let mut later = home.command("faketime");
    later.args([
        "-f",
        "+61s",
        BIN,
        "token",
        "--cluster",
        "prod",
        "--profile",
        &home.profile,
    ]);
    let out = run(&mut later);
    out.success();
    assert_eq!(dialogs(&home).len(), 2);
}

#[test]
fn login_forgets_a_dismissal() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = desktop_home(&sts);
    mode(&home, "cancel");
    assert_eq!(run(&mut detached_token(&home)).code, Some(3));
    // `login` asks (here in the dialog too, as nothing else can), whatever was dismissed.
    mode(&home, "code");
    let mut login = home.command("setsid");
    login.args(["-w", BIN, "login", "--profile", &home.profile]);
    run(&mut login).success();
    assert_eq!(dialogs(&home).len(), 2);
    // With that session gone, the next caller gets a dialog again at once.
    run(&mut home.eksop(&["logout", "--all"])).success();
    run(&mut detached_token(&home)).success();
    assert_eq!(dialogs(&home).len(), 3);
}

#[test]
fn a_dialog_nobody_answers_is_ended_at_its_timeout() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = desktop_home(&sts);
    home.set("EKSOP_AUTH_DIALOG_TIMEOUT", "1");
    mode(&home, "hang");
    let started = Instant::now();
    let out = run(&mut detached_token(&home));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("not answered within 1s"),
        "{}",
        out.stderr
    );
    // Its own timeout (which the fake ignores) plus a short grace.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // zenity was passed the timeout, and neither it nor what it started is left.
    let args = &dialogs(&home)[0];
    assert!(args.windows(2).any(|w| w == ["--timeout", "1"]), "{args:?}");
    for f in ["zenity-pid", "zenity-child"] {
        let pid = std::fs::read_to_string(home.path().join(f)).unwrap();
        assert!(!running(pid.trim()), "{f} {pid} still runs");
    }
}

/// Whether a process runs (a zombie waiting for a reaper does not).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

#[test]
fn a_code_aws_rejects_is_asked_for_once_more_in_the_dialog() {
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            mfa_codes: &["222222"],
            ..Default::default()
        },
    );
    let home = desktop_home(&sts);
    home.write("zenity-codes", "111111\n222222\n333333\n");
    mode(&home, "list");
    run(&mut detached_token(&home)).success();
    let shown = dialogs(&home);
    assert_eq!(shown.len(), 2);
    let text = text_of(&shown[1]);
    assert!(text.starts_with("AWS rejected that code"), "{text}");
    assert_eq!(sts.assume_role_calls().len(), 2);
    // Rejected twice: it fails, with no third dialog.
    let home = desktop_home(&sts);
    home.write("zenity-codes", "111111\n333333\n222222\n");
    mode(&home, "list");
    let out = run(&mut detached_token(&home));
    assert_eq!(out.code, Some(5), "{}", out.stderr);
    assert!(out.stderr.contains("rejected"), "{}", out.stderr);
    assert_eq!(dialogs(&home).len(), 2);
}

#[test]
fn gui_without_a_desktop_says_why_and_none_never_asks() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = desktop_home(&sts);
    home.unset("DISPLAY");
    let out = run(&mut detached_token(&home));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("neither DISPLAY nor WAYLAND_DISPLAY is set"),
        "{}",
        out.stderr
    );
    // No zenity nor kdialog on PATH (only what the call itself needs).
    home.set("DISPLAY", ":99");
    let bare = home.path().join("bare-bin");
    std::fs::create_dir_all(&bare).unwrap();
    std::os::unix::fs::symlink(which("setsid"), bare.join("setsid")).unwrap();
    home.set("PATH", bare.to_str().unwrap());
    let out = run(&mut detached_token(&home));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("neither zenity nor kdialog is on PATH"),
        "{}",
        out.stderr
    );
    // `none`: the login hint at once, even from a terminal-less caller with a desktop.
    let mut home = desktop_home(&sts);
    home.set("EKSOP_AUTH_PROMPT", "none");
    let out = run(&mut detached_token(&home));
    assert!(
        out.failure().stderr.contains("EKSOP_AUTH_PROMPT=none"),
        "{}",
        out.stderr
    );
    assert!(dialogs(&home).is_empty());
    home.set("EKSOP_AUTH_PROMPT", "dialog");
    let out = run(&mut detached_token(&home));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("`gui`"), "{}", out.stderr);
}

#[test]
fn setup_prompt_gui_reaches_the_callers_and_doctor_says_what_they_get() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = desktop_home(&sts);
    home.unset("EKSOP_AUTH_PROMPT");
    setup_with_prompt(&home, &sts, "gui");
    let dry = setup_prompt(&home, &sts, "none", &["--dry-run"]);
    assert!(
        dry.success().stdout.contains("value: none"),
        "the diff hides our own setting:\n{}",
        dry.stdout
    );
    let view = run(home.command("kubectl").args([
        "config",
        "view",
        "-o",
        "jsonpath={.users[0].user.exec.env}",
    ]));
    assert!(
        view.success()
            .stdout
            .contains(r#""name":"EKSOP_AUTH_PROMPT","value":"gui""#),
        "{}",
        view.stdout
    );
    let doctor = run(&mut home.eksop(&["doctor", "--profile", &home.profile, "--cluster", "prod"]));
    assert!(
        doctor
            .stdout
            .contains("callers without a terminal: EKSOP_AUTH_PROMPT=gui (kubeconfig user")
            && doctor.stdout.contains("a zenity dialog"),
        "{}",
        doctor.stdout
    );
    // A kubectl with no terminal gets the dialog from its kubeconfig entry.
    let mut kubectl = home.command("setsid");
    kubectl.args(["-w", "kubectl", "get", "--raw", "/version"]);
    let out = run(&mut kubectl);
    assert!(
        out.success().stdout.contains("gitVersion"),
        "{}",
        out.stderr
    );
    let shown = dialogs(&home);
    assert_eq!(shown.len(), 1);
    assert!(
        text_of(&shown[0]).starts_with("“kubectl” asks"),
        "{shown:?}"
    );
    // Without it, doctor says what they get instead.
    setup_with_prompt(&home, &sts, "terminal");
    let doctor = run(&mut home.eksop(&["doctor", "--profile", &home.profile, "--cluster", "prod"]));
    assert!(
        doctor
            .stdout
            .contains("EKSOP_AUTH_PROMPT=terminal (kubeconfig user")
            && doctor.stdout.contains("`eksop-auth setup --prompt gui`"),
        "{}",
        doctor.stdout
    );
}

/// An X server of our own on a display it picked, ended on drop.
struct Xvfb {
    child: std::process::Child,
    display: String,
}

impl Xvfb {
    fn start() -> Xvfb {
        use std::io::BufRead;
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .arg("-noreset")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Xvfb");
        // It prints the display number once it accepts clients (bounded: it exits or
        // answers within seconds).
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let n = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let x = Xvfb {
            child,
            display: format!(":{}", n.trim()),
        };
        assert!(!n.trim().is_empty(), "Xvfb did not start");
        x
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command on the X display, bounded by `timeout`.
fn x_command(x: &Xvfb, home: &Home, program: &str, limit: u64) -> Command {
    let mut cmd = home.command("timeout");
    cmd.arg(limit.to_string())
        .arg(program)
        .env("DISPLAY", &x.display);
    cmd
}

/// Starts `kubectl get --raw /version` detached from any terminal, as a desktop app runs
/// it, and waits (bounded) for its MFA dialog to show: the kubectl run and the window id.
fn kubectl_with_a_dialog(x: &Xvfb, home: &Home) -> (std::thread::JoinHandle<Output>, String) {
    let mut kubectl = home.command("setsid");
    kubectl.args(["-w", "kubectl", "get", "--raw", "/version"]);
    let waiting = std::thread::spawn(move || run(&mut kubectl));
    let found = run(x_command(x, home, "xdotool", 30).args([
        "search",
        "--sync",
        "--onlyvisible",
        "--name",
        "^eksop-auth: MFA code$",
    ]));
    let window = found.success().stdout.lines().next().unwrap_or_default();
    (waiting, window.to_string())
}

#[test]
fn a_real_zenity_on_a_real_display_logs_a_detached_kubectl_in() {
    for program in ["Xvfb", "zenity", "xdotool", "import", "identify"] {
        need(program);
    }
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "");
    let x = Xvfb::start();
    home.set("DISPLAY", &x.display)
        .set("GDK_BACKEND", "x11")
        .set("NO_AT_BRIDGE", "1");
    setup_with_prompt(&home, &sts, "gui");
    let (waiting, window) = kubectl_with_a_dialog(&x, &home);
    // What the user sees, kept beside the test's files and in target/test-artifacts.
    let shot = home.path().join("mfa-dialog.png");
    let mut shown = false;
    for _ in 0..50 {
        run(x_command(&x, &home, "import", 20)
            .args(["-window", "root"])
            .arg(&shot))
        .success();
        let colours = run(home.command("identify").args(["-format", "%k"]).arg(&shot));
        if colours.stdout.trim().parse::<u32>().unwrap_or(0) > 50 {
            shown = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(shown, "the screenshot of the dialog is blank");
    let artifacts: PathBuf = repo_root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::copy(&shot, artifacts.join("mfa-dialog.png")).unwrap();
    run(x_command(&x, &home, "xdotool", 20).args(["windowfocus", "--sync", &window])).success();
    run(x_command(&x, &home, "xdotool", 20).args(["type", "--delay", "25", "135792"])).success();
    run(x_command(&x, &home, "xdotool", 20).args(["key", "Return"])).success();
    let out = waiting.join().unwrap();
    assert!(
        out.success().stdout.contains("gitVersion"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.assume_role_calls().len(), 1);
    assert_eq!(sts.assume_role_calls()[0]["params"]["TokenCode"], "135792");
    // Escape in the real dialog is a dismissal, not a failure.
    run(&mut home.eksop(&["logout", "--all"])).success();
    let (waiting, window) = kubectl_with_a_dialog(&x, &home);
    run(x_command(&x, &home, "xdotool", 20).args(["windowfocus", "--sync", &window])).success();
    run(x_command(&x, &home, "xdotool", 20).args(["key", "Escape"])).success();
    let out = waiting.join().unwrap();
    assert!(
        out.failure()
            .stderr
            .contains("the MFA prompt was dismissed at")
            && out.stderr.contains("(cancelled)"),
        "{}",
        out.stderr
    );
    assert_eq!(sts.assume_role_calls().len(), 1);
}

/// Waits (bounded) until `file` in the home exists and holds a pid; returns it.
fn pid_in(home: &Home, file: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(pid) = std::fs::read_to_string(home.path().join(file))
            && !pid.trim().is_empty()
        {
            return pid.trim().to_string();
        }
        assert!(Instant::now() < deadline, "no {file} after 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) until the process is gone.
fn gone(pid: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn a_dialog_dies_with_the_caller() {
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let home = desktop_home(&sts);
    mode(&home, "hang");
    for signal in ["TERM", "INT", "KILL"] {
        for f in ["zenity-pid", "zenity-child"] {
            let _ = std::fs::remove_file(home.path().join(f));
        }
        let mut caller = detached_token(&home)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (dialog, child) = (pid_in(&home, "zenity-pid"), pid_in(&home, "zenity-child"));
        run(home
            .command("kill")
            .arg(format!("-{signal}"))
            .arg(caller.id().to_string()))
        .success();
        let _ = caller.wait();
        assert!(
            gone(&dialog),
            "SIG{signal}: the dialog {dialog} outlived its caller"
        );
        if signal == "KILL" {
            // The kernel ends the dialog itself (its parent-death signal); what a dialog
            // tool started (real ones start nothing) is left to its own devices.
            run(home.command("kill").args(["-KILL", &child])).success();
        } else {
            assert!(
                gone(&child),
                "SIG{signal}: what the dialog started outlived its caller"
            );
        }
    }
}

#[test]
fn a_dialog_that_cannot_be_shown_is_a_failure_not_a_dismissal() {
    need("zenity");
    let sts = FakeAws::start("prod", &FakeAwsOptions::default());
    let mut home = Home::new();
    home.operator_profile(sts.sts_url(), "");
    // The real zenity, and a display where no X server is.
    home.set("DISPLAY", ":7777")
        .set("EKSOP_AUTH_PROMPT", "gui")
        .set("KUBERNETES_EXEC_INFO", NON_INTERACTIVE);
    let out = run(&mut detached_token(&home));
    assert!(
        out.failure()
            .stderr
            .contains("the MFA dialog could not be shown: zenity failed"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("dismissed"), "{}", out.stderr);
    // A chatty dialog tool is not killed by a full pipe.
    let home = desktop_home(&sts);
    mode(&home, "chatty");
    run(&mut detached_token(&home)).success();
}

#[test]
fn a_failed_login_through_a_dialog_pauses_the_next_dialogs_too() {
    // STS refuses the role after the code was typed: the code was typed for nothing; the
    // next callers must not each ask for another one.
    let sts = FakeAws::start(
        "prod",
        &FakeAwsOptions {
            deny_assume: true,
            ..Default::default()
        },
    );
    let home = desktop_home(&sts);
    let first = run(&mut detached_token(&home));
    assert_eq!(first.code, Some(6), "{}", first.stderr);
    for _ in 0..5 {
        let out = run(&mut detached_token(&home));
        assert_eq!(out.code, Some(6), "{}", out.stderr);
        assert!(
            out.stderr
                .contains("the MFA login through a dialog for profile")
                && out.stderr.contains("or it will ask again after"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(dialogs(&home).len(), 1);
}
