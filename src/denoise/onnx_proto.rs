//! Minimal reader of an ONNX file's graph signature (inputs, outputs, element types,
//! shapes) straight from the protobuf wire format, so a model can be checked against
//! the contract before any engine is started, with either engine compiled in.
//!
//! Entry point: [`read_signature`].

use anyhow::{bail, Context, Result};

/// A graph input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSig {
    pub name: String,
    /// ONNX `TensorProto.DataType` (1 = float32, 7 = int64, …); 0 if unknown.
    pub elem_type: i32,
    /// `None` when the shape is not recorded; each dim is `Some(n)` if fixed.
    pub shape: Option<Vec<Option<i64>>>,
}

impl TensorSig {
    pub fn type_name(&self) -> &'static str {
        elem_type_name(self.elem_type)
    }
}

pub fn elem_type_name(t: i32) -> &'static str {
    match t {
        1 => "float32",
        2 => "uint8",
        3 => "int8",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "float64",
        16 => "bfloat16",
        _ => "unknown",
    }
}

pub const FLOAT32: i32 = 1;
pub const INT64: i32 = 7;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signature {
    pub ir_version: i64,
    /// Graph inputs that are not initializers.
    pub inputs: Vec<TensorSig>,
    pub outputs: Vec<TensorSig>,
}

impl Signature {
    pub fn input(&self, name: &str) -> Option<&TensorSig> {
        self.inputs.iter().find(|t| t.name == name)
    }
    pub fn output(&self, name: &str) -> Option<&TensorSig> {
        self.outputs.iter().find(|t| t.name == name)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.buf.get(self.pos) else {
                bail!("truncated varint")
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("varint too long")
    }

    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            bail!("field number 0");
        }
        let f = match wire {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.skip(8)?;
                Field::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?).context("length overflow")?;
                let start = self.pos;
                self.skip(len)?;
                Field::Bytes(&self.buf[start..start + len])
            }
            5 => {
                self.skip(4)?;
                Field::Fixed
            }
            w => bail!("unsupported wire type {w}"),
        };
        Ok(Some((field, f)))
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        if self.buf.len() - self.pos < n {
            bail!("truncated field");
        }
        self.pos += n;
        Ok(())
    }
}

fn string(b: &[u8]) -> Result<String> {
    Ok(std::str::from_utf8(b)
        .context("name is not UTF-8")?
        .to_string())
}

fn value_info(b: &[u8]) -> Result<TensorSig> {
    let mut sig = TensorSig {
        name: String::new(),
        elem_type: 0,
        shape: None,
    };
    let mut r = Reader::new(b);
    while let Some((f, v)) = r.next()? {
        match (f, v) {
            (1, Field::Bytes(n)) => sig.name = string(n)?,
            (2, Field::Bytes(t)) => {
                // TypeProto: tensor_type = 1
                let mut tr = Reader::new(t);
                while let Some((f, v)) = tr.next()? {
                    if let (1, Field::Bytes(tt)) = (f, v) {
                        let mut r3 = Reader::new(tt);
                        while let Some((f, v)) = r3.next()? {
                            match (f, v) {
                                (1, Field::Varint(e)) => sig.elem_type = e as i32,
                                (2, Field::Bytes(shape)) => sig.shape = Some(dims(shape)?),
                                _ => {}
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(sig)
}

fn dims(b: &[u8]) -> Result<Vec<Option<i64>>> {
    let mut out = Vec::new();
    let mut r = Reader::new(b);
    while let Some((f, v)) = r.next()? {
        if let (1, Field::Bytes(d)) = (f, v) {
            let mut value = None;
            let mut dr = Reader::new(d);
            while let Some((f, v)) = dr.next()? {
                if let (1, Field::Varint(n)) = (f, v) {
                    value = Some(n as i64);
                }
            }
            out.push(value);
        }
    }
    Ok(out)
}

fn initializer_name(b: &[u8]) -> Result<Option<String>> {
    let mut r = Reader::new(b);
    while let Some((f, v)) = r.next()? {
        if let (8, Field::Bytes(n)) = (f, v) {
            return Ok(Some(string(n)?));
        }
    }
    Ok(None)
}

/// Reads the graph signature of an ONNX model file's bytes.
pub fn read_signature(bytes: &[u8]) -> Result<Signature> {
    if bytes.is_empty() {
        bail!("the ONNX file is empty");
    }
    let mut sig = Signature::default();
    let mut graph = None;
    let mut r = Reader::new(bytes);
    while let Some((f, v)) = r.next().context("not a valid ONNX protobuf")? {
        match (f, v) {
            (1, Field::Varint(ir)) => sig.ir_version = ir as i64,
            (7, Field::Bytes(g)) => graph = Some(g),
            _ => {}
        }
    }
    let graph = graph.context("not a valid ONNX model: no graph")?;
    let mut inputs = Vec::new();
    let mut inits = std::collections::HashSet::new();
    let mut gr = Reader::new(graph);
    while let Some((f, v)) = gr.next().context("not a valid ONNX graph")? {
        match (f, v) {
            (5, Field::Bytes(t)) => {
                if let Some(n) = initializer_name(t)? {
                    inits.insert(n);
                }
            }
            (11, Field::Bytes(vi)) => inputs.push(value_info(vi)?),
            (12, Field::Bytes(vi)) => sig.outputs.push(value_info(vi)?),
            _ => {}
        }
    }
    sig.inputs = inputs
        .into_iter()
        .filter(|i| !inits.contains(&i.name))
        .collect();
    if sig.ir_version == 0 || sig.outputs.is_empty() {
        bail!("not a valid ONNX model (no IR version or no graph outputs)");
    }
    Ok(sig)
}
