//! `weft-bench events`: latency of live execution events from commit to WebSocket frame,
//! with 1 and with 1,000 subscribers (the README's numbers). Starts Weft in-process on a
//! temporary SQLite database and subscribes over real `graphql-transport-ws` connections.
//!
//! Latency is measured from the moment the engine's commit returned (the event's
//! `committed` instant, read from the bus in-process) to the moment the client task read
//! the frame off its socket. Clients run in the same process and on the same cores as the
//! server, so their own work is included: the numbers are an upper bound.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use weft::graphql::ids::{Kind, encode};
use weft::{Application, Config};

pub struct Options {
    /// Workflow runs measured per subscriber count.
    pub runs: usize,
    /// Subscriber counts to measure, in order.
    pub subscribers: Vec<usize>,
}

/// What a monitoring UI's timeline asks for.
const SUBSCRIPTION: &str = "subscription($w: ID) { executionEvents(workflowId: $w) {
    executionId sequence kind nodeId nodeName attempt status durationMs at } }";

/// A client's read buffer: tungstenite zero-fills all of it on every read, so the 128 KiB
/// default would make the clients, which share the machine with the server, slow.
const CLIENT_READ_BUFFER: usize = 16 * 1024;

/// (execution global id, sequence) → when its commit returned.
type Commits = Arc<std::sync::Mutex<HashMap<(String, i64), Instant>>>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// trigger → three transforms: 10 events per run.
fn workflow() -> Value {
    let mut nodes = vec![
        json!({ "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } }),
    ];
    let mut edges = Vec::new();
    let mut previous = "start".to_owned();
    for i in 0..3 {
        let id = format!("n{i}");
        nodes.push(json!({ "id": id, "type": "data-transform", "name": id, "config": { "expr": "{ x: (.x + 1) }" },
            "inputs": { "data": { "ref": format!("{previous}.output") } } }));
        edges.push(json!({ "source": previous, "target": id }));
        previous = id;
    }
    json!({ "version": 1, "nodes": nodes, "edges": edges })
}

/// One subscriber: its frames with their arrival times, until `expected` events came.
async fn subscriber(
    url: String,
    token: String,
    workflow: String,
    expected: usize,
    completes: Arc<AtomicUsize>,
) -> anyhow::Result<Vec<(Instant, String)>> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false)
            .await
            .context("opening a WebSocket (raise `ulimit -n` for many subscribers)")?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await?;
    match socket.next().await {
        Some(Ok(Message::Text(text))) if text.contains("connection_ack") => {}
        other => anyhow::bail!("expected connection_ack, got {other:?}"),
    }
    let subscribe = json!({ "id": "1", "type": "subscribe",
        "payload": { "query": SUBSCRIPTION, "variables": { "w": workflow } } });
    socket.send(Message::text(subscribe.to_string())).await?;
    let mut frames = Vec::with_capacity(expected);
    while frames.len() < expected {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let at = Instant::now();
                if text.contains("EXECUTION_COMPLETE") {
                    completes.fetch_add(1, Ordering::Release);
                }
                frames.push((at, text.as_str().to_owned()));
            }
            Some(Ok(_)) => {}
            other => anyhow::bail!("the subscription ended early: {other:?}"),
        }
    }
    Ok(frames)
}

