//! `report.html`: one self-contained page per run (images embedded as data URIs, no network),
//! with the configuration, the final numbers and the figures.

mod page;

pub use page::{write, EVALUATION_FILE};

use crate::config::{ModelKind, RunConfig};
use crate::eval::Evaluation;
use crate::metrics::EpochMetrics;
use base64::Engine;
use std::fmt::Write;

/// One picture on the page.
pub struct Figure {
    /// Its heading.
    pub title: String,
    /// What it shows, in a sentence.
    pub caption: String,
    /// The picture's PNG bytes.
    pub png: Vec<u8>,
}

/// What a run's `report.html` shows.
pub struct ReportInput<'a> {
    /// The run's name.
    pub run: &'a str,
    /// Its configuration.
    pub config: &'a RunConfig,
    /// Epochs trained.
    pub epoch: usize,
    /// Every epoch's numbers, from `metrics.jsonl`.
    pub metrics: &'a [EpochMetrics],
    /// From `eval.json`, when `vae eval` has scored the full test set.
    pub evaluation: Option<&'a Evaluation>,
    /// The pictures, in order.
    pub figures: &'a [Figure],
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .9em;border-bottom:1px solid #eee;text-align:left}\
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1em 0}\
figure img{max-width:100%;image-rendering:pixelated;border:1px solid #ddd}figcaption{color:#555;font-size:.92em;margin-top:.3em}\
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}.grid{display:flex;flex-wrap:wrap;gap:1.5em}";

