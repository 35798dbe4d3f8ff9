//! LwM2M attributes (LwM2M TS Core 1.2 §5.1.2 "Attributes"): the `<PROPERTIES>` class
//! (`dim`, `ssid`, `uri`, `ver`, `lwm2m`) and the `<NOTIFICATION>` class (`pmin`, `pmax`,
//! `gt`, `lt`, `st`, `epmin`, `epmax`, `edge`, `con`, `hqmax`), as carried in link-format
//! parameters (Register, Discover, Bootstrap-Discover) and in the URI query of
//! Write-Attributes; and the notification decision of §5.1.2 "Notification Conditions"
//! (requirements RMo-002, RMo-003).

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::object::Version;
use crate::value::Value;

/// The `<NOTIFICATION>` class attributes in force for one resource (after the
/// precedence rules of §5.1.2 have been applied by the caller).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotificationAttributes {
    /// Minimum Period, seconds.
    pub pmin: Option<u32>,
    /// Maximum Period, seconds (0 or less than `pmin`: ignored).
    pub pmax: Option<u32>,
    /// Greater Than threshold.
    pub gt: Option<f64>,
    /// Less Than threshold.
    pub lt: Option<f64>,
    /// Step.
    pub st: Option<f64>,
    /// Minimum Evaluation Period, seconds.
    pub epmin: Option<u32>,
    /// Maximum Evaluation Period, seconds.
    pub epmax: Option<u32>,
    /// Edge: `true` for the rising edge (1), `false` for the falling edge (0).
    pub edge: Option<bool>,
    /// Confirmable notifications.
    pub con: Option<bool>,
    /// Maximum Historical Queue.
    pub hqmax: Option<u32>,
}

/// Every attribute a link may carry: properties and notification attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkAttributes {
    /// `lwm2m`: the Enabler version (Bootstrap-Discover root link).
    pub lwm2m: Option<Version>,
    /// `rt`: resource type (`oma.lwm2m` on the registration root link).
    pub rt: Option<String>,
    /// `ct`: content formats (registration root link).
    pub ct: Vec<u16>,
    /// `ver`: Object Version.
    pub ver: Option<Version>,
    /// `ssid`: Short Server ID (Bootstrap-Discover).
    pub ssid: Option<u16>,
    /// `uri`: Server URI (Bootstrap-Discover).
    pub uri: Option<String>,
    /// `dim`: number of instances of a Multiple-Instance Resource (0–255).
    pub dim: Option<u8>,
    /// The notification attributes.
    pub notification: NotificationAttributes,
}

fn bad(reason: &'static str) -> Error {
    Error::Link { reason }
}

/// A cardinal (ASCII digits only, no sign) that fits a `u32`.
fn digits(v: &str, what: &'static str) -> Result<u32, Error> {
    crate::ascii::parse_digits(v)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(bad(what))
}

fn number(v: &str, what: &'static str) -> Result<f64, Error> {
    let ok = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    let f: f64 = if ok {
        crate::decimal::parse(v).ok_or_else(|| bad(what))?
    } else {
        return Err(bad(what));
    };
    if !f.is_finite() {
        return Err(bad(what));
    }
    Ok(f)
}

fn flag(v: &str, what: &'static str) -> Result<bool, Error> {
    match v {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(bad(what)),
    }
}

