//! A wrapper that keeps credentials out of logs.

use std::fmt;

/// A value that must not appear in logs: passwords, SASL responses, tokens.
///
/// `Debug` prints `[redacted]`; the value comes back only through [`Secret::declassify`], so
/// every place that reads a credential is easy to find.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a credential.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Gives access to the credential; call it only where the value is really needed.
    pub fn declassify(&self) -> &T {
        &self.0
    }

    /// Unwraps the credential.
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
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(*secret.declassify(), "hunter2");
    }
}
