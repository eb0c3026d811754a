//! Wire compatibility with the npm `primus-emitter` plugin (3.x), so a
//! front-end written for a Node Primus server with that plugin talks to
//! typed events and requests unchanged.
//!
//! `primus-emitter` sends `{"type":0,"data":[name, arg…]}` for an event,
//! with `"id":n` when the sender passed an acknowledgement callback, and
//! answers with `{"id":n,"type":1,"data":[arg…]}`. The [`Emitter`] plugin
//! maps these onto the typed wire shape, both ways:
//!
//! | from the client | becomes |
//! |---|---|
//! | `{"type":0,"data":["say"]}` | `{"event":"say"}` |
//! | `{"type":0,"data":["say","hi"]}` | `{"event":"say","data":"hi"}` |
//! | `{"type":0,"data":["move",1,2]}` | `{"event":"move","data":[1,2]}` (several arguments: an array, which a tuple variant reads) |
//! | `{"type":0,"data":["add",{"a":2}],"id":7}` | `{"event":"add","data":{"a":2},"request":7}` |
//!
//! | to the client | becomes |
//! |---|---|
//! | `{"event":"news","data":x}` (a typed event) | `{"type":0,"data":["news",x]}` |
//! | `{"reply":7,"data":v}` | `{"id":7,"type":1,"data":[v]}`: the callback gets `v` |
//! | `{"reply":7,"error":"reason"}` | `{"id":7,"type":1,"data":[{"error":"reason"}]}` |
//! | `{"event":"confirm","data":x,"request":9}` ([`Spark::request`]) | `{"id":9,"type":0,"data":["confirm",x]}`: the client's listener gets `x` and an acknowledgement callback |
//!
//! The client's acknowledgement of a server request settles it:
//!
//! | from the client | the request gets |
//! |---|---|
//! | `{"id":9,"type":1,"data":[v]}` (`fn(v)`) | `v` |
//! | `{"id":9,"type":1,"data":[]}` (`fn()`) | `null` (a `()` or `Option` reply type reads it) |
//! | `{"id":9,"type":1,"data":[a,b]}` (`fn(a, b)`) | `[a,b]` (a tuple reply type reads it) |
//! | `{"id":9,"type":1,"data":[{"error":"reason"}]}` (`fn({error: 'reason'})`) | [`RequestError::Rejected`](crate::spark::RequestError::Rejected) with `reason`, the shape the server uses for its own failed replies |
//!
//! Anything else passes untouched both ways (plain `write`s stay plain
//! data). Event names are the typed events' wire names (rename variants to
//! match the front-end's). Acknowledgement ids must be positive integers
//! (the npm client counts from 1); an event whose id is anything else is
//! handled without a reply. An acknowledgement with a number the spark
//! did not issue passes as plain data.
//!
//! The plugin works through message transforms, so with it every message
//! to a spark is transformed (and a broadcast encoded) per spark, and the
//! application's own outgoing transforms, which run after the plugin's,
//! see the `primus-emitter` shape.

use crate::message::transform::{Flow, Packet, TransformError};
use crate::pipeline::plugin::{Plugin, PluginSetup};
use crate::Spark;
use serde_json::{Map, Value};

/// The `primus-emitter` compatibility plugin (name `"emitter"`), see the
/// [module](self) docs.
///
/// ```no_run
/// # fn demo() -> Result<(), primus::BuildError> {
/// let server = primus::Server::builder()
///     .plugin(primus::plugins::Emitter)
///     .handlers_from_registry()
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Emitter;

impl Plugin for Emitter {
    fn name(&self) -> &'static str {
        "emitter"
    }

    fn server(&self, setup: &mut PluginSetup<'_>) {
        setup.transform_incoming(|_spark: &Spark, packet: &mut Packet| {
            to_typed(&mut packet.data);
            Ok::<Flow, TransformError>(Flow::Continue)
        });
        setup.transform_outgoing(|_spark: &Spark, packet: &mut Packet| {
            to_emitter(&mut packet.data);
            Ok::<Flow, TransformError>(Flow::Continue)
        });
        setup.read_replies(|_spark: &Spark, message: &Value| acknowledgement_as_reply(message));
    }
}

/// The `type` of a `primus-emitter` event packet.
const EVENT: u64 = 0;
/// The `type` of a `primus-emitter` acknowledgement packet.
const ACK: u64 = 1;

