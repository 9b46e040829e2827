//! Denoiser runtime: canvas layout, threshold decoding, ties, model errors.
//! Uses the hand-built models of `scripts/gen_test_models.py` (fixtures/models/).

use std::path::{Path, PathBuf};

use refactor::denoise::canvas::{precrop, split_budget, Canvas};
use refactor::denoise::engine::{self, EngineChoice};
use refactor::denoise::model::{Model, CTX, EOH, SEP, SLOT0};
use refactor::denoise::{
    ContextIndex, DecodeMode, DecodeOptions, Denoiser, Device, FileHoles, HoleSite, ModelSource,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models")
        .join(name)
}

fn load(name: &str) -> Model {
    Model::load(&ModelSource::Path(fixture(name))).expect("fixture model loads")
}

fn denoiser(name: &str) -> Denoiser {
    let model = load(name);
    let engine =
        engine::create_with(&model, Device::Cpu, EngineChoice::Tract).expect("tract engine");
    Denoiser::from_parts(model, engine)
}

/// Token id of a one-token string in the lookup model's table.
fn tok(model: &Model, s: &str) -> u32 {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("lookup/model.json")).unwrap()).unwrap();
    let id = json["lookup"]["tokens"][s].as_u64().unwrap() as u32;
    assert_eq!(model.tokenizer.token_to_id(s), Some(id));
    id
}

fn enc(model: &Model, s: &str) -> Vec<i64> {
    model
        .tokenizer
        .encode(s, false)
        .unwrap()
        .get_ids()
        .iter()
        .map(|&i| i64::from(i))
        .collect()
}

fn hole(name: &str, offset: usize, n: usize) -> HoleSite {
    HoleSite {
        name: name.into(),
        offset,
        max_tokens: n,
        tie_key: None,
    }
}

/// A file whose text has holes where `$?` markers were (markers removed).
fn file(path: &str, marked: &str, n: usize) -> FileHoles {
    let mut text = String::new();
    let mut holes = Vec::new();
    let mut rest = marked;
    while let Some(i) = rest.find("$?") {
        text.push_str(&rest[..i]);
        holes.push(hole(&format!("H{}", holes.len()), text.len(), n));
        rest = &rest[i + 2..];
    }
    text.push_str(rest);
    FileHoles {
        path: path.into(),
        text,
        holes,
    }
}

fn slot_tokens(n: usize) -> Vec<i64> {
    (0..n as i64).map(|i| i64::from(SLOT0) + i).collect()
}

#[test]
fn slot_layout_single_hole() {
    let model = load("lookup");
    let f = file(
        "a.py",
        "def parse(path: str) -> $?:\n    return len(path)\n",
        4,
    );
    let canvas = Canvas::build(std::slice::from_ref(&f), &ContextIndex::default(), &model).unwrap();
    assert_eq!(canvas.rows.len(), 1);
    assert_eq!(canvas.slots.len(), 1);
    let row = &canvas.rows[0];
    let mut want = enc(&model, "def parse(path: str) -> ");
    let start = want.len();
    want.extend(slot_tokens(4));
    // the suffix stops before its last line break only when it had to be cut; here
    // the whole file fits
    want.extend(enc(&model, ":\n    return len(path)\n"));
    want.push(i64::from(SEP));
    let len = want.len();
    want.resize(64, 0);
    assert_eq!(row.ids, want);
    assert_eq!(
        row.mask,
        (0..64).map(|i| i64::from(i < len)).collect::<Vec<_>>()
    );
    assert_eq!(row.sep, len - 1);
    assert_eq!(canvas.slots[0].owner.start, start);
    assert_eq!(canvas.slots[0].owner.row, 0);
}

