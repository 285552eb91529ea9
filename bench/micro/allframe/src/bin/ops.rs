//! `allframe-ops`: the operations for callgrind (two counts, set-up cancels), the fairness scenario, the memory probe.
fn main() {
    micro_domain::ops_main(micro_allframe::library());
}
