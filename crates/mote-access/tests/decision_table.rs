//! Runs every row of `tests/data/decision_table.txt`, the decision table derived clause by
//! clause from the LwM2M 1.2 Core TS Access Control and Authorization sections.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use mote_access::{
    AccessControl, Denial, Grant, Level, Operation, Requester, ShortServerId, Target,
};

struct Row<'a> {
    line: usize,
    clauses: Vec<&'a str>,
    state: &'a str,
    requester: Requester,
    operation: Operation,
    targets: Vec<Target>,
    resources: Vec<u16>,
    instance: Option<u16>,
    expected: &'a str,
    reason: &'a str,
}

struct Table<'a> {
    clauses: BTreeSet<&'a str>,
    states: BTreeMap<&'a str, AccessControl>,
    rows: Vec<Row<'a>>,
}

fn parse(text: &str) -> Table<'_> {
    let mut table = Table {
        clauses: BTreeSet::new(),
        states: BTreeMap::new(),
        rows: Vec::new(),
    };
    let mut lines = text.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("clause ") {
            let id = rest.split('|').next().unwrap().trim();
            assert!(
                rest.split('|').count() >= 3,
                "line {}: clause needs where and quote",
                n + 1
            );
            assert!(
                table.clauses.insert(id),
                "line {}: clause {id} defined twice",
                n + 1
            );
            continue;
        }
        if let Some(name) = line.strip_prefix("state ") {
            let mut body = Vec::new();
            for (_, l) in lines.by_ref() {
                if l.trim() == "end" {
                    break;
                }
                body.push(l.trim());
            }
            table.states.insert(name.trim(), common::parse_state(&body));
            continue;
        }
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(f.len(), 8, "line {}: a row has 8 columns", n + 1);
        let mut resources = Vec::new();
        let mut instance = None;
        for part in f[5].split_whitespace().filter(|p| *p != "-") {
            if let Some(ids) = part.strip_prefix("res=") {
                resources = ids.split(',').map(|i| i.parse().unwrap()).collect();
            } else if let Some(id) = part.strip_prefix("inst=") {
                instance = Some(id.parse().unwrap());
            } else {
                panic!("line {}: payload {part}", n + 1);
            }
        }
        table.rows.push(Row {
            line: n + 1,
            clauses: f[0].split(',').map(str::trim).collect(),
            state: f[1],
            requester: if f[2] == "bs" {
                Requester::Bootstrap
            } else {
                Requester::Server(ShortServerId(f[2].parse().unwrap()))
            },
            operation: f[3].parse().unwrap(),
            targets: f[4]
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect(),
            resources,
            instance,
            expected: f[6],
            reason: f[7],
        });
    }
    table
}

fn grant_letter(g: Option<Grant>) -> &'static str {
    match g {
        Some(Grant::Full) => "F",
        Some(Grant::ReadableResources) => "R",
        Some(Grant::ReadableInstances) => "I",
        None => "-",
    }
}

/// The outcome of a row as the table writes it, with the reason variant.
fn decide<D: mote_access::ObjectDefinitions>(
    ac: &AccessControl,
    defs: &D,
    row: &Row<'_>,
) -> (String, String) {
    let denial = |d: Denial| {
        (
            d.code.as_str().to_string(),
            common::reason_name(&d.reason).to_string(),
        )
    };
    let allowed = |s: String| (s, "-".to_string());
    let target = row.targets[0];
    match (row.operation, row.requester) {
        (op, Requester::Server(_)) if op.is_composite() => {
            match ac.authorize_composite(defs, row.requester, op, &row.targets) {
                Ok(g) => allowed(format!(
                    "allow:[{}]",
                    g.targets
                        .iter()
                        .map(|g| grant_letter(*g))
                        .collect::<Vec<_>>()
                        .join(",")
                )),
                Err(d) => denial(d),
            }
        }
        (Operation::Create, Requester::Server(s)) => {
            let Target::Object(object) = target else {
                return match ac.authorize(defs, row.requester, row.operation, &target) {
                    Ok(_) => panic!("line {}: create below an Object allowed", row.line),
                    Err(d) => denial(d),
                };
            };
            match ac.authorize_create(defs, s, object, row.instance, &row.resources, &[]) {
                Ok(id) => allowed(format!("allow:id={id}")),
                Err(d) => denial(d),
            }
        }
        (Operation::Write, _) => {
            match ac.authorize_write(defs, row.requester, &target, &row.resources) {
                Ok(g) => allowed(grant_text(g)),
                Err(d) => denial(d),
            }
        }
        (Operation::Notify, Requester::Server(s)) => match ac.authorize_notify(defs, s, &target) {
            mote_access::NotifyDecision::Send(g) => allowed(grant_text(g)),
            mote_access::NotifyDecision::Cancel(d) => denial(d),
            other => panic!("line {}: {other:?}", row.line),
        },
        _ => match ac.authorize(defs, row.requester, row.operation, &target) {
            Ok(g) => allowed(grant_text(g)),
            Err(d) => denial(d),
        },
    }
}

