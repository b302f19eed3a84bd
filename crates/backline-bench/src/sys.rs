//! What the tool reads from `/proc`: the server's resident memory, the CPU
//! time of the server's threads, of a database server and of the tool itself,
//! the server's pid from its listening port, and the open-file limits of both
//! processes.
//!
//! Everything here is Linux-only and best effort: a value that cannot be read
//! is `None` and the report says "n/a".

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// The pid of the process listening on TCP `port` (IPv4 or IPv6), found by
/// matching the socket inode of `/proc/net/tcp*` against `/proc/*/fd`.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if cols.len() < 10 || cols[3] != "0A" {
                continue;
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", cols[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let me = std::process::id();
    for (pid, dir) in processes() {
        if pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(dir.join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = fs::read_link(fd.path()) {
                if inodes
                    .iter()
                    .any(|inode| target.as_os_str() == inode.as_str())
                {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// The running processes: their pids and `/proc` directories.
fn processes() -> impl Iterator<Item = (u32, std::path::PathBuf)> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((pid, entry.path()))
        })
}

/// The soft and hard "Max open files" of a process (`None` = unlimited or unreadable).
pub fn nofile_limits(pid: u32) -> Option<(u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let cols: Vec<&str> = line["Max open files".len()..].split_whitespace().collect();
    let soft = cols.first()?.parse().ok()?;
    let hard = cols.get(1)?.parse().ok()?;
    Some((soft, hard))
}

/// Makes sure this process may open `needed` files. Raises the soft limit up
/// to the hard one with `prlimit(1)` when that helps (no unsafe code needed),
/// else fails with a message that says what to do.
pub fn ensure_own_nofile(needed: u64) -> anyhow::Result<()> {
    let pid = std::process::id();
    let Some((soft, hard)) = nofile_limits(pid) else {
        return Ok(());
    };
    if soft >= needed {
        return Ok(());
    }
    if hard >= needed {
        let status = Command::new("prlimit")
            .arg(format!("--pid={pid}"))
            .arg(format!("--nofile={hard}:{hard}"))
            .status();
        if matches!(status, Ok(s) if s.success()) {
            if let Some((soft, _)) = nofile_limits(pid) {
                if soft >= needed {
                    eprintln!(
                        "raised this process's open-file limit from its soft value to {soft}"
                    );
                    return Ok(());
                }
            }
        }
    }
    anyhow::bail!(
        "the open-file limit is too low for this many agents: soft {soft}, hard {hard}, \
         need at least {needed} (one socket per agent plus some). \
         Run `ulimit -n {needed}` (as root you may first raise the hard limit) and try again."
    )
}

/// CPU time a process (or one of its threads) has used: user and kernel, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticks {
    pub user: u64,
    pub kernel: u64,
}

/// The fields of a `/proc/.../stat` line after the command name (which may
/// hold spaces and parentheses): index 0 is the state, 1 the parent pid,
/// 11 `utime` and 12 `stime`.
fn stat_fields(text: &str) -> Option<Vec<&str>> {
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().collect())
}

fn ticks_of(stat: &str) -> Option<Ticks> {
    let fields = stat_fields(stat)?;
    Some(Ticks {
        user: fields.get(11)?.parse().ok()?,
        kernel: fields.get(12)?.parse().ok()?,
    })
}

/// A process's threads' CPU time, summed by thread name (`backline-writer`,
/// `tokio-rt-worker` …).
pub fn cpu_by_thread(pid: u32) -> BTreeMap<String, Ticks> {
    let mut by_name: BTreeMap<String, Ticks> = BTreeMap::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let (Ok(name), Ok(stat)) = (
            fs::read_to_string(task.path().join("comm")),
            fs::read_to_string(task.path().join("stat")),
        ) else {
            continue;
        };
        if let Some(ticks) = ticks_of(&stat) {
            let entry = by_name.entry(name.trim().to_owned()).or_default();
            entry.user += ticks.user;
            entry.kernel += ticks.kernel;
        }
    }
    by_name
}

/// The CPU time of a process and of all its descendants (a database
/// server's postmaster and its backends), as far as they are still running.
pub fn cpu_of_tree(root: u32) -> Ticks {
    let mut parents: Vec<(u32, u32, Ticks)> = Vec::new();
    for (pid, dir) in processes() {
        let Ok(stat) = fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        let parent = stat_fields(&stat)
            .and_then(|f| f.get(1).and_then(|p| p.parse::<u32>().ok()))
            .unwrap_or(0);
        if let Some(ticks) = ticks_of(&stat) {
            parents.push((pid, parent, ticks));
        }
    }
    let mut tree = vec![root];
    let mut total = Ticks::default();
    let mut i = 0;
    while i < tree.len() {
        let pid = tree[i];
        for (child, parent, ticks) in &parents {
            if *child == pid {
                total.user += ticks.user;
                total.kernel += ticks.kernel;
            }
            if *parent == pid && !tree.contains(child) {
                tree.push(*child);
            }
        }
        i += 1;
    }
    total
}

/// This process's own CPU time (all its threads).
pub fn own_cpu() -> Ticks {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| ticks_of(&stat))
        .unwrap_or_default()
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked).
pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_with_spaces_and_parentheses_in_the_name_is_read() {
        let line = "4242 (tokio (rt) worker) S 17 4242 4242 0 -1 4194624 100 0 0 0 \
                    250 75 0 0 20 0 9 0 1000 1000000 100";
        assert_eq!(
            ticks_of(line),
            Some(Ticks {
                user: 250,
                kernel: 75
            })
        );
        assert_eq!(
            stat_fields(line).and_then(|f| f.get(1).copied()),
            Some("17")
        );
    }

    #[test]
    fn this_process_is_counted_in_its_own_tree_and_by_thread() {
        // Burn a little CPU so that the counts cannot all be zero.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert_ne!(x, 1);
        let me = std::process::id();
        let own = own_cpu();
        let tree = cpu_of_tree(me);
        assert!(own.user + own.kernel > 0, "{own:?}");
        assert!(
            tree.user + tree.kernel >= own.user + own.kernel,
            "{tree:?} {own:?}"
        );
        let threads = cpu_by_thread(me);
        assert!(!threads.is_empty());
        assert!(ticks_per_second() > 0.0);
    }
}
