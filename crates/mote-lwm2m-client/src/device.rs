//! The Device Object /3 (LwM2M TS 1.2 Core Appendix E.4): values come from the
//! application through [`DeviceInfo`]; Reboot, Factory Reset and Reset Error Code are hooks.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mote_lwm2m::Value;
use mote_lwm2m::data::ResourceData;

use crate::error::ObjectError;
use crate::object::{ExecuteArgument, Object};

/// What the application tells about the device. Every value is optional except the error
/// codes and the supported binding, which are mandatory resources.
pub trait DeviceInfo {
    /// /3/0/0 Manufacturer.
    fn manufacturer(&self) -> Option<String> {
        None
    }
    /// /3/0/1 Model Number.
    fn model_number(&self) -> Option<String> {
        None
    }
    /// /3/0/2 Serial Number.
    fn serial_number(&self) -> Option<String> {
        None
    }
    /// /3/0/3 Firmware Version.
    fn firmware_version(&self) -> Option<String> {
        None
    }
    /// /3/0/9 Battery Level, percent.
    fn battery_level(&self) -> Option<i64> {
        None
    }
    /// /3/0/10 Memory Free, KiB.
    fn memory_free(&self) -> Option<i64> {
        None
    }
    /// /3/0/11 Error Code (0 = no error).
    fn error_codes(&self) -> Vec<i64> {
        vec![0]
    }
    /// /3/0/13 Current Time, Unix seconds.
    fn current_time(&self) -> Option<i64> {
        None
    }
    /// Writes /3/0/13 Current Time.
    fn set_current_time(&mut self, time: i64) -> Result<(), ObjectError> {
        let _ = time;
        Err(ObjectError::MethodNotAllowed)
    }
    /// /3/0/14 UTC Offset (ISO 8601, `+01:00`).
    fn utc_offset(&self) -> Option<String> {
        None
    }
    /// Writes /3/0/14 UTC Offset.
    fn set_utc_offset(&mut self, offset: String) -> Result<(), ObjectError> {
        let _ = offset;
        Err(ObjectError::MethodNotAllowed)
    }
    /// /3/0/16 Supported Binding and Modes.
    fn supported_binding(&self) -> String {
        String::from("U")
    }
    /// Execute /3/0/4 Reboot.
    fn reboot(&mut self) -> Result<(), ObjectError>;
    /// Execute /3/0/5 Factory Reset.
    fn factory_reset(&mut self) -> Result<(), ObjectError> {
        Err(ObjectError::MethodNotAllowed)
    }
    /// Execute /3/0/12 Reset Error Code.
    fn reset_error_codes(&mut self) -> Result<(), ObjectError> {
        Ok(())
    }
}

/// The Device Object over a [`DeviceInfo`]: one instance, 0.
#[derive(Clone, Debug, Default)]
pub struct Device<D> {
    /// The application's device.
    pub info: D,
}

impl<D: DeviceInfo> Device<D> {
    /// Wraps the application's device.
    pub const fn new(info: D) -> Self {
        Device { info }
    }

    fn value(&self, resource: u16) -> Option<ResourceData> {
        let s = |v: Option<String>| v.map(|v| ResourceData::Single(Value::String(v)));
        let i = |v: Option<i64>| v.map(|v| ResourceData::Single(Value::Integer(v)));
        match resource {
            0 => s(self.info.manufacturer()),
            1 => s(self.info.model_number()),
            2 => s(self.info.serial_number()),
            3 => s(self.info.firmware_version()),
            9 => i(self.info.battery_level()),
            10 => i(self.info.memory_free()),
            11 => {
                // Inserted one by one (the instance IDs ascend): collecting into a map would
                // link a stable sort for nothing.
                let mut codes = mote_lwm2m::data::Map::new();
                for (c, n) in self.info.error_codes().into_iter().zip(0u16..) {
                    codes.insert(n, Value::Integer(c));
                }
                Some(ResourceData::Multiple(codes))
            }
            13 => self
                .info
                .current_time()
                .map(|t| ResourceData::Single(Value::Time(t))),
            14 => s(self.info.utc_offset()),
            16 => Some(ResourceData::Single(Value::String(
                self.info.supported_binding(),
            ))),
            _ => None,
        }
    }
}

/// The resources the Device Object may have, ascending.
const DEVICE_RESOURCES: [u16; 13] = [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 16];

/// Its executable resources (always instantiated).
const DEVICE_EXECUTABLES: [u16; 3] = [4, 5, 12];

impl<D: DeviceInfo + 'static> Object for Device<D> {
    fn as_any_mut(&mut self) -> Option<&mut dyn core::any::Any> {
        Some(self)
    }

    fn instances(&self) -> Vec<u16> {
        vec![0]
    }

    fn resources(&self, instance: u16) -> Result<Vec<u16>, ObjectError> {
        if instance != 0 {
            return Err(ObjectError::NotFound);
        }
        // The executable resources are always instantiated (Reboot is mandatory; Factory
        // Reset and Reset Error Code answer 4.05 when the application has no hook).
        let mut ids = Vec::new();
        for r in DEVICE_RESOURCES {
            if DEVICE_EXECUTABLES.contains(&r) || self.value(r).is_some() {
                ids.push(r);
            }
        }
        Ok(ids)
    }

    fn read(&self, instance: u16, resource: u16) -> Result<ResourceData, ObjectError> {
        if instance != 0 {
            return Err(ObjectError::NotFound);
        }
        self.value(resource).ok_or(ObjectError::NotFound)
    }

    fn write(
        &mut self,
        instance: u16,
        resource: u16,
        data: ResourceData,
    ) -> Result<(), ObjectError> {
        match (instance, resource, data) {
            (0, 13, ResourceData::Single(Value::Time(t) | Value::Integer(t))) => {
                self.info.set_current_time(t)
            }
            (0, 14, ResourceData::Single(Value::String(o))) => self.info.set_utc_offset(o),
            (0, _, _) => Err(ObjectError::MethodNotAllowed),
            _ => Err(ObjectError::NotFound),
        }
    }

    fn execute(
        &mut self,
        instance: u16,
        resource: u16,
        _arguments: &[ExecuteArgument],
    ) -> Result<(), ObjectError> {
        match (instance, resource) {
            (0, 4) => self.info.reboot(),
            (0, 5) => self.info.factory_reset(),
            (0, 12) => self.info.reset_error_codes(),
            (0, _) => Err(ObjectError::MethodNotAllowed),
            _ => Err(ObjectError::NotFound),
        }
    }
}
