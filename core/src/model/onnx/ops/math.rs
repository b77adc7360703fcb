//! Element-wise operators: math, comparisons, logic, activations, `Clip`, `Where`, `Cast`.

use super::super::{tensor, Node};
use super::same_index_type;
use tract_core::internal::*;
use tract_core::ops::binary::TypedBinOp;
use tract_core::ops::element_wise::ElementWiseOp;
use tract_core::ops::logic::{self, Iff};
use tract_core::ops::math as m;

pub(super) fn unary(n: &mut Node, op: &str) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let ew = match op {
        "Abs" => m::abs(),
        "Ceil" => m::ceil(),
        "Erf" => m::erf(),
        "Exp" => m::exp(),
        "Floor" => m::floor(),
        "Log" => m::ln(),
        "Neg" => m::neg(),
        "Not" => logic::not(),
        "Reciprocal" => m::recip(),
        "Sigmoid" => tract_core::ops::nn::sigmoid(),
        "Sign" => m::sign(),
        "Sqrt" => m::sqrt(),
        "Tanh" => m::tanh(),
        other => bail!("{other} is not an element-wise operator"),
    };
    n.wire(ew, &[x])
}

fn binary_op(op: &str) -> TractResult<TypedBinOp> {
    Ok(match op {
        "Add" => m::add(),
        "And" => logic::and(),
        "Div" => m::div(),
        "Equal" => TypedBinOp(logic::comp_eq(), None),
        "Greater" => TypedBinOp(logic::comp_gt(), None),
        "GreaterOrEqual" => TypedBinOp(logic::comp_gte(), None),
        "Less" => TypedBinOp(logic::comp_lt(), None),
        "LessOrEqual" => TypedBinOp(logic::comp_lte(), None),
        "Max" => m::max(),
        "Min" => m::min(),
        "Mul" => m::mul(),
        "Or" => logic::or(),
        "Pow" => m::pow(),
        "Sub" => m::sub(),
        "Sum" => m::add(),
        "Xor" => logic::xor(),
        other => bail!("{other} is not a binary operator"),
    })
}

pub(super) fn binary(n: &mut Node, op: &str) -> TractResult<TVec<OutletId>> {
    let (a, mut b) = (n.input(0)?, n.input(1)?);
    // Pow's exponent may have its own type (float base, int exponent).
    if op == "Pow" {
        let dt = n.datum_type(a)?;
        if n.datum_type(b)? != dt {
            b = n.wire(tract_core::ops::cast::cast(dt), &[b])?[0];
        }
    }
    let wires = same_index_type(n, &[a, b])?;
    Ok(tvec!(n.wire_broadcast(binary_op(op)?, &wires)?))
}

/// `Max`, `Min`, `Sum` and `Mean` of one or more inputs, broadcast together.
pub(super) fn variadic(n: &mut Node, op: &str) -> TractResult<TVec<OutletId>> {
    let inputs = n.all_inputs()?;
    let Some((&first, rest)) = inputs.split_first() else {
        bail!("{op} needs at least one input");
    };
    let combine = if op == "Mean" { "Sum" } else { op };
    let mut acc = first;
    for &x in rest {
        acc = n.wire_broadcast(binary_op(combine)?, &[acc, x])?;
    }
    if op == "Mean" && inputs.len() > 1 {
        let dt = n.datum_type(acc)?;
        let scale = n.scalar(1.0 / inputs.len() as f64, dt)?;
        acc = n.wire_broadcast(m::mul(), &[acc, scale])?;
    }
    Ok(tvec!(acc))
}

/// Small helpers for the composed activations.
fn bin(n: &mut Node, op: TypedBinOp, a: OutletId, b: OutletId) -> TractResult<OutletId> {
    n.wire_broadcast(op, &[a, b])
}

fn un(n: &mut Node, op: ElementWiseOp, a: OutletId) -> TractResult<OutletId> {
    Ok(n.wire(op, &[a])?[0])
}

fn with_scalar(n: &mut Node, op: TypedBinOp, a: OutletId, value: f64) -> TractResult<OutletId> {
    let dt = n.datum_type(a)?;
    let s = n.scalar(value, dt)?;
    bin(n, op, a, s)
}

fn select(n: &mut Node, cond: OutletId, yes: OutletId, no: OutletId) -> TractResult<OutletId> {
    n.wire_broadcast(Iff, &[cond, yes, no])
}

/// `alpha * (exp(x) - 1)` where `x <= 0`, else `x`.
fn elu(n: &mut Node, x: OutletId, alpha: f64) -> TractResult<OutletId> {
    let e = un(n, m::exp(), x)?;
    let em1 = with_scalar(n, m::sub(), e, 1.0)?;
    let neg = with_scalar(n, m::mul(), em1, alpha)?;
    let dt = n.datum_type(x)?;
    let zero = n.scalar(0.0, dt)?;
    let pos = bin(n, TypedBinOp(logic::comp_gt(), None), x, zero)?;
    select(n, pos, x, neg)
}

