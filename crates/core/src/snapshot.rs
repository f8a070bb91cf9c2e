//! Versioned, serde-serialisable snapshots of a bus, so a host can persist it (IndexedDB) and
//! recover after a reload without losing a message. Payload encoding is the host's, through
//! [`PayloadCodec`]. A snapshot from a newer version, or an inconsistent one, is refused and
//! nothing is half-restored.
//!
//! H2 defines the data types here (`Snapshot<E>` and its parts, `SnapshotError`,
//! `PayloadCodec<P>`, `SNAPSHOT_VERSION`); H1 implements `Bus::snapshot` / `Bus::restore`.
