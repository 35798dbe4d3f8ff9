//! The Firmware Update Object /5 (LwM2M TS 1.2 Core Appendix E.6): the State and Update
//! Result resources and their state machine; Package, Package URI and Update as data plus
//! hooks. A Package URI write moves to Downloading; [`crate::Engine`] pulls `coap://` URIs
//! through the CoAP endpoint and hands each block to [`FirmwareHooks::write_block`] as it
//! arrives (verified end to end under OSCORE); for other schemes the application reports the
//! outcome through [`FirmwareUpdate::download_finished`].
//!
//! The object never holds the image: a package (pushed through resource 0 or pulled) goes
//! to the hooks as [`FirmwareHooks::begin`], [`FirmwareHooks::write_block`] for each piece
//! in order, then [`FirmwareHooks::finish`], which checks what was written (digest, type)
//! — e.g. straight into a flash slot, so a device needs no RAM for the whole image.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use mote_lwm2m::Value;
use mote_lwm2m::data::ResourceData;

use crate::error::ObjectError;
use crate::object::{ExecuteArgument, Object};

/// Resource 3, State (Appendix E.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// 0: Idle (before downloading or after a successful update).
    Idle,
    /// 1: Downloading.
    Downloading,
    /// 2: Downloaded.
    Downloaded,
    /// 3: Updating.
    Updating,
}

impl State {
    /// The resource value.
    pub const fn value(self) -> i64 {
        match self {
            State::Idle => 0,
            State::Downloading => 1,
            State::Downloaded => 2,
            State::Updating => 3,
        }
    }
}

/// Resource 5, Update Result (Appendix E.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateResult {
    /// 0: initial value; set when a download or update starts.
    Initial,
    /// 1: firmware updated successfully.
    Success,
    /// 2: not enough flash memory for the new package.
    NotEnoughFlash,
    /// 3: out of RAM during the download.
    OutOfRam,
    /// 4: connection lost during the download.
    ConnectionLost,
    /// 5: integrity check failure for the new package.
    IntegrityCheckFailure,
    /// 6: unsupported package type.
    UnsupportedPackageType,
    /// 7: invalid URI.
    InvalidUri,
    /// 8: firmware update failed.
    UpdateFailed,
    /// 9: unsupported protocol.
    UnsupportedProtocol,
}

impl UpdateResult {
    /// The resource value.
    pub const fn value(self) -> i64 {
        match self {
            UpdateResult::Initial => 0,
            UpdateResult::Success => 1,
            UpdateResult::NotEnoughFlash => 2,
            UpdateResult::OutOfRam => 3,
            UpdateResult::ConnectionLost => 4,
            UpdateResult::IntegrityCheckFailure => 5,
            UpdateResult::UnsupportedPackageType => 6,
            UpdateResult::InvalidUri => 7,
            UpdateResult::UpdateFailed => 8,
            UpdateResult::UnsupportedProtocol => 9,
        }
    }
}

/// What the application does with firmware images, fed piece by piece.
///
/// Call order for one package: [`FirmwareHooks::begin`], [`FirmwareHooks::write_block`]
/// for each piece in order (offsets contiguous from 0), then [`FirmwareHooks::finish`]; a
/// download that fails between them ends with [`FirmwareHooks::abort`]. Execute (/5/0/2)
/// then calls [`FirmwareHooks::start_update`] for the package the last `finish` accepted.
pub trait FirmwareHooks {
    /// A new package starts (the previous one, if any, is discarded). The error becomes the
    /// Update Result. The default accepts.
    fn begin(&mut self) -> Result<(), UpdateResult> {
        Ok(())
    }

    /// The package is complete: check it (integrity, type). The error becomes the Update
    /// Result and the package is discarded (the running firmware stays).
    fn finish(&mut self) -> Result<(), UpdateResult>;

    /// The package being written is abandoned (a failed download, a reset). The default does
    /// nothing.
    fn abort(&mut self) {}

