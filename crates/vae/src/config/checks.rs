//! What a model configuration must satisfy before it is built: its parameter count, planned from
//! the layer lists alone, and the checks that name what is wrong.

use super::image::reads_image;
use super::model::{
    DrawConfig, GaussianVariance, LikelihoodKind, ModelConfig, ModelKind, ENCODER_HEADS,
    MAX_DRAW_STEPS, MAX_PARAMETERS, MIN_LOG_VAR_RANGE, OUTPUT_HEAD,
};
use crate::error::{Error, Result};
use crate::kernels::attention::WINDOW_PARAMS;
use crate::nn::spec::{self, LayerSpec};

impl ModelConfig {
    /// The number of parameters the networks of this configuration hold, computed from the sizes
    /// alone (no memory taken); `None` when it overflows.
    pub fn parameter_count(&self) -> Option<usize> {
        /// Adds the parameters of `layers` reading `shape`; the output shape. A list that cannot
        /// read its input stops the count there: building it fails at that layer, naming it.
        fn body(
            layers: &[LayerSpec],
            mut shape: Vec<usize>,
            total: &mut usize,
        ) -> Option<Vec<usize>> {
            for layer in layers {
                match layer.plan(&shape) {
                    Ok(plan) => {
                        *total = total.checked_add(plan.parameters)?;
                        shape = plan.shape;
                    }
                    Err(_) => break,
                }
            }
            Some(shape)
        }
        fn dense(total: &mut usize, shape: &[usize], out: usize) -> Option<()> {
            let width = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
            *total = total.checked_add(width.checked_mul(out)?.checked_add(out)?)?;
            Some(())
        }
        let image = self.image;
        let pixels = image
            .height
            .checked_mul(image.width)?
            .checked_mul(image.channels)?;
        let input = |layers: &[LayerSpec], classes: usize| -> Option<Vec<usize>> {
            Some(if reads_image(layers) {
                vec![
                    image.height,
                    image.width,
                    image.channels.checked_add(classes)?,
                ]
            } else {
                vec![pixels.checked_add(classes)?]
            })
        };
        let mut total = 0usize;
        if let Some(discriminator) = &self.discriminator {
            let shape = body(&self.decoder, vec![self.latent], &mut total)?;
            if shape != [image.height, image.width, image.channels] {
                dense(&mut total, &shape, pixels)?;
            }
            let shape = body(discriminator, input(discriminator, 0)?, &mut total)?;
            if shape.iter().product::<usize>() != 1 {
                dense(&mut total, &shape, 1)?;
            }
            return Some(total);
        }
        if let Some(draw) = &self.draw {
            return draw_parameter_count(draw, image, self.latent).and_then(|n| {
                match self.likelihood.is_gaussian() {
                    true => n.checked_add(match self.gaussian_variance {
                        GaussianVariance::Pixel => pixels,
                        GaussianVariance::Image => 1,
                    }),
                    false => Some(n),
                }
            });
        }
        let heads = if self.kind == ModelKind::Ae { 1 } else { 2 };
        let shape = body(
            &self.encoder,
            input(&self.encoder, self.joint_width())?,
            &mut total,
        )?;
        dense(&mut total, &shape, self.latent.checked_mul(heads)?)?;
        let shape = body(
            &self.decoder,
            vec![self.latent.checked_add(self.decoder_classes())?],
            &mut total,
        )?;
        if shape != [image.height, image.width, image.channels] {
            dense(&mut total, &shape, pixels)?;
        }
        if self.likelihood.is_gaussian() {
            total = total.checked_add(match self.gaussian_variance {
                GaussianVariance::Pixel => pixels,
                GaussianVariance::Image => 1,
            })?;
        }
        if let Some(classifier) = &self.classifier {
            let shape = body(classifier, input(classifier, 0)?, &mut total)?;
            dense(&mut total, &shape, self.classes)?;
        }
        if let Some(modality) = &self.modality {
            // JMVAE's q(z | x) beside q(z | x, w), then q(z | w) and p(w | z).
            let shape = body(&self.encoder, input(&self.encoder, 0)?, &mut total)?;
            dense(&mut total, &shape, self.latent.checked_mul(2)?)?;
            let shape = body(&modality.encoder, vec![self.joint_width()], &mut total)?;
            dense(&mut total, &shape, self.latent.checked_mul(2)?)?;
            let shape = body(&modality.decoder, vec![self.latent], &mut total)?;
            dense(&mut total, &shape, self.joint_width())?;
        }
        if let Some(top) = &self.top {
            let shape = body(&top.encoder, vec![self.latent], &mut total)?;
            dense(&mut total, &shape, top.latent.checked_mul(2)?)?;
            let shape = body(&top.prior, vec![top.latent], &mut total)?;
            dense(&mut total, &shape, self.latent.checked_mul(2)?)?;
        }
        Some(total)
    }

