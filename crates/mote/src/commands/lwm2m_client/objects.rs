//! The objects of `mote lwm2m-client`: a Device (/3) with realistic values, Connectivity
//! Monitoring (/4), Firmware Update (/5) whose hook checks a SHA-256 digest carried with the
//! image, a Temperature sensor (/3303) and a writable test object (/32769), and the file
//! storage of `--state DIR`.

use std::path::{Path as FsPath, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use mote_lwm2m::{Path, Record, Value};
use mote_lwm2m_client::firmware::UpdateResult;
use mote_lwm2m_client::object::DataObject;
use mote_lwm2m_client::{
    Client, ClientConfig, Device, DeviceInfo, FirmwareHooks, FirmwareUpdate, ObjectError, Storage,
    StorageError,
};
use sha2::{Digest as _, Sha256};

use crate::context_file::{StdFs, StoreFs};

/// The Temperature object (OMNA 3303), the resources the command serves.
const TEMPERATURE_DDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<LWM2M><Object ObjectType="MODefinition">
  <Name>Temperature</Name><ObjectID>3303</ObjectID><ObjectURN>urn:oma:lwm2m:ext:3303</ObjectURN>
  <LWM2MVersion>1.0</LWM2MVersion><ObjectVersion>1.0</ObjectVersion>
  <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
  <Resources>
    <Item ID="5700"><Name>Sensor Value</Name><Operations>R</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory>
      <Type>Float</Type><RangeEnumeration></RangeEnumeration><Units>Cel</Units></Item>
    <Item ID="5701"><Name>Sensor Units</Name><Operations>R</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>String</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
    <Item ID="5601"><Name>Min Measured Value</Name><Operations>R</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>Float</Type><RangeEnumeration></RangeEnumeration><Units>Cel</Units></Item>
    <Item ID="5602"><Name>Max Measured Value</Name><Operations>R</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>Float</Type><RangeEnumeration></RangeEnumeration><Units>Cel</Units></Item>
    <Item ID="5750"><Name>Application Type</Name><Operations>RW</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>String</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
  </Resources>
</Object></LWM2M>"#;

/// The writable test object: one resource of each common type, all RW.
pub(crate) const TEST_OBJECT: u16 = 32769;

const TEST_OBJECT_DDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<LWM2M><Object ObjectType="MODefinition">
  <Name>Mote Test Object</Name><ObjectID>32769</ObjectID><ObjectURN>urn:oma:lwm2m:x:32769</ObjectURN>
  <LWM2MVersion>1.1</LWM2MVersion><ObjectVersion>1.0</ObjectVersion>
  <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
  <Resources>
    <Item ID="0"><Name>Text</Name><Operations>RW</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>String</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
    <Item ID="1"><Name>Counter</Name><Operations>RW</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>Integer</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
    <Item ID="2"><Name>Level</Name><Operations>RW</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>Float</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
    <Item ID="3"><Name>Switch</Name><Operations>RW</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>Boolean</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
    <Item ID="4"><Name>Blob</Name><Operations>RW</Operations>
      <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
      <Type>Opaque</Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
  </Resources>
</Object></LWM2M>"#;

/// The firmware image format the Firmware Update hook accepts: the magic, the SHA-256 of the
/// image, the image (documented in `docs/cli.md`).
pub(crate) const FIRMWARE_MAGIC: &[u8] = b"MOTEFW1\n";

/// Largest firmware package accepted (beyond: Update Result 2, not enough flash).
const MAX_PACKAGE: usize = 1 << 20;

/// The running firmware's version (/3/0/3): the Device reads it, an installed package
/// replaces it.
pub(crate) type FirmwareVersion = std::sync::Arc<std::sync::Mutex<String>>;

/// The device this command plays.
#[derive(Debug)]
pub(crate) struct Board {
    firmware: FirmwareVersion,
    serial: String,
    utc_offset: String,
    time_offset: i64,
    reboots: u32,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl DeviceInfo for Board {
    fn manufacturer(&self) -> Option<String> {
        Some("Mote".into())
    }
    fn model_number(&self) -> Option<String> {
        Some("mote-lwm2m-client".into())
    }
    fn serial_number(&self) -> Option<String> {
        Some(self.serial.clone())
    }
    fn firmware_version(&self) -> Option<String> {
        self.firmware.lock().ok().map(|v| v.clone())
    }
    fn battery_level(&self) -> Option<i64> {
        Some(100)
    }
    fn memory_free(&self) -> Option<i64> {
        Some(2048)
    }
    fn current_time(&self) -> Option<i64> {
        Some(unix_now().saturating_add(self.time_offset))
    }
    fn set_current_time(&mut self, time: i64) -> Result<(), ObjectError> {
        self.time_offset = time.saturating_sub(unix_now());
        Ok(())
    }
    fn utc_offset(&self) -> Option<String> {
        Some(self.utc_offset.clone())
    }
    fn set_utc_offset(&mut self, offset: String) -> Result<(), ObjectError> {
        self.utc_offset = offset;
        Ok(())
    }
    fn reboot(&mut self) -> Result<(), ObjectError> {
        // A simulated device: the reboot is the `execute` event the command prints.
        self.reboots = self.reboots.saturating_add(1);
        Ok(())
    }
}

/// The length of a package's header: [`FIRMWARE_MAGIC`] and the SHA-256 of the image.
const HEADER_LEN: usize = FIRMWARE_MAGIC.len() + 32;

/// How much of the image is kept to read its `version:` line.
const VERSION_LINE_MAX: usize = 64;

/// The Firmware Update hooks: a package is [`FIRMWARE_MAGIC`], the SHA-256 of the image and
/// the image; anything else is Update Result 6 ("unsupported package type"), a digest that
/// does not match Update Result 5 ("integrity check failure"). The digest is computed as the
/// blocks arrive: the image is never held (a device would write it to flash). An image whose
/// first line is `version:TEXT` installs as firmware version TEXT (/3/0/3), any other as
/// `sha256:` and the first 8 hex digits of its digest. Installing succeeds at once (a
/// simulated device).
#[derive(Debug)]
pub(crate) struct FirmwareImage {
    running: FirmwareVersion,
    /// The header bytes received so far (at most [`HEADER_LEN`]).
    header: Vec<u8>,
    /// The digest of the image bytes received so far.
    hasher: Sha256,
    /// The first bytes of the image (for the version line).
    start: Vec<u8>,
    /// The version of the package [`FirmwareHooks::finish`] accepted.
    checked: Option<String>,
}

impl FirmwareImage {
    pub(crate) fn new(running: FirmwareVersion) -> Self {
        FirmwareImage {
            running,
            header: Vec::new(),
            hasher: Sha256::new(),
            start: Vec::new(),
            checked: None,
        }
    }
}

impl FirmwareHooks for FirmwareImage {
    fn begin(&mut self) -> Result<(), UpdateResult> {
        self.header.clear();
        self.hasher = Sha256::new();
        self.start.clear();
        self.checked = None;
        Ok(())
    }

    fn write_block(&mut self, _offset: usize, block: &[u8]) -> Result<(), UpdateResult> {
        let take = HEADER_LEN
            .saturating_sub(self.header.len())
            .min(block.len());
        let (head, image) = block.split_at(take);
        self.header.extend_from_slice(head);
        if self.header.len() >= FIRMWARE_MAGIC.len() && !self.header.starts_with(FIRMWARE_MAGIC) {
            return Err(UpdateResult::UnsupportedPackageType);
        }
        self.hasher.update(image);
        let room = VERSION_LINE_MAX
            .saturating_sub(self.start.len())
            .min(image.len());
        self.start.extend_from_slice(&image[..room]);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), UpdateResult> {
        let digest = self.header.strip_prefix(FIRMWARE_MAGIC).ok_or(
            if self.header.len() < FIRMWARE_MAGIC.len() {
                UpdateResult::UnsupportedPackageType
            } else {
                UpdateResult::IntegrityCheckFailure
            },
        )?;
        if digest.len() < 32 {
            return Err(UpdateResult::IntegrityCheckFailure);
        }
        let computed = std::mem::take(&mut self.hasher).finalize();
        if computed.as_slice() != digest {
            return Err(UpdateResult::IntegrityCheckFailure);
        }
        let line = self
            .start
            .strip_prefix(b"version:")
            .and_then(|rest| rest.split(|b| *b == b'\n').next())
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        self.checked =
            Some(line.unwrap_or_else(|| format!("sha256:{}", &hex::encode(computed)[..8])));
        Ok(())
    }

    fn abort(&mut self) {
        self.checked = None;
    }

    fn start_update(&mut self) -> Result<(), UpdateResult> {
        let version = self.checked.clone().ok_or(UpdateResult::UpdateFailed)?;
        if let Ok(mut running) = self.running.lock() {
            *running = version;
        }
        Ok(())
    }
}

/// Checks a firmware package of the [`FIRMWARE_MAGIC`] format.
#[cfg(test)]
pub(crate) fn check_image(package: &[u8]) -> Result<(), UpdateResult> {
    let rest = package
        .strip_prefix(FIRMWARE_MAGIC)
        .ok_or(UpdateResult::UnsupportedPackageType)?;
    if rest.len() < 32 {
        return Err(UpdateResult::IntegrityCheckFailure);
    }
    let (digest, image) = rest.split_at(32);
    if Sha256::digest(image).as_slice() == digest {
        Ok(())
    } else {
        Err(UpdateResult::IntegrityCheckFailure)
    }
}

fn rec(path: &str, value: Value) -> Result<Record> {
    let path: Path = path
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid path {path}"))?;
    Ok(Record::new(path, value))
}

/// The client core with the command's objects and their initial values.
pub(crate) fn client(endpoint: &str, extra: Option<&FsPath>) -> Result<Client> {
    let running: FirmwareVersion =
        std::sync::Arc::new(std::sync::Mutex::new(env!("CARGO_PKG_VERSION").to_string()));
    let mut c = Client::new(ClientConfig::default());
    c.define_ddf(TEMPERATURE_DDF)?;
    c.define_ddf(TEST_OBJECT_DDF)?;
    // `--objects DIR`: the DDF objects are defined and, unless the client implements the
    // object itself, served as data objects without instances: a server (or the
    // Bootstrap-Server) creates them, and the Register payload lists `</ID>`.
    let mut ddf_objects = Vec::new();
    if let Some(dir) = extra {
        for def in crate::commands::lwm2m::registry(Some(dir))?.iter() {
            c.define(def.clone());
        }
        let loaded = mote_lwm2m::ddf::load_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .map_err(|(file, e)| anyhow::anyhow!("{}: {e}", file.display()))?;
        ddf_objects.extend(loaded.iter().map(|d| d.id));
    }
    let board = Board {
        firmware: running.clone(),
        serial: endpoint.to_string(),
        utc_offset: "+00:00".into(),
        time_offset: 0,
        reboots: 0,
    };
    c.register(3, Box::new(Device::new(board)))?;
    c.register(4, Box::new(DataObject::new()))?;
    c.register(
        5,
        Box::new(FirmwareUpdate::new(
            FirmwareImage::new(running),
            MAX_PACKAGE,
        )),
    )?;
    c.register(3303, Box::new(DataObject::new()))?;
    c.register(TEST_OBJECT, Box::new(DataObject::new()))?;
    for id in ddf_objects {
        if c.object(id).is_none() {
            c.register(id, Box::new(DataObject::new()))?;
        }
    }
    let writes: [(&str, Vec<Record>); 3] = [
        (
            "/4/0",
            vec![
                // 41 = Ethernet (TS 1.2 Core Appendix E.5, Network Bearer).
                rec("/4/0/0", Value::Integer(41))?,
                rec("/4/0/1/0", Value::Integer(41))?,
                rec("/4/0/2", Value::Integer(-60))?,
                rec("/4/0/4/0", Value::String("127.0.0.1".into()))?,
            ],
        ),
        (
            "/3303/0",
            vec![
                rec("/3303/0/5700", Value::Float(21.5))?,
                rec("/3303/0/5701", Value::String("Cel".into()))?,
                rec("/3303/0/5601", Value::Float(21.5))?,
                rec("/3303/0/5602", Value::Float(21.5))?,
                rec("/3303/0/5750", Value::String("room".into()))?,
            ],
        ),
        (
            "/32769/0",
            vec![
                rec("/32769/0/0", Value::String("hello".into()))?,
                rec("/32769/0/1", Value::Integer(0))?,
                rec("/32769/0/2", Value::Float(0.0))?,
                rec("/32769/0/3", Value::Boolean(false))?,
                rec("/32769/0/4", Value::Opaque(Vec::new()))?,
            ],
        ),
    ];
    for (base, records) in writes {
        let base: Path = base
            .parse()
            .map_err(|_| anyhow::anyhow!("invalid path {base}"))?;
        c.bootstrap_write(&base, &records)?;
    }
    Ok(c)
}

/// `--state DIR`: the configuration in `DIR/lwm2m-config.cbor`, replaced atomically and
/// durably (written to a temporary file, fsync'd, renamed, the directory fsync'd) as the
/// OSCORE sequence files are.
#[derive(Debug)]
pub(crate) struct FileStorage {
    dir: PathBuf,
}

impl FileStorage {
    /// The storage in `dir` (created when missing).
    pub(crate) fn new(dir: &FsPath) -> Result<FileStorage> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(FileStorage {
            dir: dir.to_path_buf(),
        })
    }

    fn file(&self) -> PathBuf {
        self.dir.join("lwm2m-config.cbor")
    }

    /// `DIR/NAME` replaced atomically and durably.
    pub(crate) fn replace(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let file = self.dir.join(name);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let io = |e: std::io::Error| StorageError::Io(format!("{}: {e}", file.display()));
        let mut fs = StdFs;
        fs.write_tmp(&tmp, bytes).map_err(io)?;
        fs.fsync_file(&tmp).map_err(io)?;
        fs.rename(&tmp, &file).map_err(io)?;
        fs.fsync_dir(&self.dir).map_err(io)?;
        Ok(())
    }

    /// `DIR/NAME`, if it exists.
    pub(crate) fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let file = self.dir.join(name);
        StdFs
            .read(&file)
            .map_err(|e| StorageError::Io(format!("{}: {e}", file.display())))
    }
}

