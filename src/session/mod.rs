//! eks-operator sessions: the use case (`flow`), the stored record and its freshness rule
//! (`record`), why a stored session cannot be used (`state`), the metadata beside it
//! (`meta`), and loading source credentials (`source`).

mod flow;
pub(crate) mod meta;
mod record;
mod source;
mod state;

pub(crate) use flow::{Want, obtain, stored, stored_any_age};
pub(crate) use record::Session;
pub(crate) use source::load as load_credentials;