#[test]
fn window_budget_split_and_cropping() {
    // seq 64 -> W = 40; slot 4 -> budget 36: prefix 27, suffix 9.
    assert_eq!(split_budget(40, 4, 100, 100), (27, 9));
    // short prefix gives its leftover to the suffix, and the reverse
    assert_eq!(split_budget(40, 4, 5, 100), (5, 31));
    assert_eq!(split_budget(40, 4, 100, 2), (34, 2));
    assert_eq!(split_budget(40, 4, 3, 2), (3, 2));

    let model = load("lookup");
    let mut marked = String::new();
    for i in 0..40 {
        marked.push_str(&format!("value_{i} = compute(value_{})\n", i + 1));
    }
    marked.push_str("result: $? = 1\n");
    for i in 0..40 {
        marked.push_str(&format!("other_{i} = value_{i}\n"));
    }
    let f = file("big.py", &marked, 4);
    let o = f.holes[0].offset;
    let (ps, se) = precrop(&f.text, o, 8 * 36);
    assert!(
        ps > 0 && f.text.as_bytes()[ps - 1] == b'\n',
        "prefix starts at a line start"
    );
    assert!(
        se < f.text.len() && f.text.as_bytes()[se] == b'\n',
        "suffix stops before a line break"
    );
    assert!(o - ps <= 288 && se - o <= 288);
    let canvas = Canvas::build(std::slice::from_ref(&f), &ContextIndex::default(), &model).unwrap();
    let row = &canvas.rows[0];
    let pre = enc(&model, &f.text[ps..o]);
    let suf = enc(&model, &f.text[o..se]);
    assert!(pre.len() > 27 && suf.len() > 9);
    let mut want = pre[pre.len() - 27..].to_vec();
    want.extend(slot_tokens(4));
    want.extend_from_slice(&suf[..9]);
    want.push(i64::from(SEP));
    assert_eq!(&row.ids[..want.len()], &want[..]);
    assert_eq!(canvas.slots[0].owner.start, 27);
    assert!(row.ids[want.len()..].iter().all(|&t| t == 0));

    // No line break within the limit: that side is empty.
    let long = format!("x = {}$?{}", "a".repeat(400), "b".repeat(400));
    let f = file("long.py", &long, 4);
    assert_eq!(
        precrop(&f.text, f.holes[0].offset, 288),
        (f.holes[0].offset, f.holes[0].offset)
    );
}

#[test]
fn nearby_holes_share_a_row_far_ones_get_their_own() {
    let model = load("lookup");
    let mut marked = String::from("a: $? = 1\nb: $? = 2\n");
    for i in 0..30 {
        marked.push_str(&format!("filler_{i} = {i}\n"));
    }
    marked.push_str("z: $? = 3\n");
    let f = file("m.py", &marked, 3);
    let canvas = Canvas::build(std::slice::from_ref(&f), &ContextIndex::default(), &model).unwrap();
    assert_eq!(canvas.slots.len(), 3);
    let s0 = &canvas.slots[canvas.slot_of[0][0]];
    let s1 = &canvas.slots[canvas.slot_of[0][1]];
    let s2 = &canvas.slots[canvas.slot_of[0][2]];
    assert_eq!(s0.owner.row, 0);
    assert_eq!(
        s1.owner.row, 0,
        "the second hole fits in the first hole's row"
    );
    assert_eq!(s2.owner.row, 1, "the far hole gets a row of its own");
    assert_eq!(canvas.rows.len(), 2);
    let row = &canvas.rows[0];
    assert_eq!(
        &row.ids[s0.owner.start..s0.owner.start + 3],
        &slot_tokens(3)[..]
    );
    assert_eq!(
        &row.ids[s1.owner.start..s1.owner.start + 3],
        &slot_tokens(3)[..]
    );
    let between = enc(&model, " = 1\nb: ");
    assert_eq!(&row.ids[s0.owner.start + 3..s1.owner.start], &between[..]);
}

