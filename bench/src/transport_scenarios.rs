//! The transport scenarios: echo and broadcast over engine.io (websocket
//! and polling) and SockJS (websocket and xhr-streaming), primus-rs against
//! Node Primus running the same transformer, in the same run.
//!
//! | scenario | load | figures |
//! |---|---|---|
//! | transport echo | `transport_echo_conns` sessions, `echo_window` 32 B requests in flight each (closed loop) | messages/s, p50/p99 round trip, server CPU ms per 1,000 messages |
//! | transport broadcast | `transport_broadcast_conns` sessions; one asks for broadcasts, at most `broadcast_window` incomplete | deliveries/s, server CPU ms per 1,000 deliveries, parser encodes and transport framings per broadcast |
//!
//! Each session is driven by two tasks: the receiver (which counts, checks
//! and decides what to send next) and a sender that writes whatever queued
//! up while its last write or `POST` was in flight, in one frame or one
//! request, as the Primus clients do. The servers are the same processes as
//! in the other scenarios, started with `--transformer`.

use crate::loadgen::{self, sequence_of, BroadcastDialect, BroadcastPlan, Gate, Outcome};
use crate::scenarios::{
    broadcast_window, check, echo_payload, measure, merged_samples, BroadcastRun, Config, EchoRun,
};
use crate::servers::{Environment, ServerKind, ServerProcess, StartOptions};
use crate::transport::{self, Outgoing, Received, Transport, TransportReceiver, TransportSender};
use crate::wire::WireError;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The JSON-encoded prefix of a Primus heartbeat ping.
const PING_PREFIX: &[u8] = b"\"primus::ping::";

/// How long one write or `POST` may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// The servers that speak the transports: primus-rs and Node Primus.
pub fn servers(config: &Config) -> Vec<ServerKind> {
    config
        .servers
        .iter()
        .copied()
        .filter(|s| s.is_primus_rs() || *s == ServerKind::NodePrimus)
        .collect()
}

/// One opened session.
type Session = (TransportSender, TransportReceiver);

/// Opens `count` sessions, `concurrency` at a time, before `deadline`; a
/// session with a probe sends it and waits for the echo.
async fn open_sessions(
    addr: SocketAddr,
    transport: Transport,
    count: usize,
    concurrency: usize,
    spec: impl Fn(usize) -> (String, Option<Arc<[u8]>>) + Send + Sync + 'static,
    deadline: Instant,
) -> Result<Vec<Session>, String> {
    let opened = loadgen::open_concurrently(count, concurrency, deadline, move |index, timeout| {
        let (query, probe) = spec(index);
        async move {
            let (mut sender, mut receiver) = transport::open(addr, transport, &query, timeout).await?;
            if let Some(probe) = probe {
                sender.send(&[Outgoing::Message(probe)]).await?;
                let mut items = Vec::new();
                while !items.iter().any(|i| matches!(i, Received::Message(_))) {
                    receiver.receive(&mut items).await?;
                }
            }
            Ok((sender, receiver))
        }
    })
    .await?;
    Ok(opened.0)
}

/// Writes what the driver queued, batching whatever queued up while the
/// last write was in flight; ends when the driver drops its side.
async fn run_sender(
    mut sender: TransportSender,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) -> Result<(), WireError> {
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while let Ok(more) = queue.try_recv() {
            batch.push(more);
        }
        tokio::time::timeout(SEND_TIMEOUT, sender.send(&batch))
            .await
            .map_err(|_| WireError::Timeout)?
            .map_err(|error| WireError::Protocol(format!("sending failed: {error}")))?;
        batch.clear();
    }
    Ok(())
}

/// The Primus pong for a heartbeat ping, if `message` is one.
fn pong_for(message: &[u8]) -> Option<Outgoing> {
    message.starts_with(PING_PREFIX).then(|| {
        let mut pong = message.to_vec();
        pong[9..13].copy_from_slice(b"pong");
        Outgoing::Message(pong.into())
    })
}

