//! Topics and patterns.
//!
//! A **topic** names what a message is about: one or more dot-separated, non-empty segments,
//! such as `orders.eu.created`. A **pattern** names what a subscription wants; it may also use
//! two wildcards, each as a whole segment and anywhere in the pattern:
//!
//! * `*` matches exactly one segment: `orders.*.created` matches `orders.eu.created` but not
//!   `orders.created` or `orders.eu.west.created`;
//! * `**` matches zero or more segments: `orders.**` matches `orders`, `orders.eu` and
//!   `orders.eu.created`; `**.created` matches `created` and `orders.eu.created`. A pattern
//!   may hold several `**` (`a.**.b.**.c`); matching stays polynomial however they are placed.
//!
//! # Rules
//!
//! Both topics and patterns are refused, with a [`TopicError`] naming the problem, when they
//!
//! * are empty ([`TopicError::Empty`]);
//! * are longer than [`MAX_TOPIC_BYTES`] bytes ([`TopicError::TooLong`]) or have more than
//!   [`MAX_SEGMENTS`] segments ([`TopicError::TooManySegments`]);
//! * have an empty segment, as in `a..b`, `.a` or `a.` ([`TopicError::EmptySegment`]);
//! * use `*` inside a segment other than as the whole segment `*` or `**`: `a*`, `*a`, `***`
//!   ([`TopicError::InvalidWildcard`]). So a literal segment never contains `*`, and every
//!   publishable topic can also be subscribed to exactly;
//! * contain a whitespace or control character anywhere ([`TopicError::InvalidCharacter`]).
//!   Such characters are invisible in logs and in the visualiser, and `"orders.created "`
//!   silently missing every `orders.created` subscriber is a bug worth refusing early. Any
//!   other Unicode text is allowed in a segment.
//!
//! A published topic must be concrete: a `*` or `**` segment in it is
//! [`TopicError::WildcardInTopic`]. The checks run in the order listed (length first), so
//! the error reported for an input with several problems is deterministic: the first one.
//!
//! # Examples
//!
//! ```
//! use switchyard_core::topic::{validate_topic, Pattern, TopicError};
//!
//! let pattern = Pattern::parse("orders.*.created")?;
//! assert!(pattern.matches("orders.eu.created"));
//! assert!(!pattern.matches("orders.eu.west.created"));
//!
//! let deep = Pattern::parse("orders.**.created")?;
//! assert!(deep.matches("orders.created"));
//! assert!(deep.matches("orders.eu.west.created"));
//!
//! assert_eq!(validate_topic("orders.eu.created"), Ok(()));
//! assert_eq!(validate_topic("orders.*"), Err(TopicError::WildcardInTopic { index: 1 }));
//! assert_eq!(Pattern::parse("orders..created"), Err(TopicError::EmptySegment { index: 1 }));
//! assert_eq!(Pattern::parse("orders.eu*"), Err(TopicError::InvalidWildcard { index: 1 }));
//! # Ok::<(), TopicError>(())
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Most segments a topic or pattern may have.
pub const MAX_SEGMENTS: usize = 32;
/// Most bytes a topic or pattern may have.
pub const MAX_TOPIC_BYTES: usize = 256;

/// Why a topic or pattern was refused. Refusal changes nothing on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicError {
    /// The string is empty.
    Empty,
    /// Segment `index` (0-based) is empty, as in `a..b`, `.a` or `a.`.
    EmptySegment {
        /// 0-based segment index.
        index: usize,
    },
    /// A published topic contains a wildcard segment at `index`.
    WildcardInTopic {
        /// 0-based segment index.
        index: usize,
    },
    /// Segment `index` mixes `*` with other characters (`a*`, `***`).
    InvalidWildcard {
        /// 0-based segment index.
        index: usize,
    },
    /// Segment `index` contains a whitespace or control character (`"a b"`, `"a\n"`).
    InvalidCharacter {
        /// 0-based segment index.
        index: usize,
        /// The first offending character.
        character: char,
    },
    /// More than [`MAX_SEGMENTS`] segments.
    TooManySegments {
        /// How many segments the input had.
        count: usize,
    },
    /// More than [`MAX_TOPIC_BYTES`] bytes.
    TooLong {
        /// Length of the input in bytes.
        bytes: usize,
    },
}