#[test]
fn context_snippets_from_other_files() {
    let model = load("lookup");
    let lib = "import os\n\ndef helper(a: int) -> str:\n    return b\n\nclass Own:\n    pass\n\n\
               def wide(a,\n    b,\n    c,\n    d,\n    e):\n    pass\n";
    let user = file(
        "pkg/user.py",
        "class Own:\n    pass\nx: $? = helper(1, 'a')\n",
        4,
    );
    let index = ContextIndex::build(vec![
        (PathBuf::from("pkg/lib.py"), lib.to_string()),
        (PathBuf::from("pkg/user.py"), user.text.clone()),
    ]);
    assert_eq!(
        index
            .snippet("helper", Path::new("pkg/user.py"))
            .unwrap()
            .text,
        "def helper(a: int) -> str:"
    );
    // at most 4 lines of header
    assert_eq!(
        index.snippet("wide", Path::new("x.py")).unwrap().text,
        "def wide(a,\n    b,\n    c,\n    d,"
    );
    // brace languages end at the line holding `{` or ending in `;`
    let rs = ContextIndex::build(vec![(
        PathBuf::from("l.rs"),
        "pub(crate) fn go(\n    x: u8,\n) -> u8 {\n    x\n}\n".to_string(),
    )]);
    assert_eq!(
        rs.snippet("go", Path::new("m.rs")).unwrap().text,
        "pub(crate) fn go(\n    x: u8,\n) -> u8 {"
    );
    // `Own` is defined in lib.py too, but lib.py comes first in path order: it is used
    // for user.py's rows; for lib.py's own rows it is excluded and user.py's is next.
    assert_eq!(
        index.snippet("Own", Path::new("pkg/user.py")).unwrap().path,
        PathBuf::from("pkg/lib.py")
    );
    assert_eq!(
        index.snippet("Own", Path::new("pkg/lib.py")).unwrap().path,
        PathBuf::from("pkg/user.py")
    );
    assert!(index.snippet("os", Path::new("pkg/user.py")).is_none());

    let canvas = Canvas::build(std::slice::from_ref(&user), &index, &model).unwrap();
    let row = &canvas.rows[0];
    let after: Vec<i64> = row.ids[row.sep + 1..]
        .iter()
        .copied()
        .take_while(|&t| t != 0)
        .collect();
    // identifiers by distance: `helper` (suffix, distance 3) before `Own` (prefix, farther)
    let helper = enc(&model, "def helper(a: int) -> str:");
    let own = enc(&model, "class Own:");
    let mut want = vec![i64::from(CTX)];
    want.extend_from_slice(&helper[..helper.len().min(48)]);
    want.push(i64::from(CTX));
    want.extend_from_slice(&own);
    assert!(row.sep + 1 + want.len() <= 64);
    assert_eq!(after, want);
    assert_eq!(row.snippets, 2);
}

fn one_hole(prefix: &str, n: usize) -> FileHoles {
    file("t.py", &format!("{prefix}$? = 1\n"), n)
}

fn opts(mode: DecodeMode, threshold: f32) -> DecodeOptions {
    DecodeOptions {
        mode,
        threshold,
        ..Default::default()
    }
}

#[test]
fn threshold_decoding_step_by_step() {
    // Lookup table (scripts/gen_test_models.py): m0 A .95 | m1 B .50, eoh .30 |
    // m2 eoh .97 | m3 D .92 | m4.. eoh .99 — independent of context here.
    let d = denoiser("lookup");
    let f = one_hole("x: ", 6);
    let (fills, stats) = d
        .fill(
            &[f],
            &ContextIndex::default(),
            &opts(DecodeMode::Parallel, 0.9),
        )
        .unwrap();
    let fill = &fills[0][0];
    assert_eq!(fill.text, "AB");
    assert_eq!(fill.tokens, 2);
    // step 1: m0 (A .95) and m3 (D .92); step 2: m1 forced (most confident, B .5);
    // step 3: eoh at m2 (allowed only now), which fills m3..m5 (overwriting D).
    assert_eq!(fill.steps, vec![1, 2, 3, 3, 3, 3]);
    assert_eq!(stats.forward_passes, 3);
    assert_eq!(stats.steps, 3);
    assert_eq!(stats.tokens_committed, 4);
    assert_eq!((stats.rows, stats.slots), (1, 1));
    let want = 0.95f32 * 0.5 * 0.97;
    assert!(
        (fill.confidence - want).abs() < 1e-3,
        "{} vs {want}",
        fill.confidence
    );
    assert!((fill.mean_confidence - want.powf(1.0 / 3.0)).abs() < 1e-3);

    // A lower threshold commits B in the first step too: two passes.
    let f = one_hole("x: ", 6);
    let (fills, stats) = d
        .fill(
            &[f],
            &ContextIndex::default(),
            &opts(DecodeMode::Parallel, 0.45),
        )
        .unwrap();
    assert_eq!(fills[0][0].text, "AB");
    assert_eq!(fills[0][0].steps, vec![1, 1, 2, 2, 2, 2]);
    assert_eq!(stats.forward_passes, 2);
}

