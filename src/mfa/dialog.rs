//! The desktop dialog for callers without a terminal (`EKSOP_AUTH_PROMPT=gui`): zenity or
//! kdialog on Linux, osascript on macOS, a PowerShell (WinForms) box on Windows. What it
//! shows — the profile, the MFA device, the program that asked — goes to the dialog as
//! argv items or environment values, never into a shell line or a script's text, so no
//! name can inject anything. Each tool's own timeout closes it; a tool that ignores it is
//! ended, with everything it started, a little later.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::child::{self, Ended};
use super::{Ask, CodeSource, is_code};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// How long a dialog waits for an answer by default; `EKSOP_AUTH_DIALOG_TIMEOUT` (seconds)
/// changes it.
pub(crate) const DIALOG_TIMEOUT: Duration = Duration::from_secs(120);
/// How long after its own timeout a dialog that is still open is ended.
const GRACE: Duration = Duration::from_secs(3);
/// What the window is called (also how a test finds it on the screen).
pub(crate) const TITLE: &str = "eksop-auth: MFA code";
/// How many answers that are not six digits the dialog shows again for.
const MALFORMED_TRIES: usize = 3;

/// A program that can show the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DialogTool {
    Zenity(PathBuf),
    Kdialog(PathBuf),
    Osascript(PathBuf),
    PowerShell(PathBuf),
}

impl DialogTool {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            DialogTool::Zenity(_) => "zenity",
            DialogTool::Kdialog(_) => "kdialog",
            DialogTool::Osascript(_) => "osascript",
            DialogTool::PowerShell(_) => "PowerShell",
        }
    }
}

/// The operating systems with a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Os {
    Linux,
    Mac,
    Windows,
}

impl Os {
    pub(crate) const fn this() -> Os {
        if cfg!(target_os = "macos") {
            Os::Mac
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }
}

/// Whether this process runs in a desktop session (on Linux, an X or Wayland display).
pub(crate) fn desktop(env: &Env, os: Os) -> std::result::Result<(), String> {
    match os {
        Os::Linux if env.first(&["DISPLAY", "WAYLAND_DISPLAY"]).is_none() => Err(
            "neither DISPLAY nor WAYLAND_DISPLAY is set (no desktop session to show a dialog in)"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// The dialog this machine can show, or why none.
pub(crate) fn find(env: &Env, os: Os) -> std::result::Result<DialogTool, String> {
    desktop(env, os)?;
    find_tool(env, os)
}

/// The program that would show the dialog, display or not.
pub(crate) fn find_tool(env: &Env, os: Os) -> std::result::Result<DialogTool, String> {
    match os {
        Os::Linux => env
            .find_program("zenity")
            .map(DialogTool::Zenity)
            .or_else(|| env.find_program("kdialog").map(DialogTool::Kdialog))
            .ok_or_else(|| {
                "neither zenity nor kdialog is on PATH (install zenity, e.g. `apt install \
                     zenity`)"
                    .into()
            }),
        Os::Mac => Ok(DialogTool::Osascript(PathBuf::from("/usr/bin/osascript"))),
        Os::Windows => {
            // The system's own PowerShell, not whatever a PATH entry calls powershell.exe.
            let root = env
                .first(&["SystemRoot", "SYSTEMROOT", "windir"])
                .unwrap_or(r"C:\Windows");
            Ok(DialogTool::PowerShell(
                PathBuf::from(root)
                    .join("System32")
                    .join("WindowsPowerShell")
                    .join("v1.0")
                    .join("powershell.exe"),
            ))
        }
    }
}

/// The program that ran us, by name (kubectl, Lens, code…), when it can be found.
pub(crate) fn asker() -> Option<String> {
    #[cfg(unix)]
    {
        let ppid = std::os::unix::process::parent_id();
        if ppid <= 1 {
            return None;
        }
        let name = parent_name(ppid)?;
        let clean: String = name
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect();
        (!clean.is_empty()).then_some(clean)
    }
    #[cfg(not(unix))]
    None
}

#[cfg(target_os = "linux")]
fn parent_name(ppid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok()
}

#[cfg(all(unix, not(target_os = "linux")))]
fn parent_name(ppid: u32) -> Option<String> {
    let out = Command::new("/bin/ps")
        .args(["-o", "comm=", "-p", &ppid.to_string()])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let base = text.rsplit('/').next().unwrap_or_default().to_string();
    (!base.is_empty()).then_some(base)
}

/// What the dialog says, as plain text (each tool's escaping comes after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Texts {
    pub(crate) title: String,
    pub(crate) body: String,
}

/// Control characters and overlong names cannot reach a dialog.
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

pub(crate) fn texts(ask: &Ask<'_>, asker: Option<&str>) -> Texts {
    let who = asker.map_or_else(
        || "A program".to_string(),
        |a| format!("“{}”", clean(a, 64)),
    );
    let mut body = String::new();
    if let Some(note) = ask.note {
        body.push_str(&clean(note, 300));
        body.push_str("\n\n");
    }
    body.push_str(&format!(
        "{who} asks for an MFA code to start the AWS session of profile \"{}\".\n\nMFA device: {}\n\nEnter the 6-digit code the device shows.",
        clean(ask.profile, 200),
        clean(ask.device, 200),
    ));
    Texts {
        title: TITLE.to_string(),
        body,
    }
}

/// A dialog run: the program, its argv and the environment values it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invocation {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
}

/// The exit statuses zenity is told to use (its `ZENITY_*` variables).
const ZENITY_CODES: [(&str, i32); 5] = [
    ("ZENITY_OK", 0),
    ("ZENITY_CANCEL", 11),
    ("ZENITY_ESC", 12),
    ("ZENITY_TIMEOUT", 13),
    ("ZENITY_ERROR", 14),
];

/// zenity's `--text` is a GTK label with mnemonics and C escapes (`\n`).
fn zenity_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('_', "__")
}

/// kdialog's label takes rich text; `<qt>` makes it always rich, so everything is escaped.
fn kdialog_text(s: &str) -> String {
    let escaped = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "<br>");
    format!("<qt>{escaped}</qt>")
}

