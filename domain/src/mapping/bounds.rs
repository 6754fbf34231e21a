//! Size and nesting bounds on jq expressions and templates, checked on the text before any
//! parser sees it.
//!
//! # Why a scan before parsing
//!
//! jaq's lexer, parser and compiler, and minijinja's lexer and code generator, recurse once per
//! level of nesting and know no limit: a 200 KB `((((…))))` sent to `validateWorkflow`
//! overflowed a worker thread's stack and aborted the whole process. A stack overflow cannot be
//! caught, so it has to be made impossible before it starts. Two things do that:
//!
//! - this scan, one pass over the bytes without allocating, refuses text longer than
//!   [`MAX_EXPR_BYTES`] / [`MAX_TEMPLATE_BYTES`] and brackets (including jq's string
//!   interpolation `\(…)`) nested deeper than [`MAX_NESTING`];
//! - parsing and compiling then run on a stack segment of their own
//!   ([`COMPILE_STACK_BYTES`], reserved but only touched as used, as evaluation does). Nesting
//!   that needs no brackets (`1 + 1 + …`, `a | b | …`, `- - - 1`, `try try …`) is bounded by
//!   the size limit alone; the tests compile the deepest such shapes that fit in the size limit.
//!
//! The scan is deliberately approximate where that errs on the safe side: it does not know
//! every corner of either grammar, so malformed text may be counted a little differently than
//! the parser would read it; the parser still decides what is valid.

use super::expr::Position;

/// Longest jq expression accepted, in bytes. Workflow expressions are typically well under
/// a kilobyte; this leaves room for programs with many definitions.
pub const MAX_EXPR_BYTES: usize = 32 * 1024;

/// Longest template accepted, in bytes (templates also build webhook payloads, which carry
/// literal text).
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// Deepest nesting of brackets accepted in an expression or inside a template's tags.
pub const MAX_NESTING: usize = 128;

/// Size of the stack segment expressions and templates are parsed and compiled on. Only the
/// pages used are backed by memory; the deepest program within the bounds above uses a
/// fraction of it (see the tests).
pub const COMPILE_STACK_BYTES: usize = 256 << 20;

/// Why a text was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundsError {
    /// Longer than the limit.
    TooLong {
        /// Its length in bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Brackets nested deeper than [`MAX_NESTING`].
    TooDeep {
        /// Byte offset of the first bracket beyond the limit.
        offset: usize,
    },
}

impl BoundsError {
    /// A sentence naming what was wrong, for `what` ("expression", "template"); where it
    /// lies is [`Self::position`].
    pub fn describe(&self, what: &str) -> String {
        match self {
            Self::TooLong { bytes, limit } => {
                format!("the {what} is {bytes} bytes long, more than the limit of {limit} bytes")
            }
            Self::TooDeep { .. } => {
                format!("the {what} nests brackets more than {MAX_NESTING} levels deep")
            }
        }
    }

