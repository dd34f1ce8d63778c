//! Points in latent space to decode: the manifold grid, interpolation paths, traversals, and a
//! 2-D projection of encodings for scatter plots.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// The grid of Kingma & Welling 2013, Fig. 4: `grid` evenly spaced probabilities in (0, 1),
/// `(i + 0.5) / grid`, mapped through the inverse Gaussian CDF, so each tile covers an equal share
/// of the prior's mass. Dimension `dims.0` grows left to right, `dims.1` grows bottom to top; all
/// other dimensions are 0. Returns `[grid * grid, latent]`, row by row from the top.
pub fn manifold_points(grid: usize, latent: usize, dims: (usize, usize)) -> Result<Vec<f32>> {
    check_dims(latent, &[dims.0, dims.1])?;
    if dims.0 == dims.1 {
        return Err(Error::InvalidArgument(format!(
            "a 2-D view needs two different latent dimensions, got {0},{0}",
            dims.0
        )));
    }
    if !(2..=100).contains(&grid) {
        return Err(Error::InvalidArgument(format!(
            "a grid of {grid} points per side: it must be between 2 and 100"
        )));
    }
    let coords = grid_coordinates(grid)?;
    let mut z = vec![0f32; grid * grid * latent];
    for row in 0..grid {
        for col in 0..grid {
            let point = &mut z[(row * grid + col) * latent..(row * grid + col + 1) * latent];
            point[dims.0] = coords[col] as f32;
            point[dims.1] = coords[grid - 1 - row] as f32;
        }
    }
    Ok(z)
}

/// Φ⁻¹((i + 0.5) / grid) for i in 0..grid, increasing.
pub fn grid_coordinates(grid: usize) -> Result<Vec<f64>> {
    let normal = Normal::new(0.0, 1.0).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok((0..grid)
        .map(|i| normal.inverse_cdf((i as f64 + 0.5) / grid as f64))
        .collect())
}

/// How to travel between two latent points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// The straight line.
    Linear,
    /// Spherical interpolation (Shoemake 1985), which keeps the path at the norms typical of
    /// the Gaussian prior's shell rather than cutting through its low-norm interior (White 2016).
    Slerp,
}

/// `steps` points from `a` to `b` inclusive, `[steps, dim]`.
///
/// ```
/// use vae::latent::{interpolate, Path};
/// let path = interpolate(&[0.0, 0.0], &[1.0, -1.0], 3, Path::Linear)?;
/// assert_eq!(path, [0.0, 0.0, 0.5, -0.5, 1.0, -1.0]);
/// # Ok::<(), vae::Error>(())
/// ```
pub fn interpolate(a: &[f32], b: &[f32], steps: usize, path: Path) -> Result<Vec<f32>> {
    if a.len() != b.len() {
        return Err(Error::shape("interpolation end points", a.len(), b.len()));
    }
    if steps < 2 {
        return Err(Error::InvalidArgument(format!(
            "an interpolation of {steps} steps: it needs at least 2"
        )));
    }
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let cos = (dot / (norm(a) * norm(b))).clamp(-1.0, 1.0);
    let omega = cos.acos();
    let mut out = Vec::with_capacity(steps * a.len());
    for s in 0..steps {
        let t = s as f64 / (steps - 1) as f64;
        // Slerp degenerates when the end points are (anti-)parallel or zero: use the line.
        let (wa, wb) = match path {
            Path::Slerp if omega.is_finite() && omega.sin().abs() > 1e-6 => (
                ((1.0 - t) * omega).sin() / omega.sin(),
                (t * omega).sin() / omega.sin(),
            ),
            _ => (1.0 - t, t),
        };
        out.extend(
            a.iter()
                .zip(b)
                .map(|(x, y)| (wa * *x as f64 + wb * *y as f64) as f32),
        );
    }
    Ok(out)
}

/// One row per latent dimension: `base` with that dimension set to each of `values`,
/// `[dim * values.len(), dim]`.
pub fn traversal(base: &[f32], values: &[f32]) -> Vec<f32> {
    let dim = base.len();
    let mut out = Vec::with_capacity(dim * values.len() * dim);
    for d in 0..dim {
        for &v in values {
            let start = out.len();
            out.extend_from_slice(base);
            out[start + d] = v;
        }
    }
    out
}

/// `n` values evenly spaced from `low` to `high` inclusive.
pub fn linspace(low: f32, high: f32, n: usize) -> Vec<f32> {
    match n {
        0 => Vec::new(),
        1 => vec![(low + high) / 2.0],
        _ => (0..n)
            .map(|i| low + (high - low) * i as f32 / (n - 1) as f32)
            .collect(),
    }
}

/// Errors unless every dimension is below `latent`.
pub fn check_dims(latent: usize, dims: &[usize]) -> Result<()> {
    match dims.iter().find(|&&d| d >= latent) {
        Some(d) => Err(Error::InvalidArgument(format!(
            "latent dimension {d} does not exist: the model has {latent} (0..={})",
            latent - 1
        ))),
        None => Ok(()),
    }
}