impl TopicError {
    /// The problem in words, as [`Display`](fmt::Display) writes it (`has an empty segment at
    /// position 2`). Built without `core::fmt`, so a host that shows it (the WebAssembly
    /// package) links none of the formatting machinery.
    pub fn message(&self) -> String {
        let mut text = String::new();
        let mut push = |parts: &[&str]| {
            for part in parts {
                text.push_str(part);
            }
        };
        match self {
            TopicError::Empty => push(&["is empty"]),
            TopicError::EmptySegment { index } => {
                push(&["has an empty segment at position ", &decimal(*index)]);
            }
            TopicError::WildcardInTopic { index } => push(&[
                "has a wildcard at segment ",
                &decimal(*index),
                "; published topics must be concrete",
            ]),
            TopicError::InvalidWildcard { index } => push(&[
                "has an invalid wildcard at segment ",
                &decimal(*index),
                "; use `*` or `**` as a whole segment",
            ]),
            TopicError::InvalidCharacter { index, character } => push(&[
                "has the whitespace or control character ",
                &escaped(*character),
                " in segment ",
                &decimal(*index),
            ]),
            TopicError::TooManySegments { count } => push(&[
                "has ",
                &decimal(*count),
                " segments; at most ",
                &decimal(MAX_SEGMENTS),
                " are allowed",
            ]),
            TopicError::TooLong { bytes } => push(&[
                "is ",
                &decimal(*bytes),
                " bytes long; at most ",
                &decimal(MAX_TOPIC_BYTES),
                " are allowed",
            ]),
        }
        text
    }
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// `n` in decimal digits, without `core::fmt`.
fn decimal(mut n: usize) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[at..]
        .iter()
        .map(|&digit| char::from(digit))
        .collect()
}

/// Lower-case hexadecimal digits, for `\u{..}` escapes.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `character` between single quotes, escaped like Rust's `{:?}` (`'\n'`, `'\u{a0}'`): every
/// character a topic refuses is invisible in a log, so all but the ASCII space are escaped.
/// Written by hand because `char`'s `Debug` links Unicode tables into the `.wasm`.
fn escaped(character: char) -> String {
    let named = match character {
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\0' => "\\0",
        _ => "",
    };
    let mut text = String::from("'");
    if !named.is_empty() {
        text.push_str(named);
    } else if character == ' ' || character.is_ascii_graphic() {
        text.push(character);
    } else {
        text.push_str("\\u{");
        let code = u32::from(character);
        let digits = (32 - code.leading_zeros()).div_ceil(4).max(1);
        for shift in (0..digits).rev() {
            let digit = (code >> (shift * 4)) & 0xf;
            text.push(char::from(HEX_DIGITS[digit as usize]));
        }
        text.push('}');
    }
    text.push('\'');
    text
}

#[cfg(feature = "std")]
impl std::error::Error for TopicError {}

/// One segment of a parsed [`Pattern`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// Matches exactly this text.
    Literal(Box<str>),
    /// `*`: exactly one segment.
    Star,
    /// `**`: zero or more segments.
    GlobStar,
}

/// A validated subscription pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    source: Box<str>,
    segments: Vec<Segment>,
}

