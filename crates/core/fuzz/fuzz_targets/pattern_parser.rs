//! Fuzzes topic and pattern parsing, matching and routing on arbitrary strings.
//!
//! For every input it checks that nothing panics and that
//! * `Pattern::parse` and `validate_topic` accept exactly what a straightforward reference
//!   validator (the rules in the `topic` module docs) accepts;
//! * a parsed pattern's `as_str` is the input and parses again to the same pattern;
//! * `Pattern::matches` agrees with a reference matcher (dynamic programming over segments);
//! * a valid topic is also a valid, exact pattern that matches itself;
//! * the `Router` (segment trie + route cache) returns exactly the matching subscriptions,
//!   each once, in rank order, before and after removals, cached or not.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use switchyard_core::router::{Rank, Router};
use switchyard_core::topic::{validate_topic, Pattern, Segment, MAX_SEGMENTS, MAX_TOPIC_BYTES};
use switchyard_core::SubscriptionId;

/// Literal segments drawn from a small alphabet so that patterns and topics often match.
const WORDS: [&str; 6] = ["a", "b", "c", "ab", "é", "a-b"];

/// One segment of a structured pattern or topic.
#[derive(Arbitrary, Debug)]
enum Piece {
    Word(u8),
    Star,
    GlobStar,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    raw_pattern: String,
    raw_topic: String,
    patterns: Vec<(Vec<Piece>, i8)>,
    topic: Vec<u8>,
    remove_mask: u32,
}

fn join(pieces: &[Piece]) -> String {
    let texts: Vec<&str> = pieces
        .iter()
        .map(|p| match p {
            Piece::Word(w) => WORDS[*w as usize % WORDS.len()],
            Piece::Star => "*",
            Piece::GlobStar => "**",
            Piece::Raw(s) => s.as_str(),
        })
        .collect();
    texts.join(".")
}

/// The documented rules, checked naively. `concrete` = a publishable topic.
fn reference_valid(s: &str, concrete: bool) -> bool {
    if s.is_empty() || s.len() > MAX_TOPIC_BYTES {
        return false;
    }
    let segments: Vec<&str> = s.split('.').collect();
    if segments.len() > MAX_SEGMENTS {
        return false;
    }
    segments.iter().all(|seg| match *seg {
        "" => false,
        "*" | "**" => !concrete,
        _ => !seg.contains('*') && !seg.chars().any(|c| c.is_whitespace() || c.is_control()),
    })
}

/// Reference matcher: `dp[i][j]` = pattern[i..] matches topic[j..].
fn reference_matches(pattern: &[Segment], topic: &[&str]) -> bool {
    let (n, m) = (pattern.len(), topic.len());
    let mut dp = vec![vec![false; m + 1]; n + 1];
    dp[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            dp[i][j] = match &pattern[i] {
                Segment::Literal(text) => j < m && &**text == topic[j] && dp[i + 1][j + 1],
                Segment::Star => j < m && dp[i + 1][j + 1],
                Segment::GlobStar => dp[i + 1][j] || (j < m && dp[i][j + 1]),
            };
        }
    }
    dp[0][0]
}

fn check_pattern(source: &str) -> Option<Pattern> {
    let parsed = Pattern::parse(source);
    assert_eq!(
        parsed.is_ok(),
        reference_valid(source, false),
        "Pattern::parse({source:?}) = {parsed:?}"
    );
    let pattern = parsed.ok()?;
    assert_eq!(pattern.as_str(), source);
    assert_eq!(pattern.segments().len(), source.split('.').count());
    assert_eq!(
        Pattern::parse(pattern.as_str()).as_ref(),
        Ok(&pattern),
        "round trip of {source:?}"
    );
    Some(pattern)
}

fn check_topic(topic: &str) -> bool {
    let valid = validate_topic(topic);
    assert_eq!(
        valid.is_ok(),
        reference_valid(topic, true),
        "validate_topic({topic:?}) = {valid:?}"
    );
    if valid.is_ok() {
        let exact = Pattern::parse(topic).expect("a valid topic is a valid pattern");
        assert!(
            exact.is_exact() && exact.matches(topic),
            "{topic:?} must match itself"
        );
    }
    valid.is_ok()
}

fuzz_target!(|input: Input| {
    let raw = check_pattern(&input.raw_pattern);
    let raw_topic_valid = check_topic(&input.raw_topic);

    let topic = input
        .topic
        .iter()
        .map(|w| WORDS[*w as usize % WORDS.len()])
        .collect::<Vec<_>>()
        .join(".");
    let topic_valid = check_topic(&topic);

    let mut patterns: Vec<(Pattern, i32)> = Vec::new();
    patterns.extend(raw.map(|p| (p, 0)));
    for (pieces, priority) in input.patterns.iter().take(64) {
        if let Some(pattern) = check_pattern(&join(pieces)) {
            patterns.push((pattern, i32::from(*priority)));
        }
    }

    for (pattern, _) in &patterns {
        for (t, valid) in [(&input.raw_topic, raw_topic_valid), (&topic, topic_valid)] {
            if valid {
                let segments: Vec<&str> = t.split('.').collect();
                assert_eq!(
                    pattern.matches(t),
                    reference_matches(pattern.segments(), &segments),
                    "{:?} vs {t:?}",
                    pattern.as_str()
                );
            }
        }
    }

    if !topic_valid {
        return;
    }
    let mut router = Router::new(2);
    let mut live: Vec<(usize, SubscriptionId)> = Vec::new();
    for (i, (pattern, priority)) in patterns.iter().enumerate() {
        let id = SubscriptionId {
            index: i as u32,
            generation: 0,
        };
        router.insert(
            pattern,
            id,
            Rank {
                priority: *priority,
                order: i as u64,
            },
        );
        live.push((i, id));
    }
    let expected = |live: &[(usize, SubscriptionId)]| {
        let mut hits: Vec<(i32, usize, SubscriptionId)> = live
            .iter()
            .filter(|(i, _)| patterns[*i].0.matches(&topic))
            .map(|(i, id)| (-patterns[*i].1, *i, *id))
            .collect();
        hits.sort();
        hits.into_iter().map(|(_, _, id)| id).collect::<Vec<_>>()
    };
    for _ in 0..2 {
        assert_eq!(
            &*router.route(&topic),
            expected(&live).as_slice(),
            "routing {topic:?}"
        );
    }
    let epoch = router.epoch();
    let mut removed_any = false;
    live.retain(|(i, id)| {
        if *i < 32 && input.remove_mask & (1 << i) != 0 {
            assert!(router.remove(&patterns[*i].0, *id));
            assert!(!router.remove(&patterns[*i].0, *id), "removed twice");
            removed_any = true;
            false
        } else {
            true
        }
    });
    if removed_any {
        assert_ne!(router.epoch(), epoch, "a removal must change the epoch");
    }
    assert_eq!(
        &*router.route(&topic),
        expected(&live).as_slice(),
        "routing {topic:?} after removals"
    );
    for (i, (pattern, _)) in patterns.iter().enumerate() {
        let count = live
            .iter()
            .filter(|(j, _)| patterns[*j].0.as_str() == pattern.as_str())
            .count();
        assert_eq!(router.count_for(pattern), count, "count_for pattern {i}");
    }
});
