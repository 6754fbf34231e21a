//! How a sandboxed run can fail. The codes are part of the API: clients match on them.

use std::fmt;

/// Why a program did not produce an output. `logs` holds what it printed before it failed,
/// so a user testing a tool sees how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxError {
    pub code: SandboxErrorCode,
    pub message: String,
    pub logs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SandboxErrorCode {
    /// The CPU budget ran out.
    Timeout,
    /// The program asked for more memory than its limit.
    MemoryLimit,
    /// The output or the logs went over their cap.
    OutputTooLarge,
    /// The module or script is over the size limit.
    ModuleTooLarge,
    /// Not a WebAssembly module Weft can run (does not validate, wrong imports, no `_start`).
    InvalidModule,
    /// The program threw, trapped or exited with a non-zero code; for a save-time check, the
    /// script does not parse.
    ScriptError,
    /// The program finished but its output is not the JSON the ABI asks for.
    InvalidOutput,
    /// Unbounded recursion.
    StackOverflow,
    /// `stopExecution` (or another cancellation) interrupted the run.
    Cancelled,
    /// Weft's fault, not the program's.
    Internal,
}

impl SandboxErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "TIMEOUT",
            Self::MemoryLimit => "MEMORY_LIMIT",
            Self::OutputTooLarge => "OUTPUT_TOO_LARGE",
            Self::ModuleTooLarge => "MODULE_TOO_LARGE",
            Self::InvalidModule => "INVALID_MODULE",
            Self::ScriptError => "SCRIPT_ERROR",
            Self::InvalidOutput => "INVALID_OUTPUT",
            Self::StackOverflow => "STACK_OVERFLOW",
            Self::Cancelled => "CANCELLED",
            Self::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for SandboxErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SandboxError {
    pub fn new(code: SandboxErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            logs: Vec::new(),
        }
    }

    pub(crate) fn with_logs(mut self, logs: Vec<String>) -> Self {
        self.logs = logs;
        self
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(SandboxErrorCode::Internal, message)
    }
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SandboxError {}

#[cfg(test)]
mod tests {
    use super::SandboxErrorCode::*;

    #[test]
    fn every_code_has_its_documented_name() {
        let names: Vec<_> = [
            Timeout,
            MemoryLimit,
            OutputTooLarge,
            ModuleTooLarge,
            InvalidModule,
            ScriptError,
            InvalidOutput,
            StackOverflow,
            Cancelled,
            Internal,
        ]
        .iter()
        .map(|c| c.as_str())
        .collect();
        assert_eq!(
            names,
            [
                "TIMEOUT",
                "MEMORY_LIMIT",
                "OUTPUT_TOO_LARGE",
                "MODULE_TOO_LARGE",
                "INVALID_MODULE",
                "SCRIPT_ERROR",
                "INVALID_OUTPUT",
                "STACK_OVERFLOW",
                "CANCELLED",
                "INTERNAL",
            ]
        );
    }
}
