//! Facts about the machine that bound what untrusted sizes may ask for.

/// Physical memory in bytes (`MemTotal` of /proc/meminfo), or None where that is not known.
/// A file or flag claiming more values than this cannot be held and is refused before reading.
pub fn memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
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
