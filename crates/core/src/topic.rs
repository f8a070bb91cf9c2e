//! Topics and patterns.
//!
//! A topic is one or more dot-separated, non-empty segments: `orders.eu.created`.
//! A pattern may also use `*` (exactly one segment) and `**` (zero or more segments) as whole
//! segments, anywhere: `orders.*.created`, `orders.**`, `**.created`.
//! Limits: at most [`MAX_SEGMENTS`] segments and [`MAX_TOPIC_BYTES`] bytes.

use alloc::boxed::Box;
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

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicError::Empty => write!(f, "is empty"),
            TopicError::EmptySegment { index } => write!(f, "has an empty segment at position {index}"),
            TopicError::WildcardInTopic { index } => {
                write!(f, "has a wildcard at segment {index}; published topics must be concrete")
            }
            TopicError::InvalidWildcard { index } => write!(
                f,
                "has an invalid wildcard at segment {index}; use `*` or `**` as a whole segment"
            ),
            TopicError::TooManySegments { count } => {
                write!(f, "has {count} segments; at most {MAX_SEGMENTS} are allowed")
            }
            TopicError::TooLong { bytes } => write!(f, "is {bytes} bytes long; at most {MAX_TOPIC_BYTES} are allowed"),
        }
    }
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
    /// Parses and validates `source`.
    pub fn parse(source: &str) -> Result<Self, TopicError> {
        todo!("H1: {source}")
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
        self.segments.iter().all(|s| matches!(s, Segment::Literal(_)))
    }
    /// Whether this pattern matches the concrete `topic` (which must be valid).
    pub fn matches(&self, topic: &str) -> bool {
        todo!("H1: {topic}")
    }
}

/// Validates a concrete (publishable) topic.
pub fn validate_topic(topic: &str) -> Result<(), TopicError> {
    todo!("H1: {topic}")
}