    /// Accepts (or refuses) a pull download of `uri` (resource 1); the error becomes the
    /// Update Result (invalid URI, unsupported protocol). The default accepts `coap://` and
    /// `coap+tcp://`, which [`crate::Engine`] downloads through the CoAP endpoint (block-wise)
    /// and hands to [`FirmwareHooks::write_block`] as it arrives; other schemes are Update
    /// Result 9. Without the `firmware-pull` feature the engine pulls nothing, so the default
    /// refuses every URI with Update Result 9 (the server pushes instead) rather than leaving
    /// the object in Downloading; an application that downloads itself accepts here and
    /// calls [`FirmwareUpdate::download_finished`].
    fn start_download(&mut self, uri: &str) -> Result<(), UpdateResult> {
        if cfg!(feature = "firmware-pull")
            && (uri.starts_with("coap://") || uri.starts_with("coap+tcp://"))
        {
            Ok(())
        } else {
            Err(UpdateResult::UnsupportedProtocol)
        }
    }

    /// One piece of the package at `offset`: a pulled package's blocks in order as they
    /// arrive (under OSCORE after each verified, RFC 8613 §4.1.3.4), before the next block is
    /// requested, e.g. to write it to flash at once; a pushed package (resource 0) as one
    /// piece. An error ends the download with that Update Result.
    fn write_block(&mut self, offset: usize, block: &[u8]) -> Result<(), UpdateResult>;

    /// Starts installing the package the last [`FirmwareHooks::finish`] accepted (Execute
    /// /5/0/2); the outcome is reported through [`FirmwareUpdate::update_finished`]. An
    /// error fails the update at once.
    fn start_update(&mut self) -> Result<(), UpdateResult>;
}

/// The Firmware Update Object over [`FirmwareHooks`]: one instance, 0.
#[derive(Clone, Debug)]
pub struct FirmwareUpdate<H> {
    /// The application's hooks.
    pub hooks: H,
    state: State,
    result: UpdateResult,
    /// Bytes of the package written to the hooks so far.
    written: usize,
    uri: String,
    max_package: usize,
    /// The engine has started pulling `uri`.
    pulling: bool,
}

/// What [`crate::Engine`] needs of the Firmware Update object to pull a package from its
/// Package URI (object-safe; reached through [`crate::Object::firmware_pull`]).
pub trait FirmwarePull {
    /// The Package URI to download now: `Some` in Downloading after a Write of resource 1,
    /// until [`FirmwarePull::pull_started`].
    fn pull_uri(&self) -> Option<&str>;
    /// The download has been sent.
    fn pull_started(&mut self);
    /// The largest package accepted (the download's body bound).
    fn max_package(&self) -> usize;
    /// The block of the package at `offset` arrived (blocks come in order, RFC 7959 §2.4);
    /// the error (e.g. the hooks refuse the block) ends the download with that Update Result.
    fn pull_block(&mut self, offset: usize, block: &[u8]) -> Result<(), UpdateResult>;
    /// The download ended: `Ok` when every block was handed to [`FirmwarePull::pull_block`]
    /// (the hooks check the package next, [`FirmwareHooks::finish`]), or the Update Result
    /// of the failure.
    fn pull_finished(&mut self, outcome: Result<(), UpdateResult>);
}

impl<H: FirmwareHooks> FirmwarePull for FirmwareUpdate<H> {
    fn pull_uri(&self) -> Option<&str> {
        (self.state == State::Downloading && !self.pulling && !self.uri.is_empty())
            .then_some(self.uri.as_str())
    }

    fn pull_started(&mut self) {
        self.pulling = true;
        self.written = 0;
        if let Err(r) = self.hooks.begin() {
            self.fail(r);
        }
    }

    fn max_package(&self) -> usize {
        self.max_package
    }

