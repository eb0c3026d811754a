//! Waiting on a `primus-client` event stream ([`Events`]): the next event,
//! message, JSON value or typed event; an expected sequence of events by
//! [`kind`]; everything until `End` or until `Reconnected`; every event of
//! a period. Each wait takes its bound and panics with what it waited for.

use primus::Message;
use primus_client::{ConnectionEvent, Events, ReconnectState};
use serde_json::Value;
use std::fmt::Debug;
use std::time::Duration;

/// The next event, pings included; panics when none comes within `wait` or
/// the stream ended.
pub async fn next_event(events: &mut Events, wait: Duration) -> ConnectionEvent {
    tokio::time::timeout(wait, events.next())
        .await
        .expect("timed out waiting for an event")
        .expect("event stream ended")
}

/// The next event that is not a heartbeat ping; each event must come within
/// `wait`.
pub async fn next_event_skipping_pings(events: &mut Events, wait: Duration) -> ConnectionEvent {
    loop {
        match next_event(events, wait).await {
            ConnectionEvent::Ping(_) => continue,
            event => return event,
        }
    }
}

/// The next data message (other events skipped) within `wait`.
pub async fn next_message(events: &mut Events, wait: Duration) -> Message {
    tokio::time::timeout(wait, events.next_message())
        .await
        .expect("timed out waiting for data")
        .expect("the client ended before data arrived")
}

/// The next data message within `wait`, decoded as JSON.
pub async fn next_value(events: &mut Events, wait: Duration) -> Value {
    next_message(events, wait).await.decode().expect("decode JSON")
}

/// The next message that decodes as the typed event `E` (others skipped)
/// within `wait`.
pub async fn next_as<E: primus::Event>(events: &mut Events, wait: Duration) -> E {
    tokio::time::timeout(wait, events.next_as::<E>())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for a {}", std::any::type_name::<E>()))
        .expect("the client ended before the typed event arrived")
}

/// Skips typed events until one equal to `expected` arrives, within `wait`
/// in all.
pub async fn wait_for<E: primus::Event + PartialEq + Debug>(
    events: &mut Events,
    expected: &E,
    wait: Duration,
) {
    let found = tokio::time::timeout(wait, async {
        while let Some(event) = events.next_as::<E>().await {
            if &event == expected {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "the client never got {expected:?}");
}

/// A short name for an event, to compare sequences.
pub fn kind(event: &ConnectionEvent) -> &'static str {
    match event {
        ConnectionEvent::Open => "open",
        ConnectionEvent::Close => "close",
        ConnectionEvent::End => "end",
        ConnectionEvent::Offline => "offline",
        ConnectionEvent::Online => "online",
        ConnectionEvent::ReconnectScheduled(_) => "scheduled",
        ConnectionEvent::Reconnect(_) => "reconnect",
        ConnectionEvent::Reconnected(_) => "reconnected",
        ConnectionEvent::ReconnectTimeout(_) => "reconnect timeout",
        ConnectionEvent::ReconnectFailed(_) => "reconnect failed",
        ConnectionEvent::Error(_) => "error",
        ConnectionEvent::SessionResumed => "resumed",
        ConnectionEvent::SessionNotResumed => "not resumed",
        _ => "other",
    }
}

/// The next events (pings skipped) must be exactly `expected` (by [`kind`]),
/// in order, each within `wait`.
pub async fn expect_events(events: &mut Events, expected: &[&str], wait: Duration) {
    for want in expected {
        let event = next_event_skipping_pings(events, wait).await;
        assert_eq!(kind(&event), *want, "expected {expected:?}, got {event:?}");
    }
}

/// The next event (pings skipped) must be `Open`, within `wait`.
pub async fn expect_open(events: &mut Events, wait: Duration) {
    expect_events(events, &["open"], wait).await;
}

/// Waits for `End`, each event within `wait`; returns the kinds of the
/// `Open` and `Close` events seen before it (others are passed over).
pub async fn until_end(events: &mut Events, wait: Duration) -> Vec<&'static str> {
    let mut seen = Vec::new();
    loop {
        match next_event(events, wait).await {
            ConnectionEvent::End => return seen,
            event @ (ConnectionEvent::Open | ConnectionEvent::Close) => seen.push(kind(&event)),
            _ => {}
        }
    }
}

/// What [`until_reconnected`] saw on the way.
#[derive(Debug, Default)]
pub struct Reconnection {
    /// The states of the `Reconnect` events (one an attempt), in order.
    pub attempts: Vec<ReconnectState>,
    /// The states of the `ReconnectTimeout` events.
    pub timeouts: Vec<ReconnectState>,
}

/// Waits through the reconnect events (pings skipped, each event within
/// `wait`) until `Reconnected`. `Close`, `ReconnectScheduled`, `Reconnect`
/// and `ReconnectTimeout` may come on the way; any other event fails.
pub async fn until_reconnected(events: &mut Events, wait: Duration) -> Reconnection {
    let mut seen = Reconnection::default();
    loop {
        match next_event_skipping_pings(events, wait).await {
            ConnectionEvent::Reconnect(state) => seen.attempts.push(state),
            ConnectionEvent::ReconnectTimeout(state) => seen.timeouts.push(state),
            ConnectionEvent::Reconnected(_) => return seen,
            ConnectionEvent::ReconnectScheduled(_) | ConnectionEvent::Close => {}
            other => panic!("unexpected {other:?} while reconnecting"),
        }
    }
}

/// Every event (pings included) that comes within `period`; panics if the
/// stream ends during it.
pub async fn events_for(events: &mut Events, period: Duration) -> Vec<ConnectionEvent> {
    let deadline = tokio::time::Instant::now() + period;
    let mut seen = Vec::new();
    while let Ok(event) = tokio::time::timeout_at(deadline, events.next()).await {
        match event {
            Some(event) => seen.push(event),
            None => panic!("the event stream ended after {seen:?}"),
        }
    }
    seen
}