struct Measured {
    latencies: Vec<Duration>,
    frames_per_sec: f64,
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    engine: &domain::engine::Engine,
    admin: &domain::auth::Principal,
    ws_url: &str,
    token: &str,
    workflow_id: &str,
    subscribers: usize,
    runs: usize,
    commits: &Commits,
) -> anyhow::Result<Measured> {
    const EVENTS_PER_RUN: usize = 10;
    const WARM_UP_RUNS: usize = 2;
    let total_runs = WARM_UP_RUNS + runs;
    // Only the commit tap listens between rows; the previous row's connections may take a
    // moment to be noticed closed.
    let settle = Instant::now() + Duration::from_secs(10);
    while engine.events().subscriber_count() > 1 && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = engine.events().subscriber_count();
    let completes = Arc::new(AtomicUsize::new(0));
    let global_workflow = encode(Kind::Workflow, workflow_id).0;
    let clients: Vec<_> = (0..subscribers)
        .map(|_| {
            tokio::spawn(subscriber(
                ws_url.to_owned(),
                token.to_owned(),
                global_workflow.clone(),
                total_runs * EVENTS_PER_RUN,
                completes.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while engine.events().subscriber_count() < before + subscribers {
        anyhow::ensure!(
            Instant::now() < deadline,
            "subscribers did not connect within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut measured_from = 0;
    let mut executions = Vec::new();
    let started = Instant::now();
    for run in 0..total_runs {
        if run == WARM_UP_RUNS {
            measured_from = executions.len();
        }
        let done = engine
            .execute(admin, workflow_id, json!({ "x": 0 }), true)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(done.status == "succeeded", "run failed: {:?}", done.error);
        executions.push(encode(Kind::Execution, &done.id).0);
        // One run at a time: the next starts when every subscriber has this one's end, so
        // each run's burst is measured on its own rather than queued behind the last.
        let target = subscribers * (run + 1);
        let deadline = Instant::now() + Duration::from_secs(60);
        while completes.load(Ordering::Acquire) < target {
            anyhow::ensure!(Instant::now() < deadline, "subscribers stopped receiving");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    let elapsed = started.elapsed();
    let measured: std::collections::HashSet<_> = executions[measured_from..].iter().collect();
    let commits = commits.lock().expect("commit times").clone();
    let mut latencies = Vec::with_capacity(subscribers * runs * EVENTS_PER_RUN);
    for client in clients {
        for (arrived, text) in client.await?? {
            let frame: Value = serde_json::from_str(&text)?;
            let event = &frame["payload"]["data"]["executionEvents"];
            let execution = event["executionId"].as_str().context("executionId")?;
            if !measured.contains(&execution.to_owned()) {
                continue;
            }
            let sequence = event["sequence"].as_i64().context("sequence")?;
            let committed = commits
                .get(&(execution.to_owned(), sequence))
                .context("an event the bus never carried")?;
            latencies.push(arrived.saturating_duration_since(*committed));
        }
    }
    latencies.sort();
    Ok(Measured {
        frames_per_sec: (subscribers * total_runs * EVENTS_PER_RUN) as f64 / elapsed.as_secs_f64(),
        latencies,
    })
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let token = domain::auth::generate_token();
    let app = Application::build(Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        admin_token: Some(token.clone().into()),
        ..Config::default()
    })
    .await?;
    let db = app.db().clone();
    let admin = domain::auth::authenticate(&db, &token)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let workflow = domain::store::workflows::create(
        &db,
        &admin,
        domain::store::workflows::WorkflowDraft {
            name: "bench-events".into(),
            description: String::new(),
            document: workflow(),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ws_url = format!("ws://{}/graphql/ws", app.local_addr());

    // The commit instant of every event, straight from the bus.
    let commits: Commits = Default::default();
    let mut tap = app.engine().events().subscribe();
    let recorded = commits.clone();
    tokio::spawn(async move {
        while let Ok(event) = tap.recv().await {
            if let Some(committed) = event.committed {
                recorded.lock().expect("commit times").insert(
                    (
                        encode(Kind::Execution, &event.execution_id).0,
                        event.sequence,
                    ),
                    committed,
                );
            }
        }
    });

    let engine = app.engine().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let bare_url = bare::serve(engine.clone()).await?;

    println!(
        "weft-bench events on SQLite: {} measured runs of a 4-node workflow (10 events each) per row, one run at a time",
        options.runs
    );
    println!();
    println!("| subscribers | path | events measured | p50 | p99 | max | frames/s |");
    println!("|---|---|---|---|---|---|---|");
    for &n in &options.subscribers {
        for (path, url) in [
            ("GraphQL subscription", &ws_url),
            ("bare WebSocket (floor)", &bare_url),
        ] {
            let m = measure(
                &engine,
                &admin,
                url,
                &token,
                &workflow.id,
                n,
                options.runs,
                &commits,
            )
            .await?;
            println!(
                "| {n} | {path} | {} | {} | {} | {} | {:.0} |",
                m.latencies.len(),
                ms(percentile(&m.latencies, 50.0)),
                ms(percentile(&m.latencies, 99.0)),
                ms(m.latencies.last().copied().unwrap_or_default()),
                m.frames_per_sec
            );
        }
    }
    println!();
    println!("Target (DESIGN.md): p99 ≤ 10 ms from commit to frame with 1,000 subscribers.");
    let _ = stop.send(());
    let _ = serving.await;
    Ok(())
}

/// The floor: the same bus, clients and measurement, but a bare WebSocket server that
/// writes each event as a ready-made JSON frame, with no GraphQL, no access checks and no
/// catch-up. What it measures is this machine's loopback networking and the clients.
mod bare {
    use std::sync::Arc;

    use domain::engine::{Engine, ExecutionEvent};
    use futures::{FutureExt, SinkExt, StreamExt};
    use serde_json::json;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::broadcast::{self, error::RecvError};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

    use weft::graphql::ids::{Kind, encode};

    pub async fn serve(engine: Engine) -> anyhow::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("ws://{}/", listener.local_addr()?);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let events = engine.events().subscribe();
                tokio::spawn(async move {
                    if let Err(error) = connection(tcp, events).await {
                        tracing::debug!(%error, "bare connection ended");
                    }
                });
            }
        });
        Ok(url)
    }

    fn frame(event: &ExecutionEvent) -> Message {
        let field = |name: &str| event.payload.get(name).cloned();
        let body = json!({ "type": "next", "id": "1", "payload": { "data": { "executionEvents": {
            "executionId": encode(Kind::Execution, &event.execution_id).0,
            "sequence": event.sequence,
            "kind": event.kind.as_str(),
            "nodeId": field("nodeId"),
            "nodeName": field("nodeName"),
            "attempt": field("attempt"),
            "status": field("status"),
            "durationMs": field("durationMs"),
            "at": event.at.to_rfc3339(),
        } } } });
        Message::text(body.to_string())
    }

    /// Answers with the subprotocol the clients ask for.
    #[allow(clippy::result_large_err)] // the signature tungstenite's callback requires
    fn echo_protocol(_: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
        response.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        Ok(response)
    }

    async fn connection(
        tcp: TcpStream,
        mut events: broadcast::Receiver<Arc<ExecutionEvent>>,
    ) -> anyhow::Result<()> {
        let config = WebSocketConfig::default().read_buffer_size(super::CLIENT_READ_BUFFER);
        let socket =
            tokio_tungstenite::accept_hdr_async_with_config(tcp, echo_protocol, Some(config))
                .await?;
        let (mut sink, mut stream) = socket.split();
        // connection_init, then subscribe: the content does not matter here.
        stream.next().await;
        sink.send(Message::text(r#"{"type":"connection_ack"}"#))
            .await?;
        stream.next().await;
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = stream.next() => return Ok(()),
            };
            let event = match event {
                Ok(event) => event,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return Ok(()),
            };
            sink.feed(frame(&event)).await?;
            while let Some(Ok(event)) = events.recv().now_or_never() {
                sink.feed(frame(&event)).await?;
            }
            sink.flush().await?;
        }
    }
}
