//! Facts about the machine that bound what untrusted sizes may ask for.

/// Physical memory in bytes (`MemTotal` of /proc/meminfo), or None where that is not known.
/// A file or flag claiming more values than this cannot be held and is refused before reading.
pub fn memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
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

#[cfg(test)]
mod tests {
    #[test]
    fn memory_is_plausible_where_known() {
        if let Some(bytes) = super::memory_bytes() {
            assert!(bytes > 1 << 26, "{bytes} bytes of memory");
        }
    }
}
