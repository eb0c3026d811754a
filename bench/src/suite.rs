//! A suite run: the chosen scenarios, round after round, servers
//! interleaved within each round, collected into [`Results`] with a
//! progress line per run. Above [`scenarios`] and [`transport_scenarios`],
//! which it calls.

use crate::scenarios::{self, load_label, size_label, Cell, Config, EchoRun, Load, Results, Scenario};
use crate::servers::{Environment, ServerKind};
use crate::transport_scenarios;

fn push<K: PartialEq + Copy, R>(
    cells: &mut Vec<Cell<K, R>>,
    key: K,
    server: ServerKind,
    run: Result<R, String>,
) {
    match cells.iter_mut().find(|c| c.key == key && c.server == server) {
        Some(cell) => cell.runs.push(run),
        None => cells.push(Cell {
            key,
            server,
            runs: vec![run],
        }),
    }
}

/// Runs the chosen scenarios.
pub async fn run(config: &Config, env: &Environment, scenarios: &[Scenario]) -> Results {
    let mut results = Results::default();
    for round in 1..=config.rounds {
        if scenarios.contains(&Scenario::Echo) {
            for case in &config.echo_cases {
                for load in [Load::Peak, Load::Rate(case.rate)] {
                    for &server in &config.servers {
                        let label = format!(
                            "echo {} {} round {round}",
                            size_label(case.size),
                            load_label(load)
                        );
                        let run = scenarios::echo(config, env, server, case.size, load).await;
                        progress(&label, server, &run, EchoRun::describe);
                        push(&mut results.echo, (case.size, load), server, run);
                    }
                }
            }
        }
        if scenarios.contains(&Scenario::Broadcast) {
            for &conns in &config.broadcast_conns {
                for load in [Load::Peak, Load::Rate(config.broadcast_rate)] {
                    for &server in &config.servers {
                        let label = format!("broadcast {conns} conns {} round {round}", load_label(load));
                        let run = scenarios::broadcast(config, env, server, conns, load).await;
                        progress(&label, server, &run, |r| {
                            format!(
                                "{:.0} deliveries/s, {:.3} ms CPU/1k, {} broadcasts, encodes/broadcast {:?}",
                                r.throughput(),
                                r.cpu_per_1k(),
                                r.broadcasts,
                                r.encodes_per_broadcast
                            )
                        });
                        push(&mut results.broadcast, (conns, load), server, run);
                    }
                }
            }
        }
        if scenarios.contains(&Scenario::Setup) {
            for &server in &config.servers {
                let run = scenarios::setup(config, env, server).await;
                progress(&format!("setup round {round}"), server, &run, |r| {
                    format!("{:.0} conns/s, {:.1} ms CPU/1k conns", r.rate(), r.cpu_per_1k())
                });
                push(&mut results.setup, config.setup_conns, server, run);
            }
        }
        if scenarios.contains(&Scenario::Transports) {
            for &transport in &config.transports {
                for server in transport_scenarios::servers(config) {
                    let label = format!("{} echo 32 B peak round {round}", transport.label());
                    let run = transport_scenarios::echo(config, env, server, transport).await;
                    progress(&label, server, &run, EchoRun::describe);
                    push(&mut results.transport_echo, transport, server, run);
                }
                for server in transport_scenarios::servers(config) {
                    let label = format!(
                        "{} broadcast {} conns round {round}",
                        transport.label(),
                        config.transport_broadcast_conns
                    );
                    let run = transport_scenarios::broadcast(config, env, server, transport).await;
                    progress(&label, server, &run, |r| {
                        format!(
                            "{:.0} deliveries/s, {:.3} ms CPU/1k, {} broadcasts, encodes/broadcast {:?}, framings/broadcast {:?}",
                            r.throughput(),
                            r.cpu_per_1k(),
                            r.broadcasts,
                            r.encodes_per_broadcast,
                            r.framings_per_broadcast
                        )
                    });
                    push(&mut results.transport_broadcast, transport, server, run);
                }
            }
        }
    }
    // Memory is not noisy the way CPU is: one round.
    if scenarios.contains(&Scenario::Idle) {
        for &server in &config.servers {
            let run = scenarios::idle(config, env, server).await;
            progress("idle", server, &run, |r| {
                format!("{:.1} KiB per connection", r.per_conn_kib())
            });
            push(&mut results.idle, config.idle_conns, server, run);
        }
    }
    results
}

fn progress<R>(label: &str, server: ServerKind, run: &Result<R, String>, describe: impl Fn(&R) -> String) {
    match run {
        Ok(run) => eprintln!("[{label}] {}: {}", server.label(), describe(run)),
        Err(error) => eprintln!("[{label}] {}: FAILED: {error}", server.label()),
    }
}
