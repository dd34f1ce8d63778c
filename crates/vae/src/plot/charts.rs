//! The charts drawn with plotters, with an embedded font (DejaVu Sans), so nothing depends on the
//! fonts installed on the machine.

use super::{BoundCurve, PALETTE};
use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;
use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;

fn color(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

fn fonts() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Image("the embedded font could not be loaded".into()))
    }
}

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Image(format!("drawing the chart: {e}"))
}

/// Draws with `draw` on a white `width x height` canvas and returns the pixels.
fn canvas(
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<RgbImage> {
    fonts()?;
    let mut buffer = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    RgbImage::from_raw(width, height, buffer)
        .ok_or_else(|| Error::Image("canvas size mismatch".into()))
}

/// `[min, max]` of the values, widened by 5% (and made non-empty).
fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-3 * hi.abs().max(1.0));
    (lo - pad)..(hi + pad)
}

type Series<'a> = (&'a str, RGBColor, bool, fn(&EpochMetrics) -> f64);

fn line_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    metrics: &[EpochMetrics],
    series: &[Series<'_>],
) -> Result<()> {
    let last = metrics.last().map_or(1, |m| m.epoch).max(2) as f64;
    let first = metrics.first().map_or(1, |m| m.epoch) as f64;
    let y = padded_range(series.iter().flat_map(|(_, _, _, f)| metrics.iter().map(f)));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(first.min(last - 1.0)..last, y)
        .map_err(plot_err)?;
    let epochs = (last - first.min(last - 1.0)) as usize + 1;
    chart
        .configure_mesh()
        .x_labels(epochs.min(12))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("epoch")
        .y_desc("nats per image")
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(plot_err)?;
    for &(name, c, dashed, f) in series {
        let points: Vec<(f64, f64)> = metrics.iter().map(|m| (m.epoch as f64, f(m))).collect();
        let style = c.stroke_width(2);
        let drawn = if dashed {
            chart.draw_series(DashedLineSeries::new(points.clone(), 6, 4, style))
        } else {
            chart.draw_series(LineSeries::new(points.clone(), style))
        };
        drawn.map_err(plot_err)?.label(name).legend(move |(x, y)| {
            // Dashed series get a dashed key.
            let gap = if dashed { (8, 13) } else { (10, 10) };
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (gap.0, 0)], c.stroke_width(2))
                + PathElement::new(vec![(gap.1, 0), (20, 0)], c.stroke_width(2))
        });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(plot_err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(plot_err)?;
    Ok(())
}

/// Train (solid) and test (dashed) ELBO per epoch, and its two terms, each on its own scale.
pub fn curves(metrics: &[EpochMetrics]) -> Result<RgbImage> {
    if metrics.is_empty() {
        return Err(Error::InvalidArgument(
            "no epochs to plot: metrics.jsonl is empty".into(),
        ));
    }
    if metrics.iter().all(|m| m.train_discriminator.is_some()) {
        // A GAN: the two players' losses, no ELBO.
        return canvas(1000, 450, |root| {
            let panels = root.split_evenly((1, 2));
            line_panel(
                &panels[0],
                "discriminator  −log D(x) − log(1 − D(G(z)))",
                metrics,
                &[
                    ("train", color(0), false, |m| {
                        m.train_discriminator.unwrap_or(f64::NAN)
                    }),
                    ("test", color(1), true, |m| {
                        m.test_discriminator.unwrap_or(f64::NAN)
                    }),
                ],
            )?;
            line_panel(
                &panels[1],
                "generator  −log D(G(z))",
                metrics,
                &[
                    ("train", color(0), false, |m| {
                        m.train_generator.unwrap_or(f64::NAN)
                    }),
                    ("test", color(1), true, |m| {
                        m.test_generator.unwrap_or(f64::NAN)
                    }),
                ],
            )
        });
    }
    canvas(1500, 450, |root| {
        let panels = root.split_evenly((1, 3));
        line_panel(
            &panels[0],
            "ELBO",
            metrics,
            &[
                ("train", color(0), false, |m| m.train_elbo),
                ("test", color(1), true, |m| m.test_elbo),
            ],
        )?;
        line_panel(
            &panels[1],
            "reconstruction  −E[log p(x|z)]",
            metrics,
            &[
                ("train", color(0), false, |m| m.train_reconstruction),
                ("test", color(1), true, |m| m.test_reconstruction),
            ],
        )?;
        line_panel(
            &panels[2],
            "KL(q(z|x) || p(z))",
            metrics,
            &[
                ("train", color(0), false, |m| m.train_kl),
                ("test", color(1), true, |m| m.test_kl),
            ],
        )
    })
}

