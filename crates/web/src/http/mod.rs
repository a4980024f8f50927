//! The shared HTTP layer: who calls ([`caller`]), errors, extractors, the per-address rate
//! limiter, metrics, rendering and wording, charts, the row query language and the one
//! Arrow → JSON writer, file answers, and the route row. It imports no plane: planes build
//! on it, never the other way round (a test reads these files to keep it so).

pub mod assets;
pub mod caller;
pub mod charts;
pub mod download;
pub mod en;
pub mod error;
pub mod extract;
pub mod form;
pub mod metrics;
pub mod ratelimit;
pub mod render;
pub mod route;
pub mod rows;
pub mod templates;
pub mod zh;
