//! `sqlitees-ops`: append_sqlite for callgrind (two counts, set-up cancels) and the fairness scenario.
fn main() {
    micro_domain::ops_main(micro_sqlite_es::library());
}