/// Kingma & Welling 2013, Fig. 2's axes: a panel per run of the training (solid) and test (dashed)
/// lower bound per datapoint against the number of training samples evaluated, on a log scale
/// spanning at least the paper's 10^5 to 10^8; every panel shares the bound's range.
pub fn bound_by_samples(curves: &[BoundCurve], title: &str) -> Result<RgbImage> {
    let points = || curves.iter().flat_map(|c| c.points.iter());
    if curves.is_empty() || points().next().is_none() {
        return Err(Error::InvalidArgument("no epochs to plot".into()));
    }
    let first = points().map(|p| p.0).fold(1e5, f64::min).max(1.0);
    let last = points().map(|p| p.0).fold(1e8, f64::max);
    let y = bound_range(curves);
    let width = 380 * curves.len() as u32;
    canvas(width.max(500), 460, |root| {
        let (head, body) = root.split_vertically(36);
        head.titled(title, ("sans-serif", 20)).map_err(plot_err)?;
        let panels = body.split_evenly((1, curves.len()));
        for (curve, area) in curves.iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(&curve.title, ("sans-serif", 17))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d((first..last).log_scale(), y.clone())
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_label_formatter(&|x| format!("{x:.0e}"))
                .x_desc("training samples evaluated")
                .y_desc("lower bound per datapoint")
                .axis_desc_style(("sans-serif", 14))
                .label_style(("sans-serif", 12))
                .draw()
                .map_err(plot_err)?;
            let train: Vec<(f64, f64)> = curve.points.iter().map(|p| (p.0, p.1)).collect();
            let test: Vec<(f64, f64)> = curve.points.iter().map(|p| (p.0, p.2)).collect();
            chart
                .draw_series(LineSeries::new(train, color(0).stroke_width(2)))
                .map_err(plot_err)?
                .label("train")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color(0)));
            chart
                .draw_series(DashedLineSeries::new(test, 6, 4, color(1).stroke_width(2)))
                .map_err(plot_err)?
                .label("test")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color(1)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

/// The bound axis shared by the panels of `bound_by_samples`: every test bound, and the training
/// bounds from each run's second epoch on. The first epoch's training bound averages over the
/// untrained model's first batches (Adagrad's first steps sent one MNIST model's to −4,876 nats,
/// against −149 on the test set after that epoch) and would flatten every curve to a line; the
/// paper's axes start after it too (10^5 samples, past MNIST's first epoch). Its segment is still
/// drawn, cut at the panel's edge.
fn bound_range(curves: &[BoundCurve]) -> std::ops::Range<f64> {
    padded_range(curves.iter().flat_map(|c| {
        let alone = c.points.len() == 1;
        c.points.iter().enumerate().flat_map(move |(i, p)| {
            [Some(p.2), (i > 0 || alone).then_some(p.1)]
                .into_iter()
                .flatten()
        })
    }))
}

/// Points coloured by class, with a legend to the right; `axes` names the two coordinates.
pub fn scatter(
    points: &[[f32; 2]],
    labels: &[u8],
    class_names: &[String],
    title: &str,
    axes: (&str, &str),
) -> Result<RgbImage> {
    if points.is_empty() || points.len() != labels.len() {
        return Err(Error::shape(
            "scatter points and labels",
            points.len(),
            labels.len(),
        ));
    }
    let x = padded_range(points.iter().map(|p| p[0] as f64));
    let y = padded_range(points.iter().map(|p| p[1] as f64));
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    canvas(900, 720, |root| {
        let (plot_area, legend_area) = root.split_horizontally(740);
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x, y)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(axes.0)
            .y_desc(axes.1)
            .axis_desc_style(("sans-serif", 15))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(plot_err)?;
        for class in 0..classes {
            let c = color(class);
            let members = points
                .iter()
                .zip(labels)
                .filter(|(_, &l)| l as usize == class)
                .map(|(p, _)| Circle::new((p[0] as f64, p[1] as f64), 2, c.mix(0.6).filled()));
            chart.draw_series(members).map_err(plot_err)?;
        }
        let font = ("sans-serif", 15).into_font();
        for class in 0..classes {
            let name = class_names
                .get(class)
                .cloned()
                .unwrap_or_else(|| class.to_string());
            let y = 60 + 26 * class as i32;
            legend_area
                .draw(&Circle::new((12, y), 6, color(class).filled()))
                .map_err(plot_err)?;
            legend_area
                .draw(&Text::new(name, (26, y - 8), font.clone()))
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

/// The mean KL of each latent dimension as bars, the active ones (posterior mean varying across
/// the data, Burda et al. 2015, Sec. 5.2) in colour and the inactive ones in grey.
pub fn kl_per_dimension(kl: &[f64], active: &[bool], title: &str) -> Result<RgbImage> {
    if kl.is_empty() || kl.len() != active.len() {
        return Err(Error::shape(
            "KL per dimension and activity",
            kl.len(),
            active.len(),
        ));
    }
    let top = kl
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.08;
    let dims = kl.len();
    canvas(900, 420, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..dims as f64, 0.0..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("latent dimension")
            .y_desc("mean KL (nats)")
            .axis_desc_style(("sans-serif", 15))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(plot_err)?;
        let bars = kl.iter().zip(active).enumerate().map(|(d, (&v, &on))| {
            let fill = if on {
                color(0)
            } else {
                RGBColor(170, 170, 170)
            };
            Rectangle::new(
                [(d as f64 + 0.1, 0.0), (d as f64 + 0.9, v.max(0.0))],
                fill.filled(),
            )
        });
        chart.draw_series(bars).map_err(plot_err)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_axis_leaves_out_only_the_first_training_epoch() {
        let curve = |points: Vec<(f64, f64, f64)>| BoundCurve {
            title: "N_z = 20".into(),
            points,
        };
        let runs = [
            curve(vec![
                (6e4, -4875.8, -149.0),
                (1.2e5, -143.9, -138.0),
                (1.8e5, -136.1, -131.5),
            ]),
            curve(vec![(6e4, -166.9, -139.9), (1.2e5, -137.2, -132.9)]),
        ];
        let y = bound_range(&runs);
        // From the lowest kept value (-149.0, a test bound) to the highest (-131.5), padded by 5%.
        let pad = (149.0 - 131.5) * 0.05;
        assert!((y.start - (-149.0 - pad)).abs() < 1e-9, "{y:?}");
        assert!((y.end - (-131.5 + pad)).abs() < 1e-9, "{y:?}");
        // A run of one epoch keeps its training bound.
        let y = bound_range(&[curve(vec![(6e4, -200.0, -150.0)])]);
        assert!(y.start < -200.0 && y.end > -150.0, "{y:?}");
    }
}
