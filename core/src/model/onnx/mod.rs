//! Tailor's own ONNX importer: the protobuf, decoded with prost, translated node by node into
//! tract-core's typed graph. It covers exactly the operators of the model contract
//! (`contract::OPERATORS`) at opsets 13–18, so the library links tract-core's runtime and
//! optimizer but not tract-onnx's parsers for ~180 operators, tract-hir's inference rules or
//! tract-nnef (3.2 MB of the mobile library; scripts/README.md "Library size").
//!
//! Values computable at load (initializers, `Shape` of the input, arithmetic on them) are folded
//! as they are wired, so shape subgraphs (`Shape → Gather → Concat → Reshape`, what PyTorch
//! writes for `x.view(x.size(0), -1)`) become constants, symbolic in the batch dimension where the
//! input's shape is. An operator feature the importer does not cover is refused with a message
//! that says "not supported", which `runtime` reports as `UnsupportedOperator`.

mod ops;
pub(crate) mod proto;
mod tensor;

use proto::{AttributeProto, GraphProto, NodeProto};
use std::collections::{HashMap, HashSet};
use tract_core::internal::*;

/// Why the importer refused a graph when it is neither a shape problem nor an unsupported
/// feature (messages with "not supported"): `runtime` reports these as `NotOnnx` and
/// `OverBudget`.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The graph breaks ONNX's own rules (a value used before it is made, or made twice).
    Malformed(String),
    /// A constant the graph asks for is over the importer's limit.
    TooLarge(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Malformed(m) | Refusal::TooLarge(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Refusal {}

/// The refusal somewhere in an import error's chain, if any.
pub(crate) fn refusal(e: &TractError) -> Option<&Refusal> {
    e.chain().find_map(|c| c.downcast_ref::<Refusal>())
}

fn malformed(msg: String) -> TractError {
    Refusal::Malformed(msg).into()
}

/// Largest constant the importer folds (elements): a shape subgraph never needs more, and a
/// hostile graph cannot make the load allocate gigabytes.
const MAX_FOLDED_ELEMENTS: usize = 16 * 1024 * 1024;

/// The values of a known tensor as `T` (cast if needed).
pub(super) fn values<T: Datum>(t: &Tensor) -> TractResult<Vec<T>> {
    Ok(t.cast_to::<T>()?
        .try_as_plain_ram()?
        .as_slice::<T>()?
        .to_vec())
}

/// numpy broadcasting of `shapes` (aligned on the right). Two different numbers on one axis
/// are refused here: tract would carry a symbolic "broadcast" of them instead.
pub(super) fn broadcast_shape(shapes: &[TVec<TDim>]) -> TractResult<TVec<TDim>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = tvec![TDim::from(1); rank];
    for (axis, dim) in out.iter_mut().enumerate() {
        let back = rank - axis;
        let dims: Vec<&TDim> = shapes
            .iter()
            .filter_map(|s| s.len().checked_sub(back).map(|i| &s[i]))
            .filter(|d| !d.is_one())
            .collect();
        let known: Vec<i64> = dims.iter().filter_map(|d| d.to_i64().ok()).collect();
        if known.windows(2).any(|w| w[0] != w[1]) {
            let shown: Vec<String> = shapes.iter().map(|s| show_shape(s)).collect();
            bail!("shapes {} do not broadcast", shown.join(" and "));
        }
        // A number wins over a symbol (the symbol must then be 1 or that number at run time).
        if let Some(d) = dims.iter().find(|d| d.to_i64().is_ok()).or(dims.first()) {
            *dim = (*d).clone();
        }
    }
    Ok(out)
}

/// A shape as a reader writes it: `[N, 3]`.
pub(super) fn show_shape(shape: &[TDim]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

/// Highest tensor rank the importer wires: ranking graphs stay far below it, and a hostile
/// `Unsqueeze` of a million axes is refused before it builds a million nodes.
const MAX_RANK: usize = 16;

/// Decode an ONNX file (the bytes only; nothing is checked but the wire format).
pub(crate) fn decode(bytes: &[u8]) -> TractResult<proto::ModelProto> {
    <proto::ModelProto as prost::Message>::decode(bytes).map_err(|e| anyhow!("{e}"))
}

/// The default-domain opset a model imports (the contract has checked its range).
pub(crate) fn opset(model: &proto::ModelProto) -> i64 {
    model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .unwrap_or(0)
}

/// One graph being translated into a typed model.
pub(crate) struct Importer<'g> {
    graph: &'g GraphProto,
    opset: i64,
    model: TypedModel,
    /// Every ONNX value wired so far, by name.
    wires: HashMap<&'g str, OutletId>,
    /// Initializers not wired yet (wired as constants on first use).
    initializers: HashMap<&'g str, Tensor>,
    /// Every name an initializer or a graph input holds: no node may produce one again.
    taken: HashSet<&'g str>,
}

impl<'g> Importer<'g> {
    /// Reads every initializer: a tensor the file cannot hold (wrong byte count, unknown
    /// element type) fails here, before any node is translated.
    pub(crate) fn new(graph: &'g GraphProto, opset: i64) -> TractResult<Importer<'g>> {
        let initializers: HashMap<&str, Tensor> = graph
            .initializer
            .iter()
            .map(|t| {
                let tensor = tensor::from_proto(t).with_context(|| {
                    format!("initializer {:?}", super::contract::short(&t.name))
                })?;
                Ok((t.name.as_str(), tensor))
            })
            .collect::<TractResult<_>>()?;
        if initializers.len() != graph.initializer.len() {
            return Err(malformed("two initializers have the same name".into()));
        }
        Ok(Importer {
            graph,
            opset,
            model: TypedModel::default(),
            wires: HashMap::new(),
            initializers,
            taken: graph
                .initializer
                .iter()
                .map(|t| t.name.as_str())
                .chain(graph.input.iter().map(|i| i.name.as_str()))
                .collect(),
        })
    }

    /// A symbol of the model being built (e.g. the batch dimension `N`).
    pub(crate) fn sym(&self, name: &str) -> Symbol {
        self.model.sym(name)
    }

    /// Feed the graph input `name` with values of `fact`.
    pub(crate) fn input(&mut self, name: &str, fact: TypedFact) -> TractResult<()> {
        let Some(input) = self.graph.input.iter().find(|i| i.name == name) else {
            return Err(malformed(format!("the graph has no input {name:?}")));
        };
        let outlet = self.model.add_source(name, fact)?;
        self.wires.insert(input.name.as_str(), outlet);
        Ok(())
    }

    /// Translate every node and return the model computing `outputs`.
    pub(crate) fn finish(mut self, outputs: &[&str]) -> TractResult<TypedModel> {
        let graph = self.graph;
        for (ix, node) in graph.node.iter().enumerate() {
            let label = if node.name.is_empty() {
                format!("{}#{ix}", node.op_type)
            } else {
                node.name.clone()
            };
            self.node(node, &label).with_context(|| {
                format!(
                    "node {:?} ({})",
                    super::contract::short(&label),
                    node.op_type
                )
            })?;
        }
        let outlets = outputs
            .iter()
            .map(|name| self.value(name))
            .collect::<TractResult<TVec<_>>>()?;
        self.model.select_output_outlets(&outlets)?;
        for (outlet, name) in outlets.iter().zip(outputs) {
            self.model.set_outlet_label(*outlet, name.to_string())?;
        }
        Ok(self.model)
    }

    fn node(&mut self, node: &'g NodeProto, label: &str) -> TractResult<()> {
        if let Some(a) = node.attribute.iter().find(|a| !a.ref_attr_name.is_empty()) {
            return Err(malformed(format!(
                "attribute {:?} refers to a function's attribute",
                super::contract::short(&a.name)
            )));
        }
        let inputs = node
            .input
            .iter()
            .map(|name| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    self.value(name).map(Some)
                }
            })
            .collect::<TractResult<Vec<_>>>()?;
        let wanted = node.output.iter().filter(|o| !o.is_empty()).count();
        let mut ctx = Node {
            imp: self,
            proto: node,
            label,
            inputs,
        };
        let outlets = ops::translate(&mut ctx)?;
        for (ix, name) in node.output.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            if !self.taken.insert(name.as_str()) {
                return Err(malformed(format!(
                    "value {:?} is produced twice (ONNX names each value once)",
                    super::contract::short(name)
                )));
            }
            let Some(outlet) = outlets.get(ix) else {
                bail!(
                    "output {ix} ({:?}) of {} is not supported ({wanted} outputs asked, {} computed)",
                    super::contract::short(name),
                    node.op_type,
                    outlets.len()
                );
            };
            self.wires.insert(name.as_str(), *outlet);
        }
        Ok(())
    }

    /// The outlet carrying ONNX value `name`, wiring an initializer on first use.
    fn value(&mut self, name: &str) -> TractResult<OutletId> {
        if let Some(o) = self.wires.get(name) {
            return Ok(*o);
        }
        let Some((key, init)) = self.initializers.remove_entry(name) else {
            if self.graph.input.iter().any(|i| i.name == name) {
                return Err(malformed(format!(
                    "graph input {:?} is not fed",
                    super::contract::short(name)
                )));
            }
            return Err(malformed(format!(
                "value {:?} is used before any node produces it",
                super::contract::short(name)
            )));
        };
        let outlet = self.model.add_const(key, init)?;
        self.wires.insert(key, outlet);
        Ok(outlet)
    }
}

