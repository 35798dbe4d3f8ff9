//! The objects of the client: the trait the application implements, and [`DataObject`], a
//! plain in-memory object (the crate keeps Security /0, Server /1, Access Control /2 and
//! OSCORE /21 in one).

#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
#[cfg(feature = "vec-maps")]
use mote_coap::vec_map::VecMap as BTreeMap;

use mote_lwm2m::data::{InstanceData, ResourceData};

use crate::error::ObjectError;

/// One Execute argument (LwM2M TS 1.2 Core §5.4.5 "Execute" argument syntax:
/// `arg = DIGIT ["=" "'" *CHAR "'"]`, arguments separated by `,`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecuteArgument {
    /// The argument number, 0–9.
    pub digit: u8,
    /// The quoted value, when given.
    pub value: Option<String>,
}

/// Parses an Execute payload: `0='http://x',1,2='y'`; empty means no arguments.
///
/// # Errors
/// [`ObjectError::BadRequest`] when the payload does not follow the argument syntax.
pub fn parse_execute_arguments(payload: &[u8]) -> Result<Vec<ExecuteArgument>, ObjectError> {
    let bad = ObjectError::BadRequest("Execute arguments do not follow the TS syntax");
    let text = core::str::from_utf8(payload).map_err(|_| bad.clone())?;
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut chars = rest.char_indices();
        let digit = match chars.next() {
            Some((_, c)) if c.is_ascii_digit() => c as u8 - b'0',
            _ => return Err(bad),
        };
        rest = rest.get(1..).unwrap_or("");
        let mut value = None;
        if let Some(after) = rest.strip_prefix("='") {
            // §5.4.5: CHAR is any printable ASCII except the quote.
            let end = after.find('\'').ok_or(bad.clone())?;
            let v = after.get(..end).unwrap_or("");
            if !v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return Err(bad);
            }
            value = Some(String::from(v));
            rest = after.get(end + 1..).unwrap_or("");
        }
        if let Some(r) = rest.strip_prefix(',') {
            if r.is_empty() {
                return Err(bad);
            }
            rest = r;
        } else if !rest.is_empty() {
            return Err(bad);
        }
        out.push(ExecuteArgument { digit, value });
    }
    Ok(out)
}

/// An LwM2M Object as the application implements it. The store checks the definitions
/// (types, operations, mandatory resources) and the access rights before calling; the
/// object only stores and acts.
pub trait Object {
    /// The existing instances, ascending.
    fn instances(&self) -> Vec<u16>;

    /// The resources present in `instance`, ascending (a Read of the instance returns
    /// these).
    fn resources(&self, instance: u16) -> Result<Vec<u16>, ObjectError>;

    /// The value(s) of one resource.
    fn read(&self, instance: u16, resource: u16) -> Result<ResourceData, ObjectError>;

    /// Replaces the value(s) of one resource (a Multiple-Instance Resource gets the whole
    /// set of instances given).
    fn write(
        &mut self,
        instance: u16,
        resource: u16,
        data: ResourceData,
    ) -> Result<(), ObjectError>;

    /// Executes one resource with its arguments.
    fn execute(
        &mut self,
        instance: u16,
        resource: u16,
        arguments: &[ExecuteArgument],
    ) -> Result<(), ObjectError> {
        let _ = (instance, resource, arguments);
        Err(ObjectError::MethodNotAllowed)
    }

    /// Creates an empty instance (the store writes the payload's resources next).
    fn create(&mut self, instance: u16) -> Result<(), ObjectError> {
        let _ = instance;
        Err(ObjectError::MethodNotAllowed)
    }

    /// Deletes an instance.
    fn delete(&mut self, instance: u16) -> Result<(), ObjectError> {
        let _ = instance;
        Err(ObjectError::MethodNotAllowed)
    }

    /// The object as [`Any`](core::any::Any), so that the application can reach its own
    /// type again through [`crate::Client::object_as`] (the built-in implementations
    /// return `Some`).
    fn as_any_mut(&mut self) -> Option<&mut dyn core::any::Any> {
        None
    }

