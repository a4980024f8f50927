//! Domain types of Tongshu, parsed at the boundary and trusted behind it.
//!
//! This crate does no I/O. It knows the national identifiers (district codes, resident ID
//! numbers, unified social credit codes), the catalog's core metadata (《政务信息资源目录编制指南（试行）》) and
//! its validation, the organization tree and the single authorization policy.

pub mod catalog;
pub mod city;
pub mod evidence;
pub mod ids;
pub mod masking;
pub mod org;
pub mod policy;
pub mod projects;
pub mod sharing;
pub mod synonyms;
pub mod username;
mod validation;
pub mod workdays;

pub use validation::{FieldError, FieldErrors};

/// The current time in UTC, truncated to whole seconds (what the store keeps).
pub fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}