    fn pull_block(&mut self, offset: usize, block: &[u8]) -> Result<(), UpdateResult> {
        if self.state != State::Downloading || !self.pulling {
            // The pull was reset (an empty Package URI) meanwhile.
            return Err(UpdateResult::Initial);
        }
        if offset != self.written {
            return Err(UpdateResult::IntegrityCheckFailure);
        }
        let end = offset.saturating_add(block.len());
        if end > self.max_package {
            return Err(UpdateResult::NotEnoughFlash);
        }
        // Straight to the hooks: the object keeps no copy of the image.
        self.hooks.write_block(offset, block)?;
        self.written = end;
        Ok(())
    }

    fn pull_finished(&mut self, outcome: Result<(), UpdateResult>) {
        self.pulling = false;
        if self.state != State::Downloading {
            return;
        }
        match outcome.and_then(|()| self.hooks.finish()) {
            Ok(()) => self.state = State::Downloaded,
            Err(r) => self.fail(r),
        }
    }
}

impl<H: FirmwareHooks> FirmwareUpdate<H> {
    /// A Firmware Update object in Idle / Initial accepting packages of at most
    /// `max_package` bytes through resource 0 (a bigger one is Update Result 2, not
    /// enough flash).
    pub fn new(hooks: H, max_package: usize) -> Self {
        FirmwareUpdate {
            hooks,
            state: State::Idle,
            result: UpdateResult::Initial,
            written: 0,
            uri: String::new(),
            max_package,
            pulling: false,
        }
    }

    /// Resource 3.
    pub const fn state(&self) -> State {
        self.state
    }

    /// Resource 5.
    pub const fn update_result(&self) -> UpdateResult {
        self.result
    }

    /// Bytes of the current package written to the hooks.
    pub const fn written(&self) -> usize {
        self.written
    }

    fn fail(&mut self, result: UpdateResult) {
        if self.state == State::Downloading {
            self.hooks.abort();
        }
        self.pulling = false;
        self.state = State::Idle;
        self.result = result;
        self.written = 0;
    }

    fn reset(&mut self) {
        if self.state == State::Downloading {
            self.hooks.abort();
        }
        self.pulling = false;
        self.state = State::Idle;
        self.result = UpdateResult::Initial;
        self.written = 0;
        self.uri.clear();
    }

    /// Appendix E.6: writing resource 0. An empty package (or a single NUL byte) resets
    /// the state machine to Idle; otherwise Downloading → Downloaded when the hooks verify
    /// it, → Idle with the hooks' Update Result when not.
    pub fn write_package(&mut self, package: &[u8]) -> Result<(), ObjectError> {
        if package.is_empty() || package == [0] {
            self.reset();
            return Ok(());
        }
        if self.state != State::Idle {
            // Appendix E.6: a new package is accepted in Idle only.
            return Err(ObjectError::MethodNotAllowed);
        }
        self.result = UpdateResult::Initial;
        self.state = State::Downloading;
        if package.len() > self.max_package {
            self.fail(UpdateResult::NotEnoughFlash);
            return Ok(());
        }
        self.written = 0;
        let written = self
            .hooks
            .begin()
            .and_then(|()| self.hooks.write_block(0, package))
            .and_then(|()| self.hooks.finish());
        match written {
            Ok(()) => {
                self.written = package.len();
                self.state = State::Downloaded;
            }
            Err(r) => self.fail(r),
        }
        Ok(())
    }

    /// Appendix E.6: writing resource 1. Empty resets to Idle; otherwise the download
    /// starts (Downloading) or fails at once (Idle with the hooks' Update Result).
    pub fn write_uri(&mut self, uri: &str) -> Result<(), ObjectError> {
        if uri.is_empty() {
            self.reset();
            return Ok(());
        }
        if self.state != State::Idle {
            return Err(ObjectError::MethodNotAllowed);
        }
        self.uri = String::from(uri);
        self.result = UpdateResult::Initial;
        match self.hooks.start_download(uri) {
            Ok(()) => self.state = State::Downloading,
            Err(r) => self.fail(r),
        }
        Ok(())
    }