/// The node being translated: its resolved inputs and its attributes.
pub(super) struct Node<'a, 'g> {
    imp: &'a mut Importer<'g>,
    proto: &'g NodeProto,
    label: &'a str,
    inputs: Vec<Option<OutletId>>,
}

impl Node<'_, '_> {
    pub fn op_type(&self) -> &str {
        &self.proto.op_type
    }

    pub fn opset(&self) -> i64 {
        self.imp.opset
    }

    /// How many outputs the graph reads from this node (trailing empty names do not count).
    pub fn outputs_wanted(&self) -> usize {
        self.proto
            .output
            .iter()
            .rposition(|o| !o.is_empty())
            .map_or(0, |p| p + 1)
    }

    /// How many outputs the node declares (used or not).
    pub fn outputs_declared(&self) -> usize {
        self.proto.output.len()
    }

    pub fn input(&self, ix: usize) -> TractResult<OutletId> {
        self.inputs
            .get(ix)
            .copied()
            .flatten()
            .with_context(|| format!("input {ix} is missing"))
    }

    pub fn optional_input(&self, ix: usize) -> Option<OutletId> {
        self.inputs.get(ix).copied().flatten()
    }

    /// Every input; an omitted one is an error.
    pub fn all_inputs(&self) -> TractResult<TVec<OutletId>> {
        (0..self.inputs.len()).map(|ix| self.input(ix)).collect()
    }

