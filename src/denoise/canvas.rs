//! The canvas: every hole occurrence of every file becomes a slot in a row (a window
//! of its file plus cross-file context), laid out exactly as docs/canvas.md says.
//! Entry point: [`Canvas::build`].

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Context, Result};

use super::context::{ident_regex, ContextIndex};
use super::model::{Model, CTX, SEP, SLOT0};
use super::FileHoles;

/// Most tokens of one context snippet.
pub const SNIPPET_TOKENS: usize = 48;

/// Where a slot's tokens sit: row and first position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub row: usize,
    pub start: usize,
}

/// One hole occurrence.
#[derive(Debug, Clone)]
pub struct Slot {
    pub file: usize,
    /// Index into `files[file].holes`.
    pub hole: usize,
    pub len: usize,
    /// The row whose predictions decide this slot.
    pub owner: Occurrence,
    /// Copies of the slot in later rows of the same file whose windows also cover it;
    /// they are kept in sync with the owner but do not vote.
    pub mirrors: Vec<Occurrence>,
    /// Index into [`Canvas::groups`].
    pub group: usize,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub file: usize,
    /// `[seq_len]` token ids.
    pub ids: Vec<i64>,
    /// `[seq_len]`: 1 on content, 0 on padding.
    pub mask: Vec<i64>,
    /// Position of `<|sep|>`: the window is `0..sep`.
    pub sep: usize,
    /// Number of context snippets written after `<|sep|>`.
    pub snippets: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Canvas {
    pub seq_len: usize,
    pub rows: Vec<Row>,
    pub slots: Vec<Slot>,
    /// Slots decoded jointly (a tie) — one entry per slot when untied.
    pub groups: Vec<Vec<usize>>,
    /// `slot_of[file][hole]` is the slot index.
    pub slot_of: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Copy)]
enum Item {
    /// An ordinary token id.
    Tok(u32),
    /// Position `i` of the slot of hole `h`.
    SlotTok(usize, usize),
}

struct RowBuild {
    tokens: Vec<i64>,
    /// (hole, start) of every slot written in the window, the main hole included.
    slots: Vec<(usize, usize)>,
    /// The pre-cropped byte range (context identifiers come from it).
    region: (usize, usize),
    offset: usize,
}

impl Canvas {
    /// Lays out all holes of all files. Slots are numbered file by file in hole order.
    pub fn build(files: &[FileHoles], ctx: &ContextIndex, model: &Model) -> Result<Canvas> {
        let w = model.window_budget();
        let mut canvas = Canvas {
            seq_len: model.seq_len(),
            ..Default::default()
        };
        let mut snippet_cache: HashMap<String, Vec<u32>> = HashMap::new();
        let mut tie_groups: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (fi, file) in files.iter().enumerate() {
            check_holes(file, w)?;
            let per_hole = canvas.add_windows(fi, file, ctx, model, &mut snippet_cache)?;
            // Slots were created in window order; the group numbering follows hole order.
            for (h, &s) in per_hole.iter().enumerate() {
                let hole = &file.holes[h];
                let g = match &hole.tie_key {
                    Some(key) => *tie_groups
                        .entry((hole.name.clone(), key.clone()))
                        .or_insert_with(|| {
                            canvas.groups.push(Vec::new());
                            canvas.groups.len() - 1
                        }),
                    None => {
                        canvas.groups.push(Vec::new());
                        canvas.groups.len() - 1
                    }
                };
                canvas.groups[g].push(s);
                canvas.slots[s].group = g;
            }
            canvas.slot_of.push(per_hole);
        }
        Ok(canvas)
    }

