//! Scratch buffers the layers of a network share.

use crate::scalar::Scalar;

/// The first `len` values of a scratch buffer that only grows: the layers of a network share it,
/// and resizing it down and up at every layer would refill it with zeros every step.
pub(super) fn grown<T: Scalar>(buffer: &mut Vec<T>, len: usize) -> &mut [T] {
    if buffer.len() < len {
        buffer.resize(len, T::zero());
    }
    &mut buffer[..len]
}
