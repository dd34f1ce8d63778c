//! `vae train`: a fresh run or a resumed one, checkpointed after every epoch. The flags become a
//! run here and in `flags.rs` and `options.rs`; the library's `Run` trains it; `printer.rs`
//! shows it.

mod flags;
mod options;
mod printer;

use self::flags::{folder_options, fresh, fresh_dir, max_memory, resume};
use self::printer::Printer;
use super::common::{check_shape, count, load_dataset, thread_pool};
use crate::cli::{ModelArg, TrainArgs};
use anyhow::{bail, Context, Result};
use vae::collective::Collective;
use vae::data::Split;
use vae::run::{Run, M1};

/// `println!` on the rank that writes (every rank runs this command under MPI).
macro_rules! say {
    ($root:expr, $($arg:tt)*) => {
        if $root {
            println!($($arg)*);
        }
    };
}

pub fn run(args: TrainArgs, world: &dyn Collective) -> Result<()> {
    let root = world.is_root();
    let pool = thread_pool(args.threads)?;
    let data_dir = args.data.data_dir.as_deref();
    let max_memory = max_memory(args.max_memory.as_deref())?;
    let mut printer = Printer::new(root, world.rank());
    let (mut run, dataset) = match args.resume.clone() {
        Some(dir) => {
            let run = resume(&args, &dir, max_memory, world, &mut printer)?;
            let data_dir = data_dir.or(run.config().data_dir.as_deref());
            let dataset = load_dataset(&run.config().dataset, data_dir, &run.config().folder)?;
            check_shape(&dataset, run.config().model.data_image())?;
            (run, dataset)
        }
        None => {
            if args.features.is_some() && args.kind != Some(ModelArg::M2) {
                bail!("--features applies to --model m2 only");
            }
            let m1 =
                match &args.features {
                    Some(m1_dir) => Some(M1::load(m1_dir).with_context(|| {
                        format!("loading M1 from --features {}", m1_dir.display())
                    })?),
                    None => None,
                };
            let spec = match (&args.data.dataset, &m1) {
                (Some(spec), _) => spec.clone(),
                (None, Some(m1)) => m1.config.dataset.clone(),
                (None, None) => "mnist".into(),
            };
            let dir = fresh_dir(&args, &spec)?;
            let folder = match &m1 {
                Some(m1) if args.data.dataset.is_none() => m1.config.folder,
                _ => folder_options(&args, &spec)?,
            };
            let dataset = load_dataset(&spec, data_dir, &folder)?;
            (
                fresh(&args, spec, folder, &dataset, m1, dir, max_memory)?,
                dataset,
            )
        }
    };
    let epochs = run.config().train.epochs;
    if run.is_complete() {
        say!(
            root,
            "{} has already completed {}, {} asked for; pass a larger --epochs to continue",
            run.dir().display(),
            count(run.start_epoch(), "epoch"),
            epochs
        );
        return Ok(());
    }
    say!(
        root,
        "training {} on {} ({} train / {} test images, {}) for epochs {}..={} on {}; writing {}",
        run.config().model.describe().to_lowercase(),
        dataset.name,
        dataset.train.len(),
        dataset.test.len(),
        dataset.shape,
        run.start_epoch() + 1,
        epochs,
        count(pool.current_num_threads(), "thread"),
        run.dir().display()
    );
    let memory = run.memory();
    if let Some((largest, bytes)) = memory.largest() {
        say!(
            root,
            "memory plan: about {} for a training step ({} bytes; largest: {largest}, {})",
            vae::memory::human(memory.total()),
            memory.total(),
            vae::memory::human(*bytes)
        );
    }
    let class_names = dataset.class_names.clone();
    let data = pool.install(|| run.prepare(dataset, &mut printer))?;
    let batches = data.batches_per_epoch(run.config().train.batch_size) as u64;
    printer.start(batches, epochs);
    pool.install(|| run.train(&data, world, &mut printer))
        .map_err(|e| match e {
            vae::Error::NonFinite { .. } => anyhow::anyhow!("{e}; try a lower --lr"),
            e => anyhow::Error::new(e),
        })
        .context("training failed")?;
    if root {
        write_pictures(&run, &data.test, &class_names)?;
        println!("done: {}", run.dir().display());
    }
    Ok(())
}

/// The run's pictures and report, and a line naming them.
fn write_pictures(run: &Run, test: &Split, class_names: &[String]) -> Result<()> {
    let files = run.write_pictures(test, class_names)?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    match names.split_last() {
        Some((last, [])) => println!("wrote {last}"),
        Some((last, rest)) => println!("wrote {} and {last}", rest.join(", ")),
        None => {}
    }
    Ok(())
}
