//! Any bytes as `.flux-image-lint.yaml`: a config or an error with a position, never a panic.
#![no_main]

use flux_image_lint::config::Config;
use flux_image_lint::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let source = SourceFile::new(
            ".flux-image-lint.yaml".into(),
            ".flux-image-lint.yaml".into(),
            text.to_string(),
        );
        let _ = Config::parse(&source);
    }
});
