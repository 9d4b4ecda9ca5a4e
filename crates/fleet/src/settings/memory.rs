//! The memory of the machine this process runs on, for budgets given as a share of it: the
//! physical memory (`MemTotal` in /proc/meminfo), or the cgroup's limit when it is lower (a
//! container, a Slurm job).

/// Bytes of memory this process may use at most, if they can be read.
pub fn machine_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| mem_total(&t));
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().and_then(|t| t.trim().parse::<u64>().ok()));
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

/// `MemTotal` of /proc/meminfo's text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemTotal:       24576000 kB\nMemFree:        1000 kB\n";
        assert_eq!(mem_total(text), Some(24_576_000 * 1024));
        assert_eq!(mem_total("nothing here"), None);
    }

    #[test]
    fn this_machine_has_some_memory() {
        // Linux CI machines have /proc; an unlimited cgroup reads "max" and is ignored.
        let bytes = machine_bytes().expect("/proc/meminfo is readable");
        assert!(bytes > 64 << 20, "{bytes}");
    }
}