    /// A GAN: unconditional, one stochastic input, a generator (`decoder`) and a discriminator;
    /// an encoder for a VAE-GAN alone.
    fn validate_gan(&self) -> Result<()> {
        let Some(discriminator) = &self.discriminator else {
            return Err(Error::Config(
                "a GAN needs a discriminator layer list".into(),
            ));
        };
        if self.classes > 0 || self.top.is_some() || self.features.is_some() {
            return Err(Error::Config(
                "a GAN here is unconditional, with z ~ N(0, I) its only input".into(),
            ));
        }
        if self.kind == ModelKind::VaeGan && self.encoder.is_empty() {
            return Err(Error::Config(
                "a VAE-GAN needs an encoder layer list".into(),
            ));
        }
        if self.kind != ModelKind::VaeGan && !self.encoder.is_empty() {
            return Err(Error::Config(
                "a GAN has no encoder: leave its layer list empty".into(),
            ));
        }
        if self.likelihood != LikelihoodKind::Bernoulli {
            return Err(Error::Config(
                "a GAN's generator draws sigmoid(output) and has no likelihood: leave it bernoulli"
                    .into(),
            ));
        }
        spec::validate(discriminator, "discriminator", &OUTPUT_HEAD)
    }

    /// Refuses a model that cannot be built (an empty latent, lists that do not fit the image,
    /// heads named twice, too many parameters, ...), naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.image.is_empty() {
            return Err(Error::Config(format!(
                "image shape {} has no pixels",
                self.image
            )));
        }
        if self.latent == 0 {
            return Err(Error::Config("latent size must be at least 1".into()));
        }
        if self.classes == 1 || self.classes > 256 {
            return Err(Error::Config(format!(
                "a conditional model needs 2 to 256 classes, not {}",
                self.classes
            )));
        }
        match self.kind {
            ModelKind::Ae if self.classes > 0 => {
                return Err(Error::Config(
                    "the plain autoencoder is unconditional: classes must be 0".into(),
                ))
            }
            ModelKind::M2 if self.classes == 0 => {
                return Err(Error::Config(
                    "the M2 model needs labelled classes (classes >= 2)".into(),
                ))
            }
            ModelKind::M2 if self.classifier.is_none() => {
                return Err(Error::Config(
                    "the M2 model needs a classifier layer list".into(),
                ))
            }
            ModelKind::Jmvae
                if self.modality.is_none()
                    || (self.classes == 0) == self.attributes().is_empty() =>
            {
                return Err(Error::Config(
                    "the JMVAE model needs the networks of w (modality) and w itself: labelled classes (classes >= 2) or binary attributes, not both".into(),
                ))
            }
            ModelKind::Draw => self.validate_draw()?,
            ModelKind::Gan | ModelKind::Dcgan | ModelKind::VaeGan => self.validate_gan()?,
            ModelKind::Jmvae if self.top.is_some() || self.features.is_some() => {
                return Err(Error::Config(
                    "the JMVAE model has one stochastic layer and reads images".into(),
                ))
            }
            _ => {}
        }
        if self.kind != ModelKind::Draw && self.draw.is_some() {
            return Err(Error::Config(
                "the painting steps (draw) apply to the draw model only".into(),
            ));
        }
        if !self.kind.is_adversarial() && self.discriminator.is_some() {
            return Err(Error::Config(
                "a discriminator applies to the gan, dcgan and vae-gan models only".into(),
            ));
        }
        if self.kind != ModelKind::Jmvae && self.modality.is_some() {
            return Err(Error::Config(
                "the label's networks (modality) apply to the jmvae model only".into(),
            ));
        }
        if let Some(modality) = &self.modality {
            let names = &modality.attributes;
            if names.len() > super::MAX_ATTRIBUTES
                || names
                    .iter()
                    .enumerate()
                    .any(|(i, n)| n.is_empty() || names[..i].contains(n))
            {
                return Err(Error::Config(format!(
                    "attributes must be at most {} distinct non-empty names",
                    super::MAX_ATTRIBUTES
                )));
            }
            spec::validate(&modality.encoder, "label encoder", &ENCODER_HEADS)?;
            spec::validate(&modality.decoder, "label decoder", &OUTPUT_HEAD)?;
            if reads_image(&modality.encoder) || reads_image(&modality.decoder) {
                return Err(Error::Config(
                    "the label's networks read flat rows: dense layers and activations only".into(),
                ));
            }
        }
        if self.kind != ModelKind::M2 && self.classifier.is_some() {
            return Err(Error::Config(
                "a classifier applies to the m2 model only".into(),
            ));
        }
        spec::validate(&self.encoder, "encoder", &ENCODER_HEADS)?;
        spec::validate(&self.decoder, "decoder", &OUTPUT_HEAD)?;
        if let Some(classifier) = &self.classifier {
            spec::validate(classifier, "classifier", &OUTPUT_HEAD)?;
        }
        if let Some(top) = &self.top {
            if self.kind != ModelKind::Vae || self.classes > 0 {
                return Err(Error::Config(
                    "a second stochastic layer is built for the unconditional VAE only".into(),
                ));
            }
            if top.latent == 0 {
                return Err(Error::Config(
                    "the top latent size must be at least 1".into(),
                ));
            }
            spec::validate(&top.encoder, "top encoder", &ENCODER_HEADS)?;
            spec::validate(&top.prior, "top prior", &ENCODER_HEADS)?;
        }
        match (&self.features, self.likelihood) {
            (Some(features), LikelihoodKind::GaussianIdentity) => {
                features.validate()?;
                if self.kind != ModelKind::M2 || self.image != features.code_shape() {
                    return Err(Error::Config(format!(
                        "features are read by an m2 model whose image is {}, not a {} {}",
                        features.code_shape(),
                        self.kind_name(),
                        self.image
                    )));
                }
            }
            (None, LikelihoodKind::GaussianIdentity) | (Some(_), _) => {
                return Err(Error::Config(
                    "the gaussian-identity likelihood and features go together (M1 + M2)".into(),
                ))
            }
            (None, _) => {}
        }
        if self.kind == ModelKind::M2 && reads_image(&self.encoder) {
            return Err(Error::Config(
                "m2's encoder reads each unlabelled image under every label through its first dense layer; a convolutional m2 encoder is not supported yet".into(),
            ));
        }
        // Checked before any network is built, so an absurd size in config.json or a flag is an
        // error, not an allocation of gigabytes.
        match self.parameter_count() {
            Some(n) if n <= MAX_PARAMETERS => {}
            count => {
                return Err(Error::Config(format!(
                    "these networks would hold {} parameters, more than the {MAX_PARAMETERS} (4 GiB) a model may have",
                    count.map_or("more than 2^64".to_string(), |n| n.to_string())
                )))
            }
        }
        // Pixels lie in [0, 1]: a variance floor outside e^±30 means nothing for them, and far
        // outside it exp() overflows (1e308 gave an ELBO of -inf).
        if !(MIN_LOG_VAR_RANGE.0..=MIN_LOG_VAR_RANGE.1).contains(&self.min_log_var) {
            return Err(Error::Config(format!(
                "min_log_var {:?} is outside [{}, {}]",
                self.min_log_var, MIN_LOG_VAR_RANGE.0, MIN_LOG_VAR_RANGE.1
            )));
        }
        Ok(())
    }
}

