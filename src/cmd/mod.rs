//! One module per subcommand: orchestration only — parse what the command needs, ask the
//! settings, the session use case and the seams, print the result.

pub(crate) mod credential_process;
pub(crate) mod doctor;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod setup;
pub(crate) mod status;
pub(crate) mod token;

#[cfg(test)]
mod tests;
