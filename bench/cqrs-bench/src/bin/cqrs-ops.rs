//! `cqrs-ops OP N`: perform N operations of OP once, for callgrind to count instructions.
//! The harness runs it at two N and divides the difference, so set-up cost cancels out.
fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    if !cqrs_bench::OPS.contains(&op.as_str()) || n == 0 {
        eprintln!("usage: cqrs-ops OP N (N > 0); OP one of {:?}", cqrs_bench::OPS);
        std::process::exit(2);
    }
    let elapsed = cqrs_bench::runtime().block_on(cqrs_bench::timed(&op, n));
    println!("{{\"op\":\"{op}\",\"n\":{n},\"ns\":{}}}", elapsed.as_nanos());
}
