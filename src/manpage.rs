//! The man page: clap_mangen's sections, with the subcommands described on this one page
//! (clap_mangen would point at `eksop-auth-token(1)` and friends, which are not shipped).

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

/// roff text for one line: escapes backslashes and a leading `.` or `'`.
fn roff_line(text: &str) -> String {
    let text = text.replace('\\', "\\\\").replace('-', "\\-");
    if text.starts_with(['.', '\'']) {
        format!("\\&{text}")
    } else {
        text
    }
}

pub(crate) fn render(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    writeln!(out, ".SH SUBCOMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        writeln!(out, ".TP")?;
        writeln!(out, "\\fBeksop\\-auth {}\\fR", roff_line(sub.get_name()))?;
        if let Some(about) = sub.get_about() {
            writeln!(out, "{}", roff_line(&about.to_string()))?;
        }
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let Some(long) = arg.get_long() else { continue };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            writeln!(out, ".br")?;
            writeln!(
                out,
                "\\fB\\-\\-{}\\fR  {}",
                roff_line(long),
                roff_line(&help)
            )?;
        }
    }
    writeln!(out, ".SH ENVIRONMENT")?;
    for (name, what) in crate::cli::ENVIRONMENT {
        writeln!(out, ".TP")?;
        writeln!(out, "\\fB{}\\fR", roff_line(name))?;
        writeln!(out, "{}", roff_line(what))?;
    }
    writeln!(out, ".SH EXIT STATUS")?;
    writeln!(
        out,
        "0 on success; otherwise one per kind of failure, listed in the README."
    )?;
    man.render_version_section(out)
}
