//! `allsource-ops`: append (memory, Parquet) for callgrind and the clock, and the memory probe.
fn main() {
    backend_allsource::ops_main("allsource");
}