/// The two chosen coordinates of each point, `[n, 2]`.
pub fn select_dims(points: &[f32], dim: usize, dims: (usize, usize)) -> Result<Vec<[f32; 2]>> {
    check_dims(dim, &[dims.0, dims.1])?;
    Ok(points
        .chunks_exact(dim)
        .map(|p| [p[dims.0], p[dims.1]])
        .collect())
}

/// Latents wider than this are projected without forming their covariance (a DRAW's sequence of
/// 64 latents of 100 has 6,400 dimensions: a covariance of 330 MB, and hours to fill it).
const PCA_COVARIANCE_MAX_DIM: usize = 512;

/// Projection of `points` (`[n, dim]`) onto their first two principal components, with the share
/// of the variance each explains. Power iteration with deflation from a fixed start, so the result
/// is deterministic: on the `dim x dim` covariance for narrow latents, and for wide ones on the
/// covariance as the product of the centred points with themselves, never formed, stopping once
/// the direction settles.
pub fn pca_2d(points: &[f32], dim: usize) -> Result<(Vec<[f32; 2]>, [f64; 2])> {
    let n = points.len() / dim.max(1);
    if dim < 2 || n < 2 {
        return Err(Error::InvalidArgument(format!(
            "PCA needs at least 2 points of 2 dimensions, got {n} of {dim}"
        )));
    }
    let mut mean = vec![0f64; dim];
    for p in points.chunks_exact(dim) {
        for (m, v) in mean.iter_mut().zip(p) {
            *m += *v as f64 / n as f64;
        }
    }
    let (components, explained) = if dim <= PCA_COVARIANCE_MAX_DIM {
        covariance_components(points, dim, &mean)
    } else {
        implicit_components(points, dim, &mean)
    };
    let projected = points
        .chunks_exact(dim)
        .map(|p| {
            let project = |c: &[f64]| {
                p.iter()
                    .zip(&mean)
                    .zip(c)
                    .map(|((x, m), w)| (*x as f64 - m) * w)
                    .sum::<f64>() as f32
            };
            [project(&components[0]), project(&components[1])]
        })
        .collect();
    Ok((projected, explained))
}

/// The first two eigenvectors of the covariance, formed, with their shares of the variance.
fn covariance_components(points: &[f32], dim: usize, mean: &[f64]) -> (Vec<Vec<f64>>, [f64; 2]) {
    let n = points.len() / dim;
    let mut cov = vec![0f64; dim * dim];
    for p in points.chunks_exact(dim) {
        for i in 0..dim {
            let di = p[i] as f64 - mean[i];
            for j in 0..dim {
                cov[i * dim + j] += di * (p[j] as f64 - mean[j]) / (n - 1) as f64;
            }
        }
    }
    let total: f64 = (0..dim).map(|i| cov[i * dim + i]).sum();
    let mut components = Vec::new();
    let mut explained = [0f64; 2];
    for slot in &mut explained {
        let mut v: Vec<f64> = (0..dim).map(|i| 1.0 + i as f64 / dim as f64).collect();
        let mut eigenvalue = 0.0;
        for _ in 0..500 {
            let mut next = vec![0f64; dim];
            for i in 0..dim {
                next[i] = (0..dim).map(|j| cov[i * dim + j] * v[j]).sum();
            }
            let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            eigenvalue = norm;
            v = next.into_iter().map(|x| x / norm).collect();
        }
        // Deflate: remove the found component before looking for the next.
        for i in 0..dim {
            for j in 0..dim {
                cov[i * dim + j] -= eigenvalue * v[i] * v[j];
            }
        }
        *slot = if total > 0.0 { eigenvalue / total } else { 0.0 };
        components.push(v);
    }
    (components, explained)
}

