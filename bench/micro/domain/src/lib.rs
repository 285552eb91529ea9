//! The scenario every library implements, and the harness every library's binaries share.
//!
//! Orders: `Place` then `Cancel`; placing twice or cancelling what is not open is rejected. The read
//! model counts placed and cancelled orders and the value still open. The decision (`decide`) and the
//! fold (`evolve`) are written once here and called from each library's own traits, so what differs
//! between libraries is the framework around them, never the business logic.
//!
//! Each library crate exposes `OPS` and `timed(op, n)` (set up fresh state, untimed; perform n
//! operations; return their time), `scenario()` (the events and read model of `SCENARIO`, as JSON) and
//! `fill(n)` (an in-memory store holding n events, for bytes per event). `ops_main!` turns these into
//! the `*-ops` binary that callgrind counts; `micro_bench!` into the criterion bench.
use std::time::Duration;

/// The domain types, declared inside each library crate (its traits can only be implemented on local
/// types) and identical everywhere.
#[macro_export]
macro_rules! domain {
    () => {
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum OrderEvent {
            Placed { order_id: String, value: u64 },
            Cancelled { order_id: String, value: u64 },
        }

        #[derive(Clone, Debug)]
        pub enum OrderCommand {
            Place { order_id: String, value: u64 },
            Cancel { order_id: String },
        }

        impl OrderCommand {
            pub fn order_id(&self) -> &str {
                match self {
                    OrderCommand::Place { order_id, .. } | OrderCommand::Cancel { order_id } => order_id,
                }
            }
            pub fn from_step(s: &$crate::Step) -> Self {
                match s {
                    $crate::Step::Place(id, v) => OrderCommand::Place { order_id: id.to_string(), value: *v },
                    $crate::Step::Cancel(id) => OrderCommand::Cancel { order_id: id.to_string() },
                }
            }
        }

        /// One order's state, folded from its events.
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct OrderState {
            pub placed: bool,
            pub cancelled: bool,
            pub value: u64,
            pub events: u64,
        }

        /// The decision: command + state -> events, or the reason it is rejected.
        pub fn decide(state: &OrderState, cmd: OrderCommand) -> Result<Vec<OrderEvent>, String> {
            match cmd {
                OrderCommand::Place { order_id, value } => {
                    if state.placed {
                        return Err(format!("order {order_id} already placed"));
                    }
                    Ok(vec![OrderEvent::Placed { order_id, value }])
                }
                OrderCommand::Cancel { order_id } => {
                    if !state.placed || state.cancelled {
                        return Err(format!("order {order_id} is not open"));
                    }
                    Ok(vec![OrderEvent::Cancelled { order_id, value: state.value }])
                }
            }
        }

        pub fn evolve(state: &mut OrderState, event: &OrderEvent) {
            state.events += 1;
            match event {
                OrderEvent::Placed { value, .. } => {
                    state.placed = true;
                    state.value = *value;
                }
                OrderEvent::Cancelled { .. } => state.cancelled = true,
            }
        }

        /// The read model: what every library's query / projection maintains.
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct OrderTotals {
            pub placed: u64,
            pub cancelled: u64,
            pub open_value: u64,
        }

        impl OrderTotals {
            pub fn update(&mut self, event: &OrderEvent) {
                match event {
                    OrderEvent::Placed { value, .. } => {
                        self.placed += 1;
                        self.open_value += value;
                    }
                    OrderEvent::Cancelled { value, .. } => {
                        self.cancelled += 1;
                        self.open_value -= value;
                    }
                }
            }
        }

        /// A placed order's event, for filling stores.
        pub fn placed(order_id: &str, value: u64) -> OrderEvent {
            OrderEvent::Placed { order_id: order_id.to_string(), value }
        }
    };
}