    pub fn rank(&self, outlet: OutletId) -> TractResult<usize> {
        Ok(self.imp.model.outlet_fact(outlet)?.rank())
    }

    pub fn shape(&self, outlet: OutletId) -> TractResult<TVec<TDim>> {
        Ok(self.imp.model.outlet_fact(outlet)?.shape.to_tvec())
    }

    pub fn datum_type(&self, outlet: OutletId) -> TractResult<DatumType> {
        Ok(self.imp.model.outlet_fact(outlet)?.datum_type)
    }

    /// The value of `outlet` if it is known at load (a constant or folded from constants).
    pub fn konst(&self, outlet: OutletId) -> Option<Arc<Tensor>> {
        self.imp.model.outlet_fact(outlet).ok()?.konst.clone()
    }

    /// The value of input `ix`, which must be known at load.
    pub fn konst_input(&self, ix: usize) -> TractResult<Arc<Tensor>> {
        let outlet = self.input(ix)?;
        self.konst(outlet).with_context(|| {
            format!(
                "input {ix} is computed at run time, which is not supported here (only a constant)"
            )
        })
    }

    /// A constant input read as dimensions (int64 values or symbolic dimensions).
    pub fn dims_input(&self, ix: usize) -> TractResult<TVec<TDim>> {
        Ok(values::<TDim>(&*self.konst_input(ix)?)?.into())
    }

    /// A constant integer input (no symbolic dimension in it). Read as int64 directly: extreme
    /// values such as `INT64_MIN` (an exporter's "to the start") do not survive a dimension.
    pub fn ints_input(&self, ix: usize) -> TractResult<Vec<i64>> {
        let k = self.konst_input(ix)?;
        if k.datum_type().is_integer() {
            return values::<i64>(&k);
        }
        self.dims_input(ix)?
            .iter()
            .map(|d| {
                d.to_i64()
                    .ok()
                    .with_context(|| format!("input {ix} depends on the batch size ({d})"))
            })
            .collect()
    }

