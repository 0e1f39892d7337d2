//! eks-operator sessions: the use case (`flow`), the stored record and what it was made
//! from (`record`), why a stored session cannot be used (`state`), the metadata beside it
//! (`meta`), a dismissed dialog (`dismissal`), every stored session for `status` and `logout` (`inventory`), and loading
//! source credentials (`source`).

mod dismissal;
mod flow;
mod inventory;
mod keep;
pub(crate) mod meta;
mod origin;
mod record;
mod source;
mod state;

pub(crate) use dismissal::window as dismiss_window;
pub(crate) use flow::{Want, obtain, stored, stored_any_age};
pub(crate) use inventory::{Found, Inventory, inventory};
pub(crate) use record::Session;
pub(crate) use source::load as load_credentials;
