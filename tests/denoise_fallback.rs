//! Engine selection when no ONNX Runtime library can be loaded: `Device::Auto`/`Cpu`
//! fall back to the embedded engine; ONNX Runtime-only requests are errors.
//! (Its own test binary: the library search result is process-wide.)

use std::path::Path;

use refactor::denoise::engine::{self, onnxruntime, EngineChoice};
use refactor::denoise::model::Model;
use refactor::denoise::{
    ContextIndex, DecodeOptions, Denoiser, Device, FileHoles, HoleSite, ModelSource,
};

#[test]
fn no_onnxruntime_means_embedded_engine() {
    // A library path that does not exist: the search stops there (ORT_DYLIB_PATH wins).
    std::env::set_var("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.99.0");
    std::env::remove_var("REFACTOR_ENGINE");
    let why = onnxruntime::find_and_init().unwrap_err();
    assert!(
        why.contains("/nonexistent/libonnxruntime.so.1.99.0"),
        "{why}"
    );

    let src =
        ModelSource::Path(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/lookup"));
    for device in [Device::Auto, Device::Cpu] {
        let d = Denoiser::load(&src, device).unwrap();
        assert_eq!(d.engine_name(), "tract");
        let f = FileHoles {
            path: "a.py".into(),
            text: "x:  = 1\n".into(),
            holes: vec![HoleSite {
                name: "T".into(),
                offset: 3,
                max_tokens: 4,
                tie_key: None,
            }],
        };
        let (fills, stats) = d
            .fill(&[f], &ContextIndex::default(), &DecodeOptions::default())
            .unwrap();
        assert_eq!(fills[0][0].text, "AB");
        assert_eq!(stats.engine, "tract");
    }
    for device in [Device::Cuda, Device::TensorRt] {
        let e = format!("{:#}", Denoiser::load(&src, device).unwrap_err());
        assert!(e.contains("ONNX Runtime"), "{e}");
    }
    let model = Model::load(&src).unwrap();
    let e = engine::create_with(&model, Device::Cpu, EngineChoice::Ort)
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("nonexistent"), "{e:#}");
}
