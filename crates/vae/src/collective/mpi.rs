//! The collective over MPI (the `mpi` crate, rsmpi, on the system's Open MPI): the world
//! communicator of the processes `mpirun` or `srun` started.

use super::Collective;
use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use mpi::Threading;
use std::sync::Mutex;

/// The MPI world. Holding it keeps MPI initialised; dropping it finalises MPI.
pub struct Mpi {
    world: SimpleCommunicator,
    /// The send side of the gradient's all-reduce, reused from step to step (rsmpi offers no
    /// in-place reduction; a fresh multi-megabyte buffer per step costs page faults).
    send: Mutex<Vec<f32>>,
    // Declared after `world`, so the communicator is released before MPI is finalised.
    _universe: Universe,
}

// SAFETY: MPI is initialised with MPI_THREAD_SERIALIZED (checked in `init`): any thread may call
// it as long as no two do at once. Every call goes through `&self` methods of this one value,
// which the training loop makes from one thread at a time (rayon's workers never touch it).
unsafe impl Send for Mpi {}
unsafe impl Sync for Mpi {}

impl Mpi {
    /// Initialises MPI at the thread level the training loop needs; an error when it already
    /// was or offers less.
    pub fn init() -> Result<Mpi> {
        let (universe, level) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| Error::InvalidArgument("MPI was already initialised".into()))?;
        if level < Threading::Serialized {
            return Err(Error::InvalidArgument(format!(
                "this MPI library offers thread level {level:?}; the training loop needs Serialized"
            )));
        }
        Ok(Mpi {
            world: universe.world(),
            send: Mutex::new(Vec::new()),
            _universe: universe,
        })
    }

    /// Stops every rank of the job with `code` (MPI_Abort): what a rank that failed calls, so the
    /// others do not wait for it in the next collective.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()> {
        let mut send = self
            .send
            .lock()
            .map_err(|_| Error::InvalidArgument("the all-reduce buffer was poisoned".into()))?;
        send.clear();
        send.extend_from_slice(values);
        self.world
            .all_reduce_into(&send[..], values, SystemOperation::sum());
        Ok(())
    }

    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<()> {
        let send = values.to_vec();
        self.world
            .all_reduce_into(&send[..], values, SystemOperation::sum());
        Ok(())
    }

    fn broadcast(&self, values: &mut [f32]) -> Result<()> {
        self.world.process_at_rank(0).broadcast_into(values);
        Ok(())
    }
}
