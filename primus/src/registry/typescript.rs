//! TypeScript typings for the registered events.
//!
//! [`typings`] writes one `.d.ts` from every `#[primus::event]` enum and
//! every `#[primus::on]` handler, shaped like Socket.IO's typed events:
//!
//! ```ts
//! export interface ClientToServerEvents { "say": string; "join": { room: string } }
//! export interface ServerToClientEvents { "message": { from: string, text: string } }
//! export interface ClientRequests { "list_rooms": { data: undefined; reply: Array<string> } }
//! export interface ServerRequests { "confirm": { data: string; reply: boolean } }
//! ```
//!
//! Enums with server handlers are client → server; the others are server →
//! client. Payload types are mapped with [`ts_rs`]: derive `ts_rs::TS` on
//! your own payload types (`#[derive(primus::ts_rs::TS)] #[ts(crate = "primus::ts_rs")]`);
//! a payload type without it is typed `unknown`, with a comment saying so.
//! Integers are `number` (JSON has no bigint); a unit variant's payload is
//! `undefined` (it is sent without `data`). The output is sorted, so it is
//! the same on every run. Use the maps with the served client's
//! declarations (`<pathname>/primus.client.d.ts`):
//! `new Primus<ClientToServerEvents, ServerToClientEvents, ClientRequests, ServerRequests>(url)`.

use crate::message::event::EventInfo;
use crate::message::ts_mapping::{Collector, EventTypes};
use std::collections::{BTreeMap, BTreeSet};

/// Why typings cannot be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TypingsError {
    /// No event enum is registered.
    #[error("no `#[primus::event]` enum is registered (is the crate that declares them linked? add `use that_crate as _;`)")]
    Empty,
    /// Two enums of one direction share an event name.
    #[error("the event `{event}` is declared by `{first}` and `{second}`, which travel in the same direction; rename one")]
    Conflict {
        /// The wire name.
        event: String,
        /// One enum.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// An event name that the browser client reserves for itself.
    #[error("the event `{event}` of `{enum_name}` is a name the browser client uses for its own events; rename it with `#[primus(rename = \"...\")]`")]
    Reserved {
        /// The wire name.
        event: &'static str,
        /// The enum.
        enum_name: &'static str,
    },
}

/// Names the browser client emits itself; typed events must not use them.
pub const RESERVED_NAMES: &[&str] = &[
    "open",
    "data",
    "end",
    "close",
    "error",
    "timeout",
    "online",
    "offline",
    "destroy",
    "readyStateChange",
    "reconnect",
    "reconnect scheduled",
    "reconnected",
    "reconnect timeout",
    "reconnect failed",
];

/// The typings of every registered event, as one `.d.ts` module. Needs
/// the `server` feature: the direction of an enum comes from its handlers.
///
/// ```no_run
/// std::fs::write("events.d.ts", primus::typescript::typings()?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn typings() -> Result<String, TypingsError> {
    let enums = super::events();
    if enums.is_empty() {
        return Err(TypingsError::Empty);
    }
    let handled: BTreeSet<&str> = super::handlers()
        .iter()
        .filter_map(|h| match h.kind {
            super::HandlerKind::Event { type_name, .. } => Some(type_name),
            _ => None,
        })
        .collect();
    let mut collector = Collector::new();
    let mut to_server = Direction::default();
    let mut to_client = Direction::default();
    for registration in enums {
        let types = (registration.typescript)(&mut collector);
        let direction = match handled.contains(registration.type_name) {
            true => &mut to_server,
            false => &mut to_client,
        };
        for (info, types) in registration.events.iter().zip(types) {
            if RESERVED_NAMES.contains(&info.name)
                || info.name.starts_with("incoming::")
                || info.name.starts_with("outgoing::")
            {
                return Err(TypingsError::Reserved {
                    event: info.name,
                    enum_name: registration.type_name,
                });
            }
            direction.add(registration.type_name, info, types)?;
        }
    }
    Ok(render(&collector, &to_server, &to_client))
}

#[derive(Default)]
struct Direction {
    events: BTreeMap<String, (&'static str, EventTypes)>,
}

impl Direction {
    fn add(&mut self, owner: &'static str, info: &EventInfo, types: EventTypes) -> Result<(), TypingsError> {
        if let Some((first, _)) = self.events.get(info.name) {
            return Err(TypingsError::Conflict {
                event: info.name.to_owned(),
                first,
                second: owner,
            });
        }
        self.events.insert(info.name.to_owned(), (owner, types));
        Ok(())
    }
}

fn render(collector: &Collector, to_server: &Direction, to_client: &Direction) -> String {
    let mut out = String::from(
        "// Generated by primus-rs from the registered #[primus::event] enums. Do not edit.\n\
         // Regenerate with `primus::typescript::typings()` (or GET <pathname>/primus.d.ts).\n\n",
    );
    for untyped in collector.untyped_types() {
        out.push_str(&format!(
            "// `{untyped}` does not implement ts_rs::TS; its payloads are typed `unknown`.\n"
        ));
    }
    if !collector.untyped_types().is_empty() {
        out.push('\n');
    }
    for declaration in collector.declarations() {
        out.push_str("export ");
        out.push_str(declaration.trim());
        if !declaration.trim_end().ends_with(';') && !declaration.trim_end().ends_with('}') {
            out.push(';');
        }
        out.push_str("\n\n");
    }
    let events = |name: &str, direction: &Direction, out: &mut String| {
        out.push_str(&format!("export interface {name} {{\n"));
        for (event, (_, types)) in &direction.events {
            out.push_str(&format!("  {event:?}: {};\n", types.payload));
        }
        out.push_str("}\n\n");
    };
    events("ClientToServerEvents", to_server, &mut out);
    events("ServerToClientEvents", to_client, &mut out);
    let requests = |name: &str, direction: &Direction, out: &mut String| {
        out.push_str(&format!("export interface {name} {{\n"));
        for (event, (_, types)) in &direction.events {
            if let Some(reply) = &types.reply {
                out.push_str(&format!(
                    "  {event:?}: {{ data: {}; reply: {} }};\n",
                    types.payload, reply
                ));
            }
        }
        out.push_str("}\n");
    };
    requests("ClientRequests", to_server, &mut out);
    out.push('\n');
    requests("ServerRequests", to_client, &mut out);
    out
}
