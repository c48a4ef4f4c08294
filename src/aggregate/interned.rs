//! `&'static str` fields (a command tag, an event kind, a format name) saved as text
//! and read back as the same `&'static str`: each distinct value is leaked once and
//! shared afterwards, so reading many saved states holds a handful of short strings.

use std::collections::HashSet;
use std::sync::Mutex;

/// A name known when pgferret was built, or read back from a saved state (an alias,
/// so serde does not take the field for text borrowed from its input).
pub type Name = &'static str;

static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

/// The `&'static str` equal to `s`, leaked the first time it is asked for.
pub fn intern(s: &str) -> Name {
    let mut guard = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = guard.get_or_insert_with(HashSet::new);
    if let Some(&known) = set.get(s) {
        return known;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// `#[serde(with = "interned")]` for a `&'static str` field.
pub fn serialize<S: serde::Serializer>(s: &&'static str, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

/// Reads the text and interns it.
pub fn deserialize<'de, D: serde::Deserializer<'de>>(de: D) -> Result<&'static str, D::Error> {
    let s: String = serde::Deserialize::deserialize(de)?;
    Ok(intern(&s))
}

/// `#[serde(with = "interned::option")]` for an `Option<&'static str>` field.
pub mod option {
    /// Writes the text, if any.
    pub fn serialize<S: serde::Serializer>(
        s: &Option<&'static str>,
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(s, ser)
    }

    /// Reads the text, if any, and interns it.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        de: D,
    ) -> Result<Option<&'static str>, D::Error> {
        let s: Option<String> = serde::Deserialize::deserialize(de)?;
        Ok(s.as_deref().map(super::intern))
    }
}