/// The page as a string.
pub fn html(input: &ReportInput<'_>) -> String {
    let c = input.config;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>vae report: {run}</title><style>{STYLE}</style></head><body>\n\
         <h1>VAE run <code>{run}</code></h1>\n",
        run = escape(input.run)
    );
    let rows = [
        ("data set", c.dataset.clone()),
        (
            "model",
            match c.model.kind {
                ModelKind::Ae => format!(
                    "{} (no noise, no KL: its \"ELBO\" below is minus the reconstruction loss)",
                    c.model.kind_name()
                ),
                ModelKind::M2 => format!(
                    "{}, {} labelled training images{}",
                    c.model.kind_name(),
                    c.train.labels.map_or("?".to_string(), |n| n.to_string()),
                    c.model.features.as_ref().map_or(String::new(), |f| format!(
                        "; M1: {} (model.safetensors SHA-256 {}), code dimensions {:?}; the ELBO below is M2's, of M1's codes, not of the pixels",
                        f.run.display(),
                        f.sha256,
                        f.active
                    ))
                ),
                ModelKind::Jmvae => format!(
                    "{}, α = {} (JMVAE-kl); the training terms below are the image's under q(z | x, y), the test ELBO the image's alone through q(z | x), and the error rate that of the labels (or attributes) p(y | z) reads from it",
                    c.model.kind_name(),
                    c.train.alpha.unwrap_or(crate::config::DEFAULT_JMVAE_ALPHA)
                ),
                ModelKind::Vae => c.model.kind_name(),
                ModelKind::Draw => format!(
                    "{}; the KL below is summed over the steps' z_t",
                    c.model.kind_name()
                ),
                ModelKind::Gan | ModelKind::Dcgan => format!(
                    "{}; no likelihood and no ELBO: the losses below are the discriminator's, −log D(x) − log(1 − D(G(z))), and the generator's, −log D(G(z)), per image",
                    c.model.kind_name()
                ),
                ModelKind::VaeGan => format!(
                    "{}, γ = {}{}{}{}; no likelihood of pixels: the reconstruction error is ½ ‖Dis_l(x̃) − Dis_l(x)‖² in the discriminator's features, and the GAN losses are the discriminator's, −log D(x) − log(1 − D(x̃)) − log(1 − D(x_p)), and the decoder's, −log D(x̃) − log D(x_p), per image",
                    c.model.kind_name(),
                    c.train.feature_weight.unwrap_or(crate::config::DEFAULT_FEATURE_WEIGHT),
                    match c.train.equilibrium_margin {
                        Some(m) => format!(", equilibrium rule with margin {m}"),
                        None => String::new(),
                    },
                    match c.train.decoder_statistics {
                        Some(crate::config::DecoderStatistics::Prior) =>
                            ", the decoder's running statistics from its passes on z_p alone",
                        _ => "",
                    },
                    match c.train.real_weight {
                        Some(w) => format!(
                            ", the discriminator's gradient weighing real images {w} and each fake {}",
                            0.5 * (1.0 - w)
                        ),
                        None => String::new(),
                    }
                ),
            },
        ),
        ("image", c.model.data_image().to_string()),
        ("architecture", c.model.describe_networks()),
        ("likelihood", format!("{:?}", c.model.likelihood)),
        ("binarization", format!("{:?}", c.train.binarize)),
        (
            "optimizer",
            format!(
                "{:?}, lr {}, weight decay {}",
                c.train.optimizer.kind, c.train.optimizer.lr, c.train.optimizer.weight_decay
            ),
        ),
        (
            "training",
            format!(
                "{} of {} epochs, batch {}, {} latent sample(s) per image, seed {}",
                input.epoch, c.train.epochs, c.train.batch_size, c.train.samples, c.train.seed
            ),
        ),
    ];
    page.push_str("<h2>Configuration</h2>\n<table>\n");
    for (k, v) in rows {
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(k),
            escape(&v)
        );
    }
    page.push_str("</table>\n");

    page.push_str("<h2>Numbers</h2>\n<table>\n<tr><th></th><th>nats per image</th></tr>\n");
    let adversarial = c.model.kind.is_adversarial();
    if let (Some(m), true) = (input.metrics.last(), adversarial) {
        let numbers = [
            (
                format!("test discriminator loss (epoch {})", m.epoch),
                m.test_discriminator,
            ),
            ("test generator loss".to_string(), m.test_generator),
            (
                "train discriminator loss".to_string(),
                m.train_discriminator,
            ),
            ("train generator loss".to_string(), m.train_generator),
            (
                "test feature error ½ ‖Dis<sub>l</sub>(x̃) − Dis<sub>l</sub>(x)‖²".to_string(),
                Some(m.test_reconstruction).filter(|v| !v.is_nan()),
            ),
            (
                "test KL(q(z|x) ‖ p(z))".to_string(),
                Some(m.test_kl).filter(|v| !v.is_nan()),
            ),
        ];
        for (k, v) in numbers {
            // A GAN has no encoder: its feature error and KL rows are left out.
            let Some(v) = v else { continue };
            let _ = writeln!(page, "<tr><td>{k}</td><td class=\"num\">{v:.3}</td></tr>");
        }
    } else if let Some(m) = input.metrics.last() {
        let numbers = [
            (format!("test ELBO (epoch {})", m.epoch), m.test_elbo),
            (
                "test reconstruction −E<sub>q</sub>[log p(x|z)]".to_string(),
                m.test_reconstruction,
            ),
            ("test KL(q(z|x) ‖ p(z))".to_string(), m.test_kl),
            ("train ELBO".to_string(), m.train_elbo),
        ];
        for (k, v) in numbers {
            let _ = writeln!(page, "<tr><td>{k}</td><td class=\"num\">{v:.3}</td></tr>");
        }
        if let Some(error) = m.test_error {
            let _ = writeln!(
                page,
                "<tr><td>test classification error of q(y|x)</td><td class=\"num\">{:.2}%</td></tr>",
                100.0 * error
            );
        }
    }
    match input.evaluation {
        _ if adversarial => {}
        Some(e) => {
            let _ = writeln!(
                page,
                "<tr><td>test log p(x), importance-sampled, K = {}</td><td class=\"num\">{:.3} ± {:.3}</td></tr>",
                e.iw_samples, e.log_likelihood, e.log_likelihood_stderr
            );
        }
        None => {
            let _ = writeln!(
                page,
                "<tr><td>test log p(x)</td><td>not evaluated yet: <code>vae eval --model {}</code></td></tr>",
                escape(input.run)
            );
        }
    }
    page.push_str("</table>\n");

    page.push_str("<h2>Figures</h2>\n<div class=\"grid\">\n");
    let engine = base64::engine::general_purpose::STANDARD;
    for f in input.figures {
        let _ = writeln!(
            page,
            "<figure><h3>{title}</h3><img alt=\"{title}\" src=\"data:image/png;base64,{data}\"><figcaption>{caption}</figcaption></figure>",
            title = escape(&f.title),
            caption = escape(&f.caption),
            data = engine.encode(&f.png)
        );
    }
    page.push_str("</div>\n<h2>config.json</h2>\n<pre>");
    page.push_str(&escape(
        &serde_json::to_string_pretty(c).unwrap_or_default(),
    ));
    page.push_str("</pre>\n</body></html>\n");
    page
}