pub(super) fn activation(n: &mut Node, op: &str) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let dt = n.datum_type(x)?;
    if !dt.is_float() && op != "Relu" {
        bail!("{op} on {dt:?} is not supported (float tensors are)");
    }
    let y = match op {
        "Relu" => with_scalar(n, m::max(), x, 0.0)?,
        "LeakyRelu" => {
            let alpha = n.float("alpha", 0.01) as f64;
            let scaled = with_scalar(n, m::mul(), x, alpha)?;
            let zero = n.scalar(0.0, dt)?;
            let neg = bin(n, TypedBinOp(logic::comp_lt(), None), x, zero)?;
            select(n, neg, scaled, x)?
        }
        "Elu" => elu(n, x, n.float("alpha", 1.0) as f64)?,
        "Selu" => {
            let alpha = n.float("alpha", 1.673_263_2) as f64;
            let gamma = n.float("gamma", 1.050_701) as f64;
            let e = elu(n, x, alpha)?;
            with_scalar(n, m::mul(), e, gamma)?
        }
        "HardSigmoid" => {
            let alpha = n.float("alpha", 0.2) as f64;
            let beta = n.float("beta", 0.5) as f64;
            let ax = with_scalar(n, m::mul(), x, alpha)?;
            let lin = with_scalar(n, m::add(), ax, beta)?;
            let low = with_scalar(n, m::min(), lin, 1.0)?;
            with_scalar(n, m::max(), low, 0.0)?
        }
        "Softplus" => {
            // ln(1 + e^x) written as max(x, 0) + ln(1 + e^-|x|): the same value, no overflow.
            let pos = with_scalar(n, m::max(), x, 0.0)?;
            let abs = un(n, m::abs(), x)?;
            let neg = un(n, m::neg(), abs)?;
            let e = un(n, m::exp(), neg)?;
            let e1 = with_scalar(n, m::add(), e, 1.0)?;
            let l = un(n, m::ln(), e1)?;
            bin(n, m::add(), pos, l)?
        }
        "PRelu" => {
            let slope = n.input(1)?;
            let scaled = bin(n, m::mul(), x, slope)?;
            let zero = n.scalar(0.0, dt)?;
            let neg = bin(n, TypedBinOp(logic::comp_lt(), None), x, zero)?;
            select(n, neg, scaled, x)?
        }
        "Gelu" => {
            let inner = match n.string("approximate").as_deref() {
                None | Some("none") => {
                    let scaled = with_scalar(n, m::mul(), x, std::f64::consts::FRAC_1_SQRT_2)?;
                    un(n, m::erf(), scaled)?
                }
                Some("tanh") => {
                    let x2 = bin(n, m::mul(), x, x)?;
                    let x3 = bin(n, m::mul(), x2, x)?;
                    let c = with_scalar(n, m::mul(), x3, 0.044715)?;
                    let sum = bin(n, m::add(), x, c)?;
                    let k = (2.0 / std::f64::consts::PI).sqrt();
                    let scaled = with_scalar(n, m::mul(), sum, k)?;
                    un(n, m::tanh(), scaled)?
                }
                Some(other) => bail!("Gelu approximate={other:?} is not supported"),
            };
            let one_plus = with_scalar(n, m::add(), inner, 1.0)?;
            let half = with_scalar(n, m::mul(), x, 0.5)?;
            bin(n, m::mul(), half, one_plus)?
        }
        other => bail!("{other} is not an activation"),
    };
    Ok(tvec!(y))
}

/// `min(max(x, low), high)`, each bound optional.
pub(super) fn clip(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let mut x = n.input(0)?;
    if let Some(low) = n.optional_input(1) {
        x = bin(n, m::max(), x, low)?;
    }
    if let Some(high) = n.optional_input(2) {
        x = bin(n, m::min(), x, high)?;
    }
    Ok(tvec!(x))
}

pub(super) fn where_(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let cond = n.input(0)?;
    let branches = same_index_type(n, &[n.input(1)?, n.input(2)?])?;
    Ok(tvec!(select(n, cond, branches[0], branches[1])?))
}

pub(super) fn cast(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let to = tensor::datum_type(n.int("to", 0) as i32)?;
    let from = n.datum_type(x)?;
    // A shape value stays a (possibly symbolic) dimension: it is an int64 to the graph.
    if from == to || (from == TDim::datum_type() && to.is_integer()) {
        return Ok(tvec!(x));
    }
    n.wire(tract_core::ops::cast::cast(to), &[x])
}
