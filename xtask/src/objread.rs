//! Reads the probes' values back out of compiled object files (ELF or
//! Mach-O): nothing compiled for the target is ever run.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

/// The bytes of every `utun_probe_<i>` symbol, by `i`; `sizes[i]` says how
/// many bytes each has.
pub fn probe_values(path: &Path, sizes: &[usize]) -> Result<HashMap<usize, Vec<u8>>> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file = object::File::parse(&*data).with_context(|| format!("parsing {}", path.display()))?;
    let mut values = HashMap::new();
    for sym in file.symbols() {
        let Ok(name) = sym.name() else { continue };
        // Mach-O prefixes C symbols with an underscore.
        let name = name.strip_prefix('_').filter(|n| n.starts_with("utun_probe_")).unwrap_or(name);
        let Some(index) = name.strip_prefix("utun_probe_").and_then(|i| i.parse::<usize>().ok()) else { continue };
        let Some(&size) = sizes.get(index) else { bail!("{}: unexpected symbol {name}", path.display()) };
        let Some(section_index) = sym.section_index() else { bail!("{}: {name} has no section", path.display()) };
        let section = file.section_by_index(section_index)?;
        let start =
            sym.address().checked_sub(section.address()).with_context(|| format!("{name} lies before its section"))?
                as usize;
        let bytes =
            if section.kind() == SectionKind::UninitializedData || section.kind() == SectionKind::UninitializedTls {
                vec![0; size]
            } else {
                let data = section.data()?;
                data.get(start..start + size)
                    .with_context(|| format!("{}: {name} runs past its section", path.display()))?
                    .to_vec()
            };
        values.insert(index, bytes);
    }
    Ok(values)
}

/// A little-endian 64-bit value (both Apple targets and x86_64/aarch64 Linux
/// are little-endian; big-endian targets are refused before this is used).
pub fn u64_le(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(b)
}
