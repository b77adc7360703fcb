//! ONNX models: the manifest contract, the tract runtime and the registry that swaps models.

pub mod batch_plans;
pub mod budget;
pub mod contract;
pub mod files;
pub mod guard;
pub mod manifest;
mod onnx;
pub mod registry;
pub mod runtime;
pub mod sequence;
pub mod signature;

pub use budget::ModelBudget;
pub use manifest::Manifest;
pub use registry::{LoadedModel, ModelRegistry};
pub use runtime::Runtime;
pub use sequence::SequenceModel;
