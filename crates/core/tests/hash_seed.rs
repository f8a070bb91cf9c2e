//! Hash seeds differ between processes of a native host that never calls `seed_hashes`
//! (found by review R9-3).
//!
//! A native host of switchyard-core does not call `hash::seed_hashes` (only the wasm package's
//! JavaScript does); its maps still take different seeds in each process (the address-space
//! layout is mixed in), so which topics collide in one process says nothing of another.

use core::hash::BuildHasher;
use std::process::Command;

use switchyard_core::hash::SeededState;

const CHILD: &str = "R9_HASH_SEED_CHILD";

fn first_map_hash() -> u64 {
    SeededState::default().hash_one("orders.eu.created")
}

#[test]
fn two_processes_hash_the_same_topic_differently_without_an_explicit_seed() {
    if std::env::var_os(CHILD).is_some() {
        println!("HASH={}", first_map_hash());
        return;
    }
    let run = || {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "two_processes_hash_the_same_topic_differently_without_an_explicit_seed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.split("HASH=").nth(1))
            .map(|h| h.split_whitespace().next().unwrap_or(""))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("child printed no hash: {text}"))
    };
    let (a, b) = (run(), run());
    assert_ne!(
        a, b,
        "the first map of two processes hashes `orders.eu.created` to the same {a}: fixed seed"
    );
}
