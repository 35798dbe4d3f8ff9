//! LwM2M data in two shapes: a flat list of [`Record`]s (path, value, optional time) — the
//! shape of SenML and of the `mote lwm2m --json` output — and a [`DataTree`] (object →
//! instances → resources → resource instances), the shape of TLV and of a client's store.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::error::Error;
use crate::path::Path;
use crate::value::Value;

/// One value at one path, with an optional time (seconds; SenML base time + time,
/// RFC 8428 §4.5.3: absolute when positive, relative to now when negative).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// `/O/I/R` or `/O/I/R/RI`.
    pub path: Path,
    /// The value.
    pub value: Value,
    /// The time of the value, when the payload had one.
    pub time: Option<f64>,
}

impl Record {
    /// A record without time.
    ///
    /// ```
    /// use mote_lwm2m::{Record, Value};
    ///
    /// let r = Record::new("/3/0/9".parse()?, Value::Integer(100));
    /// assert_eq!(r.time, None);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn new(path: Path, value: Value) -> Record {
        Record {
            path,
            value,
            time: None,
        }
    }

    /// A record with a time.
    ///
    /// ```
    /// use mote_lwm2m::{Record, Value};
    ///
    /// let r = Record::with_time("/3/0/9".parse()?, Value::Integer(95), 1_700_000_000.0);
    /// assert_eq!(r.time, Some(1_700_000_000.0));
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn with_time(path: Path, value: Value, time: f64) -> Record {
        Record {
            path,
            value,
            time: Some(time),
        }
    }
}

/// Sorts records by path, keeping the payload order of records with the same path (a Send
/// or notification payload may hold several timestamped values of one resource).
///
/// ```
/// use mote_lwm2m::data::sort_records;
/// use mote_lwm2m::{Record, Value};
///
/// let mut records = [
///     Record::with_time("/3/0/9".parse()?, Value::Integer(95), 2.0),
///     Record::new("/3/0/0".parse()?, Value::String("ACME".into())),
///     Record::with_time("/3/0/9".parse()?, Value::Integer(96), 1.0),
/// ];
/// sort_records(&mut records);
/// let order: Vec<_> = records.iter().map(|r| (r.path.to_string(), r.time)).collect();
/// // By path; records of one path keep their payload order.
/// assert_eq!(order, [("/3/0/0".into(), None), ("/3/0/9".into(), Some(2.0)), ("/3/0/9".into(), Some(1.0))]);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn sort_records(records: &mut [Record]) {
    if records.is_sorted_by_key(|r| r.path.sort_key()) {
        return;
    }
    // Sorts (key, index) pairs, then moves each record once into place, instead of moving
    // whole records around while comparing. The indexes are distinct, so an unstable sort of
    // the pairs keeps the payload order of equal keys (as a stable sort on the key would)
    // and needs no second sort implementation in a device build.
    let mut order: Vec<(u64, usize)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.path.sort_key(), i))
        .collect();
    heapsort(&mut order);
    // Apply the permutation by swaps (as `slice::sort_by_cached_key` does): position `i`
    // takes the record that was at `order[i].1`, found through earlier swaps.
    for i in 0..order.len() {
        let Some(mut from) = order.get(i).map(|&(_, f)| f) else {
            break;
        };
        while from < i {
            match order.get(from) {
                Some(&(_, f)) => from = f,
                None => break,
            }
        }
        if let Some(slot) = order.get_mut(i) {
            slot.1 = from;
        }
        records.swap(i, from);
    }
}

#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap as MapImpl;
#[cfg(feature = "vec-maps")]
use mote_coap::vec_map::VecMap as MapImpl;

/// The ordered map of [`InstanceData`] and [`ResourceData::Multiple`]: `BTreeMap`, or with
/// the `vec-maps` feature mote-coap's `vec_map::VecMap`, a sorted `Vec` of pairs with the
/// part of `BTreeMap`'s API these maps use (the same order and results, far less code,
/// O(n) insert: an instance holds a few dozen resources at most). Code that must build
/// either way names this type (`Map::new()`) instead of `BTreeMap`.
pub type Map<K, V> = MapImpl<K, V>;

/// Sorts distinct pairs in place (O(n log n)): a few dozen instructions where the slice's
/// own sort would link a pattern-defeating quicksort with its small-sort and merge helpers
/// for this one type.
fn heapsort(v: &mut [(u64, usize)]) {
    let len = v.len();
    for i in (0..len + len / 2).rev() {
        let (mut root, end) = if i >= len {
            (i - len, len)
        } else {
            v.swap(0, i);
            (0, i)
        };
        // Sift `root` down within `v[..end]`.
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                break;
            }
            if child + 1 < end && v.get(child) < v.get(child + 1) {
                child += 1;
            }
            if v.get(root) >= v.get(child) {
                break;
            }
            v.swap(root, child);
            root = child;
        }
    }
}

/// The value(s) of one resource.
#[derive(Clone, Debug, PartialEq)]
pub enum ResourceData {
    /// A Single-Instance Resource.
    Single(Value),
    /// A Multiple-Instance Resource (possibly with no instances).
    Multiple(Map<u16, Value>),
}

/// The resources of one object instance.
pub type InstanceData = Map<u16, ResourceData>;

/// The instances of one object.
pub type ObjectData = BTreeMap<u16, InstanceData>;

/// Data as a tree: object ID → instance ID → resource ID → value(s).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataTree {
    /// The objects.
    pub objects: BTreeMap<u16, ObjectData>,
}