    /// The Firmware Update object's pull interface ([`crate::firmware::FirmwarePull`]), so
    /// that the engine downloads its Package URI; `None` for every other object.
    fn firmware_pull(&mut self) -> Option<&mut dyn crate::firmware::FirmwarePull> {
        None
    }

    /// Removes one resource from an instance (Write-Replace of an instance drops the
    /// optional resources the payload does not carry, TS 1.2 Core §6.3.3).
    fn remove_resource(&mut self, instance: u16, resource: u16) -> Result<(), ObjectError> {
        let _ = (instance, resource);
        Ok(())
    }
}

/// An object kept in memory: instances of resources, no behaviour. Execute is refused.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataObject {
    instances: BTreeMap<u16, InstanceData>,
}

impl DataObject {
    /// An object without instances.
    pub fn new() -> Self {
        Self::default()
    }

    /// The resources of one instance.
    pub fn instance(&self, instance: u16) -> Option<&InstanceData> {
        self.instances.get(&instance)
    }

    /// Inserts or replaces a whole instance.
    pub fn insert(&mut self, instance: u16, data: InstanceData) {
        self.instances.insert(instance, data);
    }

    /// Whether `instance` exists.
    pub fn instances_contains(&self, instance: u16) -> bool {
        self.instances.contains_key(&instance)
    }

    /// Every instance.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &InstanceData)> + '_ {
        self.instances.iter().map(|(i, d)| (*i, d))
    }
}

impl Object for DataObject {
    fn as_any_mut(&mut self) -> Option<&mut dyn core::any::Any> {
        Some(self)
    }

    fn instances(&self) -> Vec<u16> {
        let mut ids = Vec::new();
        for id in self.instances.keys() {
            ids.push(*id);
        }
        ids
    }

    fn resources(&self, instance: u16) -> Result<Vec<u16>, ObjectError> {
        let resources = self.instances.get(&instance).ok_or(ObjectError::NotFound)?;
        let mut ids = Vec::new();
        for id in resources.keys() {
            ids.push(*id);
        }
        Ok(ids)
    }

    fn read(&self, instance: u16, resource: u16) -> Result<ResourceData, ObjectError> {
        self.instances
            .get(&instance)
            .and_then(|r| r.get(&resource))
            .cloned()
            .ok_or(ObjectError::NotFound)
    }

    fn write(
        &mut self,
        instance: u16,
        resource: u16,
        data: ResourceData,
    ) -> Result<(), ObjectError> {
        self.instances
            .get_mut(&instance)
            .ok_or(ObjectError::NotFound)?
            .insert(resource, data);
        Ok(())
    }

    fn create(&mut self, instance: u16) -> Result<(), ObjectError> {
        self.instances.entry(instance).or_default();
        Ok(())
    }

    fn delete(&mut self, instance: u16) -> Result<(), ObjectError> {
        self.instances
            .remove(&instance)
            .map(|_| ())
            .ok_or(ObjectError::NotFound)
    }

    fn remove_resource(&mut self, instance: u16, resource: u16) -> Result<(), ObjectError> {
        if let Some(r) = self.instances.get_mut(&instance) {
            r.remove(&resource);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn execute_arguments_follow_the_ts_syntax() {
        let a = parse_execute_arguments(b"0='http://x/y',1,2='a b'").unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].digit, 0);
        assert_eq!(a[0].value.as_deref(), Some("http://x/y"));
        assert_eq!(a[1].value, None);
        assert_eq!(a[2].value.as_deref(), Some("a b"));
        assert!(parse_execute_arguments(b"").unwrap().is_empty());
        for bad in [&b"a"[..], b"0=x", b"0='x", b"0,", b"10", b"0'x'"] {
            assert!(parse_execute_arguments(bad).is_err(), "{bad:?}");
        }
    }
}
