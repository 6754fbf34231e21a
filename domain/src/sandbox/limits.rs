//! Per-run budgets, their defaults and caps, and the resource limiter that enforces memory.

use std::time::Duration;

/// The CPU budget a tool gets unless it asks for another.
pub const DEFAULT_CPU: Duration = Duration::from_secs(1);
/// No tool may ask for more CPU than this.
pub const MAX_CPU: Duration = Duration::from_secs(30);
pub const DEFAULT_MEMORY_BYTES: u64 = 64 * MIB;
/// No tool may ask for more memory than this.
pub const MAX_MEMORY_BYTES: u64 = 512 * MIB;
pub const DEFAULT_OUTPUT_BYTES: usize = 1024 * 1024;
pub const DEFAULT_LOG_BYTES: usize = 1024 * 1024;
/// A raw WebAssembly module larger than this is refused.
pub const MAX_MODULE_BYTES: usize = 8 * 1024 * 1024;
/// A JavaScript source larger than this is refused.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

const MIB: u64 = 1024 * 1024;
/// Enough for any real program's function tables; a table bomb hits it long before the
/// host notices the memory.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// What one run may use. [`Default`] gives the defaults a tool gets when it names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// CPU time for the run, measured from when it starts executing (waiting for a free
    /// slot does not count).
    pub cpu: Duration,
    /// Linear memory the program may grow to.
    pub memory_bytes: u64,
    /// Cap on the JSON the program writes as its result.
    pub output_bytes: usize,
    /// Cap on everything the program logs, all lines together.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu: DEFAULT_CPU,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            output_bytes: DEFAULT_OUTPUT_BYTES,
            log_bytes: DEFAULT_LOG_BYTES,
        }
    }
}

/// Grants memory up to the limit and remembers a refusal, so a trap that follows a failed
/// allocation is reported as `MEMORY_LIMIT` rather than as a crash of the program.
pub(crate) struct MemoryLimiter {
    memory_bytes: usize,
    pub(crate) refused: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(memory_bytes: u64) -> Self {
        Self {
            memory_bytes: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
            refused: false,
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = desired <= self.memory_bytes;
        self.refused |= !granted;
        Ok(granted)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = desired <= MAX_TABLE_ELEMENTS;
        self.refused |= !granted;
        Ok(granted)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}
