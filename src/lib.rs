//! eksop-auth: a kubectl / aws-cli credential plugin for Amazon EKS.
//!
//! `run()` parses the command line, builds the real `Ctx`, dispatches to `cmd::*` and turns
//! an error into `error: …` on stderr and its exit status. Nothing but `run` is public: the
//! binary is the interface.

mod aws;
mod awsconfig;
mod cache;
mod cli;
mod clock;
mod cmd;
mod credentials;
mod ctx;
mod eks_token;
mod env;
mod error;
mod filelock;
mod fsutil;
mod identity;
mod kubeconfig;
mod lock;
mod log;
mod manpage;
mod mfa;
mod protocol;
mod secret;
mod session;
mod settings;
mod store;
mod sts_endpoint;
mod textdiff;
mod timefmt;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::error::Result;

/// Runs the program with these arguments in the real process context.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout and usage errors to stderr itself.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let mut ctx = Ctx::real(cli.verbose);
    match dispatch(&mut ctx, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ctx.log.line(format_args!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}

/// The single match on the command.
fn dispatch(ctx: &mut Ctx, command: Command) -> Result<()> {
    match command {
        Command::Token(args) => cmd::token::run(ctx, &args),
        Command::Login(args) => cmd::login::run(ctx, &args),
        Command::Setup(args) => cmd::setup::run(ctx, &args),
        Command::CredentialProcess(args) => cmd::credential_process::run(ctx, &args),
        Command::Status(args) => cmd::status::run(ctx, &args),
        Command::Logout(args) => cmd::logout::run(ctx, &args),
        Command::Doctor(args) => cmd::doctor::run(ctx, &args),
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "eksop-auth", &mut ctx.stdout);
            Ok(())
        }
        Command::Manpage => manpage::render(&mut ctx.stdout).map_err(error::Error::Output),
    }
}