impl NotificationAttributes {
    /// Sets one notification attribute from its text value; `Ok(false)` when `name` is not
    /// a notification attribute.
    ///
    /// ```
    /// use mote_lwm2m::attributes::NotificationAttributes;
    ///
    /// let mut attrs = NotificationAttributes::default();
    /// assert_eq!(attrs.set("pmin", "10")?, true);
    /// assert_eq!(attrs.set("ver", "1.1")?, false); // a property, not a notification attribute
    /// assert!(attrs.set("st", "-1").is_err());
    /// assert_eq!(attrs.pmin, Some(10));
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, Error> {
        match name {
            "pmin" => self.pmin = Some(digits(value, "pmin is not a cardinal")?),
            "pmax" => self.pmax = Some(digits(value, "pmax is not a cardinal")?),
            "gt" => self.gt = Some(number(value, "gt is not a number")?),
            "lt" => self.lt = Some(number(value, "lt is not a number")?),
            "st" => {
                let st = number(value, "st is not a number")?;
                if st < 0.0 {
                    return Err(bad("st is negative"));
                }
                self.st = Some(st);
            }
            "epmin" => self.epmin = Some(digits(value, "epmin is not a cardinal")?),
            "epmax" => self.epmax = Some(digits(value, "epmax is not a cardinal")?),
            "edge" => self.edge = Some(flag(value, "edge is not 0 or 1")?),
            "con" => self.con = Some(flag(value, "con is not 0 or 1")?),
            "hqmax" => self.hqmax = Some(digits(value, "hqmax is not a cardinal")?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Removes one notification attribute; `false` when `name` is not one.
    ///
    /// ```
    /// use mote_lwm2m::attributes::NotificationAttributes;
    ///
    /// let mut attrs = NotificationAttributes { pmin: Some(10), ..Default::default() };
    /// assert!(attrs.clear("pmin"));
    /// assert_eq!(attrs.pmin, None);
    /// assert!(!attrs.clear("dim"));
    /// ```
    pub fn clear(&mut self, name: &str) -> bool {
        match name {
            "pmin" => self.pmin = None,
            "pmax" => self.pmax = None,
            "gt" => self.gt = None,
            "lt" => self.lt = None,
            "st" => self.st = None,
            "epmin" => self.epmin = None,
            "epmax" => self.epmax = None,
            "edge" => self.edge = None,
            "con" => self.con = None,
            "hqmax" => self.hqmax = None,
            _ => return false,
        }
        true
    }

    /// The Change Value Conditions are valid (§5.1.2): `lt < gt` and `lt + 2·st < gt` when
    /// those attributes are present.
    ///
    /// ```
    /// use mote_lwm2m::attributes::NotificationAttributes;
    ///
    /// let ok = NotificationAttributes { lt: Some(10.0), gt: Some(50.0), st: Some(5.0), ..Default::default() };
    /// assert!(ok.change_conditions_valid());
    /// let bad = NotificationAttributes { lt: Some(10.0), gt: Some(50.0), st: Some(20.0), ..Default::default() };
    /// assert!(!bad.change_conditions_valid()); // lt + 2*st >= gt
    /// ```
    pub fn change_conditions_valid(&self) -> bool {
        match (self.lt, self.gt) {
            (Some(lt), Some(gt)) => lt < gt && self.st.is_none_or(|st| lt + 2.0 * st < gt),
            _ => true,
        }
    }

    /// Checks what a Write-Attributes operation must reject: invalid Change Value
    /// Conditions (§5.1.2) and `epmin > epmax`.
    ///
    /// ```
    /// use mote_lwm2m::attributes::NotificationAttributes;
    ///
    /// let attrs = NotificationAttributes { epmin: Some(60), epmax: Some(30), ..Default::default() };
    /// assert!(attrs.validate().is_err());
    /// assert!(NotificationAttributes::default().validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if !self.change_conditions_valid() {
            return Err(bad(
                "Change Value Conditions violate lt < gt or lt + 2*st < gt",
            ));
        }
        if let (Some(a), Some(b)) = (self.epmin, self.epmax) {
            if a > b {
                return Err(bad("epmin is greater than epmax"));
            }
        }
        Ok(())
    }

    /// `pmax` as it applies: `None` when absent, 0, or smaller than `pmin` (§5.1.2: such a
    /// pmax MUST be ignored).
    ///
    /// ```
    /// use mote_lwm2m::attributes::NotificationAttributes;
    ///
    /// let attrs = NotificationAttributes { pmin: Some(60), pmax: Some(30), ..Default::default() };
    /// assert_eq!(attrs.effective_pmax(), None); // smaller than pmin: ignored
    /// let attrs = NotificationAttributes { pmin: Some(10), pmax: Some(30), ..Default::default() };
    /// assert_eq!(attrs.effective_pmax(), Some(30));
    /// ```
    pub fn effective_pmax(&self) -> Option<u32> {
        self.pmax.filter(|&p| p > 0 && p >= self.pmin.unwrap_or(0))
    }

    /// Parses a Write-Attributes URI query (`pmin=10&pmax=60&gt=50`; §5.4.4 of the TS,
    /// Uri-Query options joined by `&`) and applies it to `self`: `name=value` sets, a bare
    /// `name` removes. Properties (`dim`, `ver`, …) are read-only and refused; the result
    /// is validated.
    ///
    /// ```
    /// use mote_lwm2m::attributes::NotificationAttributes;
    ///
    /// let mut attrs = NotificationAttributes::default();
    /// attrs.apply_query("pmin=10&pmax=60&gt=50")?;
    /// assert_eq!((attrs.pmin, attrs.pmax, attrs.gt), (Some(10), Some(60), Some(50.0)));
    /// attrs.apply_query("gt")?; // a bare name removes
    /// assert_eq!(attrs.gt, None);
    /// // All or nothing: an invalid query leaves the attributes unchanged.
    /// assert!(attrs.apply_query("pmin=5&dim=3").is_err());
    /// assert_eq!(attrs.pmin, Some(10));
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn apply_query(&mut self, query: &str) -> Result<(), Error> {
        let mut next = self.clone();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((name, value)) => {
                    if !next.set(name, value)? {
                        return Err(bad("not a writable attribute"));
                    }
                }
                None => {
                    if !next.clear(part) {
                        return Err(bad("not a writable attribute"));
                    }
                }
            }
        }
        next.validate()?;
        *self = next;
        Ok(())
    }

    /// The query form of the attributes present, in the TS order.
    ///
    /// ```
    /// use mote_lwm2m::attributes::NotificationAttributes;
    ///
    /// let attrs = NotificationAttributes { pmax: Some(60), pmin: Some(10), con: Some(true), ..Default::default() };
    /// assert_eq!(attrs.to_query(), "pmin=10&pmax=60&con=1");
    /// ```
    pub fn to_query(&self) -> String {
        let mut s = String::new();
        self.write_pairs(&mut s, '&');
        if !s.is_empty() {
            // The separator written before the first pair.
            s.remove(0);
        }
        s
    }

    /// `(name, text value)` of each attribute present, in the order pmin, pmax, gt, lt,
    /// st, epmin, epmax, edge, con, hqmax.
    ///
    /// ```
    /// use mote_lwm2m::attributes::NotificationAttributes;
    ///
    /// let attrs = NotificationAttributes { st: Some(0.5), edge: Some(false), ..Default::default() };
    /// assert_eq!(attrs.pairs(), [("st", "0.5".to_string()), ("edge", "0".to_string())]);
    /// ```
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (name, v) in self.table() {
            if let Some(v) = v {
                let mut text = String::new();
                v.push_to(&mut text);
                out.push((name, text));
            }
        }
        out
    }

    /// Appends `{separator}name=value` for each attribute present, in the order of
    /// [`NotificationAttributes::pairs`] (link attributes with `;`, a query with `&`).
    pub(crate) fn write_pairs(&self, out: &mut String, separator: char) {
        for (name, v) in self.table() {
            if let Some(v) = v {
                out.push(separator);
                out.push_str(name);
                out.push('=');
                v.push_to(out);
            }
        }
    }

    /// Every attribute's name and value, in the TS order: one table for the writers
    /// instead of one branch per attribute.
    fn table(&self) -> [(&'static str, Option<AttributeValue>); 10] {
        use AttributeValue::{Cardinal, Flag, Number};
        [
            ("pmin", self.pmin.map(Cardinal)),
            ("pmax", self.pmax.map(Cardinal)),
            ("gt", self.gt.map(Number)),
            ("lt", self.lt.map(Number)),
            ("st", self.st.map(Number)),
            ("epmin", self.epmin.map(Cardinal)),
            ("epmax", self.epmax.map(Cardinal)),
            ("edge", self.edge.map(Flag)),
            ("con", self.con.map(Flag)),
            ("hqmax", self.hqmax.map(Cardinal)),
        ]
    }
}

