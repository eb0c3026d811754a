//! Registrations of the server side: handlers, plugins and middleware.

use crate::middleware::{MiddlewareFnBox, Runs};
use crate::pipeline::extract::StateMapView;
use crate::pipeline::plugin::Plugin;
use crate::pipeline::typed::ErasedHandler;

/// What a handler is registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerKind {
    /// `#[primus::on("connection")]`
    Connection,
    /// `#[primus::on("disconnection")]`
    Disconnection,
    /// `#[primus::on("data")]`
    Data,
    /// `#[primus::on(Enum::Variant)]`
    Event {
        /// The enum's name.
        type_name: &'static str,
        /// The event's wire name.
        name: &'static str,
        /// True for a request (an event with a reply).
        request: bool,
    },
}

/// A handler declared with `#[primus::on]`.
pub struct HandlerRegistration {
    /// What it handles.
    pub kind: HandlerKind,
    /// Its module path.
    pub module: &'static str,
    /// Its function name.
    pub function: &'static str,
    /// The `order = N` argument (default 0).
    pub order: i32,
    /// Builds the runtime handler.
    pub make: fn() -> ErasedHandler,
    /// Checks, when the server is built, that its arguments can be produced.
    pub check: fn(&StateMapView<'_>) -> Result<(), String>,
}

impl std::fmt::Debug for HandlerRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerRegistration")
            .field("kind", &self.kind)
            .field("function", &format_args!("{}::{}", self.module, self.function))
            .field("order", &self.order)
            .finish()
    }
}

inventory::collect!(HandlerRegistration);

/// A plugin declared with `#[primus::plugin]`.
pub struct PluginRegistration {
    /// The plugin type's name, for messages.
    pub type_name: &'static str,
    /// Makes the plugin (`Default::default()`).
    pub make: fn() -> Box<dyn Plugin>,
}

inventory::collect!(PluginRegistration);

/// Every registered plugin, sorted by plugin name.
pub fn plugins() -> Vec<Box<dyn Plugin>> {
    let mut all: Vec<_> = inventory::iter::<PluginRegistration>
        .into_iter()
        .map(|r| (r.make)())
        .collect();
    all.sort_by_key(|p| p.name());
    all
}

/// Every registered handler, in the registry's order (see the module docs).
pub fn handlers() -> Vec<&'static HandlerRegistration> {
    let mut all: Vec<_> = inventory::iter::<HandlerRegistration>.into_iter().collect();
    all.sort_by_key(|r| (r.order, r.module, r.function));
    all
}

/// A middleware declared with `#[primus::middleware]`.
pub struct MiddlewareRegistration {
    /// Its name.
    pub name: &'static str,
    /// Where it runs.
    pub runs: Runs,
    /// Order among registered middleware (then name).
    pub order: i32,
    /// Builds the layer's function.
    pub make: fn() -> MiddlewareFnBox,
}

inventory::collect!(MiddlewareRegistration);

/// Every registered middleware, by `order` then name.
pub fn middleware() -> Vec<&'static MiddlewareRegistration> {
    let mut all: Vec<&MiddlewareRegistration> =
        inventory::iter::<MiddlewareRegistration>.into_iter().collect();
    all.sort_by_key(|r| (r.order, r.name));
    all
}

/// Why the registry cannot make a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No handler, plugin or middleware was registered at all.
    #[error(
        "no `#[primus::on]` handler is registered. If your handlers live in another crate, \
         the compiler drops that crate when nothing refers to it: add `use that_crate as _;` \
         to your binary"
    )]
    Empty,
    /// Two handlers handle the same event.
    #[error(
        "`{type_name}::{event}` has two handlers, `{first}` and `{second}`; each event has \
         exactly one handler (call shared code from it instead)"
    )]
    DuplicateEventHandler {
        /// The enum.
        type_name: &'static str,
        /// The event.
        event: &'static str,
        /// One handler.
        first: String,
        /// The other.
        second: String,
    },
    /// Two enums with handlers use the same event name.
    #[error(
        "the event name `{event}` is used by `{first}` and `{second}`, and both have handlers; \
         incoming messages could not be told apart. Rename one with `#[primus(rename = \"...\")]`"
    )]
    ConflictingEventName {
        /// The wire name.
        event: &'static str,
        /// One enum.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A handler takes an argument the server cannot produce.
    #[error("`{function}`: {reason}")]
    UnusableArgument {
        /// The handler.
        function: String,
        /// What is missing.
        reason: String,
    },
}

/// Checks the registry for conflicts; returns the handlers in order.
pub(crate) fn checked(state: &StateMapView<'_>) -> Result<Vec<&'static HandlerRegistration>, RegistryError> {
    let all = handlers();
    let plugins = inventory::iter::<PluginRegistration>.into_iter().next().is_some();
    if all.is_empty()
        && !plugins
        && inventory::iter::<MiddlewareRegistration>
            .into_iter()
            .next()
            .is_none()
    {
        return Err(RegistryError::Empty);
    }
    let mut events: std::collections::BTreeMap<&str, (&str, &HandlerRegistration)> = Default::default();
    for handler in &all {
        (handler.check)(state).map_err(|reason| RegistryError::UnusableArgument {
            function: format!("{}::{}", handler.module, handler.function),
            reason,
        })?;
        let HandlerKind::Event { type_name, name, .. } = handler.kind else {
            continue;
        };
        match events.get(name) {
            Some((other_type, _)) if *other_type != type_name => {
                return Err(RegistryError::ConflictingEventName {
                    event: name,
                    first: other_type,
                    second: type_name,
                });
            }
            Some((_, first)) => {
                return Err(RegistryError::DuplicateEventHandler {
                    type_name,
                    event: name,
                    first: format!("{}::{}", first.module, first.function),
                    second: format!("{}::{}", handler.module, handler.function),
                });
            }
            None => {
                events.insert(name, (type_name, handler));
            }
        }
    }
    Ok(all)
}