    /// The rows (windows) of one file: each window is built around the
    /// first hole not yet in a slot; a hole a window covers gets its slot
    /// there (its owner) or, when it already has one, a mirror. Returns the
    /// slot of every hole of the file, in hole order.
    fn add_windows(
        &mut self,
        fi: usize,
        file: &FileHoles,
        ctx: &ContextIndex,
        model: &Model,
        snippet_cache: &mut HashMap<String, Vec<u32>>,
    ) -> Result<Vec<usize>> {
        let w = model.window_budget();
        let mut order: Vec<usize> = (0..file.holes.len()).collect();
        order.sort_by_key(|&h| (file.holes[h].offset, h));
        let mut assigned: Vec<Option<usize>> = vec![None; file.holes.len()];
        for (rank, &h) in order.iter().enumerate() {
            if assigned[h].is_some() {
                continue;
            }
            let rb = build_window(file, &order, rank, w, model)?;
            let row_idx = self.rows.len();
            for &(oh, start) in &rb.slots {
                let occ = Occurrence {
                    row: row_idx,
                    start,
                };
                match assigned[oh] {
                    Some(s) => self.slots[s].mirrors.push(occ),
                    None => {
                        assigned[oh] = Some(self.slots.len());
                        self.slots.push(Slot {
                            file: fi,
                            hole: oh,
                            len: file.holes[oh].max_tokens,
                            owner: occ,
                            mirrors: Vec::new(),
                            group: usize::MAX,
                        });
                    }
                }
            }
            let row = finish_row(rb, file, ctx, model, snippet_cache, fi)?;
            self.rows.push(row);
        }
        assigned
            .iter()
            .enumerate()
            .map(|(h, a)| {
                a.with_context(|| format!("hole {h} of {} got no slot", file.path.display()))
            })
            .collect()
    }
}

/// Every hole sits on a character boundary of its file and fits the
/// model's window (`w` tokens) with room around it.
fn check_holes(file: &FileHoles, w: usize) -> Result<()> {
    for h in &file.holes {
        if h.offset > file.text.len() || !file.text.is_char_boundary(h.offset) {
            bail!(
                "hole `{}` in {}: offset {} is not a character boundary of the text",
                h.name,
                file.path.display(),
                h.offset
            );
        }
        if h.max_tokens == 0 || h.max_tokens > super::MAX_SLOT_TOKENS || h.max_tokens + 8 > w {
            bail!(
                "hole `{}` in {}: max_tokens {} must be between 1 and {} for this model",
                h.name,
                file.path.display(),
                h.max_tokens,
                super::MAX_SLOT_TOKENS.min(w.saturating_sub(8))
            );
        }
    }
    Ok(())
}

fn encode(model: &Model, text: &str, out: &mut Vec<Item>) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let enc = model
        .tokenizer
        .encode(text, false)
        .map_err(|e| anyhow::anyhow!("tokenizer failed: {e}"))?;
    out.extend(enc.get_ids().iter().map(|&id| Item::Tok(id)));
    Ok(())
}

/// The byte range kept by the cheap pre-crop (docs/canvas.md; same as the trainer's
/// `RowBuilder.build`): at most `limit` bytes each side, cut to whole lines. A side
/// that must be cut but has no line break within the limit is empty; the suffix stops
/// before its last kept line break.
pub fn precrop(text: &str, offset: usize, limit: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let start = if offset <= limit {
        0
    } else {
        let lo = offset - limit;
        match b[lo..offset].iter().position(|&c| c == b'\n') {
            Some(i) => lo + i + 1,
            None => offset,
        }
    };
    let end = if text.len() - offset <= limit {
        text.len()
    } else {
        let hi = offset + limit;
        match b[offset..hi].iter().rposition(|&c| c == b'\n') {
            Some(i) => offset + i,
            None => offset,
        }
    };
    (start, end)
}

/// Token budgets (prefix, suffix) for a window of `w` tokens around a slot of `n`.
pub fn split_budget(w: usize, n: usize, prefix_len: usize, suffix_len: usize) -> (usize, usize) {
    let budget = w - n;
    let p0 = budget * 3 / 4;
    let s0 = budget - p0;
    let mut p = prefix_len.min(p0);
    let mut s = suffix_len.min(s0);
    if prefix_len < p0 {
        s = suffix_len.min(budget - p);
    }
    if suffix_len < s0 {
        p = prefix_len.min(budget - s);
    }
    (p, s)
}

