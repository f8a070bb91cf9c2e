//! The hash maps of the engine (router trie and route cache, topic table, consumer-group
//! cursors, leak watch, in-flight tokens): hashbrown with a small seeded hasher of our own
//! instead of foldhash (hashbrown's default), which is 3 KB of WebAssembly (its long-input path
//! and its global seed generation) for keys that are short topic strings and integers.
//!
//! The hasher folds the input 8 bytes at a time into a 64-bit state with a folded multiply (the
//! 128-bit product's halves XORed, as foldhash does), starting from a per-map seed. Seeds come
//! from one process-wide seed that a host sets once with [`seed_hashes`] (the WebAssembly host
//! uses JavaScript's `crypto.getRandomValues`), plus a distinct offset per
//! map, so that which topics collide cannot be chosen without knowing the seed. Iteration order
//! of the maps is unspecified, as it was with foldhash's random seeds; nothing depends on it.

use core::hash::{BuildHasher, Hasher};
use core::sync::atomic::{AtomicU32, Ordering};

/// A hashbrown map with [`SeededState`].
pub(crate) type HashMap<K, V> = hashbrown::HashMap<K, V, SeededState>;
/// A hashbrown set with [`SeededState`].
pub(crate) type HashSet<K> = hashbrown::HashSet<K, SeededState>;

/// An odd constant with well-spread bits (2^64 / φ).
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
/// A second constant for the final mix (from PCG).
const FINAL: u64 = 0x5851_f42d_4c95_7f2d;

/// The process-wide seed (see [`seed_hashes`]), as two halves: 32-bit atomics are what every
/// target of the engine has (`thumbv7em-none-eabi` has no 64-bit ones).
static SEED_HIGH: AtomicU32 = AtomicU32::new(0x243f_6a88);
static SEED_LOW: AtomicU32 = AtomicU32::new(0x85a3_08d3);
/// How many maps took a seed: each gets the process-wide one moved on by its number.
static MAPS: AtomicU32 = AtomicU32::new(0);

/// Sets the process-wide hash seed that maps created from now on derive theirs from. A host
/// calls it once at start with random bits; without it a native process still mixes in its
/// address-space layout (different per process where the OS randomises it), and a WebAssembly
/// instance's seeds are fixed (but still distinct per map).
pub fn seed_hashes(seed: u64) {
    SEED_HIGH.store((seed >> 32) as u32, Ordering::Relaxed);
    SEED_LOW.store(seed as u32, Ordering::Relaxed);
}

/// Bits that differ between processes where no host calls [`seed_hashes`] (a native host): the
/// addresses of a static and of a stack slot, which address-space layout randomisation moves in
/// each process (what foldhash's `no_std` seed mixes too). Nothing in WebAssembly, whose host
/// seeds and whose addresses are the same in every instance.
#[cfg(not(target_arch = "wasm32"))]
fn process_entropy() -> u64 {
    let local = 0u8;
    let at_static = core::ptr::addr_of!(MAPS) as usize as u64;
    let at_stack = core::ptr::addr_of!(local) as usize as u64;
    folded_multiply(at_static ^ MULTIPLIER, at_stack ^ FINAL)
}

#[cfg(target_arch = "wasm32")]
fn process_entropy() -> u64 {
    0
}

/// The 128-bit product of `a` and `b`, its two halves XORed.
#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Builds the [`SeededHasher`]s of one map, all with that map's seed.
#[derive(Clone, Debug)]
pub struct SeededState {
    seed: u64,
}

impl Default for SeededState {
    /// A new seed: the process-wide one, moved on by a multiple of a constant, a different one
    /// for each map.
    fn default() -> Self {
        let seed = (u64::from(SEED_HIGH.load(Ordering::Relaxed)) << 32)
            | u64::from(SEED_LOW.load(Ordering::Relaxed));
        let map = u64::from(MAPS.fetch_add(1, Ordering::Relaxed));
        SeededState {
            seed: (seed ^ process_entropy()).wrapping_add(map.wrapping_mul(MULTIPLIER)),
        }
    }
}

impl BuildHasher for SeededState {
    type Hasher = SeededHasher;

    fn build_hasher(&self) -> SeededHasher {
        SeededHasher { state: self.seed }
    }
}

/// The hasher of [`SeededState`] (see the module docs).
#[derive(Clone, Debug)]
pub struct SeededHasher {
    state: u64,
}

impl SeededHasher {
    /// Folds one word (up to 8 input bytes, or an integer) into the state.
    #[inline]
    fn fold(&mut self, word: u64) {
        self.state = folded_multiply(self.state ^ word, MULTIPLIER);
    }
}

impl Hasher for SeededHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.fold(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        // The length goes in with the last partial word, so that trailing zero bytes count.
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        self.fold(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
    }

    fn write_u8(&mut self, n: u8) {
        self.fold(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.fold(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.fold(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.fold(n as u64);
    }

    fn finish(&self) -> u64 {
        folded_multiply(self.state, FINAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::hash::Hash;

    fn hash_of<T: Hash + ?Sized>(state: &SeededState, value: &T) -> u64 {
        state.hash_one(value)
    }

    #[test]
    fn distinct_topics_and_ids_hash_apart_and_each_map_gets_its_own_seed() {
        let state = SeededState::default();
        let mut seen: Vec<u64> = Vec::new();
        let mut topics: Vec<String> = Vec::new();
        for i in 0..2_000u32 {
            topics.push(format!("orders.{i}.paid"));
            topics.push(format!("t.{i}"));
        }
        topics.push(String::new());
        topics.push(String::from("a"));
        topics.push(String::from("a\0"));
        topics.push(String::from("12345678"));
        topics.push(String::from("12345678\0"));
        for topic in &topics {
            seen.push(hash_of(&state, topic.as_str()));
        }
        for id in 0..2_000u64 {
            seen.push(hash_of(&state, &id));
        }
        let count = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), count, "a collision among {count} keys");
        let other = SeededState::default();
        assert_ne!(hash_of(&state, "a.b"), hash_of(&other, "a.b"));
        assert_eq!(hash_of(&state, "a.b"), hash_of(&state, "a.b"));
    }

    #[test]
    fn the_low_bits_spread_sequential_ids_over_the_buckets() {
        // hashbrown indexes its buckets with the low bits: 1 024 sequential ids over 64 buckets
        // must not pile up.
        let state = SeededState::default();
        let mut buckets = [0u32; 64];
        for id in 0..1_024u64 {
            buckets[(hash_of(&state, &id) & 63) as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| n > 0 && n < 48), "{buckets:?}");
    }
}
