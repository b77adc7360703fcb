//! Shape and indexing operators. Shapes, axes, starts and repeats must be known at load
//! (constants, or folded from `Shape` of the input); a dimension may be the symbolic batch size.

use super::super::{broadcast_shape, values, Node, Refusal, MAX_FOLDED_ELEMENTS};
use super::same_index_type;
use tract_core::internal::*;
use tract_core::ops::array::{Gather, GatherElements, MultiBroadcastTo, Slice, Tile, TypedConcat};
use tract_core::ops::change_axes::to_axis_ops_with_onnx_rules;

pub(super) fn constant(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let value = if let Some(t) = n.tensor_attr("value")? {
        t
    } else if n.has_attr("value_float") {
        tensor0(n.float("value_float", 0.0))
    } else if let Some(v) = n.floats("value_floats") {
        tensor1(v)
    } else if n.has_attr("value_int") {
        tensor0(n.int("value_int", 0))
    } else if let Some(v) = n.ints("value_ints") {
        tensor1(v)
    } else {
        bail!("a Constant without a numeric value (string or sparse) is not supported");
    };
    Ok(tvec!(n.konst_wire(value)?))
}

/// Dimensions as a tensor: int64 when all are numbers, symbolic dimensions otherwise.
fn dims_tensor(dims: &[TDim]) -> Tensor {
    match dims
        .iter()
        .map(|d| d.to_i64().ok())
        .collect::<Option<Vec<i64>>>()
    {
        Some(ints) => tensor1(&ints),
        None => tensor1(dims),
    }
}

fn check_volume(dims: &[TDim]) -> TractResult<()> {
    let volume: TDim = dims.iter().product();
    if let Ok(v) = volume.to_i64() {
        if v < 0 || v as usize > MAX_FOLDED_ELEMENTS {
            return Err(Refusal::TooLarge(format!(
                "a constant of {v} elements is over the limit of {MAX_FOLDED_ELEMENTS}"
            ))
            .into());
        }
    }
    Ok(())
}

pub(super) fn shape(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let dims = n.shape(n.input(0)?)?;
    let rank = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let start = clamp(n.int("start", 0));
    let end = clamp(n.int("end", rank)).max(start);
    Ok(tvec!(n.konst_wire(dims_tensor(&dims[start..end]))?))
}

pub(super) fn constant_of_shape(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let dims = n.dims_input(0)?;
    check_volume(&dims)?;
    let value = n.tensor_attr("value")?.unwrap_or_else(|| tensor0(0f32));
    if value.len() != 1 {
        bail!("ConstantOfShape's value must be one element");
    }
    let unit = value.into_shape(&vec![1; dims.len()])?;
    let unit = n.konst_wire(unit)?;
    n.wire(MultiBroadcastTo::new(dims.into()), &[unit])
}

fn wire_axis_ops(n: &mut Node, mut x: OutletId, ops: TVec<AxisOp>) -> TractResult<OutletId> {
    for op in ops {
        x = n.wire(op, &[x])?[0];
    }
    Ok(x)
}

pub(super) fn reshape(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let spec = n.dims_input(1)?;
    let ops = to_axis_ops_with_onnx_rules(&n.shape(x)?, &spec, n.int("allowzero", 0) != 0)?;
    Ok(tvec!(wire_axis_ops(n, x, ops)?))
}

pub(super) fn flatten(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let dims = n.shape(x)?;
    let rank = dims.len() as i64;
    let axis = n.int("axis", 1);
    if !(-rank..=rank).contains(&axis) {
        bail!("axis {axis} is out of range for rank {rank}");
    }
    let axis = if axis < 0 { axis + rank } else { axis } as usize;
    let outer: TDim = dims[..axis].iter().product();
    let inner: TDim = dims[axis..].iter().product();
    let ops = to_axis_ops_with_onnx_rules(&dims, &[outer, inner], false)?;
    Ok(tvec!(wire_axis_ops(n, x, ops)?))
}

pub(super) fn squeeze(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let dims = n.shape(x)?;
    let mut axes: Vec<usize> = match n.optional_input(1) {
        Some(_) => n
            .ints_input(1)?
            .iter()
            .map(|&a| n.axis(a, dims.len()))
            .collect::<TractResult<_>>()?,
        None => (0..dims.len()).filter(|&a| dims[a].is_one()).collect(),
    };
    axes.sort_unstable();
    axes.dedup();
    if let Some(&a) = axes.iter().find(|&&a| !dims[a].is_one()) {
        bail!("cannot squeeze axis {a} of size {}", dims[a]);
    }
    let ops = axes.iter().rev().map(|&a| AxisOp::Rm(a)).collect();
    Ok(tvec!(wire_axis_ops(n, x, ops)?))
}