fn build_window(
    file: &FileHoles,
    order: &[usize],
    rank: usize,
    w: usize,
    model: &Model,
) -> Result<RowBuild> {
    let main = order[rank];
    let hole = &file.holes[main];
    let n = hole.max_tokens;
    let o = hole.offset;
    let text = &file.text;
    let (ps, se) = precrop(text, o, 8 * (w - n));

    // Prefix: text and other holes in [ps, o) (holes at `o` ordered before the main one).
    let mut prefix = Vec::new();
    let mut cur = ps;
    for &h in &order[..rank] {
        let off = file.holes[h].offset;
        if off < ps {
            continue;
        }
        encode(model, &text[cur..off], &mut prefix)?;
        prefix.extend((0..file.holes[h].max_tokens).map(|i| Item::SlotTok(h, i)));
        cur = off;
    }
    encode(model, &text[cur..o], &mut prefix)?;
    let mut suffix = Vec::new();
    let mut cur = o;
    for &h in &order[rank + 1..] {
        let off = file.holes[h].offset;
        if off > se {
            break;
        }
        encode(model, &text[cur..off], &mut suffix)?;
        suffix.extend((0..file.holes[h].max_tokens).map(|i| Item::SlotTok(h, i)));
        cur = off;
    }
    encode(model, &text[cur..se], &mut suffix)?;

    let (p, s) = split_budget(w, n, prefix.len(), suffix.len());
    // Keep the last p prefix tokens, never half a slot.
    let mut from = prefix.len() - p;
    while from < prefix.len() {
        match prefix[from] {
            Item::SlotTok(_, i) if i > 0 => from += 1,
            _ => break,
        }
    }
    // Keep the first s suffix tokens, never half a slot.
    let mut to = s;
    while to > 0 && to < suffix.len() {
        match suffix[to] {
            Item::SlotTok(_, i) if i > 0 => to -= 1,
            _ => break,
        }
    }

    let mut rb = RowBuild {
        tokens: Vec::with_capacity(w + 1),
        slots: Vec::new(),
        region: (ps, se),
        offset: o,
    };
    let push = |item: &Item, rb: &mut RowBuild| match *item {
        Item::Tok(id) => rb.tokens.push(i64::from(id)),
        Item::SlotTok(h, i) => {
            if i == 0 {
                rb.slots.push((h, rb.tokens.len()));
            }
            rb.tokens.push(i64::from(SLOT0) + i as i64);
        }
    };
    for it in &prefix[from..] {
        push(it, &mut rb);
    }
    rb.slots.push((main, rb.tokens.len()));
    rb.tokens
        .extend((0..n).map(|i| i64::from(SLOT0) + i as i64));
    for it in &suffix[..to] {
        push(it, &mut rb);
    }
    rb.slots.sort_by_key(|&(_, start)| start);
    // Slots listed by position; the main hole is decided here, others if unassigned.
    Ok(rb)
}

/// Identifiers of the pre-cropped region around a hole, nearest to it first, each
/// once: prefix identifiers by distance from their end to the hole, suffix ones from
/// their start; equal distances keep text order, prefix first (as the trainer does).
pub fn identifiers_by_distance(text: &str, region: (usize, usize), offset: usize) -> Vec<&str> {
    let mut cand: Vec<(usize, &str)> = Vec::new();
    for m in ident_regex().find_iter(&text[region.0..offset]) {
        cand.push((offset - (region.0 + m.end()), m.as_str()));
    }
    for m in ident_regex().find_iter(&text[offset..region.1]) {
        cand.push((m.start(), m.as_str()));
    }
    cand.sort_by_key(|c| c.0); // stable
    let mut seen = std::collections::HashSet::new();
    cand.into_iter()
        .filter(|c| seen.insert(c.1))
        .map(|c| c.1)
        .collect()
}

fn finish_row(
    rb: RowBuild,
    file: &FileHoles,
    ctx: &ContextIndex,
    model: &Model,
    cache: &mut HashMap<String, Vec<u32>>,
    fi: usize,
) -> Result<Row> {
    let seq_len = model.seq_len();
    let mut ids = rb.tokens;
    let sep = ids.len();
    ids.push(i64::from(SEP));
    let mut snippets = 0;
    if !ctx.is_empty() {
        for name in identifiers_by_distance(&file.text, rb.region, rb.offset) {
            let room = seq_len - ids.len();
            if room < 4 {
                break;
            }
            let Some(sn) = ctx.snippet(name, &file.path) else {
                continue;
            };
            if !cache.contains_key(&sn.text) {
                let enc = model
                    .tokenizer
                    .encode(sn.text.as_str(), false)
                    .map_err(|e| anyhow::anyhow!("tokenizer failed: {e}"))?;
                cache.insert(sn.text.clone(), enc.get_ids().to_vec());
            }
            let toks = &cache[&sn.text];
            let take = toks.len().min(SNIPPET_TOKENS).min(room - 1);
            ids.push(i64::from(CTX));
            ids.extend(toks[..take].iter().map(|&t| i64::from(t)));
            snippets += 1;
        }
    }
    let len = ids.len();
    debug_assert!(len <= seq_len);
    ids.resize(seq_len, 0);
    let mask = (0..seq_len).map(|i| i64::from(i < len)).collect();
    Ok(Row {
        file: fi,
        ids,
        mask,
        sep,
        snippets,
    })
}