#[test]
fn eoh_waits_for_earlier_positions() {
    // m2 and m4.. predict <|eoh|> at .97/.99 from the first step, but it may only be
    // committed once every earlier position is: without the rule the first step
    // would end the fill after "A".
    let d = denoiser("lookup");
    let f = one_hole("y = ", 8);
    let (fills, _) = d
        .fill(
            &[f],
            &ContextIndex::default(),
            &opts(DecodeMode::Parallel, 0.9),
        )
        .unwrap();
    let fill = &fills[0][0];
    assert_eq!(fill.steps[0], 1);
    assert!(
        fill.steps[2] > fill.steps[1],
        "eoh at m2 after m1: {:?}",
        fill.steps
    );
    assert!(fill.steps[4..].iter().all(|&s| s == fill.steps[2]));
    assert_eq!(fill.text, "AB");
}

#[test]
fn sequential_and_parallel_agree_on_context_free_model() {
    let d = denoiser("lookup");
    let files = vec![one_hole("x: ", 6), one_hole("value = ", 3), one_hole("", 1)];
    let (par, ps) = d
        .fill(
            &files,
            &ContextIndex::default(),
            &opts(DecodeMode::Parallel, 0.9),
        )
        .unwrap();
    let (seq, ss) = d
        .fill(
            &files,
            &ContextIndex::default(),
            &opts(DecodeMode::Sequential, 0.9),
        )
        .unwrap();
    let texts = |v: &Vec<Vec<refactor::denoise::Fill>>| {
        v.iter().map(|f| f[0].text.clone()).collect::<Vec<_>>()
    };
    assert_eq!(texts(&par), vec!["AB", "AB", "A"]);
    assert_eq!(texts(&par), texts(&seq));
    for (p, s) in par.iter().zip(&seq) {
        assert!((p[0].confidence - s[0].confidence).abs() < 1e-5);
    }
    // sequential: one position per slot per step, left to right
    assert_eq!(seq[0][0].steps, vec![1, 2, 3, 3, 3, 3]);
    assert_eq!(ss.forward_passes, 3);
    assert_eq!(ps.forward_passes, 3);
    // all rows in one batch: 3 rows, still 3 passes; the 1-token slot finished first
    assert_eq!(ps.rows, 3);
}

