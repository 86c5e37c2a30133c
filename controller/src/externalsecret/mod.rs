//! The ExternalSecret reconciler: fetch provider data, render, write the target Secret.

pub mod clock;
pub mod conditions;
pub mod controller;
pub mod cron;
pub mod data;
pub mod generators;
pub mod reconcile;
pub mod refresh;
pub mod strategies;
pub mod targets;
pub mod template;
