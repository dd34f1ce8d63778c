//! What a run reports while it trains, to whoever shows it.

use crate::error::Result;
use crate::train::{EpochReport, Progress};

/// What a run reports while it trains. Every method has a default that does nothing, so an
/// observer implements only what it shows.
pub trait Observer {
    /// A line for the user: the labelled subset chosen, M1's codes, the ranks sharing a batch.
    fn message(&mut self, _line: &str) {}

    /// A warning: the run directory cannot be locked on this file system.
    fn warning(&mut self, _line: &str) {}

    /// After every batch; an error (an interrupt, say) stops training with the epoch unsaved.
    /// Under MPI every rank must stop alike.
    fn batch(&mut self, _progress: &Progress) -> Result<()> {
        Ok(())
    }

    /// After every epoch, before it is saved (on every rank under MPI, `rank` naming it); an
    /// error stops training with that epoch unsaved.
    fn epoch(&mut self, _report: &EpochReport, _rank: usize) -> Result<()> {
        Ok(())
    }

    /// Asked after every epoch, once its numbers are recorded: `true` ends training there, with
    /// that epoch saved (early stopping, a user's "stop after this epoch"). Under MPI every rank
    /// must answer alike.
    fn stop_after_epoch(&mut self) -> bool {
        false
    }
}

/// An observer that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}
