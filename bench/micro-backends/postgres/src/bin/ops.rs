//! `postgres-ops`: the AllSource probe, built with allframe-core's `cqrs-postgres` feature.
fn main() {
    backend_allsource::ops_main("postgres");
}
