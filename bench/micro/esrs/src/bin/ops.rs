//! `esrs-ops`: esrs on PostgreSQL (MICRO_PG_URL) for callgrind and the fairness scenario.
fn main() {
    micro_domain::ops_main(micro_esrs::library());
}