#[test]
fn prefix_commits_a_confident_run_left_to_right() {
    // lookup rows: m0 A 0.95, m1 B 0.50, m2 eoh 0.97, m3 D 0.92. Prefix: step 1 commits m0
    // (leftmost) and stops at m1 (0.50 < τ); step 2 commits m1 and then m2's eoh (0.97,
    // allowed once m1 is in the run). Sequential needs a third step for the eoh.
    let d = denoiser("lookup");
    let files = vec![one_hole("x: ", 6), one_hole("", 1)];
    let run = |mode, tau| {
        d.fill(&files, &ContextIndex::default(), &opts(mode, tau))
            .unwrap()
    };
    let (pre, pstats) = run(DecodeMode::Prefix, 0.9);
    let (seq, sstats) = run(DecodeMode::Sequential, 0.9);
    assert_eq!(pre[0][0].text, "AB");
    assert_eq!(pre[0][0].steps, vec![1, 2, 2, 2, 2, 2]);
    assert_eq!(pstats.forward_passes, 2);
    assert_eq!(sstats.forward_passes, 3);
    // the same tokens from the same predictions: the same confidence as sequential
    assert_eq!(seq[0][0].text, "AB");
    assert!((pre[0][0].confidence - seq[0][0].confidence).abs() < 1e-6);
    // a 1-token slot: m0 is committed first, whatever its confidence
    assert_eq!(pre[1][0].text, "A");
    // τ above every confidence: one position per step, exactly sequential's schedule
    let (strict, _) = run(DecodeMode::Prefix, 0.999);
    assert_eq!(strict[0][0].steps, seq[0][0].steps);
}

#[test]
fn max_steps_commits_the_rest() {
    let d = denoiser("lookup");
    let o = DecodeOptions {
        max_steps: 1,
        ..Default::default()
    };
    let (fills, stats) = d
        .fill(&[one_hole("x: ", 6)], &ContextIndex::default(), &o)
        .unwrap();
    assert_eq!(stats.forward_passes, 1);
    // left to right from the first step's predictions: A, B, eoh
    assert_eq!(fills[0][0].text, "AB");
    assert_eq!(fills[0][0].steps, vec![1; 6]);
}

fn tie_files(model: &Model, tied: bool) -> Vec<FileHoles> {
    let p = tok(model, "P");
    let q = tok(model, "Q");
    let mut out = Vec::new();
    for (path, prefix, last) in [("one.py", "(P", p), ("two.py", "(Q", q)] {
        let mut f = one_hole(prefix, 4);
        f.path = path.into();
        f.holes[0].name = "T".into();
        if tied {
            f.holes[0].tie_key = Some("Config".into());
        }
        let pre = enc(model, &f.text[..f.holes[0].offset]);
        assert_eq!(
            *pre.last().unwrap(),
            i64::from(last),
            "prefix ends in the marker token"
        );
        out.push(f);
    }
    out
}

#[test]
fn tied_holes_across_files_share_one_fill() {
    let d = denoiser("lookup");
    let (a, c, dd) = (
        tok(d.model(), "A"),
        tok(d.model(), "C"),
        tok(d.model(), "D"),
    );
    assert!(a != c && c != dd);
    // Untied: after "P" m0 leans to C (.95), after "Q" to D (.73).
    let (fills, _) = d
        .fill(
            &tie_files(d.model(), false),
            &ContextIndex::default(),
            &DecodeOptions::default(),
        )
        .unwrap();
    assert_eq!(fills[0][0].text, "CB");
    assert_eq!(fills[1][0].text, "DB");
    // Tied: summed log-probs favour A at m0 (ln .044 + ln .253 beats both), committed
    // in both files with the renormalised joint confidence (~.997) in the first step,
    // under either left-to-right or parallel decoding.
    for mode in [DecodeMode::Prefix, DecodeMode::Parallel] {
        let (fills, stats) = d
            .fill(
                &tie_files(d.model(), true),
                &ContextIndex::default(),
                &opts(mode, 0.9),
            )
            .unwrap();
        assert_eq!(fills[0][0].text, "AB", "{mode:?}");
        assert_eq!(fills[0][0], fills[1][0], "{mode:?}");
        assert_eq!(fills[0][0].steps[0], 1, "{mode:?}");
        assert_eq!(stats.slots, 2);
        assert_eq!(stats.rows, 2);
        if mode == DecodeMode::Parallel {
            // one decision per position for the pair
            assert_eq!(stats.tokens_committed, 4);
        }
    }
}

