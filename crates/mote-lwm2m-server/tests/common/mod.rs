//! What the bootstrap engine's simulation tests share: the seeded random source of every
//! endpoint and the application side of the Device object. The heap measurements
//! (`idle_memory.rs`, `package_blocks.rs`) and `examples/{load,udp_load}.rs` use the random
//! source too; their counting allocator is `counting.rs`.

use mote_coap::transmission::RandomSource;
use mote_lwm2m_client::DeviceInfo;

/// A seeded xorshift: the same schedule in every run.
#[derive(Debug, Clone)]
pub(crate) struct Xs(pub(crate) u64);

impl RandomSource for Xs {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 32) as u32
    }
}

/// A device whose reboot does nothing.
pub(crate) struct Board;

impl DeviceInfo for Board {
    fn reboot(&mut self) -> Result<(), mote_lwm2m_client::ObjectError> {
        Ok(())
    }
}
