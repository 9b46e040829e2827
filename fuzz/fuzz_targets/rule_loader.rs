#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    refactor_fuzz::rule_loader(data);
});
