//! The running process as an [`Image`]: its mappings from `/proc/self/maps`, its memory
//! through `/proc/self/mem`. Reading through the file instead of through pointers needs no
//! `unsafe` and cannot fault: an address that is not mapped is just an error.

use crate::check::Image;
use crate::model::{Arch, Region};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// This process, as the kernel sees it: the regions are its mappings, so "one executable
/// section" becomes "one executable mapping".
#[derive(Debug)]
pub struct ProcessImage {
    arch: Arch,
    regions: Vec<Region>,
    mem: File,
}

impl ProcessImage {
    /// The current process; fails on an architecture the checker does not know, or where
    /// `/proc` is not mounted.
    pub fn current() -> io::Result<Self> {
        let arch = Arch::current().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "no rseq signature known for this architecture",
            )
        })?;
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        Ok(ProcessImage {
            arch,
            regions: maps.lines().filter_map(mapping).collect(),
            mem: File::open("/proc/self/mem")?,
        })
    }
}

/// One line of `/proc/self/maps`: `start-end perms offset dev inode [path]`.
fn mapping(line: &str) -> Option<Region> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let perms = fields.next()?;
    let path = fields.nth(3).unwrap_or("[anonymous]");
    Some(Region {
        name: path.to_string(),
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        executable: perms.as_bytes().get(2) == Some(&b'x'),
    })
}

impl Image for ProcessImage {
    fn arch(&self) -> Arch {
        self.arch
    }

    fn big_endian(&self) -> bool {
        cfg!(target_endian = "big")
    }

    fn regions(&self) -> &[Region] {
        &self.regions
    }

    fn read(&self, address: u64, buf: &mut [u8]) -> bool {
        self.mem.read_exact_at(buf, address).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_maps_line() {
        let line = "55d0c0a00000-55d0c0a21000 r-xp 00001000 fe:01 1234   /usr/bin/true";
        let region = mapping(line).unwrap();
        assert_eq!(
            region,
            Region {
                name: "/usr/bin/true".into(),
                start: 0x55d0c0a00000,
                end: 0x55d0c0a21000,
                executable: true,
            }
        );
        let anonymous = mapping("7ffd1000-7ffd2000 rw-p 00000000 00:00 0").unwrap();
        assert_eq!(anonymous.name, "[anonymous]");
        assert!(!anonymous.executable);
    }

    #[test]
    fn reads_its_own_memory() {
        let image = ProcessImage::current().unwrap();
        let word: u64 = 0x0123_4567_89ab_cdef;
        let address = &word as *const u64 as u64;
        assert_eq!(image.u64_at(address), Some(word));
        assert!(image
            .region_of(reads_its_own_memory as fn() as usize as u64)
            .is_some_and(|r| r.executable));
        assert_eq!(image.u64_at(0), None, "page 0 is never mapped");
    }
}
