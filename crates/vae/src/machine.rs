//! Facts about the machine: the memory that bounds what untrusted sizes may ask for, and the
//! provenance every record of a measurement carries (CPU, threads, date, version).

/// Physical memory in bytes (`MemTotal` of /proc/meminfo), or None where that is not known.
/// A file or flag claiming more values than this cannot be held and is refused before reading.
pub fn memory_bytes() -> Option<u64> {
    kib_field("/proc/meminfo", "MemTotal:")
}

/// A `NAME: N kB` line of a /proc file, in bytes.
fn kib_field(file: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Memory the system says is available to a new allocation without swapping (`MemAvailable` of
/// /proc/meminfo), or None where that is not known.
pub fn available_bytes() -> Option<u64> {
    kib_field("/proc/meminfo", "MemAvailable:")
}

/// What is left of this process's address-space limit (`ulimit -v`, `RLIMIT_AS`) beyond what it
/// has mapped already (`VmSize`); None when there is no limit or it cannot be read.
pub fn address_space_left() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the limit into the struct it is given, nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
            || limit.rlim_cur == libc::RLIM_INFINITY
        {
            return None;
        }
        let used = kib_field("/proc/self/status", "VmSize:")?;
        Some(limit.rlim_cur.saturating_sub(used))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The CPU's name and its clock as the kernel reports it (`model name` and `cpu MHz` of
/// /proc/cpuinfo; on a virtual machine the clock is the nominal one, not the boost clock).
pub fn cpu() -> (Option<String>, Option<f64>) {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return (None, None);
    };
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    (
        field("model name"),
        field("cpu MHz").and_then(|v| v.parse().ok()),
    )
}

/// Where and with what a number was measured: written into every record a command keeps
/// (`vae eval --json`, `result.json` of `vae reproduce`, `vae bench`), so a number quoted in the
/// docs names its CPU, thread count, date and version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// `model name` of /proc/cpuinfo, where known.
    pub cpu: Option<String>,
    /// The logical CPUs this process may run on.
    pub logical_cpus: usize,
    /// The compute threads the measurement used.
    pub threads: usize,
    /// When it was measured, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date: String,
    /// The crate's version.
    pub version: String,
    /// The git commit the binary was built from (`-modified` when its sources differed from
    /// it), where the build could tell.
    pub commit: Option<String>,
}

impl Provenance {
    /// This machine, now, measuring with `threads` compute threads.
    pub fn now(threads: usize) -> Self {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Provenance {
            cpu: cpu().0,
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            threads,
            date: utc_date(seconds),
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit: option_env!("VAE_BUILD_COMMIT").map(str::to_string),
        }
    }
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ` (the proleptic Gregorian calendar; the
/// days-to-civil conversion of Howard Hinnant's `chrono`-compatible date algorithms).
pub fn utc_date(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_is_known_and_plausible_on_linux() {
        // Every machine the project builds on is Linux, where /proc/meminfo is always there: a
        // memory that cannot be read is a failure, not a pass.
        let bytes = super::memory_bytes();
        if cfg!(target_os = "linux") {
            let bytes = bytes.unwrap_or(0);
            assert!(bytes > 1 << 26, "{bytes} bytes of memory");
        }
    }

    #[test]
    fn utc_dates_match_known_instants() {
        // `date -u -d @SECONDS +%FT%TZ` for each.
        assert_eq!(super::utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc_date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc_date(1_796_544_000), "2026-12-06T08:00:00Z");
        assert_eq!(super::utc_date(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn provenance_names_the_threads_and_a_date() {
        let p = super::Provenance::now(3);
        assert_eq!(p.threads, 3);
        assert_eq!(p.date.len(), 20, "{}", p.date);
        assert!(p.logical_cpus >= 1);
        assert_eq!(p.version, env!("CARGO_PKG_VERSION"));
    }
}
