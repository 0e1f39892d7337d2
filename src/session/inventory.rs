//! Every stored session, found in the stores themselves and in the metadata beside them,
//! for `status` and `logout`: a copy that only a keyring still holds is found too.

use std::collections::BTreeSet;

use super::meta::{Meta, MetaDir};
use super::record::Session;
use crate::cache::is_key;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::store::{Backend, SecretStore};

/// One profile's session, as far as it could be found.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) key: String,
    /// From a readable record, else the metadata.
    pub(crate) profile: Option<String>,
    pub(crate) meta: Meta,
    /// The stores holding a record under the key, with the record if it is readable.
    pub(crate) copies: Vec<(Backend, Option<Session>)>,
}

impl Found {
    /// The first readable copy.
    pub(crate) fn session(&self) -> Option<&Session> {
        self.copies.iter().find_map(|(_, s)| s.as_ref())
    }

    /// A record an older eksop-auth filed under its profile name: unusable now.
    pub(crate) fn is_old(&self) -> bool {
        !is_key(&self.key)
    }
}

/// Sessions, and the stores that could not be searched or read.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub(crate) found: Vec<Found>,
    pub(crate) unreachable: Vec<(Backend, String)>,
    /// The stores that answered.
    pub(crate) reached: Vec<Backend>,
}

/// Every session (or only the one filed under `key`), with every copy of it, and the
/// stores it looked in.
pub(crate) fn inventory(
    ctx: &Ctx,
    key: Option<&str>,
) -> Result<(Inventory, Vec<Box<dyn SecretStore>>)> {
    let metas = MetaDir::new(ctx.cache()?);
    let mut inv = Inventory::default();
    let mut keys: BTreeSet<String> = match key {
        Some(k) => BTreeSet::from([k.to_string()]),
        None => metas.keys()?.into_iter().collect(),
    };
    let mut stores = Vec::new();
    for reach in ctx.every_store()? {
        match reach {
            Ok(store) => {
                if key.is_none() {
                    match store.keys() {
                        Ok(found) => keys.extend(found),
                        Err(e) => note(&mut inv, &*store, e.to_string()),
                    }
                }
                stores.push(store);
            }
            Err(unreachable) => inv.unreachable.push(unreachable),
        }
    }
    for key in keys {
        let meta = if is_key(&key) {
            metas.read(&key)?
        } else {
            Meta::Absent
        };
        let mut copies = Vec::new();
        for store in &stores {
            match store.get(&key) {
                Ok(Some(text)) => copies.extend(
                    store
                        .backends()
                        .first()
                        .map(|b| (*b, Session::decode(text.expose()))),
                ),
                Ok(None) => {}
                Err(e) => note(&mut inv, &**store, e.to_string()),
            }
        }
        // Metadata that never saw a stored record (a failed login, a remembered logout)
        // is not a session.
        let stored_once = match &meta {
            Meta::Present(m) => m.stored_once(),
            Meta::Damaged => true,
            Meta::Absent => false,
        };
        if copies.is_empty() && !stored_once {
            continue;
        }
        let profile = copies
            .iter()
            .find_map(|(_, s)| s.as_ref().map(|s| s.profile.clone()))
            .or_else(|| match &meta {
                Meta::Present(m) => Some(m.profile.clone()),
                _ => None,
            });
        inv.found.push(Found {
            key,
            profile,
            meta,
            copies,
        });
    }
    inv.reached = stores
        .iter()
        .flat_map(|s| s.backends())
        .filter(|b| !inv.unreachable.iter().any(|(u, _)| u == b))
        .collect();
    inv.found.sort_by(|a, b| a.profile.cmp(&b.profile));
    Ok((inv, stores))
}

fn note(inv: &mut Inventory, store: &dyn SecretStore, why: String) {
    for backend in store.backends() {
        if !inv.unreachable.iter().any(|(b, _)| *b == backend) {
            inv.unreachable.push((backend, why.clone()));
        }
    }
}
