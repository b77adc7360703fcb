//! The integration tests of `tailor-core`, as one test binary (one link of tract and SQLite
//! instead of one per file). Each module tests one area through the public API.

mod any_shop;
mod api;
mod app_edges;
mod attribution;
mod candidate_sets;
mod catalog_image;
mod common;
mod corrections;
mod guard;
mod hostile;
mod learning;
mod model_safety;
mod models;
mod native_page;
mod onnx_import;
mod privacy;
mod quickstart;
mod rank_page;
mod readme;
mod reliability;
mod scenarios;
mod sequence_model;
mod structure;
mod surfaces;
