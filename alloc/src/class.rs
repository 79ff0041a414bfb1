//! Size classes and the layout of one per-CPU cache, all computed at compile time.

/// The object sizes the caches serve, in bytes. Every size is a multiple of 16 and objects
/// are carved from page-aligned spans, so every object is 16-byte aligned.
pub const CLASS_SIZES: [usize; CLASSES] = [
    16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
];

/// Number of size classes.
pub const CLASSES: usize = 20;

/// The largest size served from the caches; larger requests go to the backing allocator.
pub const MAX_SMALL: usize = CLASS_SIZES[CLASSES - 1];

/// The largest alignment served from the caches.
pub const MAX_SMALL_ALIGN: usize = 16;

/// Objects moved between a cache and the depot at once (a refill or a spill).
pub const BATCH: usize = 32;

/// Batches moved at once between a cache and the depot when the cache is empty (a refill)
/// or full (a spill): as many as half the class's capacity, as jemalloc's thread caches
/// fill and flush half of theirs. A thread that only allocates (or only frees) a class,
/// as a producer or a consumer does, then takes the depot's lock once per half a cache
/// rather than once per batch, and a cache that does both ends half full, as far from the
/// next miss as it can be.
pub const MOVE_BATCHES: [usize; CLASSES] = {
    let mut moves = [0; CLASSES];
    let mut c = 0;
    while c < CLASSES {
        moves[c] = CAPACITY[c] / 2 / BATCH;
        c += 1;
    }
    moves
};
const _: () = assert!(SMALL_CAPACITY / 2 / BATCH == 4 && LARGE_CAPACITY / 2 / BATCH == 1);

/// `class_of(size)` for `size` in 16-byte steps: entry `i` is the class of sizes
/// `16 * (i - 1) + 1 ..= 16 * i`.
const CLASS_BY_STEP: [u8; MAX_SMALL / 16 + 1] = {
    let mut table = [0u8; MAX_SMALL / 16 + 1];
    let mut step = 0;
    let mut class = 0;
    while step < table.len() {
        while CLASS_SIZES[class] < step * 16 {
            class += 1;
        }
        table[step] = class as u8;
        step += 1;
    }
    table
};

/// The class serving `size` bytes (`size <= MAX_SMALL`).
#[inline(always)]
pub fn class_of(size: usize) -> usize {
    CLASS_BY_STEP[size.div_ceil(16)] as usize
}

/// Classes up to this index (256 bytes) hold [`SMALL_CAPACITY`] objects per cache, the
/// larger ones [`LARGE_CAPACITY`]: at most 64 KiB per class and cache. Two literals rather
/// than one capacity per class, because a section compares with a literal at no register's
/// cost (the push sections are at the register budget in a compare-twice build).
pub const LAST_SMALL_CAPACITY_CLASS: usize = 11;
/// See [`LAST_SMALL_CAPACITY_CLASS`]; the push sections spell it as a literal.
pub const SMALL_CAPACITY: usize = 256;
/// See [`LAST_SMALL_CAPACITY_CLASS`]; the push sections spell it as a literal.
pub const LARGE_CAPACITY: usize = 64;

/// Objects a cache holds at most per class.
pub const CAPACITY: [usize; CLASSES] = {
    let mut caps = [0; CLASSES];
    let mut c = 0;
    while c < CLASSES {
        caps[c] = if c <= LAST_SMALL_CAPACITY_CLASS {
            SMALL_CAPACITY
        } else {
            LARGE_CAPACITY
        };
        c += 1;
    }
    caps
};

// One cache: a 32-byte header per class, then the classes' slot arrays.
//   header word 0: `stopped`, non-zero while a trim owns the cache (sections exit on it);
//   word 1: unused;
//   words 2 and 3: `pushes` and `pops`, counters that only grow: the number of cached
//     objects is their difference, which is also the index of the top of the stack;
//   from SLOT_OFFSET[c]: class c's slots, CAPACITY[c] object addresses.
// Everything a section reads sits in one header, so that it needs few registers.

/// Byte offset of class `c`'s header in a cache.
pub const fn header_offset(c: usize) -> usize {
    32 * c
}

/// Word indexes in a class header.
pub const STOPPED: usize = 0;
/// See [`STOPPED`].
pub const PUSHES: usize = 2;
/// See [`STOPPED`].
pub const POPS: usize = 3;

/// Byte offset of each class's slot array in a cache.
pub const SLOT_OFFSET: [usize; CLASSES] = {
    let mut offsets = [0; CLASSES];
    let mut at = header_offset(CLASSES);
    let mut c = 0;
    while c < CLASSES {
        offsets[c] = at;
        at += CAPACITY[c] * 8;
        c += 1;
    }
    offsets
};

/// Bytes from one cache to the next: whole pages, so no two caches share a line.
pub const CACHE_STRIDE: usize = {
    let end = SLOT_OFFSET[CLASSES - 1] + CAPACITY[CLASSES - 1] * 8;
    end.div_ceil(4096) * 4096
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_gets_the_smallest_class_that_fits() {
        for size in 0..=MAX_SMALL {
            let c = class_of(size);
            assert!(CLASS_SIZES[c] >= size, "size {size} in class {c}");
            assert!(
                c == 0 || CLASS_SIZES[c - 1] < size,
                "size {size} in class {c}"
            );
        }
    }

    #[test]
    fn the_layout_fits_and_keeps_classes_apart() {
        assert!(CLASS_SIZES.iter().all(|s| s % 16 == 0));
        assert!(CLASS_SIZES.windows(2).all(|w| w[0] < w[1]));
        assert!(CAPACITY.iter().all(|&c| c >= 2 * BATCH));
        assert_eq!(CLASS_SIZES[LAST_SMALL_CAPACITY_CLASS], 256);
        assert!(CAPACITY
            .iter()
            .zip(CLASS_SIZES)
            .all(|(c, s)| c * s <= 65536));
        assert!(header_offset(CLASSES) <= SLOT_OFFSET[0]);
        assert_eq!(CACHE_STRIDE % 4096, 0);
        assert_eq!(CAPACITY[0], 256);
        assert_eq!(CAPACITY[CLASSES - 1], 64);
    }
}
