//! Criterion timings of this library's operations; the harness picks one with criterion's filter.
use micro_domain::criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    micro_domain::bench(c, &micro_esrs::library());
}

criterion_group!(benches, bench);
criterion_main!(benches);