impl Storage for FileStorage {
    fn load(&mut self) -> Result<Option<Vec<u8>>, StorageError> {
        StdFs
            .read(&self.file())
            .map_err(|e| StorageError::Io(format!("{}: {e}", self.file().display())))
    }

    fn store(&mut self, configuration: &[u8]) -> Result<(), StorageError> {
        let file = self.file();
        let tmp = file.with_extension("cbor.tmp");
        let io = |e: std::io::Error| StorageError::Io(format!("{}: {e}", file.display()));
        let mut fs = StdFs;
        fs.write_tmp(&tmp, configuration).map_err(io)?;
        fs.fsync_file(&tmp).map_err(io)?;
        fs.rename(&tmp, &file).map_err(io)?;
        fs.fsync_dir(&self.dir).map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn package(image: &[u8]) -> Vec<u8> {
        let mut p = FIRMWARE_MAGIC.to_vec();
        p.extend_from_slice(&Sha256::digest(image));
        p.extend_from_slice(image);
        p
    }

    /// Feeds `package` to the hooks in pieces of `piece` bytes.
    fn feed(hooks: &mut FirmwareImage, package: &[u8], piece: usize) -> Result<(), UpdateResult> {
        hooks.begin()?;
        for (i, chunk) in package.chunks(piece).enumerate() {
            hooks.write_block(i * piece, chunk)?;
        }
        hooks.finish()
    }

    #[test]
    fn the_streamed_check_agrees_with_the_whole_image_check_and_sets_the_version() {
        let running: FirmwareVersion = std::sync::Arc::new(std::sync::Mutex::new("1.0".into()));
        let mut hooks = FirmwareImage::new(running.clone());
        let mut image = b"version:2.0-test\n".to_vec();
        image.extend((0..5000u32).map(|i| (i % 251) as u8));
        let good = package(&image);
        for piece in [1, 7, 16, 40, 41, 1024, good.len()] {
            assert_eq!(feed(&mut hooks, &good, piece), Ok(()), "pieces of {piece}");
        }
        let mut bad = good.clone();
        bad[HEADER_LEN + 100] ^= 1;
        for piece in [1, 39, 40, 1024] {
            assert_eq!(
                feed(&mut hooks, &bad, piece),
                Err(UpdateResult::IntegrityCheckFailure),
                "pieces of {piece}"
            );
        }
        // A refused package cannot be installed; the running version stays.
        assert_eq!(hooks.start_update(), Err(UpdateResult::UpdateFailed));
        assert_eq!(*running.lock().unwrap(), "1.0");
        assert_eq!(
            feed(&mut hooks, b"ELF\x7f and more bytes", 4),
            Err(UpdateResult::UnsupportedPackageType)
        );
        assert_eq!(feed(&mut hooks, &good, 512), Ok(()));
        assert_eq!(hooks.start_update(), Ok(()));
        assert_eq!(*running.lock().unwrap(), "2.0-test");
    }

    #[test]
    fn the_image_check_accepts_a_matching_digest_only() {
        assert_eq!(check_image(&package(b"new firmware")), Ok(()));
        let mut bad = package(b"new firmware");
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(check_image(&bad), Err(UpdateResult::IntegrityCheckFailure));
        assert_eq!(
            check_image(b"ELF\x7f..."),
            Err(UpdateResult::UnsupportedPackageType)
        );
        assert_eq!(
            check_image(FIRMWARE_MAGIC),
            Err(UpdateResult::IntegrityCheckFailure)
        );
    }

    #[test]
    fn the_file_storage_round_trips_and_replaces() {
        let dir = std::env::temp_dir().join(format!("mote-lwc-{}", std::process::id()));
        let mut s = FileStorage::new(&dir).unwrap();
        assert_eq!(s.load().unwrap(), None);
        s.store(b"one").unwrap();
        s.store(b"two").unwrap();
        assert_eq!(s.load().unwrap(), Some(b"two".to_vec()));
        assert!(!dir.join("lwm2m-config.cbor.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