/// The AppleScript: its text never changes; the texts and timeout come as `argv`.
pub(crate) const OSASCRIPT: &[&str] = &[
    "on run argv",
    "set theText to item 1 of argv",
    "set theTitle to item 2 of argv",
    "set theWait to (item 3 of argv) as integer",
    "activate",
    "set r to display dialog theText with title theTitle default answer \"\" with hidden answer buttons {\"Cancel\", \"OK\"} default button \"OK\" cancel button \"Cancel\" with icon note giving up after theWait",
    "if gave up of r then",
    "return \"timeout\"",
    "end if",
    "return \"code:\" & (text returned of r)",
    "end run",
];

/// The PowerShell script: its text never changes; the texts and timeout come in the
/// environment. Exit 0 with `code:…`, 11 for Cancel or a closed window, 13 at the timeout,
/// 14 when it fails (Constrained Language Mode, no desktop): never taken for a Cancel.
pub(crate) const POWERSHELL: &str = r#"$ErrorActionPreference = 'Stop'
try {
Add-Type -AssemblyName System.Windows.Forms
Add-Type -AssemblyName System.Drawing
[System.Windows.Forms.Application]::EnableVisualStyles()
$form = New-Object System.Windows.Forms.Form
$form.Text = $env:EKSOP_AUTH_DIALOG_TITLE
$form.FormBorderStyle = 'FixedDialog'
$form.MaximizeBox = $false
$form.MinimizeBox = $false
$form.StartPosition = 'CenterScreen'
$form.TopMost = $true
$form.AutoSize = $true
$form.AutoSizeMode = 'GrowAndShrink'
$form.Padding = New-Object System.Windows.Forms.Padding(12)
$panel = New-Object System.Windows.Forms.FlowLayoutPanel
$panel.FlowDirection = 'TopDown'
$panel.AutoSize = $true
$label = New-Object System.Windows.Forms.Label
$label.UseMnemonic = $false
$label.AutoSize = $true
$label.MaximumSize = New-Object System.Drawing.Size(440, 0)
$label.Text = $env:EKSOP_AUTH_DIALOG_TEXT
$box = New-Object System.Windows.Forms.TextBox
$box.UseSystemPasswordChar = $true
$box.Width = 200
$buttons = New-Object System.Windows.Forms.FlowLayoutPanel
$buttons.AutoSize = $true
$ok = New-Object System.Windows.Forms.Button
$ok.Text = 'OK'
$ok.DialogResult = [System.Windows.Forms.DialogResult]::OK
$cancel = New-Object System.Windows.Forms.Button
$cancel.Text = 'Cancel'
$cancel.DialogResult = [System.Windows.Forms.DialogResult]::Cancel
$buttons.Controls.AddRange(@($ok, $cancel))
$panel.Controls.AddRange(@($label, $box, $buttons))
$form.Controls.Add($panel)
$form.AcceptButton = $ok
$form.CancelButton = $cancel
$script:timedOut = $false
$timer = New-Object System.Windows.Forms.Timer
$timer.Interval = [Math]::Max(1, [int]$env:EKSOP_AUTH_DIALOG_TIMEOUT) * 1000
$timer.add_Tick({ $script:timedOut = $true; $form.Close() })
$form.add_Shown({ $timer.Start(); $form.Activate(); $box.Focus() })
$result = $form.ShowDialog()
$timer.Stop()
} catch {
[Console]::Error.WriteLine($_.Exception.Message)
exit 14
}
if ($script:timedOut) { exit 13 }
if ($result -eq [System.Windows.Forms.DialogResult]::OK) { [Console]::Out.WriteLine('code:' + $box.Text); exit 0 }
exit 11
"#;

