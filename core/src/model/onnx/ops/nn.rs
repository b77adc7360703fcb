//! Layers: `MatMul`, `Gemm`, reductions, `Softmax`, the normalizations, `Dropout`.

use super::super::{values, Node};
use tract_core::internal::*;
use tract_core::ops::einsum::EinSum;
use tract_core::ops::math as m;
use tract_core::ops::nn::{Reduce, Reducer, Softmax, SoftmaxKind};

fn einsum(n: &mut Node, spec: &str, a: OutletId, b: OutletId) -> TractResult<OutletId> {
    let operating_dt = n.datum_type(a)?;
    let op = EinSum {
        axes: spec.parse()?,
        operating_dt,
        q_params: None,
    };
    Ok(n.wire(op, &[a, b])?[0])
}

/// numpy `matmul`: a 1-D operand gets a unit axis for the product (removed after), batch axes
/// broadcast.
pub(super) fn matmul(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let (mut a, mut b) = (n.input(0)?, n.input(1)?);
    let (a_vec, b_vec) = (n.rank(a)? == 1, n.rank(b)? == 1);
    if n.rank(a)? == 0 || n.rank(b)? == 0 {
        bail!("MatMul operands must have rank 1 or more");
    }
    if a_vec {
        a = n.wire(AxisOp::Add(0), &[a])?[0];
    }
    if b_vec {
        b = n.wire(AxisOp::Add(1), &[b])?[0];
    }
    let rank = n.rank(a)?.max(n.rank(b)?);
    for x in [&mut a, &mut b] {
        while n.rank(*x)? < rank {
            *x = n.wire(AxisOp::Add(0), &[*x])?[0];
        }
    }
    // Batch axes get letters other than the product's own m, k and n.
    let batch: String = "abcdefghijopqrst".chars().take(rank - 2).collect();
    if batch.len() < rank - 2 {
        bail!("MatMul of rank {rank} is not supported");
    }
    let mut y = einsum(n, &format!("{batch}mk,{batch}kn->{batch}mn"), a, b)?;
    if b_vec {
        y = n.wire(AxisOp::Rm(rank - 1), &[y])?[0];
    }
    if a_vec {
        y = n.wire(AxisOp::Rm(rank - 2), &[y])?[0];
    }
    Ok(tvec!(y))
}

/// `alpha * A' B' + beta * C` on 2-D operands.
pub(super) fn gemm(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let (a, b) = (n.input(0)?, n.input(1)?);
    if n.rank(a)? != 2 || n.rank(b)? != 2 {
        bail!("Gemm operands must be 2-D");
    }
    let a_spec = if n.int("transA", 0) != 0 { "km" } else { "mk" };
    let b_spec = if n.int("transB", 0) != 0 { "nk" } else { "kn" };
    let mut y = einsum(n, &format!("{a_spec},{b_spec}->mn"), a, b)?;
    let dt = n.datum_type(y)?;
    let alpha = n.float("alpha", 1.0);
    if alpha != 1.0 {
        let s = n.scalar(alpha as f64, dt)?;
        y = n.wire_broadcast(m::mul(), &[y, s])?;
    }
    if let Some(mut c) = n.optional_input(2) {
        let beta = n.float("beta", 1.0);
        if beta != 1.0 {
            let s = n.scalar(beta as f64, dt)?;
            c = n.wire_broadcast(m::mul(), &[c, s])?;
        }
        y = n.wire_broadcast(m::add(), &[y, c])?;
    }
    Ok(tvec!(y))
}

/// The axes a reduction runs over: `None` means "return the input" (`noop_with_empty_axes`).
fn reduced_axes(n: &Node, rank: usize, from_input: bool) -> TractResult<Option<TVec<usize>>> {
    let axes: Vec<i64> = if from_input {
        match n.optional_input(1) {
            Some(_) => n.ints_input(1)?,
            None => vec![],
        }
    } else {
        n.ints("axes").map(<[i64]>::to_vec).unwrap_or_default()
    };
    if axes.is_empty() {
        return Ok(if n.int("noop_with_empty_axes", 0) != 0 {
            None
        } else {
            Some((0..rank).collect())
        });
    }
    let mut axes = axes
        .iter()
        .map(|&a| n.axis(a, rank))
        .collect::<TractResult<TVec<usize>>>()?;
    axes.sort_unstable();
    axes.dedup();
    Ok(Some(axes))
}