#[test]
fn model_without_query_positions_gives_the_same_fills() {
    let a = denoiser("lookup");
    let b = denoiser("no_query");
    assert!(!b.model().has_query_positions);
    let files = vec![one_hole("x: ", 6), one_hole("(P", 4)];
    let (fa, sa) = a
        .fill(&files, &ContextIndex::default(), &DecodeOptions::default())
        .unwrap();
    let (fb, sb) = b
        .fill(&files, &ContextIndex::default(), &DecodeOptions::default())
        .unwrap();
    assert_eq!(fa, fb);
    assert_eq!(sa.forward_passes, sb.forward_passes);
}

#[test]
fn no_holes_no_forward_pass() {
    let d = denoiser("lookup");
    let f = FileHoles {
        path: "a.py".into(),
        text: "x = 1\n".into(),
        holes: vec![],
    };
    let (fills, stats) = d
        .fill(&[f], &ContextIndex::default(), &DecodeOptions::default())
        .unwrap();
    assert_eq!(fills, vec![Vec::<refactor::denoise::Fill>::new()]);
    assert_eq!(stats.forward_passes, 0);
}

#[test]
fn bad_holes_are_errors() {
    let d = denoiser("lookup");
    let mut f = one_hole("x: ", 4);
    f.holes[0].max_tokens = 33;
    assert!(d
        .fill(&[f], &ContextIndex::default(), &DecodeOptions::default())
        .is_err());
    let mut f = one_hole("é", 4);
    f.holes[0].offset = 1; // inside the two-byte é
    let err = d
        .fill(&[f], &ContextIndex::default(), &DecodeOptions::default())
        .unwrap_err();
    assert!(format!("{err:#}").contains("character boundary"), "{err:#}");
}

fn load_err(path: &Path) -> String {
    format!(
        "{:#}",
        Denoiser::load(&ModelSource::Path(path.to_path_buf()), Device::Cpu).unwrap_err()
    )
}

fn copy_model(name: &str, dir: &Path) {
    for f in ["model.onnx", "tokenizer.json", "model.json"] {
        std::fs::copy(fixture(name).join(f), dir.join(f)).unwrap();
    }
}

#[test]
fn missing_and_corrupt_models_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let e = load_err(&tmp.path().join("nope"));
    assert!(e.contains("does not exist"), "{e}");
    let e = load_err(tmp.path());
    assert!(e.contains("model.json"), "{e}");

    copy_model("lookup", tmp.path());
    std::fs::write(
        tmp.path().join("model.onnx"),
        b"this is not protobuf \xff\xff\xff",
    )
    .unwrap();
    let e = load_err(tmp.path());
    assert!(e.contains("corrupt"), "{e}");
    // truncated ONNX file
    let bytes = std::fs::read(fixture("lookup/model.onnx")).unwrap();
    std::fs::write(tmp.path().join("model.onnx"), &bytes[..bytes.len() / 2]).unwrap();
    let e = load_err(tmp.path());
    assert!(e.contains("corrupt"), "{e}");

    copy_model("lookup", tmp.path());
    std::fs::write(tmp.path().join("tokenizer.json"), b"{\"version\": 1").unwrap();
    let e = load_err(tmp.path());
    assert!(e.contains("tokenizer"), "{e}");

    copy_model("lookup", tmp.path());
    std::fs::write(tmp.path().join("model.json"), b"{\"canvas_format\": 1}").unwrap();
    let e = load_err(tmp.path());
    assert!(e.contains("model.json"), "{e}");

    copy_model("lookup", tmp.path());
    let json = std::fs::read_to_string(fixture("lookup/model.json")).unwrap();
    std::fs::write(
        tmp.path().join("model.json"),
        json.replace("\"vocab_size\": 400", "\"vocab_size\": 300"),
    )
    .unwrap();
    let e = load_err(tmp.path());
    assert!(
        e.contains("400 tokens") && e.contains("vocab_size 300"),
        "{e}"
    );
    std::fs::write(
        tmp.path().join("model.json"),
        json.replace("\"canvas_format\": 1", "\"canvas_format\": 2"),
    )
    .unwrap();
    let e = load_err(tmp.path());
    assert!(e.contains("canvas_format 2"), "{e}");

    std::fs::remove_file(tmp.path().join("model.onnx")).unwrap();
    std::fs::write(tmp.path().join("model.json"), &json).unwrap();
    let e = load_err(tmp.path());
    assert!(e.contains("model.onnx"), "{e}");
}