impl Pattern {
    /// Parses and validates `source` (see the [module docs](self) for the rules).
    ///
    /// The segments are kept as written: `a.**.**` keeps both `**` (it matches exactly what
    /// `a.**` matches).
    pub fn parse(source: &str) -> Result<Self, TopicError> {
        let mut segments = Vec::new();
        for (index, text) in checked_segments(source)? {
            segments.push(match classify(text, index)? {
                Kind::Literal => Segment::Literal(text.into()),
                Kind::Star => Segment::Star,
                Kind::GlobStar => Segment::GlobStar,
            });
        }
        Ok(Pattern {
            source: source.into(),
            segments,
        })
    }
    /// The text the pattern was parsed from.
    pub fn as_str(&self) -> &str {
        &self.source
    }
    /// The parsed segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
    /// True if the pattern has no wildcard.
    pub fn is_exact(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Literal(_)))
    }
    /// Whether this pattern matches the concrete `topic` (which must be valid).
    ///
    /// Runs in `O(pattern segments × topic segments)` time without allocating, whatever the
    /// number and placement of `**`. An invalid `topic` gives an unspecified answer but
    /// never panics.
    pub fn matches(&self, topic: &str) -> bool {
        // Classic wildcard matching: `**` behaves like a glob `*` over segments and `*` like
        // `?`. With one kind of variable-length wildcard it suffices to remember only the most
        // recent `**` and, on a mismatch, let it absorb one more topic segment.
        let pattern = self.segments.as_slice();
        let mut p = 0;
        let mut cursor = TopicCursor::new(topic);
        // (pattern index after the latest `**`, topic cursor where that `**` stopped absorbing)
        let mut backtrack: Option<(usize, TopicCursor<'_>)> = None;
        while let Some((segment, rest)) = cursor.next_segment() {
            match pattern.get(p) {
                Some(Segment::GlobStar) => {
                    p += 1;
                    backtrack = Some((p, cursor));
                    continue;
                }
                Some(Segment::Star) => {
                    p += 1;
                    cursor = rest;
                    continue;
                }
                Some(Segment::Literal(literal)) if **literal == *segment => {
                    p += 1;
                    cursor = rest;
                    continue;
                }
                _ => {}
            }
            let Some((after_glob, absorbed_to)) = backtrack else {
                return false;
            };
            // The latest `**` takes one more segment; retry what follows it from there.
            let Some((_, next)) = absorbed_to.next_segment() else {
                return false;
            };
            backtrack = Some((after_glob, next));
            p = after_glob;
            cursor = next;
        }
        pattern
            .get(p..)
            .is_some_and(|rest| rest.iter().all(|s| *s == Segment::GlobStar))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Validates a concrete (publishable) topic (see the [module docs](self) for the rules).
/// Never allocates.
pub fn validate_topic(topic: &str) -> Result<(), TopicError> {
    for (index, text) in checked_segments(topic)? {
        match classify(text, index)? {
            Kind::Literal => {}
            Kind::Star | Kind::GlobStar => return Err(TopicError::WildcardInTopic { index }),
        }
    }
    Ok(())
}

/// What one well-formed segment is.
enum Kind {
    Literal,
    Star,
    GlobStar,
}

/// Checks the whole-string limits and yields `(index, segment)` pairs.
fn checked_segments(source: &str) -> Result<impl Iterator<Item = (usize, &str)>, TopicError> {
    if source.len() > MAX_TOPIC_BYTES {
        return Err(TopicError::TooLong {
            bytes: source.len(),
        });
    }
    if source.is_empty() {
        return Err(TopicError::Empty);
    }
    let count = source.bytes().filter(|&b| b == b'.').count() + 1;
    if count > MAX_SEGMENTS {
        return Err(TopicError::TooManySegments { count });
    }
    Ok(source.split('.').enumerate())
}

/// Classifies segment `index`, refusing empty segments, misplaced `*` and invisible characters.
fn classify(text: &str, index: usize) -> Result<Kind, TopicError> {
    match text {
        "" => Err(TopicError::EmptySegment { index }),
        "*" => Ok(Kind::Star),
        "**" => Ok(Kind::GlobStar),
        _ if text.contains('*') => Err(TopicError::InvalidWildcard { index }),
        _ => match text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            Some(character) => Err(TopicError::InvalidCharacter { index, character }),
            None => Ok(Kind::Literal),
        },
    }
}

/// A position in a topic: the rest of the topic from the start of a segment, or the end.
#[derive(Copy, Clone)]
struct TopicCursor<'a> {
    rest: Option<&'a str>,
}

impl<'a> TopicCursor<'a> {
    fn new(topic: &'a str) -> Self {
        TopicCursor { rest: Some(topic) }
    }

