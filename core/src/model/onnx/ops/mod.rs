//! One translation per operator of the model contract (`contract::OPERATORS`), grouped by kind:
//! element-wise math and logic, shape and indexing, and the neural-network layers. Semantics are
//! ONNX's for opsets 13–18 (where an opset moved an attribute to an input, both are read).

mod math;
mod nn;
mod shape;

use super::Node;
use tract_core::internal::*;

pub(super) fn translate(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let op = n.op_type().to_string();
    match op.as_str() {
        "Abs" | "Ceil" | "Erf" | "Exp" | "Floor" | "Log" | "Neg" | "Not" | "Reciprocal"
        | "Sigmoid" | "Sign" | "Sqrt" | "Tanh" => math::unary(n, &op),
        "Add" | "And" | "Div" | "Equal" | "Greater" | "GreaterOrEqual" | "Less" | "LessOrEqual"
        | "Mul" | "Or" | "Pow" | "Sub" | "Xor" => math::binary(n, &op),
        "Max" | "Mean" | "Min" | "Sum" => math::variadic(n, &op),
        "Relu" | "LeakyRelu" | "Elu" | "Selu" | "HardSigmoid" | "Softplus" | "PRelu" | "Gelu" => {
            math::activation(n, &op)
        }
        "Clip" => math::clip(n),
        "Where" => math::where_(n),
        "Cast" => math::cast(n),
        "MatMul" => nn::matmul(n),
        "Gemm" => nn::gemm(n),
        "ReduceL2" | "ReduceMax" | "ReduceMean" | "ReduceMin" | "ReduceProd" | "ReduceSum" => {
            nn::reduce(n, &op)
        }
        "ArgMax" | "ArgMin" => nn::arg_reduce(n, &op),
        "Softmax" | "LogSoftmax" => nn::softmax(n, &op),
        "BatchNormalization" => nn::batch_norm(n),
        "LayerNormalization" => nn::layer_norm(n),
        "Dropout" => nn::dropout(n),
        "Identity" => Ok(tvec!(n.input(0)?)),
        "Constant" => shape::constant(n),
        "ConstantOfShape" => shape::constant_of_shape(n),
        "Shape" => shape::shape(n),
        "Reshape" => shape::reshape(n),
        "Flatten" => shape::flatten(n),
        "Squeeze" => shape::squeeze(n),
        "Unsqueeze" => shape::unsqueeze(n),
        "Transpose" => shape::transpose(n),
        "Concat" => shape::concat(n),
        "Split" => shape::split(n),
        "Slice" => shape::slice(n),
        "Gather" => shape::gather(n),
        "GatherElements" => shape::gather_elements(n),
        "Expand" => shape::expand(n),
        "Tile" => shape::tile(n),
        "Range" => shape::range(n),
        other => bail!("{other} is not supported by Tailor's ONNX importer"),
    }
}

/// Shape values (from `Shape`) are symbolic dimensions where the input's shape is; when such a
/// value meets int64 constants (a `Concat` with `[-1]`, a `Mul`), the constants become
/// dimensions too so the result can be folded.
fn same_index_type(n: &mut Node, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
    let tdim = TDim::datum_type();
    let types = inputs
        .iter()
        .map(|o| n.datum_type(*o))
        .collect::<TractResult<TVec<_>>>()?;
    if !types.contains(&tdim) {
        return Ok(inputs.into());
    }
    inputs
        .iter()
        .zip(&types)
        .map(|(&o, &dt)| {
            if dt == tdim {
                return Ok(o);
            }
            match n.konst(o) {
                Some(k) if dt.is_integer() => n.konst_wire(k.cast_to::<TDim>()?.into_owned()),
                _ => bail!(
                    "a shape value that depends on the batch size meets a value computed at run \
                     time; this is not supported (export with a fixed shape computation)"
                ),
            }
        })
        .collect()
}