pub(super) fn unsqueeze(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let axes = n.ints_input(1)?;
    let out_rank = n.rank(x)? + axes.len();
    if out_rank > super::super::MAX_RANK {
        bail!("Unsqueeze to rank {out_rank} is not supported");
    }
    let mut axes = axes
        .iter()
        .map(|&a| n.axis(a, out_rank))
        .collect::<TractResult<Vec<usize>>>()?;
    axes.sort_unstable();
    if axes.windows(2).any(|w| w[0] == w[1]) {
        bail!("Unsqueeze axes repeat");
    }
    let ops = axes.iter().map(|&a| AxisOp::Add(a)).collect();
    Ok(tvec!(wire_axis_ops(n, x, ops)?))
}

pub(super) fn transpose(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let rank = n.rank(x)?;
    let perm: Vec<usize> = match n.ints("perm") {
        Some(p) => p
            .iter()
            .map(|&a| usize::try_from(a).unwrap_or(usize::MAX))
            .collect(),
        None => (0..rank).rev().collect(),
    };
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..rank).collect::<Vec<_>>() {
        bail!("perm {perm:?} is not a permutation of the {rank} axes");
    }
    // Bring the axis wanted at each position there, left to right.
    let mut order: Vec<usize> = (0..rank).collect();
    let mut ops = tvec!();
    for (target, &axis) in perm.iter().enumerate() {
        let at = order.iter().position(|&a| a == axis).unwrap_or(target);
        if at != target {
            ops.push(AxisOp::Move(at, target));
            let moved = order.remove(at);
            order.insert(target, moved);
        }
    }
    Ok(tvec!(wire_axis_ops(n, x, ops)?))
}

pub(super) fn concat(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let inputs = n.all_inputs()?;
    let Some(&first) = inputs.first() else {
        bail!("Concat needs at least one input");
    };
    if !n.has_attr("axis") {
        bail!("Concat needs an axis");
    }
    let axis = n.axis(n.int("axis", 0), n.rank(first)?)?;
    let inputs = same_index_type(n, &inputs)?;
    n.wire(TypedConcat { axis }, &inputs)
}

pub(super) fn split(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let dims = n.shape(x)?;
    let axis = n.axis(n.int("axis", 0), dims.len())?;
    let outputs = n.outputs_declared();
    let sizes: Vec<TDim> = match n.optional_input(1) {
        Some(_) => n.ints_input(1)?.into_iter().map(TDim::from).collect(),
        None => {
            let Ok(len) = dims[axis].to_usize() else {
                bail!("an equal Split along the batch dimension is not supported");
            };
            let parts = outputs.max(1);
            // Equal parts, the last one smaller when the length does not divide (opset 18).
            let part = len.div_ceil(parts);
            (0..parts)
                .map(|i| TDim::from(part.min(len.saturating_sub(i * part))))
                .collect()
        }
    };
    let total: TDim = sizes.iter().sum();
    if total.clone().simplify() != dims[axis].clone().simplify() {
        bail!("split sizes add up to {total}, the axis is {}", dims[axis]);
    }
    let mut start = TDim::from(0);
    let mut wires = tvec!();
    for size in sizes {
        let end = start.clone() + size;
        wires.push(n.wire(Slice::new(axis, start.clone(), end.clone()), &[x])?[0]);
        start = end;
    }
    Ok(wires)
}

/// ONNX's clamping of a slice bound on an axis of length `len` (symbolic lengths take the bound
/// as written: non-negative bounds are within the axis, negative ones count from its end).
fn bound(value: i64, len: &TDim, step: i64) -> TDim {
    match len.to_i64() {
        Ok(len) => {
            let v = if value < 0 {
                value.saturating_add(len)
            } else {
                value
            };
            TDim::from(if step > 0 {
                v.clamp(0, len)
            } else {
                v.clamp(-1, len - 1)
            })
        }
        Err(_) if value >= i32::MAX as i64 => len.clone(),
        Err(_) if value < 0 => len.clone() + value,
        Err(_) => TDim::from(value),
    }
}

