//! mote-access: one authorization decision on a client with 1,000 Object Instances, 1,000 /2
//! instances and 10 servers (target: ≤ 100 ns per decision, recorded in docs/performance.md).
//!
//! No anchor crate enforces LwM2M ACLs (Leshan and Wakaama do not; Anjay keeps /2 instances
//! in a list it scans), so the group puts a linear scan over the /2 instances beside the
//! indexed decision, on the same state and request.

#![allow(missing_docs, clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use mote_access::{
    AccessControl, AccessControlInstance, AccessRights, DefinitionTable, Operation, Owner,
    Requester, ResourceDefinition, ResourceOperations, ShortServerId, Target,
};

const OBJECTS: u16 = 10;
const INSTANCES_PER_OBJECT: u16 = 100;
const SERVERS: u16 = 10;

fn definitions() -> DefinitionTable {
    let mut defs = DefinitionTable::new();
    for o in 0..OBJECTS {
        let object = 3300 + o;
        defs.insert_object(object, true);
        for (id, ops) in [(5700, "R"), (5701, "RW"), (5605, "E")] {
            defs.insert_resource(
                object,
                ResourceDefinition {
                    id,
                    operations: ResourceOperations::parse(ops).unwrap(),
                    multiple: false,
                    mandatory: id == 5700,
                },
            );
        }
    }
    defs
}

/// 10 servers (1..=10); 10 Objects × 100 instances, each with its /2 instance: owner rotates
/// over the servers, three servers have their own entry, and a default entry grants R.
fn state() -> (AccessControl, Vec<AccessControlInstance>) {
    let mut ac = AccessControl::new();
    for s in 1..=SERVERS {
        ac.add_server(ShortServerId(s)).unwrap();
    }
    let mut list = Vec::new();
    let mut id = 0u16;
    for o in 0..OBJECTS {
        for i in 0..INSTANCES_PER_OBJECT {
            let object = 3300 + o;
            ac.insert_instance(object, i).unwrap();
            let owner = ShortServerId(1 + (i % SERVERS));
            let acl = AccessControlInstance::new(object, i, Owner::Server(owner))
                .with_acl(
                    ShortServerId(1 + (i + 3) % SERVERS),
                    AccessRights::from_bits(3).unwrap(),
                )
                .with_acl(ShortServerId(1 + (i + 5) % SERVERS), AccessRights::READ)
                .with_acl(
                    ShortServerId(1 + (i + 7) % SERVERS),
                    AccessRights::from_bits(15).unwrap(),
                )
                .with_acl(ShortServerId::DEFAULT, AccessRights::READ);
            list.push(acl.clone());
            ac.insert_acl_instance(id, acl).unwrap();
            id += 1;
        }
    }
    (ac, list)
}

/// The baseline: find the /2 instance by scanning, then apply steps 1-4.
fn linear_rights(
    list: &[AccessControlInstance],
    server: ShortServerId,
    object: u16,
    instance: u16,
) -> AccessRights {
    list.iter()
        .find(|a| a.object() == object && a.instance() == instance)
        .map_or(AccessRights::NONE, |a| a.rights_of(server))
}

fn bench(c: &mut Criterion) {
    let defs = definitions();
    let (ac, list) = state();
    let server = ShortServerId(7);
    // /3305/50: server 7 has no entry of its own and is not the owner (server 1): the default
    // entry (R) applies. /3309/99: server 7 has its own entry RWED; the owner is server 10.
    let read = Target::Resource(3305, 50, 5700);
    let write = Target::Resource(3309, 99, 5701);
    let instance = Target::Instance(3300, 0);
    let mut g = c.benchmark_group("access/decision");
    g.throughput(Throughput::Elements(1));
    g.bench_function("mote-access read /O/I/R", |b| {
        b.iter(|| {
            ac.authorize(
                &defs,
                Requester::Server(black_box(server)),
                Operation::Read,
                black_box(&read),
            )
        })
    });
    g.bench_function("mote-access write /O/I/R (last instance)", |b| {
        b.iter(|| {
            ac.authorize(
                &defs,
                Requester::Server(black_box(server)),
                Operation::Write,
                black_box(&write),
            )
        })
    });
    g.bench_function("mote-access read /O/I", |b| {
        b.iter(|| {
            ac.authorize(
                &defs,
                Requester::Server(black_box(server)),
                Operation::Read,
                black_box(&instance),
            )
        })
    });
    g.bench_function("mote-access rights only", |b| {
        b.iter(|| ac.rights(black_box(server), black_box(3309), black_box(99)))
    });
    g.bench_function("linear scan of /2 rights only (baseline)", |b| {
        b.iter(|| {
            linear_rights(
                black_box(&list),
                black_box(server),
                black_box(3309),
                black_box(99),
            )
        })
    });
    g.finish();
}