/// The same components with the covariance applied as `Xcᵀ (Xc v) / (n − 1)`, Xc the centred
/// points, and the first component's part removed from the second's iterates.
fn implicit_components(points: &[f32], dim: usize, mean: &[f64]) -> (Vec<Vec<f64>>, [f64; 2]) {
    let n = points.len() / dim;
    let apply = |v: &[f64]| -> Vec<f64> {
        let mut out = vec![0f64; dim];
        for p in points.chunks_exact(dim) {
            let dot: f64 = p
                .iter()
                .zip(mean)
                .zip(v)
                .map(|((x, m), w)| (*x as f64 - m) * w)
                .sum();
            for ((o, x), m) in out.iter_mut().zip(p).zip(mean) {
                *o += dot * (*x as f64 - m) / (n - 1) as f64;
            }
        }
        out
    };
    let total: f64 = points
        .chunks_exact(dim)
        .map(|p| {
            p.iter()
                .zip(mean)
                .map(|(x, m)| (*x as f64 - m).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / (n - 1) as f64;
    let mut components: Vec<Vec<f64>> = Vec::new();
    let mut eigenvalues: Vec<f64> = Vec::new();
    let mut explained = [0f64; 2];
    for slot in &mut explained {
        let mut v: Vec<f64> = (0..dim).map(|i| 1.0 + i as f64 / dim as f64).collect();
        let mut eigenvalue = 0.0;
        for _ in 0..500 {
            let mut next = apply(&v);
            for (c, &lambda) in components.iter().zip(&eigenvalues) {
                // Deflation: C v − λ (c · v) c for each component found.
                let dot: f64 = c.iter().zip(&v).map(|(a, b)| a * b).sum();
                for (x, w) in next.iter_mut().zip(c) {
                    *x -= lambda * dot * w;
                }
            }
            let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            next.iter_mut().for_each(|x| *x /= norm);
            let change: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            eigenvalue = norm;
            v = next;
            if change < 1e-9 * dim as f64 {
                break;
            }
        }
        *slot = if total > 0.0 { eigenvalue / total } else { 0.0 };
        components.push(v);
        eigenvalues.push(eigenvalue);
    }
    (components, explained)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_symmetric_inverse_cdf() -> Result<()> {
        let c = grid_coordinates(4)?;
        // Φ⁻¹(0.125) = −1.1503493803760079, Φ⁻¹(0.375) = −0.3186393639643752 (scipy.stats.norm.ppf).
        assert!((c[0] + 1.1503493803760079).abs() < 1e-9, "{}", c[0]);
        assert!((c[1] + 0.3186393639643752).abs() < 1e-9, "{}", c[1]);
        assert!((c[0] + c[3]).abs() < 1e-12 && (c[1] + c[2]).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn manifold_layout_puts_positive_up_and_right() -> Result<()> {
        let z = manifold_points(3, 4, (2, 0))?;
        let c = grid_coordinates(3)?;
        let at = |row: usize, col: usize| &z[(row * 3 + col) * 4..(row * 3 + col + 1) * 4];
        assert_eq!(at(0, 0), &[c[2] as f32, 0.0, c[0] as f32, 0.0]);
        assert_eq!(at(2, 2), &[c[0] as f32, 0.0, c[2] as f32, 0.0]);
        assert!(manifold_points(3, 4, (1, 4)).is_err());
        assert!(manifold_points(3, 4, (1, 1)).is_err());
        Ok(())
    }

    #[test]
    fn interpolation_ends_at_the_end_points() -> Result<()> {
        let a = [1.0, 0.0];
        let b = [0.0, 2.0];
        for path in [Path::Linear, Path::Slerp] {
            let p = interpolate(&a, &b, 5, path)?;
            assert_eq!(&p[..2], &a);
            assert!((p[8] - b[0]).abs() < 1e-6 && (p[9] - b[1]).abs() < 1e-6);
        }
        // Slerp between orthogonal vectors of norms 1 and 2: the midpoint lies at 45 degrees.
        let mid = &interpolate(&a, &b, 3, Path::Slerp)?[2..4];
        assert!((mid[0] - mid[1] / 2.0).abs() < 1e-6, "{mid:?}");
        Ok(())
    }

    /// The covariance never formed gives the components of the formed one, up to sign.
    #[test]
    fn pca_without_the_covariance_matches_pca_with_it() {
        let dim = 12;
        let points: Vec<f32> = (0..300)
            .flat_map(|i| {
                let (a, b) = ((i as f32 * 0.37).sin() * 3.0, (i as f32 * 0.11).cos());
                (0..dim).map(move |d| {
                    a * (d as f32 * 0.3).cos()
                        + b * (d as f32 * 0.7).sin()
                        + 0.05 * ((i * 13 + d * 7) % 11) as f32
                })
            })
            .collect();
        let mut mean = vec![0f64; dim];
        for p in points.chunks_exact(dim) {
            for (m, v) in mean.iter_mut().zip(p) {
                *m += *v as f64 / 300.0;
            }
        }
        let (formed, shares) = covariance_components(&points, dim, &mean);
        let (implicit, implicit_shares) = implicit_components(&points, dim, &mean);
        for k in 0..2 {
            assert!(
                (shares[k] - implicit_shares[k]).abs() < 1e-9,
                "{shares:?} {implicit_shares:?}"
            );
            let dot: f64 = formed[k].iter().zip(&implicit[k]).map(|(a, b)| a * b).sum();
            assert!((dot.abs() - 1.0).abs() < 1e-6, "component {k}: {dot}");
        }
    }

    #[test]
    fn pca_finds_the_long_axis() -> Result<()> {
        // Points along the diagonal of the first two axes, with a little noise on the third.
        let points: Vec<f32> = (0..100)
            .flat_map(|i| {
                let t = i as f32 / 10.0 - 5.0;
                [t, t, 0.01 * ((i * 7 % 5) as f32 - 2.0)]
            })
            .collect();
        let (projected, explained) = pca_2d(&points, 3)?;
        assert!(explained[0] > 0.99, "{explained:?}");
        // The first coordinate is the distance along the diagonal from the mean (t = -0.05), up to sign.
        let scale = projected[99][0] / (4.95 * 2f32.sqrt());
        assert!((scale.abs() - 1.0).abs() < 1e-3, "{scale}");
        Ok(())
    }

    #[test]
    fn traversal_varies_one_dimension_per_row() {
        let t = traversal(&[1.0, 2.0], &[-3.0, 3.0]);
        assert_eq!(t, vec![-3.0, 2.0, 3.0, 2.0, 1.0, -3.0, 1.0, 3.0]);
    }
}
