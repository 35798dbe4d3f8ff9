//! The bridge to `mote-lwm2m`: its paths become [`Target`]s and its object definitions
//! (the built-in core Objects and DDF files loaded into an `ObjectRegistry`) answer
//! [`ObjectDefinitions`].

use mote_lwm2m::Path;
use mote_lwm2m::object::{Builtin, ObjectDef, ObjectDefs, ObjectRegistry};

use crate::definitions::{ObjectDefinitions, ResourceDefinition, ResourceOperations};
use crate::target::Target;

impl From<Path> for Target {
    fn from(path: Path) -> Self {
        // A path has at most four IDs (one per level).
        match *path.ids() {
            [o] => Target::Object(o),
            [o, i] => Target::Instance(o, i),
            [o, i, r] => Target::Resource(o, i, r),
            [o, i, r, ri] => Target::ResourceInstance(o, i, r, ri),
            _ => Target::Root,
        }
    }
}

impl From<&Path> for Target {
    fn from(path: &Path) -> Self {
        Target::from(*path)
    }
}

fn resource_definition(r: &mote_lwm2m::ResourceDef) -> ResourceDefinition {
    let ops = r.operations;
    ResourceDefinition {
        id: r.id,
        operations: ResourceOperations::new(ops.readable(), ops.writable(), ops.executable()),
        multiple: r.multiple,
        mandatory: r.mandatory,
    }
}

fn object(def: Option<&ObjectDef>) -> Option<bool> {
    def.map(|o| o.multiple)
}

fn resource(def: Option<&ObjectDef>, resource: u16) -> Option<ResourceDefinition> {
    def?.resource(resource).map(resource_definition)
}

fn for_each(def: Option<&ObjectDef>, f: &mut dyn FnMut(ResourceDefinition)) {
    if let Some(def) = def {
        def.resources.iter().map(resource_definition).for_each(f);
    }
}

/// Any `mote-lwm2m` [`ObjectDefs`] source as [`ObjectDefinitions`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Lwm2mDefinitions<D>(pub D);

impl<D: ObjectDefs> ObjectDefinitions for Lwm2mDefinitions<D> {
    fn object(&self, id: u16) -> Option<bool> {
        object(self.0.object(id))
    }
    fn resource(&self, object: u16, id: u16) -> Option<ResourceDefinition> {
        resource(self.0.object(object), id)
    }
    fn for_each_resource(&self, object: u16, f: &mut dyn FnMut(ResourceDefinition)) {
        for_each(self.0.object(object), f);
    }
}

impl ObjectDefinitions for ObjectRegistry {
    fn object(&self, id: u16) -> Option<bool> {
        object(ObjectDefs::object(self, id))
    }
    fn resource(&self, object: u16, id: u16) -> Option<ResourceDefinition> {
        resource(ObjectDefs::object(self, object), id)
    }
    fn for_each_resource(&self, object: u16, f: &mut dyn FnMut(ResourceDefinition)) {
        for_each(ObjectDefs::object(self, object), f);
    }
}

impl ObjectDefinitions for Builtin {
    fn object(&self, id: u16) -> Option<bool> {
        object(ObjectDefs::object(self, id))
    }
    fn resource(&self, object: u16, id: u16) -> Option<ResourceDefinition> {
        resource(ObjectDefs::object(self, object), id)
    }
    fn for_each_resource(&self, object: u16, f: &mut dyn FnMut(ResourceDefinition)) {
        for_each(ObjectDefs::object(self, object), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_convert() {
        let p: Path = "/3/0/7/1".parse().unwrap();
        assert_eq!(Target::from(p), Target::ResourceInstance(3, 0, 7, 1));
        let root: Path = "/".parse().unwrap();
        assert_eq!(Target::from(root), Target::Root);
        for (text, target) in [
            ("/3", Target::Object(3)),
            ("/3/1", Target::Instance(3, 1)),
            ("/3/1/7", Target::Resource(3, 1, 7)),
            (
                "/65534/65534/65534/65534",
                Target::ResourceInstance(65534, 65534, 65534, 65534),
            ),
        ] {
            let p: Path = text.parse().unwrap();
            assert_eq!(Target::from(&p), target, "{text}");
        }
    }

    #[test]
    fn builtin_definitions_answer() {
        // Device Object: single-instance; Reboot (4) is E, mandatory; Error Code (11) R multiple.
        assert_eq!(ObjectDefinitions::object(&Builtin, 3), Some(false));
        let reboot = ObjectDefinitions::resource(&Builtin, 3, 4).unwrap();
        assert!(reboot.operations.execute() && !reboot.operations.read() && reboot.mandatory);
        let errors = ObjectDefinitions::resource(&Builtin, 3, 11).unwrap();
        assert!(errors.multiple && errors.operations.read_only());
        assert_eq!(ObjectDefinitions::object(&Builtin, 7), None);
    }
}
