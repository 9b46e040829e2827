#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    refactor_fuzz::fix_render(data);
});
