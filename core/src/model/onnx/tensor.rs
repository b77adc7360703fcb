//! ONNX tensors (initializers, `Constant` values) as tract tensors. Values come from `raw_data`
//! (little-endian) or the typed repeated field the schema assigns to each element type; the
//! element count must match the dims exactly, so a tensor never reads past what the file holds.

use super::proto::TensorProto;
use tract_core::internal::*;

/// ONNX `TensorProto.DataType` codes Tailor reads.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT16: i32 = 5;
const INT32: i32 = 6;
const INT64: i32 = 7;
const STRING: i32 = 8;
const BOOL: i32 = 9;
const DOUBLE: i32 = 11;

/// The tract type of an ONNX element type code, for the types ranking graphs use.
pub(super) fn datum_type(code: i32) -> TractResult<DatumType> {
    Ok(match code {
        FLOAT => f32::datum_type(),
        UINT8 => u8::datum_type(),
        INT8 => i8::datum_type(),
        INT16 => i16::datum_type(),
        INT32 => i32::datum_type(),
        INT64 => i64::datum_type(),
        BOOL => bool::datum_type(),
        DOUBLE => f64::datum_type(),
        STRING => bail!("string tensors cannot be loaded (ranking graphs compute on numbers)"),
        other => bail!(
            "element type {other} is not supported (float, double, int8/16/32/64, uint8 and bool are)"
        ),
    })
}

pub(super) fn from_proto(t: &TensorProto) -> TractResult<Tensor> {
    if t.data_location == 1 {
        bail!("external data is not supported: keep every weight inside model.onnx");
    }
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| anyhow!("negative dimension {d}")))
        .collect::<TractResult<TVec<usize>>>()?;
    let len = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .context("the dimensions overflow")?;
    let dt = datum_type(t.data_type)?;
    if !t.raw_data.is_empty() {
        let bytes = len.checked_mul(dt.size_of());
        if bytes != Some(t.raw_data.len()) {
            bail!(
                "raw data is {} bytes, not what {shape:?} of {dt:?} needs",
                t.raw_data.len()
            );
        }
        // Safe for these plain types: the byte count is checked and every bit pattern is valid
        // except for bool, which is normalized below.
        if dt == bool::datum_type() {
            let values: Vec<bool> = t.raw_data.iter().map(|&b| b != 0).collect();
            return Ok(tract_ndarray::ArrayD::from_shape_vec(&*shape, values)?.into_tensor());
        }
        return unsafe { Tensor::from_raw_dt(dt, &shape, &t.raw_data) };
    }
    /// Exactly `len` values of the typed field.
    fn exact<T: Clone>(values: &[T], len: usize, shape: &[usize]) -> TractResult<Vec<T>> {
        if values.len() != len {
            bail!("{} values for dimensions {shape:?}", values.len());
        }
        Ok(values.to_vec())
    }
    fn make<T: Datum>(shape: &[usize], values: Vec<T>) -> TractResult<Tensor> {
        Ok(tract_ndarray::ArrayD::from_shape_vec(shape, values)?.into_tensor())
    }
    /// The narrow types, which the schema stores widened to int32.
    fn narrow<T: Datum>(
        wide: &[i32],
        len: usize,
        shape: &[usize],
        f: fn(i32) -> T,
    ) -> TractResult<Tensor> {
        make(shape, exact(wide, len, shape)?.into_iter().map(f).collect())
    }
    match t.data_type {
        FLOAT => make(&shape, exact(&t.float_data, len, &shape)?),
        DOUBLE => make(&shape, exact(&t.double_data, len, &shape)?),
        INT64 => make(&shape, exact(&t.int64_data, len, &shape)?),
        INT32 => make(&shape, exact(&t.int32_data, len, &shape)?),
        INT16 => narrow(&t.int32_data, len, &shape, |v| v as i16),
        INT8 => narrow(&t.int32_data, len, &shape, |v| v as i8),
        UINT8 => narrow(&t.int32_data, len, &shape, |v| v as u8),
        BOOL => narrow(&t.int32_data, len, &shape, |v| v != 0),
        other => bail!("element type {other} is not supported"),
    }
}
