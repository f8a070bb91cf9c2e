//! A generational slab: slots are reused, but every reuse bumps the slot's generation, so a
//! key minted for an earlier occupant never reaches a later one.
//!
//! Generations stay below 2^21, so a key packed as `generation << 32 | index` (subscription ids
//! and delivery tokens, which JavaScript holds as numbers) is at most 2^53 and exact in an
//! `f64`. A slot whose generation reaches [`MAX_GENERATION`] is retired instead of reused: one
//! slot per two million reuses, and no key ever comes back.

use alloc::vec::Vec;

/// The last generation a slot may have; a slot removed at it is never reused.
pub(crate) const MAX_GENERATION: u32 = (1 << 21) - 1;

/// A key into a [`Slab`]: slot index plus the generation it was minted under.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// Slots of `T` addressed by generational [`Key`]s.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value` and returns its key. Returns `None` only when 2^32 slots are in use.
    pub(crate) fn insert(&mut self, value: T) -> Option<Key> {
        if let Some(index) = self.free.pop() {
            let slot = self.slots.get_mut(index as usize)?;
            slot.value = Some(value);
            self.len += 1;
            return Some(Key {
                index,
                generation: slot.generation,
            });
        }
        let index = u32::try_from(self.slots.len()).ok()?;
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        self.len += 1;
        Some(Key {
            index,
            generation: 0,
        })
    }

    /// The value under `key`, if that exact occupant is still there.
    #[inline]
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        match self.slots.get(key.index as usize) {
            Some(slot) if slot.generation == key.generation => slot.value.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the value under `key`.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize) {
            Some(slot) if slot.generation == key.generation => slot.value.as_mut(),
            _ => None,
        }
    }

    /// Access by slot index alone (whatever occupies it).
    #[inline]
    pub(crate) fn get_index(&self, index: u32) -> Option<&T> {
        self.slots
            .get(index as usize)
            .and_then(|s| s.value.as_ref())
    }

    /// The key of whatever occupies slot `index`.
    pub(crate) fn key_at(&self, index: u32) -> Option<Key> {
        let slot = self.slots.get(index as usize)?;
        slot.value.as_ref().map(|_| Key {
            index,
            generation: slot.generation,
        })
    }

    /// Removes and returns the value under `key`; the slot's generation moves on.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let value = slot.value.take()?;
        self.len -= 1;
        if slot.generation < MAX_GENERATION {
            slot.generation += 1;
            self.free.push(key.index);
        }
        Some(value)
    }

    /// Occupied slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Occupied slots with their keys, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.value.as_ref().map(|v| {
                (
                    Key {
                        index: i as u32,
                        generation: s.generation,
                    },
                    v,
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_key_never_reaches_the_next_occupant() {
        let mut slab = Slab::default();
        let a = slab.insert("a").unwrap();
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b").unwrap();
        assert_eq!(a.index, b.index);
        assert_ne!(a.generation, b.generation);
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn a_slot_is_retired_at_the_last_generation_so_keys_stay_exact_javascript_numbers() {
        let mut slab = Slab::default();
        let mut key = slab.insert(0u32).unwrap();
        let first = key;
        while key.generation < MAX_GENERATION {
            slab.remove(key);
            key = slab.insert(0).unwrap();
            assert_eq!(
                key.index, first.index,
                "the slot is reused until its last generation"
            );
        }
        let packed = (u64::from(key.generation) << 32) | u64::from(key.index);
        assert!(packed <= 1 << 53, "{packed} is not exact as an f64");
        assert_eq!(slab.remove(key), Some(0));
        let next = slab.insert(1).unwrap();
        assert_ne!(next.index, key.index, "a retired slot is never reused");
        assert_eq!(slab.get(key), None);
        assert_eq!(slab.get(first), None);
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn iteration_skips_free_slots() {
        let mut slab = Slab::default();
        let a = slab.insert(1).unwrap();
        let _b = slab.insert(2).unwrap();
        slab.remove(a);
        let values: Vec<i32> = slab.iter().map(|(_, v)| *v).collect();
        assert_eq!(values, [2]);
    }
}
