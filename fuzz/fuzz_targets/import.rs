#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| segcore_fuzz::import(data));