/// A notification attribute's value, as its text is written.
#[derive(Clone, Copy)]
enum AttributeValue {
    /// Seconds or a count.
    Cardinal(u32),
    /// A threshold or step.
    Number(f64),
    /// `0` or `1`.
    Flag(bool),
}

impl AttributeValue {
    fn push_to(self, out: &mut String) {
        match self {
            AttributeValue::Cardinal(n) => {
                out.push_str(crate::ascii::u64_text(u64::from(n)).as_str());
            }
            AttributeValue::Number(f) => crate::decimal::write(out, f),
            AttributeValue::Flag(b) => out.push(if b { '1' } else { '0' }),
        }
    }
}

/// Why a notification is due (several causes may hold at once, RMo-003).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Causes {
    /// The value crossed `gt` (in either direction).
    pub greater_than: bool,
    /// The value crossed `lt` (in either direction).
    pub less_than: bool,
    /// The value moved by at least `st` since the last notification.
    pub step: bool,
    /// The boolean value made the transition selected by `edge`.
    pub edge: bool,
    /// No Change Value Condition applies and the value changed (RFC 7641 §4.2 default).
    pub changed: bool,
    /// `pmax` expired since the last notification.
    pub max_period: bool,
}

impl Causes {
    /// Whether any Change Value Condition (not the timer) holds.
    ///
    /// ```
    /// use mote_lwm2m::attributes::Causes;
    ///
    /// assert!(Causes { step: true, ..Default::default() }.value_condition());
    /// assert!(!Causes { max_period: true, ..Default::default() }.value_condition());
    /// ```
    pub const fn value_condition(&self) -> bool {
        self.greater_than || self.less_than || self.step || self.edge || self.changed
    }