/// A session's driver loop: the receiver and the sender run on tasks of
/// their own (a receive is never cancelled half-way: a poll abandoned after
/// its request was written would overlap the next one); `on_message`
/// handles each data message and may queue sends; `on_tick` (every
/// millisecond when given) may queue sends too.
async fn drive(
    session: Session,
    gate: Gate,
    outcome: &mut Outcome,
    mut on_start: impl FnMut(&mpsc::UnboundedSender<Outgoing>),
    mut on_message: impl FnMut(&[u8], &mut Outcome, &mpsc::UnboundedSender<Outgoing>) -> Result<(), WireError>,
    mut on_tick: Option<impl FnMut(&mut Outcome, &mpsc::UnboundedSender<Outgoing>)>,
) -> Result<(), WireError> {
    let (sender, mut receiver) = session;
    let (queue, queued) = mpsc::unbounded_channel();
    let mut sending = tokio::spawn(run_sender(sender, queued));
    let (arrived, mut arrivals) = mpsc::channel::<Result<Vec<Received>, WireError>>(64);
    let receiving = tokio::spawn(async move {
        loop {
            let mut items = Vec::new();
            let result = receiver.receive(&mut items).await.map(|()| items);
            let failed = result.is_err();
            if arrived.send(result).await.is_err() || failed {
                break;
            }
        }
    });
    let result = async {
        on_start(&queue);
        let mut stop = gate.stop_signal();
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let items = tokio::select! {
                biased;
                () = loadgen::stopped(&mut stop) => return Ok(()),
                sent = &mut sending => {
                    return match sent {
                        Ok(Ok(())) => Err(WireError::Closed),
                        Ok(Err(error)) => Err(error),
                        Err(error) => Err(WireError::Protocol(format!("sender failed: {error}"))),
                    };
                }
                items = arrivals.recv() => items.unwrap_or(Err(WireError::Closed))?,
                _ = tick.tick(), if on_tick.is_some() => {
                    if let Some(on_tick) = on_tick.as_mut() {
                        on_tick(outcome, &queue);
                    }
                    continue;
                }
            };
            if gate.measuring() && items.iter().any(|item| matches!(item, Received::Message(_))) {
                outcome.arrivals += 1;
            }
            for item in items {
                match item {
                    Received::EngineIoPing => {
                        let _ = queue.send(Outgoing::EngineIoPong);
                    }
                    Received::Message(message) => match pong_for(&message) {
                        Some(pong) => {
                            let _ = queue.send(pong);
                        }
                        None => on_message(&message, outcome, &queue)?,
                    },
                }
            }
        }
    }
    .await;
    sending.abort();
    receiving.abort();
    result
}

/// Drives one session with a closed-loop echo load until the gate stops.
async fn echo_session(session: Session, request: Arc<[u8]>, window: usize, gate: Gate) -> Outcome {
    let mut outcome = Outcome::default();
    // Shared by the start and message handlers (uncontended: one task).
    let in_flight: Mutex<VecDeque<Instant>> = Mutex::default();
    let measuring_gate = gate.clone();
    let result = drive(
        session,
        gate,
        &mut outcome,
        |queue| {
            let now = Instant::now();
            if let Ok(mut in_flight) = in_flight.lock() {
                for _ in 0..window {
                    let _ = queue.send(Outgoing::Message(request.clone()));
                    in_flight.push_back(now);
                }
            }
        },
        |message, outcome, queue| {
            if message != &request[..] {
                outcome.mismatches += 1;
            }
            let now = Instant::now();
            let mut in_flight = in_flight
                .lock()
                .map_err(|_| WireError::Protocol("a driver panicked".into()))?;
            let sent = in_flight.pop_front().unwrap_or(now);
            if measuring_gate.measuring() {
                outcome.samples.record(now.duration_since(sent));
                outcome.count += 1;
            }
            let _ = queue.send(Outgoing::Message(request.clone()));
            in_flight.push_back(now);
            Ok(())
        },
        None::<fn(&mut Outcome, &mpsc::UnboundedSender<Outgoing>)>,
    )
    .await;
    if let Err(error) = result {
        outcome.error = Some(error.to_string());
    }
    outcome
}

/// Drives one broadcast session (the trigger sends the broadcasts, window
/// permitting) until the gate stops.
async fn broadcast_session(session: Session, plan: Arc<BroadcastPlan>, gate: Gate, trigger: bool) -> Outcome {
    let mut outcome = Outcome::default();
    let next_seq = std::cell::Cell::new(0u64);
    let (measuring_gate, tick_gate) = (gate.clone(), gate.clone());
    let tick_plan = plan.clone();
    let on_tick = move |outcome: &mut Outcome, queue: &mpsc::UnboundedSender<Outgoing>| {
        let now = Instant::now();
        let mut seq = next_seq.get();
        while tick_plan.may_send(seq) && tick_plan.sending() {
            tick_plan.slot(seq).store(0, Ordering::Release);
            tick_plan.mark_sent(seq, now);
            let payload = loadgen::broadcast_payload(seq, tick_plan.dialect, tick_plan.data_len);
            let _ = queue.send(Outgoing::Message(payload.into()));
            seq += 1;
            tick_plan.set_sent(seq);
            if tick_gate.measuring() {
                outcome.sent += 1;
            }
        }
        next_seq.set(seq);
    };
    let result = drive(
        session,
        gate,
        &mut outcome,
        |_| {},
        |message, outcome, _| {
            let seq = sequence_of(message)
                .ok_or_else(|| WireError::Protocol("broadcast without a sequence number".into()))?;
            if measuring_gate.measuring() {
                outcome.count += 1;
                outcome.samples.record(plan.since_sent(seq, Instant::now()));
            }
            plan.slot(seq).fetch_add(1, Ordering::AcqRel);
            Ok(())
        },
        trigger.then_some(on_tick),
    )
    .await;
    if let Err(error) = result {
        let role = if trigger { "the trigger" } else { "a receiver" };
        outcome.error = Some(format!("{role}: {error}"));
    }
    outcome
}

