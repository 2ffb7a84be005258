//! `weft run`'s resource limits: `--max-heap`, `--max-vm-heap`,
//! `--max-mailbox`, `--max-processes`, and the defaults taken from the
//! machine when they are not given (docs/LANGUAGE.md, "Limits").
//!
//! Without flags a script still cannot make the allocator fail (which
//! aborts the whole program, exit 134, losing what it printed): the VM's
//! heap limit defaults to three quarters of the memory the machine gives
//! the program — physical memory, or a container's cgroup limit when lower
//! — as BEAM's memory limits and a container's limit do. A process that
//! passes a limit dies with a `:system_limit` report and the VM goes on.

/// The limits a run was given, `None` where the default applies.
#[derive(Default, Debug, Clone)]
pub struct Given {
    pub max_heap: Option<usize>,
    pub max_vm_heap: Option<usize>,
    pub max_mailbox: Option<usize>,
    pub max_processes: Option<usize>,
}

impl Given {
    /// Takes a limit option and its value from the front of `args`; how
    /// many arguments it used (0 if the first is not a limit option).
    pub fn take(&mut self, args: &[String]) -> Result<usize, String> {
        let Some(option) = args.first() else {
            return Ok(0);
        };
        let (name, inline) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (option.as_str(), None),
        };
        if !matches!(
            name,
            "--max-heap" | "--max-vm-heap" | "--max-mailbox" | "--max-processes"
        ) {
            return Ok(0);
        }
        let (value, used) = match inline {
            Some(value) => (value, 1),
            None => match args.get(1) {
                Some(value) => (value.clone(), 2),
                None => return Err(format!("{name} needs a value")),
            },
        };
        match name {
            "--max-heap" | "--max-vm-heap" => {
                let bytes = parse_size(&value).filter(|&b| b > 0).ok_or_else(|| {
                    format!("{name} needs a size such as 256M, 2G or 1048576, got {value:?}")
                })?;
                if name == "--max-heap" {
                    self.max_heap = Some(bytes);
                } else {
                    self.max_vm_heap = Some(bytes);
                }
            }
            _ => {
                let n = value
                    .replace('_', "")
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("{name} needs a positive number, got {value:?}"))?;
                if name == "--max-mailbox" {
                    self.max_mailbox = Some(n);
                } else {
                    self.max_processes = Some(n);
                }
            }
        }
        Ok(used)
    }

    /// The builder with these limits, and the machine's defaults for the
    /// ones not given.
    pub fn apply(&self, mut builder: weft_vm::VmBuilder) -> weft_vm::VmBuilder {
        let vm_heap = self.max_vm_heap.unwrap_or_else(default_vm_heap);
        builder = builder.max_vm_heap(vm_heap);
        if let Some(bytes) = self.max_heap {
            builder = builder.max_heap(bytes);
        }
        if let Some(n) = self.max_mailbox {
            builder = builder.max_mailbox(n);
        }
        if let Some(n) = self.max_processes {
            builder = builder.max_processes(n);
        }
        builder
    }
}

/// Reads a size as people write one: `256M`, `1G`, `512k`, `1.5G`, or a
/// number of bytes (`1048576`); `K`, `M`, `G` and `T` are powers of 1024,
/// with or without a trailing `B` or `iB`.
pub fn parse_size(text: &str) -> Option<usize> {
    let upper = text.trim().to_ascii_uppercase();
    let number_end = upper
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(upper.len());
    let (number, unit) = upper.split_at(number_end);
    let number: f64 = number.replace('_', "").parse().ok()?;
    let shift = match unit.trim().trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    let bytes = number * (1u64 << shift) as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < usize::MAX as f64).then_some(bytes as usize)
}

/// The memory this machine gives the program: physical memory, or the
/// cgroup's limit when it is lower (a container's). `None` where neither
/// can be read.
pub fn machine_memory() -> Option<usize> {
    match (physical_memory(), cgroup_limit()) {
        (Some(p), Some(c)) => Some(p.min(c)),
        (p, c) => p.or(c),
    }
}

/// The VM-wide heap limit when `--max-vm-heap` is not given: three
/// quarters of `machine_memory`, leaving room for the allocator's own
/// overhead and the rest of the system; 4 GiB where the machine cannot be
/// read.
pub fn default_vm_heap() -> usize {
    machine_memory().map_or(4 << 30, |bytes| bytes / 4 * 3)
}

#[cfg(target_os = "linux")]
fn physical_memory() -> Option<usize> {
    // /proc/meminfo: "MemTotal:       24587256 kB".
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(not(target_os = "linux"))]
fn physical_memory() -> Option<usize> {
    None
}

#[cfg(target_os = "linux")]
fn cgroup_limit() -> Option<usize> {
    // cgroup v2, then v1; "max" (or a huge v1 number) means no limit.
    for path in [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ] {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(bytes) = text.trim().parse::<u64>() {
                if bytes < (1 << 60) {
                    return usize::try_from(bytes).ok();
                }
            }
        }
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn cgroup_limit() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_people_write_them() {
        assert_eq!(parse_size("256M"), Some(256 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("512kb"), Some(512 << 10));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("12X"), None);
        assert_eq!(parse_size("-1M"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn limit_options_with_and_without_equals() {
        let mut given = Given::default();
        let args: Vec<String> = ["--max-heap", "256M", "x.weft"].map(String::from).to_vec();
        assert_eq!(given.take(&args), Ok(2));
        assert_eq!(given.take(&["--max-mailbox=1_000".to_string()]), Ok(1));
        assert_eq!(given.max_heap, Some(256 << 20));
        assert_eq!(given.max_mailbox, Some(1000));
        assert!(given
            .take(&["--max-processes".to_string(), "0".to_string()])
            .is_err());
        assert_eq!(given.take(&["x.weft".to_string()]), Ok(0));
        assert!(default_vm_heap() > 0);
    }
}
