//! The registry's invariants: misses, budgets, shared runs, unique names.

use crate::registry::TARGETS;
use crate::runner::misses;
use crate::target::{Budget, Step};

#[test]
fn a_miss_is_beyond_the_spread_and_our_standard_error() {
    assert_eq!(misses(0.5, Some(0.14), Some(0.2)), Some(true));
    assert_eq!(misses(-0.3, Some(0.14), Some(0.2)), Some(false));
    assert_eq!(misses(0.3, None, Some(0.2)), Some(false));
    assert_eq!(misses(0.5, None, Some(0.2)), Some(true));
    assert_eq!(misses(9.0, None, None), None);
}

/// The training arguments and epochs of a target's first run at `budget`.
fn first_run(name: &str, budget: Budget) -> (Vec<String>, usize) {
    let target = TARGETS.iter().find(|t| t.name == name).expect("a target");
    match (target.steps)(budget).into_iter().next() {
        Some(Step::Train { args, epochs, .. }) => (args, epochs),
        _ => panic!("{name} starts with a training run"),
    }
}

#[test]
fn the_3h_budget_shortens_only_what_does_not_fit() {
    let schedule = |args: &[String]| {
        let i = args
            .iter()
            .position(|a| a == "--lr-schedule")
            .expect("a schedule");
        args[i + 1].clone()
    };
    // Burda et al.'s rows: the paper's 3,280 passes on its schedule, or a cosine schedule
    // over the epochs that fit, with the same model and objective.
    for (name, epochs) in [
        ("burda2015-vae-k1", 2000),
        ("burda2015-vae-k50", 130),
        ("burda2015-iwae-k50", 130),
        ("burda2015-vae2-k1", 1400),
        ("burda2015-iwae2-k50", 90),
    ] {
        let (paper, paper_epochs) = first_run(name, Budget::Paper);
        let (short, short_epochs) = first_run(name, Budget::ThreeHours);
        assert_eq!((schedule(&paper).as_str(), paper_epochs), ("burda", 3280));
        assert_eq!(
            (schedule(&short).as_str(), short_epochs),
            ("cosine", epochs)
        );
        let without = |a: &[String], flag: &str| match a.iter().position(|x| x == flag) {
            Some(s) => [&a[..s], &a[s + 2..]].concat(),
            None => a.to_vec(),
        };
        let warmup = short
            .iter()
            .position(|a| a == "--kl-warmup")
            .map(|i| short[i + 1].as_str());
        let expected = match name {
            "burda2015-vae2-k1" => Some("100"),
            "burda2015-iwae2-k50" => Some("10"),
            _ => None,
        };
        assert_eq!(warmup, expected, "{name}");
        assert_eq!(
            without(&paper, "--lr-schedule"),
            without(&without(&short, "--lr-schedule"), "--kl-warmup"),
            "{name}"
        );
    }
    assert_eq!(first_run("kingma2013-fig5", Budget::ThreeHours).1, 300);
    assert_eq!(
        first_run("kingma2013-fig2-mnist", Budget::ThreeHours).1,
        300
    );
    // What fits stays the paper's, and says so in the listing.
    for name in [
        "kingma2013-fig4-mnist",
        "doersch2016-fig6",
        "kingma2014-m1m2-100",
    ] {
        assert_eq!(
            first_run(name, Budget::ThreeHours),
            first_run(name, Budget::Paper)
        );
    }
    for t in TARGETS {
        let shortened = (t.steps)(Budget::ThreeHours)
            .iter()
            .zip((t.steps)(Budget::Paper).iter())
            .any(|(a, b)| match (a, b) {
                (Step::Train { epochs: x, .. }, Step::Train { epochs: y, .. }) => x != y,
                _ => false,
            });
        assert_eq!(shortened, t.expected_3h.is_some(), "{}", t.name);
    }
}

/// Targets that name the same shared run on the same data set train it with the same
/// arguments and epochs at every budget: whichever target comes first trains it for all.
#[test]
fn shared_runs_agree_across_targets() {
    for budget in [Budget::Quick, Budget::ThreeHours, Budget::Paper] {
        // (data set, run) -> the first target's (arguments, epochs, name).
        let mut first = std::collections::HashMap::new();
        for t in TARGETS {
            for step in (t.steps)(budget) {
                let Step::Train {
                    run,
                    args,
                    epochs,
                    shared: true,
                } = step
                else {
                    continue;
                };
                let (first_args, first_epochs, first_name) = first
                    .entry((t.dataset, run))
                    .or_insert((args.clone(), epochs, t.name));
                assert_eq!(
                    (&*first_args, *first_epochs),
                    (&args, epochs),
                    "{first_name} and {} share {run} at {}",
                    t.name,
                    budget.name()
                );
            }
        }
    }
    // Fig. 4's MNIST manifold is Fig. 5's N_z = 2 model at the paper's budget only.
    let shares_latent2 = |name: &str, budget: Budget| {
        let target = TARGETS.iter().find(|t| t.name == name).expect("a target");
        (target.steps)(budget).iter().any(|s| {
            matches!(
                s,
                Step::Train {
                    run: "latent2",
                    shared: true,
                    ..
                }
            )
        })
    };
    assert!(shares_latent2("kingma2013-fig4-mnist", Budget::Paper));
    assert!(shares_latent2("kingma2013-fig5", Budget::Paper));
    assert!(!shares_latent2("kingma2013-fig4-mnist", Budget::ThreeHours));
    assert!(!shares_latent2("kingma2013-fig4-mnist", Budget::Quick));
}

#[test]
fn target_names_are_unique() {
    let mut names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), TARGETS.len());
}
