//! JavaScript bindings (issue 5).