fn grant_text(g: Grant) -> String {
    match g {
        Grant::Full => "allow".into(),
        Grant::ReadableResources => "allow:resources".into(),
        Grant::ReadableInstances => "allow:instances".into(),
    }
}

fn run_table<D: mote_access::ObjectDefinitions>(defs: &D) {
    let table = parse(common::DECISION_TABLE);
    let mut failures = Vec::new();
    for row in &table.rows {
        let ac = &table.states[row.state];
        let (got, reason) = decide(ac, defs, row);
        if got != row.expected || reason != row.reason {
            failures.push(format!(
                "line {} ({}): {:?} {:?} {:?}: expected {} {}, got {} {}",
                row.line,
                row.clauses.join(","),
                row.requester,
                row.operation,
                row.targets,
                row.expected,
                row.reason,
                got,
                reason
            ));
        }
    }
    assert!(
        table.rows.len() >= 100,
        "the table has {} rows",
        table.rows.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        table.rows.len(),
        failures.join("\n")
    );
}

/// With the object definitions transcribed from the registry (`tests/data/objects.txt`).
#[test]
fn every_row_matches_the_ts() {
    run_table(&common::definitions());
}

/// With the built-in definitions of `mote-lwm2m` (what `mote access check` uses).
#[cfg(feature = "lwm2m")]
#[test]
fn every_row_matches_the_ts_with_mote_lwm2m_builtins() {
    run_table(&mote_lwm2m::object::Builtin);
}

/// Through the [`mote_access::Lwm2mDefinitions`] adapter and a DDF `ObjectRegistry` holding
/// the same built-ins, and through a reference (`&T` forwards every method).
#[cfg(feature = "lwm2m")]
#[test]
fn every_row_matches_the_ts_through_the_adapters() {
    run_table(&mote_access::Lwm2mDefinitions(mote_lwm2m::object::Builtin));
    run_table(&mote_lwm2m::object::ObjectRegistry::with_builtin());
    let defs = common::definitions();
    run_table(&&defs);
}

#[test]
fn every_row_cites_defined_clauses_and_every_clause_is_cited() {
    let table = parse(common::DECISION_TABLE);
    let mut cited = BTreeSet::new();
    for row in &table.rows {
        assert!(!row.clauses.is_empty(), "line {}: no clause", row.line);
        for c in &row.clauses {
            assert!(
                table.clauses.contains(c),
                "line {}: clause {c} is not defined",
                row.line
            );
            cited.insert(*c);
        }
    }
    let uncited: Vec<_> = table.clauses.difference(&cited).collect();
    assert!(uncited.is_empty(), "clauses never cited: {uncited:?}");
}

/// The issue asks for "each operation on object, instance, resource and resource instance":
/// every operation of a server has rows at the four levels.
#[test]
fn table_covers_every_operation_at_every_level() {
    let table = parse(common::DECISION_TABLE);
    let mut missing = Vec::new();
    for (name, op) in Operation::NAMES {
        for level in [
            Level::Object,
            Level::Instance,
            Level::Resource,
            Level::ResourceInstance,
        ] {
            let covered = table.rows.iter().any(|r| {
                r.operation == op
                    && matches!(r.requester, Requester::Server(_))
                    && r.targets.iter().any(|t| t.level() == level)
            });
            if !covered {
                missing.push(format!("{name} on {level}"));
            }
        }
    }
    assert!(missing.is_empty(), "no row for: {}", missing.join("; "));
}
