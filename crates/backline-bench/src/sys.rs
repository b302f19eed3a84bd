//! What the tool reads from `/proc`: the server's resident memory, the server's
//! pid from its listening port, and the open-file limits of both processes.
//!
//! Everything here is Linux-only and best effort: a value that cannot be read
//! is `None` and the report says "n/a".

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
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
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