/// PowerShell's `-EncodedCommand`: base64 of the script in UTF-16LE.
fn encoded(script: &str) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// How to run `tool` for these texts, closing on its own after `wait`.
pub(crate) fn invocation(tool: &DialogTool, t: &Texts, wait: Duration) -> Invocation {
    let secs = wait.as_secs().max(1).to_string();
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    match tool {
        DialogTool::Zenity(p) => Invocation {
            program: p.clone(),
            args: [
                own(&["--entry", "--hide-text", "--title"]),
                vec![t.title.clone()],
                own(&["--text"]),
                vec![zenity_text(&t.body)],
                own(&["--timeout"]),
                vec![secs],
            ]
            .concat(),
            // Exit statuses of our own: zenity's defaults give 1 both for Cancel and for
            // failing to open the display, and a user's ZENITY_* would change them.
            env: ZENITY_CODES
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.to_string()))
                .collect(),
        },
        DialogTool::Kdialog(p) => Invocation {
            program: p.clone(),
            args: [
                own(&["--title"]),
                vec![t.title.clone()],
                own(&["--password"]),
                vec![kdialog_text(&t.body)],
            ]
            .concat(),
            env: Vec::new(),
        },
        DialogTool::Osascript(p) => {
            let mut args = Vec::new();
            for line in OSASCRIPT {
                args.push("-e".to_string());
                args.push((*line).to_string());
            }
            args.extend([t.body.clone(), t.title.clone(), secs]);
            Invocation {
                program: p.clone(),
                args,
                env: Vec::new(),
            }
        }
        DialogTool::PowerShell(p) => Invocation {
            program: p.clone(),
            args: own(&[
                "-NoLogo",
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-WindowStyle",
                "Hidden",
                "-EncodedCommand",
            ])
            .into_iter()
            .chain([encoded(POWERSHELL)])
            .collect(),
            env: vec![
                ("EKSOP_AUTH_DIALOG_TITLE".into(), t.title.clone()),
                ("EKSOP_AUTH_DIALOG_TEXT".into(), t.body.clone()),
                ("EKSOP_AUTH_DIALOG_TIMEOUT".into(), secs),
            ],
        },
    }
}

/// What the person did with the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Typed something and pressed OK (not yet checked to be a code).
    Text(String),
    /// Cancel, or the window closed.
    Cancelled,
    /// Nobody answered before the timeout.
    TimedOut,
    /// The tool itself failed (no display, a broken install): why, for the message.
    Failed(String),
}

