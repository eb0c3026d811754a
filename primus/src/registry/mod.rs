//! The registry: what `#[primus::event]` and `#[primus::on]` collect.
//!
//! Every annotated item submits a registration through [`inventory`] when
//! the program starts. [`Server::from_registry`](crate::Server::from_registry)
//! reads them and builds a server, in this **documented order**:
//!
//! 1. handlers sorted by their `order = N` argument (default 0), then
//! 2. by module path, then
//! 3. by function name.
//!
//! The order is the same on every run and every platform, whatever order the
//! linker laid the registrations out in.
//!
//! ## Registrations that vanish
//!
//! Registrations live in the crate that declares them. If nothing in your
//! binary refers to a crate, the compiler does not link it and its
//! registrations are gone. Name the crate once in the binary, e.g.
//! `use my_handlers as _;`. `from_registry` fails with
//! [`RegistryError::Empty`] when it finds no handler at all, so this never
//! goes unnoticed.

use crate::message::event::EventInfo;
use crate::message::ts_mapping::{Collector, EventTypes};

/// An event enum declared with `#[primus::event]`.
#[derive(Debug)]
pub struct EventRegistration {
    /// The enum's name.
    pub type_name: &'static str,
    /// The module that declares it.
    pub module: &'static str,
    /// Its events.
    pub events: &'static [EventInfo],
    /// The TypeScript of each event's payload and reply, in `events` order.
    pub typescript: fn(&mut Collector) -> Vec<EventTypes>,
}

inventory::collect!(EventRegistration);

/// Every registered event enum, sorted by module path then name.
///
/// ```
/// let enums = primus::registry::events();
/// assert!(enums.windows(2).all(|w| (w[0].module, w[0].type_name) <= (w[1].module, w[1].type_name)));
/// ```
pub fn events() -> Vec<&'static EventRegistration> {
    let mut all: Vec<_> = inventory::iter::<EventRegistration>.into_iter().collect();
    all.sort_by_key(|r| (r.module, r.type_name));
    all
}

#[cfg(feature = "server")]
mod handlers;
#[cfg(feature = "server")]
pub mod typescript;

#[cfg(feature = "server")]
pub use self::handlers::*;
