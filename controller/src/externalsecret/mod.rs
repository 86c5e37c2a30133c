//! The ExternalSecret reconciler: fetch provider data, render, write the target Secret.

pub mod clock;
pub mod conditions;
pub mod cron;
pub mod data;
pub mod refresh;
pub mod strategies;