fn drop_axes(n: &mut Node, mut y: OutletId, axes: &[usize]) -> TractResult<OutletId> {
    for &axis in axes.iter().rev() {
        y = n.wire(AxisOp::Rm(axis), &[y])?[0];
    }
    Ok(y)
}

fn count(n: &Node, x: OutletId, axes: &[usize]) -> TractResult<usize> {
    let shape = n.shape(x)?;
    axes.iter()
        .map(|&a| shape[a].to_usize().ok())
        .product::<Option<usize>>()
        .context("a mean over the batch dimension is not supported")
}

pub(super) fn reduce(n: &mut Node, op: &str) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let rank = n.rank(x)?;
    // ReduceSum takes its axes as an input from opset 13, the others from opset 18.
    let from_input = op == "ReduceSum" || n.opset() >= 18;
    let Some(axes) = reduced_axes(n, rank, from_input)? else {
        return Ok(tvec!(x));
    };
    let with = |reducer| Reduce::new(axes.clone(), reducer);
    let y = match op {
        "ReduceSum" => n.wire(with(Reducer::Sum), &[x])?[0],
        "ReduceMax" => n.wire(with(Reducer::Max), &[x])?[0],
        "ReduceMin" => n.wire(with(Reducer::Min), &[x])?[0],
        "ReduceProd" => n.wire(with(Reducer::Prod), &[x])?[0],
        "ReduceMean" => {
            let dt = n.datum_type(x)?;
            let count = count(n, x, &axes)?;
            let sum = n.wire(with(Reducer::Sum), &[x])?[0];
            let s = n.scalar(1.0 / count.max(1) as f64, dt)?;
            n.wire_broadcast(m::mul(), &[sum, s])?
        }
        "ReduceL2" => {
            let sq = n.wire_broadcast(m::mul(), &[x, x])?;
            let sum = n.wire(with(Reducer::Sum), &[sq])?[0];
            n.wire(m::sqrt(), &[sum])?[0]
        }
        other => bail!("{other} is not a reduction"),
    };
    let y = if n.int("keepdims", 1) == 0 {
        drop_axes(n, y, &axes)?
    } else {
        y
    };
    Ok(tvec!(y))
}

pub(super) fn arg_reduce(n: &mut Node, op: &str) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let axis = n.axis(n.int("axis", 0), n.rank(x)?)?;
    let last = n.int("select_last_index", 0) != 0;
    let reducer = if op == "ArgMax" {
        Reducer::ArgMax(last)
    } else {
        Reducer::ArgMin(last)
    };
    let mut y = n.wire(Reduce::new(tvec!(axis), reducer), &[x])?[0];
    if n.int("keepdims", 1) == 0 {
        y = drop_axes(n, y, &[axis])?;
    }
    Ok(tvec!(y))
}

pub(super) fn softmax(n: &mut Node, op: &str) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    if !n.datum_type(x)?.is_float() {
        bail!("{op} of a non-float tensor is not supported");
    }
    let axis = n.axis(n.int("axis", -1), n.rank(x)?)?;
    let kind = if op == "LogSoftmax" {
        SoftmaxKind::LogSoftmax
    } else {
        SoftmaxKind::Softmax
    };
    n.wire(Softmax::new(tvec!(axis), None, kind), &[x])
}

fn only_first_output(n: &Node) -> TractResult<()> {
    if n.outputs_wanted() > 1 {
        bail!(
            "{}'s training outputs are not supported (only the first output is)",
            n.op_type()
        );
    }
    Ok(())
}