/// The fastest of 300 batches of 2,000 decisions: on a shared machine the median moves with
/// the other processes' load, the best batch much less (printed after the criterion report).
fn best_batch() {
    let defs = definitions();
    let (ac, _) = state();
    let server = ShortServerId(7);
    let cases = [
        (
            "read /O/I/R",
            Operation::Read,
            Target::Resource(3305, 50, 5700),
        ),
        (
            "write /O/I/R",
            Operation::Write,
            Target::Resource(3309, 99, 5701),
        ),
        ("read /O/I", Operation::Read, Target::Instance(3300, 0)),
    ];
    for (name, op, target) in cases {
        let mut best = f64::MAX;
        for _ in 0..300 {
            let start = std::time::Instant::now();
            for _ in 0..2000 {
                let _ = black_box(ac.authorize(
                    &defs,
                    Requester::Server(black_box(server)),
                    op,
                    black_box(&target),
                ));
            }
            best = best.min(start.elapsed().as_nanos() as f64 / 2000.0);
        }
        println!("access/best-batch/mote-access {name}: {best:.1} ns per decision");
    }
}

/// The decisions of one case, `n` times: the only code callgrind counts in
/// `ACCESS_CALLGRIND` mode (`--toggle-collect='*decision_loop*'`).
#[inline(never)]
fn decision_loop(
    ac: &AccessControl,
    defs: &DefinitionTable,
    server: ShortServerId,
    op: Operation,
    target: &Target,
    n: u32,
) -> usize {
    let mut allowed = 0;
    for _ in 0..n {
        allowed += usize::from(
            black_box(ac.authorize(
                defs,
                Requester::Server(black_box(server)),
                op,
                black_box(target),
            ))
            .is_ok(),
        );
    }
    allowed
}

/// `ACCESS_CALLGRIND=<case>:<n>`: build the state, run `n` decisions of one case
/// (`read`, `write`, `instance`, `denied`, `composite-object`, `composite-root`) and exit, for an instruction count that the load of
/// the machine cannot inflate:
///
/// ```sh
/// ACCESS_CALLGRIND=read:10000 valgrind --tool=callgrind --toggle-collect='*decision_loop*' \
///     target/release/deps/access-HASH
/// ```
///
/// Instructions per decision = the collected total ÷ n.
fn callgrind_mode(spec: &str) {
    let (case, n) = spec.split_once(':').unwrap_or((spec, "10000"));
    let n: u32 = n.parse().unwrap();
    let defs = definitions();
    let (ac, _) = state();
    let (op, target) = match case {
        "read" => (Operation::Read, Target::Resource(3305, 50, 5700)),
        "write" => (Operation::Write, Target::Resource(3309, 99, 5701)),
        "instance" => (Operation::Read, Target::Instance(3300, 0)),
        // Server 7 holds R only (default entry) on /3305/50: Write is refused (4.01).
        "denied" => (Operation::Write, Target::Resource(3305, 50, 5701)),
        // Read-Composite of a whole Object and of `/`: decided from the readable index.
        "composite-object" => (Operation::ReadComposite, Target::Object(3305)),
        "composite-root" => (Operation::ReadComposite, Target::Root),
        other => panic!("unknown case {other}"),
    };
    let allowed = decision_loop(&ac, &defs, ShortServerId(7), op, &target, n);
    println!("access/callgrind {case}: {n} decisions, {allowed} allowed");
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("ACCESS_CALLGRIND") {
        callgrind_mode(&spec);
        return;
    }
    benches();
    best_batch();
    Criterion::default().configure_from_args().final_summary();
}
