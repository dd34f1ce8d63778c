//! Learning-rate schedules: the rate at each step, from the step alone, so a resumed run follows
//! the schedule exactly as an uninterrupted one.

use crate::config::LrSchedule;
use crate::objective::Step;

/// Passes of each stage of Burda et al.'s schedule: 3^i for i = 0..7.
const BURDA_STAGES: u32 = 8;

/// The factor on the base learning rate at `step` of a run of `epochs` epochs.
pub fn factor(schedule: LrSchedule, step: &Step, epochs: usize) -> f64 {
    match schedule {
        LrSchedule::Constant => 1.0,
        LrSchedule::Burda => {
            // Stage i covers epochs [(3^i − 1) / 2, (3^(i+1) − 1) / 2).
            let mut end = 0;
            let mut stage = BURDA_STAGES - 1;
            for i in 0..BURDA_STAGES {
                end += 3usize.pow(i);
                if step.epoch < end {
                    stage = i;
                    break;
                }
            }
            10f64.powf(-(stage as f64) / 7.0)
        }
        LrSchedule::Cosine => {
            let progress = (step.epochs() / epochs.max(1) as f64).min(1.0);
            0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        }
        LrSchedule::Exponential { gamma } => gamma.powf(step.epochs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(epoch: usize, batch: usize) -> Step {
        Step {
            epoch,
            batch,
            batches_per_epoch: 4,
            phase: 0,
        }
    }

    /// Burda et al.'s stages by hand: epochs 0 | 1-3 | 4-12 | 13-39 | 40-120 | 121-363 | 364-1092
    /// | 1093-3279, then the last rate.
    #[test]
    fn burda_stages() {
        for (epoch, stage) in [
            (0, 0),
            (1, 1),
            (3, 1),
            (4, 2),
            (12, 2),
            (13, 3),
            (39, 3),
            (40, 4),
            (121, 5),
            (364, 6),
            (1092, 6),
            (1093, 7),
            (3279, 7),
            (5000, 7),
        ] {
            let expected = 10f64.powf(-(stage as f64) / 7.0);
            assert_eq!(
                factor(LrSchedule::Burda, &at(epoch, 3), 3280),
                expected,
                "{epoch}"
            );
        }
        // The passes add up to the paper's 3,280.
        assert_eq!((0..8).map(|i| 3usize.pow(i)).sum::<usize>(), 3280);
    }

    #[test]
    fn cosine_and_exponential() {
        let cosine = |epoch, batch| factor(LrSchedule::Cosine, &at(epoch, batch), 4);
        assert_eq!(cosine(0, 0), 1.0);
        assert!((cosine(2, 0) - 0.5).abs() < 1e-15);
        assert!((cosine(1, 0) - 0.5 * (1.0 + (std::f64::consts::PI / 4.0).cos())).abs() < 1e-15);
        assert!(cosine(4, 0).abs() < 1e-15);
        let exponential =
            |epoch, batch| factor(LrSchedule::Exponential { gamma: 0.5 }, &at(epoch, batch), 4);
        assert_eq!(exponential(0, 0), 1.0);
        assert_eq!(exponential(1, 0), 0.5);
        assert_eq!(exponential(2, 2), 0.5f64.powf(2.5));
        assert_eq!(factor(LrSchedule::Constant, &at(7, 1), 4), 1.0);
    }
}