impl DataTree {
    /// An empty tree.
    ///
    /// ```
    /// use mote_lwm2m::DataTree;
    ///
    /// assert!(DataTree::new().objects.is_empty());
    /// ```
    pub fn new() -> Self {
        DataTree::default()
    }

    /// Builds a tree from records. Every record needs a resource or resource-instance
    /// path; a resource cannot be both single (`/O/I/R`) and multiple (`/O/I/R/RI`);
    /// duplicate paths are rejected (times are dropped: a tree holds one value per path).
    ///
    /// ```
    /// use mote_lwm2m::{DataTree, Record, Value};
    ///
    /// let records = [
    ///     Record::new("/3/0/0".parse()?, Value::String("ACME".into())),
    ///     Record::new("/3/0/7/1".parse()?, Value::Integer(5000)),
    /// ];
    /// let tree = DataTree::from_records(&records)?;
    /// assert_eq!(tree.objects[&3][&0].len(), 2); // resources 0 and 7
    /// assert_eq!(tree.to_records(), records);
    /// // A resource cannot be both single and multiple.
    /// let both = [records[1].clone(), Record::new("/3/0/7".parse()?, Value::Integer(1))];
    /// assert!(DataTree::from_records(&both).is_err());
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn from_records(records: &[Record]) -> Result<DataTree, Error> {
        let mut tree = DataTree::new();
        for r in records {
            tree.insert(r.path, r.value.clone())?;
        }
        Ok(tree)
    }

    /// Inserts one value at a resource or resource-instance path.
    ///
    /// ```
    /// use mote_lwm2m::{DataTree, Value};
    ///
    /// let mut tree = DataTree::new();
    /// tree.insert("/3/0/9".parse()?, Value::Integer(100))?;
    /// assert!(tree.insert("/3/0/9".parse()?, Value::Integer(99)).is_err()); // duplicate
    /// assert!(tree.insert("/3/0".parse()?, Value::Integer(1)).is_err()); // not a resource path
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn insert(&mut self, path: Path, value: Value) -> Result<(), Error> {
        let dup = Error::Path {
            path,
            reason: "duplicate or conflicting path",
        };
        let (o, i, r, ri) = match *path.ids() {
            [o, i, r] => (o, i, r, None),
            [o, i, r, ri] => (o, i, r, Some(ri)),
            _ => {
                return Err(Error::Path {
                    path,
                    reason: "a value needs a resource or resource instance path",
                });
            }
        };
        let res = self.objects.entry(o).or_default().entry(i).or_default();
        match ri {
            None => {
                if res.contains_key(&r) {
                    return Err(dup);
                }
                res.insert(r, ResourceData::Single(value));
            }
            Some(ri) => match res
                .entry(r)
                .or_insert_with(|| ResourceData::Multiple(Map::new()))
            {
                ResourceData::Multiple(m) => {
                    if m.insert(ri, value).is_some() {
                        return Err(dup);
                    }
                }
                ResourceData::Single(_) => return Err(dup),
            },
        }
        Ok(())
    }

    /// The records of this tree, sorted by path (empty multiple resources and empty
    /// instances have no record).
    ///
    /// ```
    /// use mote_lwm2m::{DataTree, Record, Value};
    ///
    /// let mut tree = DataTree::new();
    /// tree.insert("/3/0/9".parse()?, Value::Integer(100))?;
    /// tree.insert("/1/0/1".parse()?, Value::Integer(300))?;
    /// let paths: Vec<String> = tree.to_records().iter().map(|r| r.path.to_string()).collect();
    /// assert_eq!(paths, ["/1/0/1", "/3/0/9"]); // sorted by path
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn to_records(&self) -> Vec<Record> {
        let mut out = Vec::new();
        for (&o, insts) in &self.objects {
            for (&i, res) in insts {
                for (&r, data) in res {
                    match data {
                        ResourceData::Single(v) => {
                            if let Ok(p) = Path::new(&[o, i, r]) {
                                out.push(Record::new(p, v.clone()));
                            }
                        }
                        ResourceData::Multiple(m) => {
                            for (&ri, v) in m {
                                if let Ok(p) = Path::new(&[o, i, r, ri]) {
                                    out.push(Record::new(p, v.clone()));
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};

    #[test]
    fn heapsort_sorts_like_the_standard_sort() {
        // A deterministic scramble of every length up to 40, with repeated keys.
        let mut x = 0x2545_f491_u32;
        for len in 0..40 {
            let mut v: Vec<(u64, usize)> = (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (u64::from(x % 7), i)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort();
            heapsort(&mut v);
            assert_eq!(v, expected, "length {len}");
        }
    }

    #[test]
    fn sort_records_orders_by_path_and_keeps_the_payload_order_of_a_path() {
        let paths = [
            "/3/0/9", "/1/0/1", "/3/0/9", "/3/0/0", "/1/0/1", "/0/0/0", "/3/0/9",
        ];
        let mut records: Vec<Record> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| Record::new(p.parse().unwrap(), Value::Integer(i as i64)))
            .collect();
        sort_records(&mut records);
        let got: Vec<(String, i64)> = records
            .iter()
            .map(|r| (r.path.to_string(), r.value.as_i64().unwrap_or(-1)))
            .collect();
        let expected = [
            ("/0/0/0", 5),
            ("/1/0/1", 1),
            ("/1/0/1", 4),
            ("/3/0/0", 3),
            ("/3/0/9", 0),
            ("/3/0/9", 2),
            ("/3/0/9", 6),
        ];
        assert_eq!(got.len(), expected.len());
        for ((p, v), (ep, ev)) in got.iter().zip(expected) {
            assert_eq!((p.as_str(), *v), (ep, ev));
        }
    }
}