/// DRAW's parameters: two LSTM cells, the posterior's heads, the write layer and, with attention,
/// the two window layers; `None` on overflow.
fn draw_parameter_count(
    draw: &DrawConfig,
    image: super::ImageShape,
    latent: usize,
) -> Option<usize> {
    let h = draw.lstm;
    let dense = |i: usize, o: usize| i.checked_mul(o)?.checked_add(o);
    let lstm = |i: usize| {
        h.checked_mul(4)?
            .checked_mul(i.checked_add(h)?.checked_add(2)?)
    };
    let read = match draw.attention {
        Some(a) => a.read.checked_mul(a.read)?.checked_mul(image.channels)?,
        None => image
            .height
            .checked_mul(image.width)?
            .checked_mul(image.channels)?,
    }
    .checked_mul(2)?;
    let write = match draw.attention {
        Some(a) => a.write.checked_mul(a.write)?.checked_mul(image.channels)?,
        None => image
            .height
            .checked_mul(image.width)?
            .checked_mul(image.channels)?,
    };
    let windows = match draw.attention {
        Some(_) => dense(h, WINDOW_PARAMS)?.checked_mul(2)?,
        None => 0,
    };
    lstm(read.checked_add(h)?)?
        .checked_add(lstm(latent)?)?
        .checked_add(dense(h, latent.checked_mul(2)?)?)?
        .checked_add(dense(h, write)?)?
        .checked_add(windows)
}

impl ModelConfig {
    /// A DRAW's steps, sizes and grids, and the fields it leaves empty.
    fn validate_draw(&self) -> Result<()> {
        let Some(draw) = &self.draw else {
            return Err(Error::Config(
                "the draw model needs its painting steps (draw)".into(),
            ));
        };
        if !self.encoder.is_empty() || !self.decoder.is_empty() {
            return Err(Error::Config(
                "a DRAW's networks are its LSTMs: encoder and decoder lists must be empty".into(),
            ));
        }
        if self.classes > 0 || self.top.is_some() || self.features.is_some() {
            return Err(Error::Config(
                "the draw model is unconditional, with one latent per step, on images".into(),
            ));
        }
        if !(1..=MAX_DRAW_STEPS).contains(&draw.steps) {
            return Err(Error::Config(format!(
                "draw steps must be 1 to {MAX_DRAW_STEPS}, not {}",
                draw.steps
            )));
        }
        if draw.lstm == 0 {
            return Err(Error::Config("the LSTMs need at least 1 unit".into()));
        }
        if let Some(a) = draw.attention {
            let side = self.image.height.min(self.image.width);
            for (what, n) in [("read", a.read), ("write", a.write)] {
                if n == 0 || n > side {
                    return Err(Error::Config(format!(
                        "the {what} grid of {n}x{n} filters does not fit the {} image: it takes 1 to {side} filters a side",
                        self.image
                    )));
                }
            }
        }
        Ok(())
    }
}