/// A client's event packet, as a typed event (a request when it has an
/// id); anything else is left as it is.
fn to_typed(value: &mut Value) {
    let Some(object) = value.as_object() else {
        return;
    };
    if object.get("type").and_then(Value::as_u64) != Some(EVENT) {
        return;
    }
    let Some(arguments) = object.get("data").and_then(Value::as_array) else {
        return;
    };
    let Some((Value::String(name), rest)) = arguments.split_first() else {
        return;
    };
    let mut typed = Map::new();
    typed.insert("event".to_owned(), Value::String(name.clone()));
    match rest {
        [] => {}
        [one] => {
            typed.insert("data".to_owned(), one.clone());
        }
        several => {
            typed.insert("data".to_owned(), Value::Array(several.to_vec()));
        }
    }
    if let Some(id) = object.get("id").and_then(Value::as_u64).filter(|id| *id > 0) {
        typed.insert("request".to_owned(), Value::from(id));
    }
    *value = Value::Object(typed);
}

/// A typed event (exactly `event`, and `data` for a payload) or a reply
/// (exactly `reply` and `data` or `error`), as a `primus-emitter` packet;
/// anything else is left as it is.
fn to_emitter(value: &mut Value) {
    let Some(object) = value.as_object_mut() else {
        return;
    };
    let named = matches!(object.get("event"), Some(Value::String(_)));
    let request = object.get("request").and_then(Value::as_u64);
    let keys = object.len() - usize::from(object.contains_key("data"));
    let typed_event = named && keys == 1;
    let server_request = named && request.is_some() && keys == 2;
    let reply = object.len() == 2
        && object.get("reply").and_then(Value::as_u64).is_some()
        && (object.contains_key("data") || object.contains_key("error"));
    if typed_event || server_request {
        let mut arguments: Vec<Value> = object.remove("event").into_iter().collect();
        arguments.extend(object.remove("data"));
        *value = emitter_packet(EVENT, request, arguments);
    } else if reply {
        let id = object.get("reply").and_then(Value::as_u64);
        let argument = match (object.remove("data"), object.remove("error")) {
            (Some(data), _) => data,
            (None, error) => {
                let mut failure = Map::new();
                failure.insert("error".to_owned(), error.unwrap_or(Value::Null));
                Value::Object(failure)
            }
        };
        *value = emitter_packet(ACK, id, vec![argument]);
    }
}

/// A client's acknowledgement (`{"id":n,"type":1,"data":[…]}`) as a reply
/// in the typed shape; `None` for anything else.
fn acknowledgement_as_reply(message: &Value) -> Option<Value> {
    let object = message.as_object()?;
    if object.get("type").and_then(Value::as_u64) != Some(ACK) {
        return None;
    }
    let id = object.get("id").and_then(Value::as_u64).filter(|id| *id > 0)?;
    let arguments = object.get("data")?.as_array()?;
    let mut reply = Map::new();
    reply.insert("reply".to_owned(), Value::from(id));
    let refusal = match arguments.as_slice() {
        [Value::Object(failure)] if failure.len() == 1 => failure.get("error").filter(|e| e.is_string()),
        _ => None,
    };
    match (refusal, arguments.as_slice()) {
        (Some(reason), _) => reply.insert("error".to_owned(), reason.clone()),
        (None, []) => reply.insert("data".to_owned(), Value::Null),
        (None, [one]) => reply.insert("data".to_owned(), one.clone()),
        (None, several) => reply.insert("data".to_owned(), Value::Array(several.to_vec())),
    };
    Some(Value::Object(reply))
}

