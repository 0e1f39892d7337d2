#![allow(unreachable_pub)] // modules of one test binary share helpers with `pub`
#![allow(clippy::disallowed_methods)] // tests read the real clock and PATH; the rule is for src/
//! The one integration-test binary: drives the real `eksop-auth` executable in a hermetic
//! temporary HOME against real peers on 127.0.0.1 (aws-cli, kubectl, the fakes in
//! tests/support). No test reaches beyond loopback or touches the developer's own files.

mod clients;
mod config_trust;
mod fakes;
mod gui;
mod hardening;
mod harness;
mod identity;
mod integrity;
mod kit;
mod kubectl;
mod kuberc;
mod prompt;
mod rotate;
mod session;
mod setup;
mod token;