/// Reads a tool's exit status and output.
pub(crate) fn answer(
    tool: &DialogTool,
    code: Option<i32>,
    line: Option<&str>,
    stderr: &str,
) -> Answer {
    let first_err = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| clean(l, 200))
        .unwrap_or_default();
    let failed = || {
        Answer::Failed(match code {
            Some(c) => format!(
                "{} failed (exit status {c}){}",
                tool.name(),
                colon(&first_err)
            ),
            None => format!("{} was killed{}", tool.name(), colon(&first_err)),
        })
    };
    let tagged = |line: Option<&str>| match line.map(str::trim) {
        Some("timeout") => Answer::TimedOut,
        Some(l) => match l.strip_prefix("code:") {
            Some(code) => Answer::Text(code.to_string()),
            None => failed(),
        },
        None => failed(),
    };
    match (tool, code) {
        (DialogTool::Zenity(_) | DialogTool::Kdialog(_), Some(0)) => {
            Answer::Text(line.unwrap_or_default().to_string())
        }
        // Cancel, Escape or the window closed (see ZENITY_CODES).
        (DialogTool::Zenity(_), Some(11 | 12)) => Answer::Cancelled,
        (DialogTool::Zenity(_), Some(13)) => Answer::TimedOut,
        (DialogTool::Kdialog(_), Some(1)) => Answer::Cancelled,
        (DialogTool::Osascript(_), Some(0)) => tagged(line),
        // "User canceled. (-128)"
        (DialogTool::Osascript(_), Some(1)) if stderr.contains("(-128)") => Answer::Cancelled,
        (DialogTool::PowerShell(_), Some(0)) => tagged(line),
        (DialogTool::PowerShell(_), Some(11)) => Answer::Cancelled,
        (DialogTool::PowerShell(_), Some(13)) => Answer::TimedOut,
        _ => failed(),
    }
}

fn colon(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

/// A code typed into a dialog: spaces (`123 456`, as some apps show it) do not count.
pub(crate) fn as_code(text: &str) -> Option<String> {
    let code: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    is_code(&code).then_some(code)
}

/// The desktop dialog as a code source.
#[derive(Debug)]
pub(crate) struct Dialog {
    tool: DialogTool,
    asker: Option<String>,
}

impl Dialog {
    pub(crate) fn new(tool: DialogTool, asker: Option<String>) -> Self {
        Dialog { tool, asker }
    }

    fn show(&self, ask: &Ask<'_>) -> Result<Answer> {
        let inv = invocation(&self.tool, &texts(ask, self.asker.as_deref()), ask.timeout);
        let mut cmd = Command::new(&inv.program);
        cmd.args(&inv.args)
            .envs(inv.env.iter().map(|(k, v)| (k, v)));
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt;
            // CREATE_NO_WINDOW: no console window flashes up beside the dialog.
            cmd.creation_flags(0x0800_0000);
        }
        let running = child::start(cmd, true, true).map_err(|e| {
            Error::Mfa(format!(
                "cannot start {} for the MFA dialog ({e}); run `eksop-auth login --profile {}` \
                 in a terminal instead",
                inv.program.display(),
                ask.profile
            ))
        })?;
        let ended = running
            .wait(ask.timeout + GRACE)
            .map_err(|e| Error::Mfa(format!("{}: {e}", self.tool.name())))?;
        Ok(match ended {
            Ended::TimedOut => Answer::TimedOut,
            Ended::Exited {
                status,
                line,
                stderr,
            } => answer(
                &self.tool,
                status.code(),
                line.as_deref().map(String::from_utf8_lossy).as_deref(),
                &stderr,
            ),
        })
    }
}

impl CodeSource for Dialog {
    fn is_person(&self) -> bool {
        true
    }

