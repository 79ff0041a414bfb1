//! The memory a section runs on: one arena in three regions, and eight integers for inputs.
//!
//! | bytes | region | holds |
//! |---|---|---|
//! | 0..512 | data | integers; every integer store, `copy` and commit lands here |
//! | 512..576 | pointers | 8 pointers into the data window (offsets 0..=256, 8-aligned) |
//! | 576..640 | maybe-null | 8 pointers, each null or into the window; never dereferenced |
//!
//! A state is generated from a seed alone, as offsets; [`StateSpec::realize`] turns the
//! offsets into addresses for the arena's actual base, so the harness (which runs the
//! section) and the interpreter (which predicts it) agree byte for byte.

use crate::rng::Rng;

pub const ARENA: u64 = 640;
pub const DATA_END: u64 = 512;
pub const PTRS: u64 = 512;
pub const MAYBE_NULL: u64 = 576;
/// Pointers held in the pointer regions point at `0..=WINDOW` (8-aligned).
pub const WINDOW: u64 = 256;
pub const INTS: usize = 8;
/// The arena as `u64` words: 8-aligned, as every pointer into it is.
pub const ARENA_WORDS: usize = (ARENA / 8) as usize;

#[derive(Clone, Debug)]
pub struct StateSpec {
    pub data: Vec<u8>,
    pub ptrs: [u64; 8],
    pub maybe_null: [Option<u64>; 8],
    pub ints: [u64; INTS],
}

/// Values that make comparisons come out equal and arithmetic hit its edges.
const POOL: [u64; 12] = [
    0,
    1,
    2,
    3,
    7,
    0x7f,
    0x80,
    0xff,
    0x7fff_ffff,
    0x8000_0000,
    u64::MAX,
    1 << 63,
];

fn interesting(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => *rng.pick(&POOL),
        1 => rng.next_u64() & 0xff,
        _ => rng.next_u64(),
    }
}

impl StateSpec {
    pub fn generate(seed: u64) -> StateSpec {
        let mut rng = Rng(seed);
        let mut data = Vec::with_capacity(DATA_END as usize);
        // Some states repeat one word everywhere, so that loads compare equal.
        let repeat = rng.chance(15).then(|| interesting(&mut rng));
        for _ in 0..DATA_END / 8 {
            let word = repeat.unwrap_or_else(|| interesting(&mut rng));
            data.extend_from_slice(&word.to_le_bytes());
        }
        let window = |rng: &mut Rng| 8 * rng.below((WINDOW / 8 + 1) as usize) as u64;
        let ptrs = std::array::from_fn(|_| window(&mut rng));
        let maybe_null = std::array::from_fn(|_| rng.chance(50).then(|| window(&mut rng)));
        let ints = std::array::from_fn(|_| interesting(&mut rng));
        StateSpec {
            data,
            ptrs,
            maybe_null,
            ints,
        }
    }

    /// The arena's bytes for an arena at `base`.
    pub fn realize(&self, base: u64) -> Vec<u8> {
        let mut bytes = self.data.clone();
        for offset in self.ptrs {
            bytes.extend_from_slice(&(base + offset).to_le_bytes());
        }
        for offset in self.maybe_null {
            let address = offset.map_or(0, |o| base + o);
            bytes.extend_from_slice(&address.to_le_bytes());
        }
        bytes
    }
}
