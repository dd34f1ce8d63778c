//! The boundary between one training process and many (data parallelism, as Horovod and PyTorch's
//! DDP do it): every process holds the whole model, takes its share of each minibatch, and the
//! gradients are summed across processes before every optimizer step. The training loop and
//! evaluation call this trait, never MPI directly, so another transport (NCCL) is one more
//! implementation.
//!
//! - [`SingleProcess`]: one process, every operation the identity.
//! - `Mpi` (cargo feature `mpi`): the world communicator of an `mpirun` or `srun` launch.

#[cfg(feature = "mpi")]
mod mpi;

#[cfg(feature = "mpi")]
pub use self::mpi::Mpi;

use crate::error::Result;
use std::ops::Range;

/// Rank, world size and the collective operations the training loop needs. Every rank must make
/// the same calls in the same order; an implementation may block until all have.
pub trait Collective: Send + Sync {
    /// This process's index, `0..size()`.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn size(&self) -> usize;
    /// Replaces `values` by their element-wise sum over all ranks, on every rank.
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()>;
    /// The same in f64 (sums of losses and counts).
    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<()>;
    /// Replaces `values` by rank 0's, on every rank.
    fn broadcast(&self, values: &mut [f32]) -> Result<()>;

    /// Returns once every rank has called it (what one rank did to shared files before, every
    /// rank sees after).
    fn barrier(&self) -> Result<()> {
        self.all_reduce_sum_f64(&mut [0.0])
    }

    /// Whether this process is the one that writes files and prints.
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
}

/// One process: the world is itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn all_reduce_sum(&self, _values: &mut [f32]) -> Result<()> {
        Ok(())
    }

    fn all_reduce_sum_f64(&self, _values: &mut [f64]) -> Result<()> {
        Ok(())
    }

    fn broadcast(&self, _values: &mut [f32]) -> Result<()> {
        Ok(())
    }
}

/// The share of `n` items that rank `rank` of `size` takes: contiguous, in rank order, sizes
/// differing by at most one (the first `n % size` ranks take one more).
pub fn shard(n: usize, rank: usize, size: usize) -> Range<usize> {
    let size = size.max(1);
    let (base, extra) = (n / size, n % size);
    let start = rank * base + rank.min(extra);
    let len = base + usize::from(rank < extra);
    start.min(n)..(start + len).min(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_item_once_in_order() {
        for n in [0, 1, 5, 128, 129] {
            for size in 1..=5 {
                let mut next = 0;
                for rank in 0..size {
                    let range = shard(n, rank, size);
                    assert_eq!(range.start, next, "n {n} size {size} rank {rank}");
                    assert!(range.len() <= n.div_ceil(size));
                    next = range.end;
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn a_single_process_changes_nothing() -> Result<()> {
        let world = SingleProcess;
        let mut values = [1.5f32, -2.0];
        world.all_reduce_sum(&mut values)?;
        world.broadcast(&mut values)?;
        let mut sums = [3.0f64];
        world.all_reduce_sum_f64(&mut sums)?;
        assert_eq!((values, sums), ([1.5, -2.0], [3.0]));
        assert!(world.is_root() && world.size() == 1);
        Ok(())
    }
}