pub(super) fn slice(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let mut x = n.input(0)?;
    let starts = n.ints_input(1)?;
    let ends = n.ints_input(2)?;
    let rank = n.rank(x)?;
    let axes: Vec<usize> = match n.optional_input(3) {
        Some(_) => n
            .ints_input(3)?
            .iter()
            .map(|&a| n.axis(a, rank))
            .collect::<TractResult<_>>()?,
        None => (0..starts.len()).collect(),
    };
    let steps = match n.optional_input(4) {
        Some(_) => n.ints_input(4)?,
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        bail!("starts, ends, axes and steps differ in length");
    }
    for i in 0..starts.len() {
        let (axis, step) = (axes[i], steps[i]);
        let len = n.shape(x)?[axis].clone();
        let start = bound(starts[i], &len, step);
        let end = bound(ends[i], &len, step);
        if step == 1 {
            if matches!((start.to_i64(), end.to_i64()), (Ok(s), Ok(e)) if e <= s) {
                bail!(
                    "a Slice that selects nothing (axis {axis}, {start}..{end}) is not supported"
                );
            }
            x = n.wire(Slice::new(axis, start, end), &[x])?[0];
            continue;
        }
        let (Ok(start), Ok(end)) = (start.to_i64(), end.to_i64()) else {
            bail!("a Slice with step {step} along the batch dimension is not supported");
        };
        if step == 0 {
            bail!("Slice step 0");
        }
        let picked: Vec<i64> = if step > 0 {
            (start..end).step_by(step as usize).collect()
        } else {
            let mut v = vec![];
            let mut i = start;
            while i > end {
                v.push(i);
                i += step;
            }
            v
        };
        if picked.is_empty() {
            bail!("a Slice that selects nothing (axis {axis}) is not supported");
        }
        let indices = n.konst_wire(tensor1(&picked))?;
        x = n.wire(Gather::new(axis), &[x, indices])?[0];
    }
    Ok(tvec!(x))
}

pub(super) fn gather(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let (data, indices) = (n.input(0)?, n.input(1)?);
    let axis = n.axis(n.int("axis", 0), n.rank(data)?)?;
    // Out-of-range constant indices are refused here rather than found by a run.
    if let (Some(k), Ok(len)) = (n.konst(indices), n.shape(data)?[axis].to_i64()) {
        if let Some(bad) = values::<i64>(&k)?.iter().find(|&&i| i < -len || i >= len) {
            bail!("index {bad} is out of range for an axis of length {len}");
        }
    }
    n.wire(Gather::new(axis), &[data, indices])
}

pub(super) fn gather_elements(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let (data, indices) = (n.input(0)?, n.input(1)?);
    let axis = n.axis(n.int("axis", 0), n.rank(data)?)?;
    n.wire(GatherElements { axis }, &[data, indices])
}

pub(super) fn expand(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let mut x = n.input(0)?;
    let target = n.dims_input(1)?;
    let shape = broadcast_shape(&[n.shape(x)?, target])?;
    check_volume(&shape)?;
    while n.rank(x)? < shape.len() {
        x = n.wire(AxisOp::Add(0), &[x])?[0];
    }
    n.wire(MultiBroadcastTo::new(shape.into()), &[x])
}

pub(super) fn tile(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let x = n.input(0)?;
    let repeats = n.ints_input(1)?;
    if repeats.len() != n.rank(x)? || repeats.iter().any(|&r| r < 0) {
        bail!("Tile repeats {repeats:?} do not match the input's rank");
    }
    let mut out = n.shape(x)?;
    for (d, &r) in out.iter_mut().zip(&repeats) {
        *d = d.clone() * r;
    }
    check_volume(&out)?;
    let multipliers = repeats.iter().map(|&r| TDim::from(r)).collect();
    n.wire(Tile::new(multipliers), &[x])
}

/// `Range` of constant bounds, computed at load.
pub(super) fn range(n: &mut Node) -> TractResult<TVec<OutletId>> {
    let dt = n.datum_type(n.input(0)?)?;
    let (start, limit, delta) = (n.float_input(0)?, n.float_input(1)?, n.float_input(2)?);
    if delta == 0.0 || !(start.is_finite() && limit.is_finite() && delta.is_finite()) {
        bail!("Range({start}, {limit}, {delta}) is not a finite range");
    }
    let count = ((limit - start) / delta).ceil().max(0.0);
    if count > MAX_FOLDED_ELEMENTS as f64 {
        return Err(Refusal::TooLarge(format!(
            "Range of {count} elements is over the limit of {MAX_FOLDED_ELEMENTS}"
        ))
        .into());
    }
    let t = if dt.is_integer() {
        let [start, delta] = [0, 2].map(|ix| n.ints_input(ix).map(|v| v.first().copied()));
        let (Some(start), Some(delta)) = (start?, delta?) else {
            bail!("Range bounds must be scalars");
        };
        let values: Vec<i64> = (0..count as i64).map(|i| start + i * delta).collect();
        tensor1(&values)
    } else {
        let values: Vec<f64> = (0..count as usize)
            .map(|i| start + i as f64 * delta)
            .collect();
        tensor1(&values)
    };
    Ok(tvec!(n.konst_wire(t.cast_to_dt(dt)?.into_owned())?))
}