#[test]
fn contract_breaking_model_is_rejected() {
    let e = load_err(&fixture("bad_inputs"));
    assert!(e.contains("input_ids") || e.contains("tokens"), "{e}");
    assert!(e.contains("contract") || e.contains("no input"), "{e}");
}

#[test]
fn tokenizer_with_wrong_special_ids_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model("lookup", tmp.path());
    let t = std::fs::read_to_string(fixture("lookup/tokenizer.json")).unwrap();
    // swap the names of ids 1 and 2 everywhere
    let t = t
        .replace("<|mask|>", "@@")
        .replace("<|eoh|>", "<|mask|>")
        .replace("@@", "<|eoh|>");
    std::fs::write(tmp.path().join("tokenizer.json"), t).unwrap();
    let e = load_err(tmp.path());
    assert!(e.contains("<|mask|>") || e.contains("<|eoh|>"), "{e}");
}

#[test]
fn default_model_is_embedded_or_clearly_absent() {
    let r = Denoiser::load(&ModelSource::Default, Device::Cpu);
    if refactor::denoise::model::has_default_model() {
        assert!(r.is_ok(), "{:#}", r.unwrap_err());
    } else {
        let e = format!("{:#}", r.unwrap_err());
        assert!(
            e.contains("no default model") && e.contains("--model"),
            "{e}"
        );
    }
}

#[test]
fn eoh_id_is_the_canvas_one() {
    let m = load("lookup");
    assert_eq!(m.tokenizer.token_to_id("<|eoh|>"), Some(EOH));
}

#[test]
fn a_hole_in_two_windows_is_owned_by_the_first_and_mirrored() {
    let model = load("lookup");
    // h0 at the top (short prefix: its suffix gets the leftover budget and covers h1);
    // h2 further down: its prefix window covers h1 again.
    let mut marked = String::from("a = $?\n");
    for i in 0..4 {
        marked.push_str(&format!("b{i} = {i}\n"));
    }
    marked.push_str("c = $?\n");
    for i in 0..2 {
        marked.push_str(&format!("d{i} = {i}\n"));
    }
    marked.push_str("e = $?\n");
    for i in 0..30 {
        marked.push_str(&format!("f{i} = {i}\n"));
    }
    let f = file("mirror.py", &marked, 3);
    let canvas = Canvas::build(std::slice::from_ref(&f), &ContextIndex::default(), &model).unwrap();
    let [s0, s1, s2] = [0, 1, 2].map(|h| &canvas.slots[canvas.slot_of[0][h]]);
    assert_eq!((s0.owner.row, s1.owner.row), (0, 0));
    assert_eq!(s2.owner.row, 1, "{canvas:#?}");
    assert!(s0.mirrors.is_empty() && s2.mirrors.is_empty());
    assert_eq!(s1.mirrors.len(), 1, "h1 also lies in h2's window");
    let m = s1.mirrors[0];
    assert_eq!(m.row, 1);
    assert_eq!(
        &canvas.rows[1].ids[m.start..m.start + 3],
        &slot_tokens(3)[..]
    );
    assert!(m.start < s2.owner.start);
    // Decoding keeps them in sync and decides h1 once.
    let d = denoiser("lookup");
    let (fills, stats) = d
        .fill(
            &[f],
            &ContextIndex::default(),
            &opts(DecodeMode::Parallel, 0.9),
        )
        .unwrap();
    assert!(fills[0].iter().all(|x| x.text == "AB"), "{fills:?}");
    assert_eq!(stats.slots, 3);
    assert_eq!(stats.rows, 2);
}

