//! [`Secret`]: a credential whose `Debug` output never shows the value.

use std::fmt;

/// A credential (password, SASL data) that never shows up in `Debug` output or logs.
///
/// The value is only reachable through [`Secret::declassify`], so every place that reads
/// it is easy to find.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value. Call this only where the value is really needed.
    pub fn declassify(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(/* redacted */)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new(String::from("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.declassify(), "hunter2");
    }
}
