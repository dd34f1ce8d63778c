//! `vae draw-steps`: a DRAW model's canvas over its steps, as a grid and as an animated GIF.

use super::common::{open_model, save_figure};
use crate::cli::DrawStepsArgs;
use anyhow::{bail, Context, Result};

/// Columns of the GIF's frames.
const GIF_COLUMNS: usize = 10;

pub fn run(args: DrawStepsArgs) -> Result<()> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let (_, model, _) = open_model(&args.model)?;
    let total = model.draw()?.steps();
    let steps = args.steps.clone().unwrap_or_else(|| default_steps(total));
    let image =
        vae::figures::draw_steps(&model, args.n, &steps, args.seed, args.scale, args.windows)?;
    let path = save_figure(&image, args.out.as_deref(), &args.model, "draw-steps.png")?;
    println!(
        "wrote {} ({} draws at steps {})",
        path.display(),
        args.n,
        steps
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    if args.gif {
        let bytes = vae::figures::draw_steps_gif(
            &model,
            args.n,
            args.seed,
            args.scale,
            GIF_COLUMNS.min(args.n),
            args.windows,
        )?;
        let gif = path.with_extension("gif");
        vae::fs::atomic_write(&gif, &bytes)
            .with_context(|| format!("writing {}", gif.display()))?;
        println!("wrote {} ({total} frames)", gif.display());
    }
    Ok(())
}

/// Eight steps from the first to the last, about doubling: 1, 2, 4, 8, 16, 32, 48, 64 for 64.
fn default_steps(total: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = (0..6).map(|k| 1usize << k).filter(|&s| s < total).collect();
    for s in [total * 3 / 4, total] {
        if s > *steps.last().unwrap_or(&0) {
            steps.push(s);
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::default_steps;

    #[test]
    fn default_steps_end_at_the_last() {
        assert_eq!(default_steps(64), [1, 2, 4, 8, 16, 32, 48, 64]);
        assert_eq!(default_steps(3), [1, 2, 3]);
        assert_eq!(default_steps(1), [1]);
    }
}
