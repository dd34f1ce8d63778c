//! The processes a command runs in: this one alone, or, built with the `mpi` feature, the ranks
//! of an `mpirun` (or `srun`) launch. `vae train` and `vae eval` share their work among ranks;
//! the other commands refuse to run on more than one.

use anyhow::Result;
use vae::collective::Collective;
#[cfg(not(feature = "mpi"))]
use vae::collective::SingleProcess;

pub struct World {
    #[cfg(feature = "mpi")]
    mpi: vae::collective::Mpi,
    #[cfg(not(feature = "mpi"))]
    single: SingleProcess,
}

impl World {
    /// Joins the launch this process belongs to (a world of one when started directly).
    pub fn join() -> Result<World> {
        #[cfg(feature = "mpi")]
        return Ok(World {
            mpi: vae::collective::Mpi::init()?,
        });
        #[cfg(not(feature = "mpi"))]
        Ok(World {
            single: SingleProcess,
        })
    }

    pub fn collective(&self) -> &dyn Collective {
        #[cfg(feature = "mpi")]
        return &self.mpi;
        #[cfg(not(feature = "mpi"))]
        &self.single
    }

    /// After an error on this rank: stops every rank of the job (MPI_Abort), so none waits for
    /// this one in the next collective. Returns when this process is alone.
    pub fn stop_others(&self) {
        #[cfg(feature = "mpi")]
        if self.mpi.size() > 1 {
            self.mpi.abort(1);
        }
    }
}

/// The error for a command that runs on one process only, launched on several.
pub fn single_process_only(world: &dyn Collective, command: &str) -> Result<()> {
    if world.size() > 1 {
        anyhow::bail!(
            "`vae {command}` runs on one process; of the commands only `vae train` and `vae eval` are shared among {} MPI ranks",
            world.size()
        );
    }
    Ok(())
}