#[test]
fn definition_patterns_follow_the_language() {
    let py = "def real(x):\n    \"\"\"\n    function fake(y) is not Python\n    \"\"\"\n";
    let ts = "export default async function go(a: number): string {\n  return ''\n}\ninterface Shape {\n";
    let index = ContextIndex::build(vec![
        (PathBuf::from("a.py"), py.to_string()),
        (PathBuf::from("b.ts"), ts.to_string()),
    ]);
    let other = Path::new("z.py");
    assert_eq!(index.snippet("real", other).unwrap().text, "def real(x):");
    assert!(
        index.snippet("fake", other).is_none(),
        "`function` is not a Python definition"
    );
    assert_eq!(
        index.snippet("go", other).unwrap().text,
        "export default async function go(a: number): string {"
    );
    assert_eq!(
        index.snippet("Shape", other).unwrap().text,
        "interface Shape {"
    );
}

#[test]
fn max_batch_splits_a_step_into_chunks() {
    let d = denoiser("lookup");
    let files: Vec<FileHoles> = (0..5).map(|_| one_hole("x: ", 6)).collect();
    let o = DecodeOptions {
        max_batch: 2,
        mode: DecodeMode::Parallel,
        ..Default::default()
    };
    let (fills, stats) = d.fill(&files, &ContextIndex::default(), &o).unwrap();
    // 5 rows in chunks of 2 -> 3 engine calls per step, 3 parallel steps
    assert_eq!(stats.steps, 3);
    assert_eq!(stats.forward_passes, 9);
    assert!(fills.iter().all(|f| f[0].text == "AB"));
}

/// A tokenizer with fewer tokens than the model's output rows would let the
/// decoder pick ids that have no text: refused, naming the tokenizer file.
#[test]
fn tokenizer_smaller_than_the_model_vocabulary_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model("lookup", tmp.path());
    let mut vocab = serde_json::Map::new();
    let specials = ["<|pad|>", "<|mask|>", "<|eoh|>", "<|sep|>", "<|ctx|>"]
        .iter()
        .map(|s| s.to_string())
        .chain((0..refactor::denoise::MAX_SLOT_TOKENS).map(|i| format!("<|m{i}|>")))
        .chain(["a", "b", "c"].iter().map(|s| s.to_string()));
    for (id, t) in specials.enumerate() {
        vocab.insert(t, serde_json::json!(id));
    }
    let n = vocab.len();
    let tok = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<|pad|>"}
    });
    std::fs::write(tmp.path().join("tokenizer.json"), tok.to_string()).unwrap();
    let e = load_err(tmp.path());
    assert!(
        e.contains("tokenizer.json:")
            && e.contains(&format!("has {n} tokens"))
            && e.contains("400"),
        "{e}"
    );
}

/// Errors in model.json name the file and the line of the offending key.
#[test]
fn model_json_errors_carry_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model("lookup", tmp.path());
    let json = std::fs::read_to_string(fixture("lookup/model.json")).unwrap();
    let line = json
        .lines()
        .position(|l| l.contains("\"max_seq_len\""))
        .unwrap()
        + 1;
    // max_seq_len 8 is below the minimum.
    let bad = regex::Regex::new(r#""max_seq_len": \d+"#)
        .unwrap()
        .replace(&json, "\"max_seq_len\": 8")
        .into_owned();
    std::fs::write(tmp.path().join("model.json"), bad).unwrap();
    let e = load_err(tmp.path());
    assert!(
        e.contains(&format!("model.json:{line}: max_seq_len 8")),
        "{e}"
    );
    // Broken JSON: serde's own line.
    std::fs::write(
        tmp.path().join("model.json"),
        "{\n  \"canvas_format\": 1,\n  oops\n}",
    )
    .unwrap();
    let e = load_err(tmp.path());
    assert!(e.contains("model.json:3:"), "{e}");
}
