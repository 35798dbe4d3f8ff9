//! The LwM2M client engine with OSCORE for size measurement: a Device object, one server account
//! whose messages are OSCORE-protected (/0/0 → /21/0; the context a B.2 root, RFC 8613
//! Appendix B.2 on first use), registration, DM requests and Observe /
//! notifications, driven through the mote-coap endpoint, in the device configuration of Cargo.toml
//! (no Send, firmware pull, composite operations, Bootstrap Interface, EDHOC rekeying, Block1
//! uploads, CoAP over TCP, HKDF-SHA-512 or diagnostic texts; SenML-CBOR and text only;
//! sorted-`Vec` tables). The accounts are provisioned by factory bootstrap
//! (`Client::bootstrap_write`). Input comes from `black_box`ed buffers so that nothing is
//! optimized away.
#![no_std]
#![no_main]
// The bump allocator and the entry point are the only unsafe items of this probe.

extern crate alloc;

use alloc::boxed::Box;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::hint::black_box;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;

use mote_coap::endpoint::{Endpoint, EndpointConfig};
use mote_coap::transmission::RandomSource;
use mote_lwm2m::{ObjectLink, Path, Record, Value};
use mote_lwm2m_client::registration::{Registrar, RegistrationConfig};
use mote_lwm2m_client::reporting::{Reporter, ReportingConfig};
use mote_lwm2m_client::{
    Client, ClientConfig, Device, DeviceInfo, Engine, EngineConfig, ObjectError,
};
use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;
use mote_oscore::{SecurityContext, SecurityContextParams};

const HEAP_SIZE: usize = 48 * 1024;

#[repr(C, align(8))]
struct Heap(UnsafeCell<[u8; HEAP_SIZE]>);
// SAFETY: single-threaded probe; the allocator hands out disjoint ranges.
unsafe impl Sync for Heap {}

static HEAP: Heap = Heap(UnsafeCell::new([0; HEAP_SIZE]));
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A bump allocator: the probe measures code size, not memory reuse.
struct Bump;

// SAFETY: returns aligned, in-bounds, non-overlapping blocks or null.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = HEAP.0.get().cast::<u8>();
        let mut start = 0;
        let r = NEXT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
            let addr = base as usize + next;
            let aligned = addr.checked_add(layout.align() - 1)? & !(layout.align() - 1);
            start = aligned - base as usize;
            let end = start.checked_add(layout.size())?;
            (end <= HEAP_SIZE).then_some(end)
        });
        match r {
            // SAFETY: start + size <= HEAP_SIZE.
            Ok(_) => unsafe { base.add(start) },
            Err(_) => core::ptr::null_mut(),
        }
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump;

struct Rng(u32);

impl RandomSource for Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

struct Board;

impl DeviceInfo for Board {
    fn manufacturer(&self) -> Option<alloc::string::String> {
        Some("Mote".into())
    }
    fn reboot(&mut self) -> Result<(), ObjectError> {
        Ok(())
    }
}

fn path(ids: &[u16]) -> Path {
    Path::new(ids).unwrap_or(Path::ROOT)
}

fn rec(ids: &[u16], value: Value) -> Record {
    Record::new(path(ids), value)
}

/// Stops the device on a setup failure, as firmware does: a device never returns from its
/// main loop, so neither that loop nor a failed setup tears the engine down (no drop glue of
/// the engine, endpoint and client is linked that a device would not have).
fn or_halt<T, E>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(_) => halt(),
    }
}

fn halt() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

fn run() -> ! {
    let mut client = Client::new(ClientConfig::default());
    or_halt(client.register(3, Box::new(Device::new(Board))));
    or_halt(client.bootstrap_write(
        &path(&[21, 0]),
        &[
            rec(&[21, 0, 1], Value::Opaque([1].into())),
            rec(&[21, 0, 2], Value::Opaque([2].into())),
        ],
    ));
    or_halt(client.bootstrap_write(
        &path(&[0, 0]),
        &[
            rec(&[0, 0, 0], Value::String("coap://s".into())),
            rec(&[0, 0, 1], Value::Boolean(false)),
            rec(&[0, 0, 2], Value::Integer(3)),
            rec(&[0, 0, 10], Value::Integer(1)),
            rec(&[0, 0, 17], Value::Objlnk(ObjectLink::new(21, 0))),
        ],
    ));
    or_halt(client.bootstrap_write(
        &path(&[1, 0]),
        &[
            rec(&[1, 0, 0], Value::Integer(1)),
            rec(&[1, 0, 1], Value::Integer(300)),
        ],
    ));
    let secret = black_box([0x11u8; 16]);
    let params = SecurityContextParams::new(&secret, &[1], &[2]);
    let context = or_halt(SecurityContext::<Volatile>::new(&params));
    let mut oscore = OscoreProtection::new(OscoreConfig::default(), Rng(7));
    // A B.2 root, as the LwM2M roles add their contexts (TS 1.2 Transport: Appendix B.2 on
    // the context's first use).
    or_halt(oscore.add_context_b2(context));
    let mut ep: Endpoint<u8, Rng, OscoreProtection<Volatile, Rng>> = or_halt(
        Endpoint::with_protection(EndpointConfig::default(), Rng(1), oscore),
    );
    let mut engine = Engine::new(
        client,
        Registrar::new(RegistrationConfig::default()),
        Reporter::new(ReportingConfig::default()),
        |_: &str| Some(1u8),
        EngineConfig::default(),
    );
    engine.start(&mut ep, Duration::ZERO);
    let mut rx = [0u8; 256];
    // The device's main loop (one step per second of simulated time).
    let mut step = black_box(0u64);
    loop {
        let now = Duration::from_secs(step);
        step = step.wrapping_add(1);
        black_box(&mut rx);
        let n = usize::from(rx[0]);
        ep.handle(now, 1, rx.get(..n).unwrap_or(&[]));
        if ep.poll_timeout().is_some_and(|t| t <= now) {
            ep.handle_timeout(now);
        }
        while let Some(e) = ep.poll_event() {
            engine.handle_event(&mut ep, e, now);
        }
        if engine.poll_timeout().is_some_and(|t| t <= now) {
            engine.handle_timeout(&mut ep, now);
        }
        let _ = engine.set_value(
            &mut ep,
            &path(&[3, 0, 9]),
            Value::Integer(black_box(80)),
            now,
        );
        while let Some(t) = ep.poll_transmit() {
            black_box(&t.datagram);
        }
        while let Some(e) = engine.poll_event() {
            black_box(&e);
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn reset() -> ! {
    run()
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}