    /// Whether any cause holds.
    ///
    /// ```
    /// use mote_lwm2m::attributes::Causes;
    ///
    /// assert!(Causes { max_period: true, ..Default::default() }.any());
    /// assert!(!Causes::default().any());
    /// ```
    pub const fn any(&self) -> bool {
        self.value_condition() || self.max_period
    }
}

/// What to do about one observed resource.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Send a notification now, for these reasons.
    Notify(Causes),
    /// A Change Value Condition holds but `pmin` has not expired: notify at `at` (seconds,
    /// same clock as `now`) — "as soon as pmin expires" (§5.1.2, Minimum Period).
    NotifyAt {
        /// When `pmin` expires.
        at: u64,
        /// The conditions that hold.
        causes: Causes,
    },
    /// Nothing to send; `deadline` is when `pmax` will force a notification, if set.
    Wait {
        /// `pmax` expiry.
        deadline: Option<u64>,
    },
}

/// The notification decision of LwM2M TS Core §5.1.2 ("Notification Conditions"): a
/// notification is due when a valid Change Value Condition (gt, lt or st; edge for
/// booleans; any change when none is set) holds and `pmin` has expired, or when `pmax` has
/// expired. `last` is the value last notified and `last_time` when (seconds); `now` the
/// current time on the same clock.
///
/// Conditions on numbers apply to Integer, Unsigned Integer, Float and Time values; for
/// other types (or when the thresholds are invalid, §5.1.2) only "the value changed"
/// counts. A pure function: it keeps no state and reads no clock.
///
/// ```
/// use mote_lwm2m::Value;
/// use mote_lwm2m::attributes::{Decision, NotificationAttributes, evaluate};
///
/// // Notify when the battery level crosses 50, at most every 10 s, at least every 60 s.
/// let attrs = NotificationAttributes { pmin: Some(10), pmax: Some(60), gt: Some(50.0), ..Default::default() };
/// let (last, last_time) = (Value::Integer(40), 1000);
/// // Crossed 50 after 12 s: notify now.
/// assert!(matches!(evaluate(&attrs, &last, last_time, &Value::Integer(55), 1012), Decision::Notify(c) if c.greater_than));
/// // Crossed after 3 s: as soon as pmin expires.
/// assert!(matches!(evaluate(&attrs, &last, last_time, &Value::Integer(55), 1003), Decision::NotifyAt { at: 1010, .. }));
/// // Not crossed: wait for pmax.
/// assert_eq!(evaluate(&attrs, &last, last_time, &Value::Integer(45), 1020), Decision::Wait { deadline: Some(1060) });
/// ```
pub fn evaluate(
    attrs: &NotificationAttributes,
    last: &Value,
    last_time: u64,
    current: &Value,
    now: u64,
) -> Decision {
    let elapsed = now.saturating_sub(last_time);
    let mut causes = Causes::default();
    let numeric = matches!((last.as_f64(), current.as_f64()), (Some(_), Some(_)))
        && !matches!(current, Value::Boolean(_));
    let thresholds = attrs.gt.is_some() || attrs.lt.is_some() || attrs.st.is_some();
    if numeric && thresholds && attrs.change_conditions_valid() {
        let (p, c) = (
            last.as_f64().unwrap_or(0.0),
            current.as_f64().unwrap_or(0.0),
        );
        if let Some(gt) = attrs.gt {
            causes.greater_than = (p <= gt) != (c <= gt);
        }
        if let Some(lt) = attrs.lt {
            causes.less_than = (p < lt) != (c < lt);
        }
        if let Some(st) = attrs.st {
            let d = c - p;
            causes.step = (if d < 0.0 { -d } else { d }) >= st && c != p;
        }
    } else if let (Some(edge), Value::Boolean(p), Value::Boolean(c)) = (attrs.edge, last, current) {
        causes.edge = *p != edge && *c == edge;
    } else {
        causes.changed = last != current;
    }
    let pmax = attrs.effective_pmax();
    if let Some(pmax) = pmax {
        causes.max_period = elapsed >= u64::from(pmax);
    }
    if causes.max_period {
        return Decision::Notify(causes);
    }
    if causes.value_condition() {
        let pmin = u64::from(attrs.pmin.unwrap_or(0));
        if elapsed >= pmin {
            return Decision::Notify(causes);
        }
        return Decision::NotifyAt {
            at: last_time.saturating_add(pmin),
            causes,
        };
    }
    Decision::Wait {
        deadline: pmax.map(|p| last_time.saturating_add(u64::from(p))),
    }
}