/// A step of the fairness scenario.
pub enum Step {
    Place(&'static str, u64),
    Cancel(&'static str),
}

/// The fairness scenario: every library must produce the same events, rejections and read model.
pub const SCENARIO: &[Step] = &[
    Step::Place("o1", 10),
    Step::Place("o2", 20),
    Step::Cancel("o1"),
    Step::Place("o1", 99), // rejected: already placed
    Step::Cancel("o3"),    // rejected: not open
    Step::Place("o3", 5),
];
/// The aggregates of the scenario, in the order their event streams are reported.
pub const SCENARIO_ORDERS: &[&str] = &["o1", "o2", "o3"];

/// Events per aggregate when stores are filled (appended in one batch per aggregate).
pub const FILL_BATCH: u64 = 100;
/// Replays and projections over more events than this repeat over a store of this size: memory stays bounded,
/// and callgrind at two multiples of it builds the same store twice, so its set-up cancels out.
pub const REPLAY_CHUNK: u64 = 10_000;

/// n events replayed or projected, as runs over a store of at most REPLAY_CHUNK events: (store size, repeats).
pub fn chunks(n: u64) -> Vec<(u64, u64)> {
    if n <= REPLAY_CHUNK {
        return vec![(n, 1)];
    }
    let mut out = vec![(REPLAY_CHUNK, n / REPLAY_CHUNK)];
    if n % REPLAY_CHUNK > 0 {
        out.push((n % REPLAY_CHUNK, 1));
    }
    out
}

/// The serialization payloads: a small one and an order-sized one.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Small {
    pub id: u64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub sku: String,
    pub quantity: u32,
    pub unit_price_cents: u64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    pub id: u64,
    pub customer: String,
    pub email: String,
    pub lines: Vec<Line>,
    pub shipping_address: String,
    pub paid: bool,
}

/// The JSON text fed to every serializer: `json_small` or `json_order`.
pub fn payload(op: &str) -> String {
    match op {
        "json_small" => serde_json::to_string(&Small { id: 42, name: "Ada".into() }).unwrap(),
        "json_order" => serde_json::to_string(&Order {
            id: 42,
            customer: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            lines: (0..5)
                .map(|i| Line { sku: format!("SKU-{i:04}"), quantity: i + 1, unit_price_cents: 1999 + i as u64 })
                .collect(),
            shipping_address: "12 Analytical Engine Lane, London".into(),
            paid: true,
        })
        .unwrap(),
        other => panic!("no payload for {other}"),
    }
}

/// The route tables: `route_path_10` / `route_path_100` use paths /api/r0 .. /api/r{N-1}; requests cycle through them.
pub fn route_table(op: &str) -> usize {
    if op.ends_with("_100") { 100 } else { 10 }
}

/// A single-threaded runtime: deterministic scheduling, so instruction counts repeat.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// What a library crate gives the harness.
pub struct Library {
    pub name: &'static str,
    pub ops: &'static [&'static str],
    pub timed: fn(&str, u64) -> Duration,
    /// The scenario's outcome as JSON: {"events": {order: [...]}, "rejected": n, "read_model": {...}}.
    pub scenario: Option<fn() -> serde_json::Value>,
    /// An in-memory store holding n events (kept alive by the caller while its memory is read).
    pub fill: Option<fn(u64) -> Box<dyn std::any::Any>>,
    /// A projection registered over a store from `fill` and rebuilt from its events (it keeps the store).
    pub project: Option<fn(Box<dyn std::any::Any>) -> Box<dyn std::any::Any>>,
}

/// One phase line, then a pause before the work: the harness samples RSS from outside, once more when it
/// reads a line (labelled with the phase that line ends), so without the pause that sample would already
/// hold part of the next phase's memory.
fn phase(line: serde_json::Value) {
    println!("{line}");
    std::thread::sleep(std::time::Duration::from_millis(150));
}

/// `LIB-ops list | OP N | scenario | memory N | projection-memory N`: the binary callgrind counts, the
/// fairness test reads, and the memory probe runs (phase lines on stdout, then it waits on stdin so VmHWM
/// can be read). `projection-memory` fills the store, then rebuilds one projection over it.
pub fn ops_main(lib: Library) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: {}-ops list | OP N | scenario | memory N | projection-memory N; OP one of {:?}", lib.name, lib.ops);
        std::process::exit(2)
    };
    match args.first().map(String::as_str) {
        Some("list") => println!("{}", serde_json::json!(lib.ops)),
        Some("scenario") => match lib.scenario {
            Some(f) => println!("{}", f()),
            None => usage(),
        },
        Some(cmd @ ("memory" | "projection-memory")) => {
            let n = args.get(1).and_then(|a| a.parse::<u64>().ok()).unwrap_or_else(|| usage());
            let Some(fill) = lib.fill else { usage() };
            let project = if cmd == "projection-memory" { Some(lib.project.unwrap_or_else(|| usage())) } else { None };
            phase(serde_json::json!({"phase": "ready", "payload_json_bytes": 0, "payload_mem_bytes": 0}));
            phase(serde_json::json!({"phase": "appending"}));
            let t = std::time::Instant::now();
            let mut held = fill(n);
            phase(serde_json::json!({"phase": "appended", "seconds": t.elapsed().as_secs_f64()}));
            if let Some(project) = project {
                phase(serde_json::json!({"phase": "projecting"}));
                let t = std::time::Instant::now();
                held = project(held);
                phase(serde_json::json!({"phase": "projected", "seconds": t.elapsed().as_secs_f64()}));
            }
            println!("{}", serde_json::json!({"phase": "done", "events": n}));
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line); // the harness reads VmHWM now, then closes stdin
            drop(held);
        }
        Some(op) if lib.ops.contains(&op) => {
            let n: u64 = args.get(1).and_then(|a| a.parse().ok()).filter(|n| *n > 0).unwrap_or_else(|| usage());
            let elapsed = (lib.timed)(op, n);
            println!("{}", serde_json::json!({"op": op, "n": n, "ns": elapsed.as_nanos() as u64}));
        }
        _ => usage(),
    }
}

/// The criterion bench of a library: group `micro`, one function per operation, one element per iteration.
pub fn bench(c: &mut criterion::Criterion, lib: &Library) {
    let mut group = c.benchmark_group("micro");
    group.throughput(criterion::Throughput::Elements(1));
    for &op in lib.ops {
        group.bench_function(op, |b| b.iter_custom(|iters| (lib.timed)(op, iters)));
    }
    group.finish();
}

pub use criterion;
