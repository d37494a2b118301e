//! `1*x` in the grammar: a list that cannot be empty.

use crate::error::ValidationError;

/// A vector with at least one element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NonEmpty<T>(Vec<T>);

impl<T> NonEmpty<T> {
    /// A list of one.
    pub fn one(item: T) -> Self {
        Self(vec![item])
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// The elements, by value.
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }

    /// The first element, which always exists.
    pub fn first(&self) -> &T {
        // Index 0 exists: every constructor refuses an empty vector.
        &self.0[0]
    }
}

impl<T> TryFrom<Vec<T>> for NonEmpty<T> {
    type Error = ValidationError;

    fn try_from(items: Vec<T>) -> Result<Self, ValidationError> {
        if items.is_empty() {
            Err(ValidationError::Empty)
        } else {
            Ok(Self(items))
        }
    }
}

impl<T> std::ops::Deref for NonEmpty<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}
