//! Criterion timings of AllFrame's CQRS operations; one element per operation, so criterion's
//! throughput is operations per second. The harness picks operations with criterion's filter.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cqrs_bench::{runtime, timed, OPS};

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cqrs");
    group.throughput(Throughput::Elements(1));
    for &op in OPS {
        group.bench_function(op, |b| b.to_async(&rt).iter_custom(|iters| timed(op, iters)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