    /// Where the problem lies in `text`, for [`Self::TooDeep`].
    pub fn position(&self, text: &str) -> Option<Position> {
        match self {
            Self::TooLong { .. } => None,
            Self::TooDeep { offset } => text
                .is_char_boundary(*offset)
                .then(|| Position::at(text, *offset)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    Bracket,
    /// `\(` inside a jq string: its `)` goes back into the string.
    Interpolation,
}

/// Counts open frames without allocating: only the innermost [`MAX_NESTING`] kinds matter,
/// and a `u128` bitmap holds exactly that many.
struct Frames {
    depth: usize,
    interpolations: u128,
}

impl Frames {
    fn new() -> Self {
        Self {
            depth: 0,
            interpolations: 0,
        }
    }

    fn push(&mut self, frame: Frame, offset: usize) -> Result<(), BoundsError> {
        if self.depth == MAX_NESTING {
            return Err(BoundsError::TooDeep { offset });
        }
        let bit = 1u128 << self.depth;
        if frame == Frame::Interpolation {
            self.interpolations |= bit;
        } else {
            self.interpolations &= !bit;
        }
        self.depth += 1;
        Ok(())
    }

    fn pop(&mut self) -> Option<Frame> {
        self.depth = self.depth.checked_sub(1)?;
        let bit = 1u128 << self.depth;
        Some(if self.interpolations & bit != 0 {
            Frame::Interpolation
        } else {
            Frame::Bracket
        })
    }
}

/// Checks a jq program's length and bracket nesting.
///
/// # Errors
///
/// [`BoundsError`] naming the first limit exceeded.
pub fn check_jq(source: &str) -> Result<(), BoundsError> {
    if source.len() > MAX_EXPR_BYTES {
        return Err(BoundsError::TooLong {
            bytes: source.len(),
            limit: MAX_EXPR_BYTES,
        });
    }
    let bytes = source.as_bytes();
    let mut frames = Frames::new();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if in_string {
            match byte {
                b'\\' if bytes.get(i + 1) == Some(&b'(') => {
                    frames.push(Frame::Interpolation, i)?;
                    in_string = false;
                    i += 1;
                }
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'(' | b'[' | b'{' => frames.push(Frame::Bracket, i)?,
                // The guard pops the frame whichever way it answers.
                b')' | b']' | b'}' if frames.pop() == Some(Frame::Interpolation) => {
                    in_string = true;
                }
                _ => {}
            }
        }
        i += 1;
    }
    Ok(())
}

/// Checks a template's length and the bracket nesting inside its `{{ … }}` and `{% … %}`
/// tags (literal text between tags may hold any brackets).
///
/// # Errors
///
/// [`BoundsError`] naming the first limit exceeded.
pub fn check_template(text: &str) -> Result<(), BoundsError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(BoundsError::TooLong {
            bytes: text.len(),
            limit: MAX_TEMPLATE_BYTES,
        });
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'{', b'{' | b'%') => i = scan_tag(bytes, i + 2)?,
            (b'{', b'#') => {
                // A comment ends at the first `#}`.
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'#' && bytes[i + 1] == b'}') {
                    i += 1;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Scans one tag's inside from `start`; returns the offset after its closing `}}` / `%}`.
fn scan_tag(bytes: &[u8], start: usize) -> Result<usize, BoundsError> {
    let mut frames = Frames::new();
    let mut quote: Option<u8> = None;
    let mut i = start;
    while i < bytes.len() {
        let byte = bytes[i];
        if let Some(q) = quote {
            if byte == b'\\' {
                i += 1;
            } else if byte == q {
                quote = None;
            }
        } else {
            match byte {
                b'\'' | b'"' => quote = Some(byte),
                b'}' | b'%' if frames.depth == 0 && bytes.get(i + 1) == Some(&b'}') => {
                    return Ok(i + 2);
                }
                b'(' | b'[' | b'{' => frames.push(Frame::Bracket, i)?,
                b')' | b']' | b'}' => {
                    frames.pop();
                }
                _ => {}
            }
        }
        i += 1;
    }
    Ok(i)
}

/// Runs `f` (parsing or compiling text that passed the checks above) on a stack segment of
/// [`COMPILE_STACK_BYTES`].
pub(crate) fn on_compile_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::grow(COMPILE_STACK_BYTES, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(open: &str, inner: &str, close: &str, levels: usize) -> String {
        format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
    }

    #[test]
    fn brackets_nested_up_to_the_limit_pass_and_one_more_is_refused_with_its_place() {
        for (open, close) in [("(", ")"), ("[", "]"), ("{a:", "}")] {
            assert_eq!(check_jq(&deep(open, "1", close, MAX_NESTING)), Ok(()));
            let source = deep(open, "1", close, MAX_NESTING + 1);
            let error = check_jq(&source).unwrap_err();
            assert_eq!(
                error,
                BoundsError::TooDeep {
                    offset: MAX_NESTING * open.len()
                }
            );
            assert_eq!(
                error.describe("expression"),
                format!("the expression nests brackets more than {MAX_NESTING} levels deep")
            );
            assert_eq!(
                error.position(&source),
                Some(Position {
                    line: 1,
                    column: MAX_NESTING * open.len() + 1
                })
            );
        }
    }

    #[test]
    fn string_interpolation_counts_as_nesting_and_brackets_inside_strings_do_not() {
        let interpolated = deep("\"\\(", ".", ")\"", MAX_NESTING + 1);
        assert!(matches!(
            check_jq(&interpolated),
            Err(BoundsError::TooDeep { .. })
        ));
        let literal = format!("\"{}\" # {}", "(".repeat(1000), "[".repeat(1000));
        assert_eq!(check_jq(&literal), Ok(()));
        assert_eq!(check_jq(r#""a\"(" | "\("x")""#), Ok(()));
    }

    #[test]
    fn text_over_the_size_limit_is_refused_with_both_sizes() {
        let long = ".".repeat(MAX_EXPR_BYTES + 1);
        let error = check_jq(&long).unwrap_err();
        assert_eq!(
            error.describe("expression"),
            format!(
                "the expression is {} bytes long, more than the limit of {MAX_EXPR_BYTES} bytes",
                MAX_EXPR_BYTES + 1
            )
        );
        assert!(check_template(&"x".repeat(MAX_TEMPLATE_BYTES + 1)).is_err());
    }

    #[test]
    fn a_template_counts_brackets_only_inside_its_tags() {
        let literal = format!("{}{{{{ a }}}}{}", "{[(".repeat(1000), ")]}".repeat(1000));
        assert_eq!(check_template(&literal), Ok(()));
        let expression = format!("{{{{ {} }}}}", deep("(", "1", ")", MAX_NESTING + 1));
        assert!(matches!(
            check_template(&expression),
            Err(BoundsError::TooDeep { .. })
        ));
        let statement = format!("{{% set x = {} %}}", deep("[", "1", "]", MAX_NESTING + 1));
        assert!(check_template(&statement).is_err());
        assert_eq!(check_template("{{ {'a': {'b': 1}} }} {# ((( #}"), Ok(()));
    }
}