    /// The segment at this position and the position after it, or `None` at the end.
    fn next_segment(self) -> Option<(&'a str, TopicCursor<'a>)> {
        let rest = self.rest?;
        Some(match rest.split_once('.') {
            Some((segment, after)) => (segment, TopicCursor { rest: Some(after) }),
            None => (rest, TopicCursor { rest: None }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;

    fn pattern(source: &str) -> Pattern {
        Pattern::parse(source).expect("valid pattern")
    }

    /// The definition, written as directly as possible (exponential; for tiny inputs only).
    fn reference_match(pattern: &[Segment], topic: &[&str]) -> bool {
        match pattern.split_first() {
            None => topic.is_empty(),
            Some((Segment::GlobStar, rest)) => {
                (0..=topic.len()).any(|skip| reference_match(rest, &topic[skip..]))
            }
            Some((Segment::Star, rest)) => !topic.is_empty() && reference_match(rest, &topic[1..]),
            Some((Segment::Literal(literal), rest)) => {
                topic.first().is_some_and(|first| **literal == **first)
                    && reference_match(rest, &topic[1..])
            }
        }
    }

    #[test]
    fn a_literal_pattern_matches_only_the_same_topic() {
        let p = pattern("orders.eu.created");
        assert!(p.is_exact());
        assert!(p.matches("orders.eu.created"));
        assert!(!p.matches("orders.eu"));
        assert!(!p.matches("orders.eu.created.late"));
        assert!(!p.matches("orders.us.created"));
    }

    #[test]
    fn star_matches_exactly_one_segment() {
        let p = pattern("orders.*.created");
        assert!(!p.is_exact());
        assert!(p.matches("orders.eu.created"));
        assert!(!p.matches("orders.created"));
        assert!(!p.matches("orders.eu.west.created"));
        assert!(pattern("*").matches("a"));
        assert!(!pattern("*").matches("a.b"));
    }

    #[test]
    fn globstar_matches_zero_or_more_segments_anywhere() {
        let tail = pattern("orders.**");
        assert!(tail.matches("orders"));
        assert!(tail.matches("orders.eu"));
        assert!(tail.matches("orders.eu.created"));
        assert!(!tail.matches("invoices.eu"));

        let head = pattern("**.created");
        assert!(head.matches("created"));
        assert!(head.matches("orders.eu.created"));
        assert!(!head.matches("orders.created.late"));

        let middle = pattern("orders.**.created");
        assert!(middle.matches("orders.created"));
        assert!(middle.matches("orders.eu.west.created"));
        assert!(!middle.matches("orders.eu.west"));

        assert!(pattern("**").matches("anything.at.all"));
    }

    #[test]
    fn several_globstars_match_with_backtracking() {
        let p = pattern("a.**.b.**.c");
        assert!(p.matches("a.b.c"));
        assert!(p.matches("a.x.b.y.c"));
        assert!(p.matches("a.b.b.c.c"));
        assert!(p.matches("a.b.x.b.c.c"));
        assert!(!p.matches("a.c.b"));
        assert!(!p.matches("a.b.c.x"));
        assert!(pattern("**.a.*.**").matches("x.a.y"));
        assert!(!pattern("**.a.*.**").matches("x.y.a"));
    }

    #[test]
    fn matching_agrees_with_the_definition_on_every_small_input() {
        // Every pattern of up to 4 segments over {a, b, *, **} against every topic of up to 4
        // segments over {a, b}.
        let atoms = ["a", "b", "*", "**"];
        let mut patterns: Vec<String> = Vec::new();
        let mut frontier: Vec<String> = atoms.iter().map(|s| String::from(*s)).collect();
        for _ in 0..4 {
            patterns.extend(frontier.iter().cloned());
            frontier = frontier
                .iter()
                .flat_map(|p| atoms.iter().map(move |a| format!("{p}.{a}")))
                .collect();
        }
        let mut topics: Vec<Vec<&str>> = Vec::new();
        let mut level: Vec<Vec<&str>> = [["a"], ["b"]].iter().map(|s| s.to_vec()).collect();
        for _ in 0..4 {
            topics.extend(level.iter().cloned());
            level = level
                .iter()
                .flat_map(|t| {
                    ["a", "b"]
                        .iter()
                        .map(move |s| [t.as_slice(), &[*s]].concat())
                })
                .collect();
        }
        for source in &patterns {
            let p = pattern(source);
            for topic in &topics {
                let text = topic.join(".");
                assert_eq!(
                    p.matches(&text),
                    reference_match(p.segments(), topic),
                    "{source} vs {text}"
                );
            }
        }
    }

    #[test]
    fn many_globstars_match_in_polynomial_time() {
        // 31 `**` then a literal that never occurs: naive backtracking would take ~2^31 steps.
        let source = ["**"; 31].join(".") + ".z";
        let p = pattern(&source);
        let topic = ["a"; 32].join(".");
        assert!(!p.matches(&topic));
        assert!(p.matches(&(["a"; 31].join(".") + ".z")));
    }

    #[test]
    fn parse_keeps_the_source_and_the_segments_as_written() {
        let p = pattern("a.*.**.**");
        assert_eq!(p.as_str(), "a.*.**.**");
        assert_eq!(
            p.segments(),
            &[
                Segment::Literal("a".into()),
                Segment::Star,
                Segment::GlobStar,
                Segment::GlobStar
            ]
        );
        assert_eq!(format!("{p}"), "a.*.**.**");
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(Pattern::parse(""), Err(TopicError::Empty));
        assert_eq!(validate_topic(""), Err(TopicError::Empty));
    }

    #[test]
    fn empty_segments_are_refused_with_their_index() {
        assert_eq!(
            validate_topic(".a"),
            Err(TopicError::EmptySegment { index: 0 })
        );
        assert_eq!(
            validate_topic("a..b"),
            Err(TopicError::EmptySegment { index: 1 })
        );
        assert_eq!(
            validate_topic("a.b."),
            Err(TopicError::EmptySegment { index: 2 })
        );
        assert_eq!(
            Pattern::parse("a.**."),
            Err(TopicError::EmptySegment { index: 2 })
        );
        assert_eq!(
            validate_topic("."),
            Err(TopicError::EmptySegment { index: 0 })
        );
    }

    #[test]
    fn wildcards_in_a_published_topic_are_refused() {
        assert_eq!(
            validate_topic("orders.*"),
            Err(TopicError::WildcardInTopic { index: 1 })
        );
        assert_eq!(
            validate_topic("**.created"),
            Err(TopicError::WildcardInTopic { index: 0 })
        );
    }

    #[test]
    fn star_mixed_into_a_segment_is_an_invalid_wildcard() {
        for (source, index) in [("a*", 0), ("x.*a", 1), ("x.y.***", 2), ("a.b*c", 1)] {
            assert_eq!(
                Pattern::parse(source),
                Err(TopicError::InvalidWildcard { index }),
                "{source}"
            );
            assert_eq!(
                validate_topic(source),
                Err(TopicError::InvalidWildcard { index }),
                "{source}"
            );
        }
    }

    #[test]
    fn whitespace_and_control_characters_are_refused() {
        for (source, index, character) in [
            ("orders.created ", 1, ' '),
            ("a\tb", 0, '\t'),
            ("a.b\n", 1, '\n'),
            ("x.\u{0}", 1, '\u{0}'),
            ("a.\u{a0}", 1, '\u{a0}'),
            ("a.\u{7f}", 1, '\u{7f}'),
        ] {
            let expected = Err(TopicError::InvalidCharacter { index, character });
            assert_eq!(validate_topic(source), expected, "{source:?}");
            assert_eq!(Pattern::parse(source).map(|_| ()), expected, "{source:?}");
        }
    }

    #[test]
    fn other_unicode_text_is_a_valid_literal() {
        assert_eq!(validate_topic("commandes.é.créées"), Ok(()));
        assert_eq!(validate_topic("注文.作成-済み_1/x:y"), Ok(()));
        assert!(pattern("commandes.*").matches("commandes.é"));
    }

    #[test]
    fn more_than_32_segments_are_refused() {
        let at_limit = ["a"; MAX_SEGMENTS].join(".");
        assert_eq!(validate_topic(&at_limit), Ok(()));
        let over = ["a"; MAX_SEGMENTS + 1].join(".");
        assert_eq!(
            validate_topic(&over),
            Err(TopicError::TooManySegments { count: 33 })
        );
        assert_eq!(
            Pattern::parse(&over),
            Err(TopicError::TooManySegments { count: 33 })
        );
    }

    #[test]
    fn refused_characters_are_shown_quoted_and_escaped() {
        for character in [' ', '\t', '\r', '\n', '\0', '\u{7f}', '\u{a0}', '\u{3000}'] {
            let shown = format!(
                "{}",
                TopicError::InvalidCharacter {
                    index: 0,
                    character,
                }
            );
            let debug = format!("{character:?}");
            let expected = if character.is_ascii() {
                debug
            } else {
                format!("'\\u{{{:x}}}'", u32::from(character))
            };
            assert_eq!(
                shown,
                format!("has the whitespace or control character {expected} in segment 0")
            );
        }
    }

    #[test]
    fn more_than_256_bytes_are_refused_before_anything_else() {
        let at_limit = "a".repeat(MAX_TOPIC_BYTES);
        assert_eq!(validate_topic(&at_limit), Ok(()));
        let over = "a".repeat(MAX_TOPIC_BYTES + 1);
        assert_eq!(
            validate_topic(&over),
            Err(TopicError::TooLong { bytes: 257 })
        );
        let over_with_dots = ".".repeat(1000);
        assert_eq!(
            Pattern::parse(&over_with_dots),
            Err(TopicError::TooLong { bytes: 1000 })
        );
    }

    #[test]
    fn errors_describe_the_problem() {
        assert_eq!(
            format!("{}", TopicError::EmptySegment { index: 2 }),
            "has an empty segment at position 2"
        );
        assert_eq!(
            format!(
                "{}",
                TopicError::InvalidCharacter {
                    index: 1,
                    character: '\n'
                }
            ),
            "has the whitespace or control character '\\n' in segment 1"
        );
        assert_eq!(
            format!("{}", TopicError::TooLong { bytes: 300 }),
            "is 300 bytes long; at most 256 are allowed"
        );
    }

    #[test]
    fn matching_an_invalid_topic_does_not_panic() {
        let p = pattern("a.**");
        assert!(p.matches("a..b"));
        assert!(!pattern("a").matches(""));
        assert!(pattern("**").matches(""));
        let long = ["a"; 100].join(".");
        assert!(p.matches(&long));
    }
}