    fn code(&mut self, ask: &Ask<'_>) -> Result<Secret<String>> {
        let started = std::time::Instant::now();
        let mut note = ask.note.map(String::from);
        for _ in 0..MALFORMED_TRIES {
            let left = ask.timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            let this = Ask {
                note: note.as_deref(),
                timeout: left,
                ..*ask
            };
            match self.show(&this)? {
                Answer::Text(text) => match as_code(&text) {
                    Some(code) => return Ok(Secret::new(code)),
                    None => {
                        note = Some(
                            "That was not a code: enter the 6 digits your MFA device shows.".into(),
                        )
                    }
                },
                Answer::Cancelled => {
                    return Err(Error::DialogDismissed {
                        how: "cancelled".into(),
                    });
                }
                Answer::TimedOut => {
                    return Err(Error::DialogDismissed {
                        how: format!("not answered within {}s", ask.timeout.as_secs()),
                    });
                }
                Answer::Failed(why) => {
                    return Err(Error::Mfa(format!(
                        "the MFA dialog could not be shown: {why}; run `eksop-auth login \
                         --profile {}` in a terminal instead",
                        ask.profile
                    )));
                }
            }
        }
        Err(Error::DialogDismissed {
            how: "no 6-digit code was entered".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: [&str; 6] = [
        "ops\"; do shell script \"touch /tmp/pwned\" --",
        "$(Remove-Item -Recurse C:\\) `n'; exit 0; '",
        "a\nb\r\u{1b}[31mred\u{7}",
        "<b>bold</b> & _mnemonic_ \\n",
        "end run\non run argv",
        "'; [Console]::Out.WriteLine('code:000000'); exit 0; #",
    ];

    fn ask<'a>(profile: &'a str, device: &'a str) -> Ask<'a> {
        Ask {
            profile,
            device,
            note: None,
            timeout: Duration::from_secs(120),
        }
    }

    #[test]
    fn osascript_text_never_changes_and_names_go_as_argv() {
        for name in HOSTILE {
            let t = texts(&ask(name, name), Some(name));
            let tool = DialogTool::Osascript("/usr/bin/osascript".into());
            let inv = invocation(&tool, &t, Duration::from_secs(120));
            // Every `-e` item is a line of the fixed script, in order.
            let script: Vec<&str> = inv
                .args
                .chunks(2)
                .take_while(|pair| pair[0] == "-e")
                .map(|pair| pair[1].as_str())
                .collect();
            assert_eq!(script, OSASCRIPT);
            // After the script: exactly the three values, verbatim.
            let rest = &inv.args[script.len() * 2..];
            assert_eq!(rest, [t.body.clone(), t.title.clone(), "120".to_string()]);
            assert!(inv.env.is_empty());
        }
    }

    #[test]
    fn powershell_script_never_changes_and_names_go_in_the_environment() {
        use base64::Engine as _;
        for name in HOSTILE {
            let t = texts(&ask(name, name), Some(name));
            let tool = DialogTool::PowerShell(r"C:\Windows\System32\powershell.exe".into());
            let inv = invocation(&tool, &t, Duration::from_secs(90));
            let (last, flags) = inv.args.split_last().unwrap();
            assert_eq!(flags.last().map(String::as_str), Some("-EncodedCommand"));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(last)
                .unwrap();
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            assert_eq!(String::from_utf16(&units).unwrap(), POWERSHELL);
            for a in &inv.args {
                assert!(!a.contains("pwned") && !a.contains("Remove-Item"), "{a}");
            }
            assert_eq!(
                inv.env,
                [
                    ("EKSOP_AUTH_DIALOG_TITLE".to_string(), TITLE.to_string()),
                    ("EKSOP_AUTH_DIALOG_TEXT".to_string(), t.body.clone()),
                    ("EKSOP_AUTH_DIALOG_TIMEOUT".to_string(), "90".to_string()),
                ]
            );
            // The label shows `&` as itself, not as a keyboard shortcut.
            assert!(POWERSHELL.contains("$label.UseMnemonic = $false"));
        }
    }

    #[test]
    fn names_reach_the_dialog_as_plain_text() {
        for name in HOSTILE {
            let t = texts(&ask(name, "arn:aws:iam::1:mfa/alice"), Some(name));
            assert!(
                !t.body.chars().any(|c| c.is_control() && c != '\n'),
                "{:?}",
                t.body
            );
            // Only our own line breaks.
            assert_eq!(t.body.matches('\n').count(), 4, "{:?}", t.body);
        }
        let t = texts(&ask("ops", "arn:aws:iam::1:mfa/alice"), Some("kubectl"));
        assert!(
            t.body.contains("“kubectl” asks")
                && t.body.contains("profile \"ops\"")
                && t.body.contains("arn:aws:iam::1:mfa/alice"),
            "{}",
            t.body
        );
        assert!(
            texts(&ask("ops", "d"), None)
                .body
                .starts_with("A program asks")
        );
    }

    #[test]
    fn zenity_and_kdialog_escapes() {
        let t = Texts {
            title: TITLE.into(),
            body: "a_b \\n <i>x</i> & \"q\"\nline".into(),
        };
        let z = invocation(
            &DialogTool::Zenity("zenity".into()),
            &t,
            Duration::from_secs(7),
        );
        assert_eq!(
            z.args,
            [
                "--entry",
                "--hide-text",
                "--title",
                TITLE,
                "--text",
                "a__b \\\\n <i>x</i> & \"q\"\nline",
                "--timeout",
                "7"
            ]
        );
        let k = invocation(
            &DialogTool::Kdialog("kdialog".into()),
            &t,
            Duration::from_secs(7),
        );
        assert_eq!(
            k.args[3],
            "<qt>a_b \\n &lt;i&gt;x&lt;/i&gt; &amp; &quot;q&quot;<br>line</qt>"
        );
    }

    #[test]
    fn answers_by_tool() {
        let z = DialogTool::Zenity("z".into());
        let o = DialogTool::Osascript("o".into());
        let p = DialogTool::PowerShell("p".into());
        assert_eq!(
            answer(&z, Some(0), Some("123456"), ""),
            Answer::Text("123456".into())
        );
        assert_eq!(answer(&z, Some(11), None, ""), Answer::Cancelled);
        assert_eq!(answer(&z, Some(12), None, ""), Answer::Cancelled);
        assert_eq!(answer(&z, Some(13), None, ""), Answer::TimedOut);
        // zenity 3.44 exits 1 when it cannot open the display: a failure, not a Cancel.
        assert_eq!(
            answer(&z, Some(1), None, "\n(zenity:1): Gtk-WARNING **: cannot open display: :9\n"),
            Answer::Failed(
                "zenity failed (exit status 1): (zenity:1): Gtk-WARNING **: cannot open display: :9"
                    .into()
            )
        );
        assert_eq!(
            answer(&o, Some(0), Some("code:123456"), ""),
            Answer::Text("123456".into())
        );
        assert_eq!(answer(&o, Some(0), Some("timeout"), ""), Answer::TimedOut);
        assert_eq!(
            answer(&o, Some(1), None, "execution error: User canceled. (-128)"),
            Answer::Cancelled
        );
        assert!(matches!(
            answer(
                &o,
                Some(1),
                None,
                "execution error: No user interaction allowed. (-1713)"
            ),
            Answer::Failed(_)
        ));
        // A tool that prints something else on success is not trusted for a code.
        assert!(matches!(
            answer(&o, Some(0), Some("123456"), ""),
            Answer::Failed(_)
        ));
        assert_eq!(
            answer(&p, Some(0), Some("code:654321"), ""),
            Answer::Text("654321".into())
        );
        assert_eq!(answer(&p, Some(11), None, ""), Answer::Cancelled);
        assert_eq!(answer(&p, Some(13), None, ""), Answer::TimedOut);
        assert!(matches!(
            answer(&p, Some(14), None, "Add-Type failed"),
            Answer::Failed(_)
        ));
        assert!(matches!(answer(&p, Some(1), None, ""), Answer::Failed(_)));
        assert_eq!(as_code(" 123 456 "), Some("123456".into()));
        assert_eq!(as_code("12345"), None);
    }

    #[test]
    fn linux_needs_a_display_and_a_tool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap().to_string();
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        let e = find(&env(&[("PATH", &path)]), Os::Linux).unwrap_err();
        assert!(e.contains("DISPLAY"), "{e}");
        let e = find(&env(&[("PATH", &path), ("DISPLAY", ":0")]), Os::Linux).unwrap_err();
        assert!(e.contains("zenity"), "{e}");
        let kdialog = dir.path().join("kdialog");
        std::fs::write(&kdialog, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&kdialog, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(
            find(
                &env(&[("PATH", &path), ("WAYLAND_DISPLAY", "wayland-0")]),
                Os::Linux
            ),
            Ok(DialogTool::Kdialog(kdialog))
        );
        assert!(matches!(
            find(&env(&[]), Os::Windows),
            Ok(DialogTool::PowerShell(p)) if p.ends_with("powershell.exe")
        ));
        assert!(matches!(
            find(&env(&[]), Os::Mac),
            Ok(DialogTool::Osascript(_))
        ));
    }
}