/// Messages per arrival of data, over every session of a run.
fn per_arrival(messages: u64, outcomes: &[Outcome]) -> Option<f64> {
    let arrivals: u64 = outcomes.iter().map(|o| o.arrivals).sum();
    (arrivals > 0).then(|| messages as f64 / arrivals as f64)
}

fn start_options(transport: Transport, count: bool) -> StartOptions {
    StartOptions {
        compression: false,
        count_encodes: count,
        transformer: Some(transport.transformer()),
        redis: None,
    }
}

async fn start(
    env: &Environment,
    server: ServerKind,
    transport: Transport,
    count: bool,
    run: &str,
) -> Result<ServerProcess, String> {
    let log = format!("{}-{run}-{}", server.id(), transport.label().replace(' ', "-"));
    ServerProcess::start(server, env, start_options(transport, count), &log).await
}

/// One echo run (32 B requests, closed loop) over `transport` on a fresh server.
pub async fn echo(
    config: &Config,
    env: &Environment,
    server: ServerKind,
    transport: Transport,
) -> Result<EchoRun, String> {
    let process = start(env, server, transport, false, "echo").await?;
    let request: Arc<[u8]> = echo_payload(server, 32).into();
    let probe = request.clone();
    let deadline = Instant::now() + Duration::from_secs(90);
    let sessions = open_sessions(
        process.addr(),
        transport,
        config.transport_echo_conns,
        config.open_concurrency.min(32),
        move |_| (String::new(), Some(probe.clone())),
        deadline,
    )
    .await?;
    let (control, gate) = loadgen::gate();
    let handles = sessions
        .into_iter()
        .map(|session| {
            tokio::spawn(echo_session(
                session,
                request.clone(),
                config.echo_window,
                gate.clone(),
            ))
        })
        .collect();
    let (usage, mut outcomes) = measure(config, &process, &control, handles).await?;
    process.stop().await;
    check(&outcomes)?;
    let messages: u64 = outcomes.iter().map(|o| o.count).sum();
    Ok(EchoRun {
        messages,
        skipped: 0,
        latency: merged_samples(&mut outcomes).summary(),
        usage,
        messages_per_arrival: per_arrival(messages, &outcomes),
    })
}

/// One broadcast run (peak, window-limited) over `transport` on a fresh server.
pub async fn broadcast(
    config: &Config,
    env: &Environment,
    server: ServerKind,
    transport: Transport,
) -> Result<BroadcastRun, String> {
    let conns = config.transport_broadcast_conns;
    let process = start(env, server, transport, true, "broadcast").await?;
    let probe: Arc<[u8]> = echo_payload(server, 32).into();
    let typed = server.is_typed();
    let deadline = Instant::now() + Duration::from_secs(180);
    let sessions = open_sessions(
        process.addr(),
        transport,
        conns,
        config.open_concurrency.min(32),
        move |index| {
            // Session 0 triggers the broadcasts; with typed events it sends
            // `broadcast` events instead of using the query.
            let query = if index == 0 && !typed {
                "bench=trigger".to_owned()
            } else {
                String::new()
            };
            (query, (index != 0 || typed).then(|| probe.clone()))
        },
        deadline,
    )
    .await?;
    let plan = Arc::new(BroadcastPlan::new(
        conns as u64,
        config.broadcast_window,
        BroadcastDialect::primus(typed),
        config.broadcast_data_len,
        None,
    ));
    let window = broadcast_window(config, vec![process], &plan, |gate| {
        sessions
            .into_iter()
            .enumerate()
            .map(|(index, session)| {
                tokio::spawn(broadcast_session(session, plan.clone(), gate.clone(), index == 0))
            })
            .collect()
    })
    .await?;
    let sent = plan.sent();
    let encodes_per_broadcast = window.per_broadcast(sent, |stats| stats.encodes);
    let framings_per_broadcast = window.per_broadcast(sent, |stats| stats.framed);
    let usage = window.usage();
    let mut outcomes = window.outcomes;
    let deliveries: u64 = outcomes.iter().map(|o| o.count).sum();
    Ok(BroadcastRun {
        messages_per_arrival: per_arrival(deliveries, &outcomes),
        deliveries,
        broadcasts: outcomes.iter().map(|o| o.sent).sum(),
        latency: merged_samples(&mut outcomes).summary(),
        usage,
        encodes_per_broadcast,
        framings_per_broadcast,
    })
}
