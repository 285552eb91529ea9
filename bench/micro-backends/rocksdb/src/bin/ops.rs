//! `rocksdb-ops`: the AllSource probe, built with allframe-core's `cqrs-rocksdb` feature.
fn main() {
    backend_allsource::ops_main("rocksdb");
}