    /// The application's own download (a scheme the engine does not pull) finished: the
    /// package goes through the hooks as if pushed, or the failure (connection lost, out of
    /// RAM, …) becomes the Update Result.
    pub fn download_finished(&mut self, outcome: Result<&[u8], UpdateResult>) {
        if self.state != State::Downloading {
            return;
        }
        match outcome {
            Ok(p) if p.len() > self.max_package => self.fail(UpdateResult::NotEnoughFlash),
            Ok(p) => {
                let written = self
                    .hooks
                    .begin()
                    .and_then(|()| self.hooks.write_block(0, p))
                    .and_then(|()| self.hooks.finish());
                match written {
                    Ok(()) => {
                        self.written = p.len();
                        self.state = State::Downloaded;
                    }
                    Err(r) => self.fail(r),
                }
            }
            Err(r) => self.fail(r),
        }
    }

    /// Execute resource 2: only in Downloaded (4.05 otherwise); Updating until
    /// [`Self::update_finished`]; a hook that refuses at once is "firmware update failed"
    /// (or its own result) and the package stays Downloaded.
    pub fn execute_update(&mut self) -> Result<(), ObjectError> {
        if self.state != State::Downloaded {
            return Err(ObjectError::MethodNotAllowed);
        }
        self.result = UpdateResult::Initial;
        match self.hooks.start_update() {
            Ok(()) => self.state = State::Updating,
            Err(r) => self.result = r,
        }
        Ok(())
    }

    /// The installation finished: success → Idle with Update Result 1; failure →
    /// Downloaded with Update Result 8 (the image can be retried, Appendix E.6).
    pub fn update_finished(&mut self, success: bool) {
        if self.state != State::Updating {
            return;
        }
        if success {
            self.state = State::Idle;
            self.result = UpdateResult::Success;
            self.written = 0;
        } else {
            self.state = State::Downloaded;
            self.result = UpdateResult::UpdateFailed;
        }
    }
}

impl<H: FirmwareHooks + 'static> Object for FirmwareUpdate<H> {
    fn as_any_mut(&mut self) -> Option<&mut dyn core::any::Any> {
        Some(self)
    }

    fn firmware_pull(&mut self) -> Option<&mut dyn FirmwarePull> {
        Some(self)
    }

    fn instances(&self) -> Vec<u16> {
        vec![0]
    }

    fn resources(&self, instance: u16) -> Result<Vec<u16>, ObjectError> {
        if instance != 0 {
            return Err(ObjectError::NotFound);
        }
        // Package (W) and Update (E) are instantiated too; Read leaves them out.
        Ok(vec![0, 1, 2, 3, 5])
    }

    fn read(&self, instance: u16, resource: u16) -> Result<ResourceData, ObjectError> {
        if instance != 0 {
            return Err(ObjectError::NotFound);
        }
        let v = match resource {
            1 => Value::String(self.uri.clone()),
            3 => Value::Integer(self.state.value()),
            5 => Value::Integer(self.result.value()),
            _ => return Err(ObjectError::NotFound),
        };
        Ok(ResourceData::Single(v))
    }

    fn write(
        &mut self,
        instance: u16,
        resource: u16,
        data: ResourceData,
    ) -> Result<(), ObjectError> {
        if instance != 0 {
            return Err(ObjectError::NotFound);
        }
        match (resource, data) {
            (0, ResourceData::Single(Value::Opaque(p))) => self.write_package(&p),
            (1, ResourceData::Single(Value::String(u))) => self.write_uri(&u),
            (0 | 1, _) => Err(ObjectError::BadRequest("wrong type")),
            _ => Err(ObjectError::MethodNotAllowed),
        }
    }

    fn execute(
        &mut self,
        instance: u16,
        resource: u16,
        _arguments: &[ExecuteArgument],
    ) -> Result<(), ObjectError> {
        match (instance, resource) {
            (0, 2) => self.execute_update(),
            (0, _) => Err(ObjectError::MethodNotAllowed),
            _ => Err(ObjectError::NotFound),
        }
    }
}
