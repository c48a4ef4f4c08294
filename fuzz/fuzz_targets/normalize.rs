//! The SQL normalizer on arbitrary bytes: never panics; the fingerprint is the same
//! with or without the text built; on UTF-8 input, normalizing the normalized text
//! gives it back with the same fingerprint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgferret::normalize::Normalizer;

fuzz_target!(|data: &[u8]| {
    let mut n = Normalizer::new();
    let mut text = String::new();
    let fp = n.normalize_into(data, &mut text);
    assert_eq!(fp, n.fingerprint(data));
    if std::str::from_utf8(data).is_ok() {
        let mut again = String::new();
        let fp2 = n.normalize_into(text.as_bytes(), &mut again);
        assert_eq!(again, text, "normalizing twice changes the text");
        assert_eq!(fp2, fp, "normalized text {text:?}");
    }
});
