//! Interleaved, paired timing shared by the bench files (included with `#[path]`; a file in
//! a subdirectory of `benches/benches/` is not a bench target of its own).

/// Interleaved, paired timing, for a loaded machine where sequential criterion runs drift
/// (run with `MOTE_BENCH_PAIRED=1`). Each round times `iters` calls of every function in turn
/// (the order rotates between rounds); per round, each function's time is divided by the
/// first one's. Prints the median time of each and the median of the per-round ratios.
pub(crate) fn paired(
    label: &str,
    rounds: usize,
    iters: usize,
    fs: &mut [(&str, &mut dyn FnMut())],
) {
    let n = fs.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
    for r in 0..rounds {
        for k in 0..n {
            let i = (k + r) % n;
            let f = &mut fs[i].1;
            let t = std::time::Instant::now();
            for _ in 0..iters {
                f();
            }
            times[i].push(t.elapsed().as_nanos() as f64 / iters as f64);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let first = median(times[0].clone());
    println!("paired {label}: {} {first:.0} ns", fs[0].0);
    for i in 1..n {
        let ratios: Vec<f64> = times[0].iter().zip(&times[i]).map(|(a, b)| a / b).collect();
        println!(
            "paired {label}:   {} {:.0} ns -> ratio {} / {} = {:.2}",
            fs[i].0,
            median(times[i].clone()),
            fs[0].0,
            fs[i].0,
            median(ratios)
        );
    }
}

pub(crate) fn paired_enabled() -> bool {
    std::env::var_os("MOTE_BENCH_PAIRED").is_some()
}
