//! One small unstable sort for the whole engine, to keep the WebAssembly build small.
//!
//! `slice::sort_unstable_by*` instantiates pattern-defeating quicksort, its small-sort networks
//! and a heapsort fallback for every call site (about 5 KB of WebAssembly each). Here the
//! comparison is a `dyn` closure, so each element type gets one short copy: insertion sort for
//! the short slices the hot paths see (routing a topic matches a handful of subscriptions), and
//! heapsort (O(n log n), no allocation, no recursion) above that.
//!
//! The sort is not stable: callers that need ties kept in order put the original position in
//! the key.
//!
//! ```text
//! let mut v = [3, 1, 2];
//! crate::sort::sort_by_key(&mut v, |x| *x);
//! assert_eq!(v, [1, 2, 3]);
//! ```

use core::cmp::Ordering;

/// Slices up to this length are insertion-sorted.
const INSERTION_MAX: usize = 16;

/// Sorts `v` by `compare` (not stable).
pub(crate) fn sort_by<T>(v: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    sort_dyn(v, &mut |a, b| compare(a, b) == Ordering::Less);
}

/// Sorts `v` by the key `key` returns (not stable).
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_dyn(v, &mut |a, b| key(a) < key(b));
}

/// The one copy per element type.
fn sort_dyn<T>(v: &mut [T], is_less: &mut dyn FnMut(&T, &T) -> bool) {
    if v.len() <= INSERTION_MAX {
        insertion_sort(v, is_less);
    } else {
        heapsort(v, is_less);
    }
}

fn insertion_sort<T>(v: &mut [T], is_less: &mut dyn FnMut(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && is_less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn heapsort<T>(v: &mut [T], is_less: &mut dyn FnMut(&T, &T) -> bool) {
    let len = v.len();
    for start in (0..len / 2).rev() {
        sift_down(v, start, len, is_less);
    }
    for end in (1..len).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, is_less);
    }
}

/// Restores the max-heap property of `v[..end]` below `node`.
fn sift_down<T>(v: &mut [T], mut node: usize, end: usize, is_less: &mut dyn FnMut(&T, &T) -> bool) {
    loop {
        let mut child = 2 * node + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && is_less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !is_less(&v[node], &v[child]) {
            return;
        }
        v.swap(node, child);
        node = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn pseudo_random(n: usize, seed: u64) -> Vec<u32> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 97) as u32
            })
            .collect()
    }

    #[test]
    fn sorts_short_and_long_slices_like_the_standard_sort() {
        for n in [0, 1, 2, 3, 15, 16, 17, 18, 100, 1000] {
            let mut ours = pseudo_random(n, n as u64 + 7);
            let mut expected = ours.clone();
            expected.sort_unstable();
            sort_by_key(&mut ours, |x| *x);
            assert_eq!(ours, expected, "length {n}");
        }
    }

    #[test]
    fn sort_by_honours_a_reversed_comparison() {
        let mut v = pseudo_random(50, 3);
        sort_by(&mut v, |a, b| b.cmp(a));
        assert!(v.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn already_sorted_and_reversed_inputs_come_out_sorted() {
        let mut up: Vec<u32> = (0..300).collect();
        let mut down: Vec<u32> = (0..300).rev().collect();
        sort_by_key(&mut up, |x| *x);
        sort_by_key(&mut down, |x| *x);
        assert_eq!(up, down);
        assert!(up.windows(2).all(|w| w[0] < w[1]));
    }
}