    /// A constant float scalar input.
    pub fn float_input(&self, ix: usize) -> TractResult<f64> {
        let values = values::<f64>(&*self.konst_input(ix)?)?;
        let [v] = values.as_slice() else {
            bail!("input {ix} must be one value, it has {}", values.len());
        };
        Ok(*v)
    }

    fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name == name)
    }

    pub fn has_attr(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    pub fn float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }

    pub fn ints(&self, name: &str) -> Option<&[i64]> {
        self.attr(name).map(|a| a.ints.as_slice())
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.attr(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub fn tensor_attr(&self, name: &str) -> TractResult<Option<Tensor>> {
        self.attr(name)
            .and_then(|a| a.t.as_ref())
            .map(tensor::from_proto)
            .transpose()
    }

    /// The floats of a `floats` attribute.
    pub fn floats(&self, name: &str) -> Option<&[f32]> {
        self.attr(name).map(|a| a.floats.as_slice())
    }

    /// `axis` in `-rank..rank` as an index.
    pub fn axis(&self, axis: i64, rank: usize) -> TractResult<usize> {
        let r = rank as i64;
        if !(-r..r).contains(&axis) {
            bail!("axis {axis} is out of range for rank {rank}");
        }
        Ok(if axis < 0 { axis + r } else { axis } as usize)
    }

    /// A constant.
    pub fn konst_wire(&mut self, tensor: Tensor) -> TractResult<OutletId> {
        let name = self.imp.model.unique_name(format!("{}.const", self.label));
        self.imp.model.add_const(name, tensor)
    }

    /// A scalar of `dt` broadcastable against anything (rank 0).
    pub fn scalar(&mut self, value: f64, dt: DatumType) -> TractResult<OutletId> {
        let t = tensor0(value).cast_to_dt(dt)?.into_owned();
        self.konst_wire(t)
    }

    /// Wire `op` on `inputs`, or its value when every input is known (folding). The folded value
    /// is bounded by [`MAX_FOLDED_ELEMENTS`].
    pub fn wire(
        &mut self,
        op: impl Into<Box<dyn TypedOp>>,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let op = op.into();
        let model = &mut self.imp.model;
        let facts = inputs
            .iter()
            .map(|o| model.outlet_fact(*o).cloned())
            .collect::<TractResult<TVec<_>>>()?;
        // Checks the inputs and computes the output facts before anything is evaluated.
        let outputs = op.output_facts(&facts.iter().collect::<TVec<_>>())?;
        if let Some(f) = outputs.iter().find(|f| f.rank() > MAX_RANK) {
            bail!(
                "a tensor of rank {} is not supported (up to {MAX_RANK})",
                f.rank()
            );
        }
        let known: Option<TVec<TValue>> = facts
            .iter()
            .map(|f| f.konst.clone().map(|k| k.into_tvalue()))
            .collect();
        let small = outputs.iter().all(|f| {
            f.shape
                .volume()
                .to_usize()
                .is_ok_and(|v| v <= MAX_FOLDED_ELEMENTS)
        });
        if let (Some(values), true) = (known, small) {
            if let Some(results) = op.eval_out_of_plan(values)? {
                return results
                    .into_iter()
                    .map(|t| {
                        let name = model.unique_name(self.label.to_string());
                        model.add_const(name, t.into_tensor())
                    })
                    .collect();
            }
        }
        let name = model.unique_name(self.label.to_string());
        model.wire_node(name, op, inputs)
    }

    /// Wire a binary or ternary op with numpy-style broadcasting (ranks aligned on the right).
    pub fn wire_broadcast(
        &mut self,
        op: impl Into<Box<dyn TypedOp>>,
        inputs: &[OutletId],
    ) -> TractResult<OutletId> {
        let shapes = inputs
            .iter()
            .map(|o| self.shape(*o))
            .collect::<TractResult<TVec<_>>>()?;
        broadcast_shape(&shapes)?;
        let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut wires = tvec!();
        for (&input, shape) in inputs.iter().zip(&shapes) {
            let mut wire = input;
            for _ in shape.len()..rank {
                wire = self.wire(AxisOp::Add(0), &[wire])?[0];
            }
            wires.push(wire);
        }
        Ok(self.wire(op, &wires)?[0])
    }
}