/// Inference-mode batch normalization over axis 1, folded into one scale and one shift per
/// channel (its statistics must be constants, as exporters write them).
pub(super) fn batch_norm(n: &mut Node) -> TractResult<TVec<OutletId>> {
    only_first_output(n)?;
    if n.int("training_mode", 0) != 0 {
        bail!("BatchNormalization in training mode is not supported");
    }
    let x = n.input(0)?;
    let rank = n.rank(x)?;
    if rank < 2 {
        bail!("BatchNormalization needs an input of rank 2 or more");
    }
    let params = (1..5)
        .map(|ix| values::<f32>(&*n.konst_input(ix)?))
        .collect::<TractResult<Vec<Vec<f32>>>>()?;
    let channels = params[0].len();
    if params.iter().any(|p| p.len() != channels) {
        bail!("BatchNormalization parameters differ in length");
    }
    let eps = n.float("epsilon", 1e-5);
    let mut scale = Vec::with_capacity(channels);
    let mut shift = Vec::with_capacity(channels);
    let [gamma, beta, mean, var] = [&params[0], &params[1], &params[2], &params[3]];
    for c in 0..channels {
        let s = gamma[c] / (var[c] + eps).sqrt();
        scale.push(s);
        shift.push(beta[c] - mean[c] * s);
    }
    let mut shape = tvec![channels];
    shape.extend(std::iter::repeat_n(1, rank - 2));
    let dt = n.datum_type(x)?;
    let mut per_channel = |values: Vec<f32>| -> TractResult<OutletId> {
        let t = tract_ndarray::ArrayD::from_shape_vec(&*shape, values)?.into_tensor();
        n.konst_wire(t.cast_to_dt(dt)?.into_owned())
    };
    let (scale, shift) = (per_channel(scale)?, per_channel(shift)?);
    let y = n.wire_broadcast(m::mul(), &[x, scale])?;
    Ok(tvec!(n.wire_broadcast(m::add(), &[y, shift])?))
}

/// `(x - mean) / sqrt(var + epsilon) * scale + bias` over the axes from `axis` to the last.
pub(super) fn layer_norm(n: &mut Node) -> TractResult<TVec<OutletId>> {
    only_first_output(n)?;
    let x = n.input(0)?;
    let rank = n.rank(x)?;
    let first = n.axis(n.int("axis", -1), rank)?;
    let axes: TVec<usize> = (first..rank).collect();
    let dt = n.datum_type(x)?;
    let count = count(n, x, &axes)?;
    let sum = n.wire(Reduce::new(axes.clone(), Reducer::Sum), &[x])?[0];
    let inv = n.scalar(1.0 / count.max(1) as f64, dt)?;
    let mean = n.wire_broadcast(m::mul(), &[sum, inv])?;
    let centered = n.wire_broadcast(m::sub(), &[x, mean])?;
    let var = n.wire(Reduce::new(axes, Reducer::MeanOfSquares), &[centered])?[0];
    let eps = n.scalar(n.float("epsilon", 1e-5) as f64, dt)?;
    let var_eps = n.wire_broadcast(m::add(), &[var, eps])?;
    let inv_std = n.wire(m::rsqrt(), &[var_eps])?[0];
    let normed = n.wire_broadcast(m::mul(), &[centered, inv_std])?;
    let scaled = n.wire_broadcast(m::mul(), &[normed, n.input(1)?])?;
    let y = match n.optional_input(2) {
        Some(bias) => n.wire_broadcast(m::add(), &[scaled, bias])?,
        None => scaled,
    };
    Ok(tvec!(y))
}

pub(super) fn dropout(n: &mut Node) -> TractResult<TVec<OutletId>> {
    only_first_output(n)?;
    if let Some(training) = n.optional_input(2) {
        let mode = n
            .konst(training)
            .map(|k| values::<bool>(&k).map(|v| v.contains(&true)));
        if !matches!(mode, Some(Ok(false))) {
            bail!("Dropout in training mode is not supported");
        }
    }
    Ok(tvec!(n.input(0)?))
}