/// `{"type":…,"data":[…]}`, with `"id"` for an acknowledgement.
fn emitter_packet(kind: u64, id: Option<u64>, arguments: Vec<Value>) -> Value {
    let mut packet = Map::new();
    if let Some(id) = id {
        packet.insert("id".to_owned(), Value::from(id));
    }
    packet.insert("type".to_owned(), Value::from(kind));
    packet.insert("data".to_owned(), Value::Array(arguments));
    Value::Object(packet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(transform: fn(&mut Value), mut value: Value) -> Value {
        transform(&mut value);
        value
    }

    #[test]
    fn client_packets_become_typed_events_and_requests() {
        let cases = [
            (json!({"type":0,"data":["say"]}), json!({"event":"say"})),
            (
                json!({"type":0,"data":["say","hi"]}),
                json!({"event":"say","data":"hi"}),
            ),
            (
                json!({"type":0,"data":["move",1,2]}),
                json!({"event":"move","data":[1,2]}),
            ),
            (
                json!({"type":0,"data":["add",{"a":2}],"id":7}),
                json!({"event":"add","data":{"a":2},"request":7}),
            ),
            // Ids that cannot be request numbers: handled without a reply.
            (json!({"type":0,"data":["x"],"id":1.5}), json!({"event":"x"})),
            (json!({"type":0,"data":["x"],"id":-3}), json!({"event":"x"})),
            (json!({"type":0,"data":["x"],"id":0}), json!({"event":"x"})),
        ];
        for (wire, typed) in cases {
            assert_eq!(run(to_typed, wire.clone()), typed, "{wire}");
        }
        // Not event packets: untouched.
        for plain in [
            json!(null),
            json!({"plain": true}),
            json!({"type":1,"data":["yes"],"id":1}),
            json!({"type":"0","data":["x"]}),
            json!({"type":0,"data":"x"}),
            json!({"type":0,"data":[]}),
            json!({"type":0,"data":[5]}),
        ] {
            assert_eq!(run(to_typed, plain.clone()), plain);
        }
    }

    #[test]
    fn typed_events_and_replies_become_emitter_packets() {
        let cases = [
            (
                json!({"event":"news","data":{"n":1}}),
                json!({"type":0,"data":["news",{"n":1}]}),
            ),
            (json!({"event":"ping"}), json!({"type":0,"data":["ping"]})),
            (json!({"reply":7,"data":10}), json!({"id":7,"type":1,"data":[10]})),
            (
                json!({"reply":7,"data":null}),
                json!({"id":7,"type":1,"data":[null]}),
            ),
            (
                json!({"reply":7,"error":"nope"}),
                json!({"id":7,"type":1,"data":[{"error":"nope"}]}),
            ),
            (
                json!({"event":"confirm","data":"sure?","request":9}),
                json!({"id":9,"type":0,"data":["confirm","sure?"]}),
            ),
            (
                json!({"event":"ping","request":9}),
                json!({"id":9,"type":0,"data":["ping"]}),
            ),
        ];
        for (typed, wire) in cases {
            assert_eq!(run(to_emitter, typed.clone()), wire, "{typed}");
        }
        for plain in [
            json!("text"),
            json!({"x": 1}),
            json!({"event":"news","data":1,"extra":2}),
            json!({"event":5,"data":1}),
            json!({"reply":7,"score":1}),
            json!({"reply":-1,"data":1}),
            json!({"event":"x","request":-1}),
            json!({"event":"x","request":"9"}),
            json!({"event":"x","data":1,"request":9,"extra":2}),
            json!({"event":"x","extra":2}),
        ] {
            assert_eq!(run(to_emitter, plain.clone()), plain);
        }
    }

    #[test]
    fn acknowledgements_become_replies() {
        let cases = [
            (
                json!({"id":9,"type":1,"data":[true]}),
                json!({"reply":9,"data":true}),
            ),
            (json!({"id":9,"type":1,"data":[]}), json!({"reply":9,"data":null})),
            (
                json!({"id":9,"type":1,"data":[1,"b"]}),
                json!({"reply":9,"data":[1,"b"]}),
            ),
            (
                json!({"id":9,"type":1,"data":[{"error":"no"}]}),
                json!({"reply":9,"error":"no"}),
            ),
            // Not refusals: an error that is not text, or more than an error.
            (
                json!({"id":9,"type":1,"data":[{"error":5}]}),
                json!({"reply":9,"data":{"error":5}}),
            ),
            (
                json!({"id":9,"type":1,"data":[{"error":"no","code":1}]}),
                json!({"reply":9,"data":{"error":"no","code":1}}),
            ),
        ];
        for (wire, reply) in cases {
            assert_eq!(acknowledgement_as_reply(&wire), Some(reply), "{wire}");
        }
        for other in [
            json!({"id":9,"type":0,"data":["x"]}),
            json!({"id":0,"type":1,"data":[1]}),
            json!({"id":-9,"type":1,"data":[1]}),
            json!({"id":9,"type":1,"data":1}),
            json!({"id":9,"type":1}),
            json!({"type":1,"data":[1]}),
            json!([1]),
        ] {
            assert_eq!(acknowledgement_as_reply(&other), None, "{other}");
        }
    }
}
