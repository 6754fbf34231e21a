//! jq expressions (via jaq), compiled once and run many times under a budget.
//!
//! # Bounding runaway programs
//!
//! jaq has no fuel of its own, but its interpreter asks the run's data for the program's
//! look-up table before evaluating every term, and that data is ours. Each such
//! step is charged against [`Limits::max_steps`]; every few thousand steps the clock is
//! checked against [`Limits::max_duration`]; and the distance from the stack position where
//! the run started bounds recursion, so `def f: 1 + f; f` stops instead of overflowing the
//! stack. When any of these runs out the run is unwound (with `resume_unwind`, which skips the
//! panic hook) and caught at its top: this needs `panic = "unwind"`, Rust's default.
//!
//! The native `range/3` would generate values without evaluating a term, so `last(range(1e18))`
//! would never be charged; it is replaced by its jq definition, which is. `repeat`, `while`,
//! `until` and `recurse` are jq definitions already. Outputs beyond [`Limits::max_outputs`] are
//! an error, not silently dropped.
//!
//! Every run gets a fresh stack segment ([`EVAL_STACK_BYTES`], reserved but only touched as
//! used): a program may build a value nested hundreds of thousands of levels deep within its
//! step budget, and merely dropping such a value recurses that deep.
//!
//! Single operations that allocate a whole result at once (`"x" * 10000000000`, doubling a
//! string, `tojson` of a value with many shared parts) cannot be interrupted by the step
//! budget; [`super::sizes`] checks them against [`Limits::max_output_bytes`] before they run.
//!
//! # Bounding compilation
//!
//! jaq's parser and compiler recurse once per level of nesting. The text is checked first
//! ([`super::bounds`]: size and bracket depth), then parsed, rewritten ([`super::sizes`]) and
//! compiled on a stack segment of its own, so no program text can overflow a thread's stack.
//!
//! # Keeping the async workers free
//!
//! Expressions are evaluated where they are needed, inside async tasks. A run first gets
//! [`INLINE_STEPS`] on the calling thread, which is what almost every mapping needs; one that
//! needs more is started again from the beginning (evaluation has no side effects) inside
//! `tokio::task::block_in_place`, so a second-long expression does not stall the other tasks
//! on that worker thread. The cheap path costs nothing extra.
//!
//! # Differences from jq's standard environment
//!
//! `env`, `$ENV`, `input` and `inputs` do not exist (the process environment holds secrets and
//! there is no input stream); `debug` and `stderr` pass their input through without logging it
//! (it may hold secrets); `halt` and `halt_error` are errors.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jaq_core::data::{DataT, HasLut};
use jaq_core::load::{self, Arena, File, Loader, lex, parse};

use super::{bounds, sizes};
use jaq_core::{Compiler, Ctx, Cv, Exn, ValXs, Vars, compile, native};
use jaq_json::{Num, Val};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// Size of the stack segment each run evaluates on. Only the pages actually used are backed by
/// memory; reserving it costs an `mmap` and a `munmap`, about 10 µs of the 20 µs that a small
/// program takes to run in a release build.
pub const EVAL_STACK_BYTES: usize = 256 << 20;

/// How much of [`EVAL_STACK_BYTES`] evaluation may use before it counts as runaway recursion;
/// the rest is headroom for dropping and converting deeply nested values.
const MAX_EVAL_STACK_BYTES: usize = 64 << 20;

/// Steps between two looks at the clock: reading it every step would dominate small programs.
const CLOCK_EVERY: u64 = 4_096;

/// Nesting deeper than this cannot be read back by `serde_json` (its recursion limit), so a
/// stored output this deep could never be loaded again.
const MAX_OUTPUT_DEPTH: usize = 128;

/// Longest jq error message passed on; jq errors embed whole input values.
const MAX_ERROR_CHARS: usize = 500;

/// How much one run of a program may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Evaluation steps (terms evaluated); about 20 million per second in a release build.
    pub max_steps: u64,
    /// Wall-clock time for one run.
    pub max_duration: Duration,
    /// Outputs one run may produce; more is an error.
    pub max_outputs: usize,
    /// Approximate size of all outputs together, counting string bytes and 8 bytes per other
    /// value; guards against small programs that build huge shared structures (`[., .]` in a
    /// loop) whose JSON form would not fit in memory.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps: 1_000_000,
            max_duration: Duration::from_secs(1),
            max_outputs: 10_000,
            max_output_bytes: 16 << 20,
        }
    }
}

/// A place in a jq program, both 1-based; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number.
    pub line: usize,
    /// Column within the line, in characters.
    pub column: usize,
}

impl Position {
    pub(crate) fn at(source: &str, offset: usize) -> Self {
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

fn at(position: Option<&Position>) -> String {
    position.map_or_else(String::new, |p| format!(" at {p}"))
}

/// Why a jq program did not compile or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The program does not parse, or names a filter or variable that does not exist.
    #[error("{message}{}", at(position.as_ref()))]
    Compile {
        /// What is wrong, e.g. "expected term, found end of input".
        message: String,
        /// Where, when the problem lies in the program's own text.
        position: Option<Position>,
    },
    /// The program raised an error, e.g. `error("...")` or indexing a number.
    #[error("{0}")]
    Runtime(String),
    /// [`JqProgram::run_one`] got no output.
    #[error("the expression produced no output")]
    NoOutput,
    /// More outputs than [`Limits::max_outputs`].
    #[error("the expression produced more than {limit} outputs")]
    TooManyOutputs {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// [`Limits::max_steps`] ran out: usually an endless loop such as `repeat(1)` consumed by
    /// `last`, or a huge `range`.
    #[error("the expression was stopped after {limit} evaluation steps; does it loop forever?")]
    StepLimit {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// [`Limits::max_duration`] ran out.
    #[error("the expression was stopped after running for {} ms", limit.as_millis())]
    TimeLimit {
        /// The limit that was exceeded.
        limit: Duration,
    },
    /// Recursion went deeper than the evaluation stack allows.
    #[error("the expression recursed too deeply; does it recurse without end?")]
    TooDeep,
    /// The program called `halt` or `halt_error`, which make no sense inside a workflow.
    #[error("the expression called halt (exit code {code}); use error(...) to fail")]
    Halted {
        /// The exit code it asked for.
        code: i32,
    },
    /// An output that JSON cannot hold: a non-string object key, nesting deeper than 128
    /// levels, or more than [`Limits::max_output_bytes`].
    #[error("the expression's output is not storable JSON: {0}")]
    Unrepresentable(String),
    /// One operation would have built a value larger than [`Limits::max_output_bytes`]; it
    /// was refused before allocating (see [`super::sizes`]).
    #[error(
        "the expression's {operation} would build a value of about {bytes} bytes, more than \
         the limit of {limit} bytes"
    )]
    TooLarge {
        /// What would have grown, e.g. "`*`".
        operation: &'static str,
        /// The size it would have had, estimated before computing it.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The interpreter itself failed; a bug in jaq or here, reported rather than crashing.
    #[error("the jq interpreter failed: {0}")]
    Internal(String),
}

/// A compiled jq program: compile once with [`JqProgram::compile`], then run it on many
/// inputs. Cloning is cheap and the program is `Send + Sync`, so engines can cache and share it.
#[derive(Clone)]
pub struct JqProgram {
    compiled: Arc<Compiled>,
    limits: Limits,
}

struct Compiled {
    source: String,
    filter: jaq_core::Filter<Weft>,
}

impl fmt::Debug for JqProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JqProgram")
            .field("source", &self.compiled.source)
            .field("limits", &self.limits)
            .finish()
    }
}

impl JqProgram {
    /// Parses and compiles `source` with jq's standard library (as jaq provides it, less the
    /// filters listed in the module docs), under the default [`Limits`].
    ///
    /// # Errors
    ///
    /// [`ExprError::Compile`] naming the first problem and, where it lies in `source`, its
    /// line and column.
    pub fn compile(source: &str) -> Result<Self, ExprError> {
        bounds::check_jq(source).map_err(|e| ExprError::Compile {
            message: e.describe("expression"),
            position: e.position(source),
        })?;
        bounds::on_compile_stack(|| Self::compile_bounded(source))
    }

    /// Parses `source` itself (rather than through jaq's loader) so that the term can be
    /// rewritten by [`sizes::rewrite`]; the result becomes a definition the loader's main
    /// program calls. Recurses as deep as `source` nests: run on the compile stack only.
    fn compile_bounded(source: &str) -> Result<Self, ExprError> {
        let file = || File {
            code: source,
            path: (),
        };
        let tokens = lex::Lexer::new(source)
            .lex()
            .map_err(|errors| load_error(source, vec![(file(), load::Error::Lex(errors))]))?;
        let term = parse::Parser::new(&tokens)
            .parse(|p| p.term())
            .map_err(|errors| {
                let errors = errors
                    .into_iter()
                    .map(|(expected, found)| (expected, lex::Token::opt_as_str(found, source)))
                    .collect();
                load_error(source, vec![(file(), load::Error::Parse(errors))])
            })?;
        let main = parse::Def {
            name: MAIN_DEF,
            args: Vec::new(),
            body: sizes::rewrite(term),
        };
        let arena = Arena::default();
        let prelude = PRELUDE.iter().cloned();
        let loader = Loader::new(prelude.chain([main]));
        let modules = loader
            .load(
                &arena,
                File {
                    code: MAIN_DEF,
                    path: (),
                },
            )
            .map_err(|errors| load_error(source, errors))?;
        let filter = Compiler::default()
            .with_funs(natives())
            .compile(modules)
            .map_err(|errors| compile_error(source, errors))?;
        // The parsed term borrows `source` and may be deep; it was moved into the compiler
        // and is dropped here, still on the compile stack.
        Ok(Self {
            compiled: Arc::new(Compiled {
                source: source.to_owned(),
                filter,
            }),
            limits: Limits::default(),
        })
    }

    /// The same program under other limits.
    #[must_use]
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// The limits each run is held to.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The program text as compiled.
    pub fn source(&self) -> &str {
        &self.compiled.source
    }

    /// Runs the program on `input` and returns every output, in order.
    ///
    /// # Errors
    ///
    /// The first error the program raises, or a limit it exceeds (see [`Limits`]).
    pub fn run(&self, input: &Value) -> Result<Vec<Value>, ExprError> {
        self.evaluate(|| to_val(input), self.limits.max_outputs, true)
    }

    /// Runs the program on `input` and returns its first output; later outputs are never
    /// computed, so `repeat(.)` is fine here.
    ///
    /// # Errors
    ///
    /// [`ExprError::NoOutput`] if there is none, otherwise as [`Self::run`].
    pub fn run_one(&self, input: &Value) -> Result<Value, ExprError> {
        self.first(|| to_val(input))
    }

    /// Like [`Self::run_one`] on `{ "nodes": { <id>: { "output": ... } }, "input": ... }`,
    /// built without first copying the outputs into one JSON value.
    pub(crate) fn run_one_over_nodes<'v>(
        &self,
        outputs: impl IntoIterator<Item = (&'v str, &'v Value)> + Clone,
        input: &Value,
    ) -> Result<Value, ExprError> {
        self.first(|| {
            let nodes = outputs
                .clone()
                .into_iter()
                .map(|(id, output)| {
                    let node = object([("output", to_val(output)?)]);
                    Ok((Val::from(id.to_owned()), node))
                })
                .collect::<Result<jaq_json::Map, ExprError>>()?;
            Ok(object([
                ("nodes", Val::obj(nodes)),
                ("input", to_val(input)?),
            ]))
        })
    }

    fn first(&self, input: impl Fn() -> Result<Val, ExprError>) -> Result<Value, ExprError> {
        self.evaluate(input, 1, false)?
            .pop()
            .ok_or(ExprError::NoOutput)
    }

    /// Runs on the calling thread for up to [`INLINE_STEPS`]; a program that needs more runs
    /// again from the start with its whole budget, off the async worker (see the module docs).
    fn evaluate(
        &self,
        input: impl Fn() -> Result<Val, ExprError>,
        max: usize,
        strict: bool,
    ) -> Result<Vec<Value>, ExprError> {
        if self.limits.max_steps <= INLINE_STEPS {
            return self.evaluate_under(&self.limits, &input, max, strict);
        }
        let quick = Limits {
            max_steps: INLINE_STEPS,
            ..self.limits
        };
        match self.evaluate_under(&quick, &input, max, strict) {
            Err(ExprError::StepLimit { .. }) => {
                off_async_worker(|| self.evaluate_under(&self.limits, &input, max, strict))
            }
            done => done,
        }
    }

    /// Runs on a fresh stack segment under `limits`, collecting at most `max` outputs; with
    /// `strict`, one more output than `max` is an error rather than the end.
    fn evaluate_under(
        &self,
        limits: &Limits,
        input: impl Fn() -> Result<Val, ExprError>,
        max: usize,
        strict: bool,
    ) -> Result<Vec<Value>, ExprError> {
        stacker::grow(EVAL_STACK_BYTES, || {
            let budget = Budget::new(limits);
            // Unwinding out of a run is sound: everything the run mutates is created inside
            // this closure and dropped by the unwind; the compiled filter is only read.
            let run = panic::catch_unwind(AssertUnwindSafe(|| {
                let input = input()?;
                let filter = &self.compiled.filter;
                let env = Env {
                    lut: &filter.lut,
                    budget: &budget,
                };
                let mut outputs = Vec::new();
                let mut size = OutputSize::new(limits.max_output_bytes);
                for item in filter.id.run((Ctx::<Weft>::new(env, Vars::new([])), input)) {
                    let value = item.map_err(exception)?;
                    // Only reachable when strict: otherwise the loop ended at `max` below.
                    if outputs.len() == max {
                        return Err(ExprError::TooManyOutputs { limit: max });
                    }
                    outputs.push(to_json(&value, 0, &mut size)?);
                    if !strict && outputs.len() == max {
                        break;
                    }
                }
                Ok(outputs)
            }));
            match run {
                Ok(result) => result,
                Err(payload) => Err(match payload.downcast::<Stop>() {
                    Ok(stop) => stop.into_error(limits),
                    Err(other) => ExprError::Internal(panic_message(other.as_ref())),
                }),
            }
        })
    }
}

/// Evaluation steps a program may take on the calling thread (a few hundred microseconds in a
/// release build); beyond them it is run again off the async worker.
pub const INLINE_STEPS: u64 = 10_000;

/// Runs `f`, a long evaluation, so that it does not hold up the other tasks of a
/// multi-threaded tokio runtime: `block_in_place` hands this worker's queue to another thread
/// for the duration. Elsewhere (no runtime, a current-thread runtime) `f` just runs.
fn off_async_worker<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Compiled programs by source text, shared between threads, so that each distinct
/// expression of a workflow compiles once rather than on every run.
#[derive(Debug)]
pub struct ProgramCache {
    programs: RwLock<HashMap<String, JqProgram>>,
    capacity: usize,
}

impl Default for ProgramCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgramCache {
    /// Programs kept by [`Self::new`] and [`Self::shared`].
    pub const DEFAULT_CAPACITY: usize = 4_096;

    /// An empty cache of [`Self::DEFAULT_CAPACITY`] programs.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty cache that keeps at most `capacity` programs.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            programs: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The process-wide cache.
    pub fn shared() -> &'static Self {
        static SHARED: LazyLock<ProgramCache> = LazyLock::new(ProgramCache::new);
        &SHARED
    }

    /// The compiled form of `source`, compiling it on first use. Programs that fail to
    /// compile are not kept.
    ///
    /// # Errors
    ///
    /// As [`JqProgram::compile`].
    pub fn get(&self, source: &str) -> Result<JqProgram, ExprError> {
        // A panic elsewhere while holding the lock leaves the map itself intact.
        let cached = self
            .programs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(source)
            .cloned();
        if let Some(program) = cached {
            return Ok(program);
        }
        let program = JqProgram::compile(source)?;
        let mut programs = self
            .programs
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Emptying when full keeps the bound without bookkeeping; the live workflows'
        // programs compile again on their next use.
        if programs.len() >= self.capacity {
            programs.clear();
        }
        programs.insert(source.to_owned(), program.clone());
        Ok(program)
    }

    /// How many programs are cached.
    pub fn len(&self) -> usize {
        self.programs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no program is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Binds jaq's interpreter to JSON values and to [`Env`] as the data of a run.
pub(super) struct Weft;

impl DataT for Weft {
    type V<'a> = Val;
    type Data<'a> = Env<'a>;
}

/// What a run's evaluation sees besides values: the program, and the budget it runs under.
#[derive(Clone, Copy)]
pub(super) struct Env<'a> {
    lut: &'a jaq_core::Lut<Weft>,
    pub(super) budget: &'a Budget,
}

impl Env<'_> {
    /// Unwinds the run if an operation would build `bytes`, more than the output budget.
    pub(super) fn allocate(&self, operation: &'static str, bytes: usize) {
        if bytes > self.budget.max_bytes {
            stop(Stop::Size {
                operation,
                bytes,
                limit: self.budget.max_bytes,
            });
        }
    }

    /// Unwinds the run: an operation would build `bytes`, more than its own `limit`.
    pub(super) fn refuse(&self, operation: &'static str, bytes: usize, limit: usize) -> ! {
        stop(Stop::Size {
            operation,
            bytes,
            limit,
        })
    }
}

impl<'a> HasLut<'a, Weft> for Env<'a> {
    /// jaq calls this before evaluating each term, which makes it the one place where every
    /// step of a run can be charged.
    fn lut(&self) -> &'a jaq_core::Lut<Weft> {
        self.budget.charge();
        self.lut
    }
}

/// Why a run was unwound.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Steps,
    Time,
    Depth,
    Size {
        operation: &'static str,
        bytes: usize,
        limit: usize,
    },
}

impl Stop {
    fn into_error(self, limits: &Limits) -> ExprError {
        match self {
            Self::Steps => ExprError::StepLimit {
                limit: limits.max_steps,
            },
            Self::Time => ExprError::TimeLimit {
                limit: limits.max_duration,
            },
            Self::Depth => ExprError::TooDeep,
            Self::Size {
                operation,
                bytes,
                limit,
            } => ExprError::TooLarge {
                operation,
                bytes,
                limit,
            },
        }
    }
}

pub(super) struct Budget {
    steps_left: Cell<u64>,
    deadline: Instant,
    stack_base: usize,
    max_bytes: usize,
}

impl Budget {
    fn new(limits: &Limits) -> Self {
        Self {
            steps_left: Cell::new(limits.max_steps),
            deadline: Instant::now() + limits.max_duration,
            stack_base: stack_position(),
            max_bytes: limits.max_output_bytes,
        }
    }

    /// The largest value one operation may build, in bytes.
    pub(super) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn charge(&self) {
        let left = self.steps_left.get();
        if left == 0 {
            stop(Stop::Steps);
        }
        self.steps_left.set(left - 1);
        if left.is_multiple_of(CLOCK_EVERY) && Instant::now() >= self.deadline {
            stop(Stop::Time);
        }
        if self.stack_base.abs_diff(stack_position()) > MAX_EVAL_STACK_BYTES {
            stop(Stop::Depth);
        }
    }
}

/// jaq cannot return an error from [`HasLut::lut`], so an exhausted budget unwinds the run;
/// `resume_unwind` does so without invoking the panic hook, so nothing is printed.
fn stop(reason: Stop) -> ! {
    panic::resume_unwind(Box::new(reason))
}

/// An address on the current stack; comparing two tells how much stack lies between them.
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    (&raw const marker).addr()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// jaq's `range/3` as a jq definition instead of a native filter, so that every value it
/// produces is charged to the run's step budget (see the module docs). Only core syntax is
/// used because it precedes the definitions of `empty` and `while`.
const RANGE_DEF: &str = r"
def range($from; $upto; $by): $from |
  if $by > 0 then def r: if . < $upto then ., (. + $by | r) else {}[] end; r
  elif $by < 0 then def r: if . > $upto then ., (. + $by | r) else {}[] end; r
  else def r: if . != $upto then ., (. + $by | r) else {}[] end; r
  end;
";

/// Natives left out: `env` reads the process environment, which holds secrets; `range/3` is
/// replaced by [`RANGE_DEF`]; the logging natives are replaced by silent ones.
const DROPPED_NATIVES: [&str; 4] = ["env", "range", "debug_empty", "stderr_empty"];

/// The name of the definition that holds the program being compiled.
const MAIN_DEF: &str = "__weft_main";

/// The standard definitions, parsed once: parsing them dominates compiling a short program.
/// They are rewritten like programs ([`sizes::rewrite`]): `join` and `add` are written with `+`.
static PRELUDE: LazyLock<Vec<parse::Def>> = LazyLock::new(|| {
    let guards = load::parse(sizes::GUARD_DEFS, |p| p.defs()).expect("GUARD_DEFS parse");
    let range = load::parse(RANGE_DEF, |p| p.defs()).expect("RANGE_DEF parses");
    let standard = range
        .into_iter()
        .chain(jaq_core::defs())
        .chain(jaq_std::defs())
        .chain(jaq_json::defs())
        .map(sizes::rewrite_def);
    guards.into_iter().chain(standard).collect()
});

fn natives() -> impl Iterator<Item = native::Fun<Weft>> {
    let silent = |name| native::run::<Weft>((name, native::v(0), pass_nothing));
    jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, _, _)| !DROPPED_NATIVES.contains(name))
        .chain([silent("debug_empty"), silent("stderr_empty")])
        .chain(sizes::natives())
}

/// Stands in for `debug_empty` and `stderr_empty`, which jq's `debug` and `stderr` call for
/// their side effect; the values may hold secrets, so nothing is logged.
fn pass_nothing<'a>(_: Cv<'a, Weft>) -> ValXs<'a, Val> {
    Box::new(std::iter::empty())
}

fn load_error(source: &str, errors: load::Errors<&str, ()>) -> ExprError {
    let first = errors.into_iter().next().map(|(_, error)| error);
    let (message, found) = match first {
        Some(load::Error::Io(problems)) => {
            let (path, why) = problems.into_iter().next().unwrap_or_default();
            let message = format!("cannot load module `{path}` ({why}); modules are not supported");
            (message, None)
        }
        Some(load::Error::Lex(problems)) => match problems.into_iter().next() {
            Some((expected, found)) => (
                format!("expected {}", lex_expectation(&expected)),
                Some(found),
            ),
            None => ("the expression does not parse".to_owned(), None),
        },
        Some(load::Error::Parse(problems)) => match problems.into_iter().next() {
            Some((expected, found)) => {
                let what = if found.is_empty() {
                    "end of input".to_owned()
                } else {
                    format!("`{found}`")
                };
                let message = format!("expected {}, found {what}", expected.as_str());
                (message, Some(found))
            }
            None => ("the expression does not parse".to_owned(), None),
        },
        None => ("the expression does not parse".to_owned(), None),
    };
    ExprError::Compile {
        message,
        position: found.and_then(|found| position_of(source, found)),
    }
}

fn compile_error(source: &str, errors: compile::Errors<&str, ()>) -> ExprError {
    let first = errors.into_iter().flat_map(|(_, errors)| errors).next();
    let Some((name, undefined)) = first else {
        return ExprError::Internal("jq compilation failed without an error".into());
    };
    let what = match undefined {
        compile::Undefined::Filter(arity) => format!("filter `{name}/{arity}`"),
        other => format!("{} `{name}`", other.as_str()),
    };
    let hint = match name {
        "env" | "$ENV" => "; the process environment is not available to workflow expressions",
        "input" | "inputs" => "; an expression reads only its one input, `.`",
        _ => "",
    };
    ExprError::Compile {
        message: format!("undefined {what}{hint}"),
        position: position_of(source, name),
    }
}

/// Where `part`, a slice that jaq reports, lies in `source`; `None` when it lies elsewhere,
/// e.g. in a definition of the standard library.
fn position_of(source: &str, part: &str) -> Option<Position> {
    let whole = source.as_bytes().as_ptr_range();
    let inside = whole.start <= part.as_ptr() && part.as_ptr() <= whole.end;
    inside.then(|| Position::at(source, load::span(source, part).start))
}

fn lex_expectation(expected: &lex::Expect<&str>) -> String {
    match expected {
        // `as_str` panics on delimiters other than these, so they are named here.
        lex::Expect::Delim(open) => match *open {
            "(" => "`)`".to_owned(),
            "[" => "`]`".to_owned(),
            "{" => "`}`".to_owned(),
            "\"" => "closing `\"`".to_owned(),
            other => format!("the closing delimiter of `{other}`"),
        },
        other => other.as_str().to_owned(),
    }
}

fn exception(exn: Exn<'_, Val>) -> ExprError {
    match exn.get_err() {
        Ok(error) => {
            // Writing the whole error out could build a huge string (it may embed a value
            // with many shared parts), so only its beginning is written. An error that is a
            // plain string value writes with a leading quote; it is then taken as it is.
            let mut shown = BoundedText::new(MAX_ERROR_CHARS * 4);
            let _ = fmt::write(&mut shown, format_args!("{error}"));
            let message = if shown.text.starts_with('"') {
                match error.into_val() {
                    Val::TStr(text) | Val::BStr(text) => {
                        String::from_utf8_lossy(&text).into_owned()
                    }
                    _ => shown.text,
                }
            } else {
                shown.text
            };
            ExprError::Runtime(truncate(message, MAX_ERROR_CHARS))
        }
        // Never `jaq_core::unwrap_valr`: on `halt` it exits the whole process.
        Err(exn) => match exn.get_halt() {
            Ok(code) => ExprError::Halted { code },
            Err(other) => ExprError::Internal(format!("unexpected jq control flow: {other:?}")),
        },
    }
}

/// A `fmt::Write` that keeps the first `limit` bytes and then refuses, which stops whatever
/// is being written.
struct BoundedText {
    text: String,
    limit: usize,
}

impl BoundedText {
    fn new(limit: usize) -> Self {
        Self {
            text: String::new(),
            limit,
        }
    }
}

impl fmt::Write for BoundedText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit.saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.text.push_str(&s[..cut]);
        Err(fmt::Error)
    }
}

fn truncate(mut text: String, max_chars: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn object<const N: usize>(entries: [(&str, Val); N]) -> Val {
    Val::obj(
        entries
            .into_iter()
            .map(|(key, value)| (Val::from(key.to_owned()), value))
            .collect(),
    )
}

fn to_val(value: &Value) -> Result<Val, ExprError> {
    Val::deserialize(value).map_err(|e| ExprError::Internal(format!("reading the input: {e}")))
}

/// Counts down [`Limits::max_output_bytes`] while outputs are converted.
struct OutputSize {
    left: usize,
    limit: usize,
}

impl OutputSize {
    fn new(limit: usize) -> Self {
        Self { left: limit, limit }
    }

    fn take(&mut self, bytes: usize) -> Result<(), ExprError> {
        self.left = self.left.checked_sub(bytes).ok_or_else(|| {
            ExprError::Unrepresentable(format!("it is larger than about {} bytes", self.limit))
        })?;
        Ok(())
    }
}

fn to_json(value: &Val, depth: usize, size: &mut OutputSize) -> Result<Value, ExprError> {
    if depth > MAX_OUTPUT_DEPTH {
        return Err(ExprError::Unrepresentable(format!(
            "it is nested more than {MAX_OUTPUT_DEPTH} levels deep"
        )));
    }
    Ok(match value {
        Val::Null => {
            size.take(8)?;
            Value::Null
        }
        Val::Bool(b) => {
            size.take(8)?;
            Value::Bool(*b)
        }
        Val::Num(n) => {
            size.take(8)?;
            number_to_json(n)
        }
        Val::TStr(text) | Val::BStr(text) => {
            size.take(text.len())?;
            Value::String(String::from_utf8_lossy(text).into_owned())
        }
        Val::Arr(items) => {
            size.take(8)?;
            let items = items.iter().map(|item| to_json(item, depth + 1, size));
            Value::Array(items.collect::<Result<_, _>>()?)
        }
        Val::Obj(entries) => {
            size.take(8)?;
            let mut map = Map::new();
            for (key, item) in entries.iter() {
                let key = match key {
                    Val::TStr(text) | Val::BStr(text) => String::from_utf8_lossy(text).into_owned(),
                    other => {
                        return Err(ExprError::Unrepresentable(format!(
                            "object key {} is not a string",
                            truncate(other.to_string(), 40)
                        )));
                    }
                };
                size.take(key.len())?;
                map.insert(key, to_json(item, depth + 1, size)?);
            }
            Value::Object(map)
        }
    })
}

/// Numbers as jq writes them: integers exactly where JSON allows, `nan` as null and the
/// infinities as the largest finite doubles.
fn number_to_json(n: &Num) -> Value {
    let float = |f: f64| {
        if f.is_nan() {
            Value::Null
        } else {
            let f = f.clamp(f64::MIN, f64::MAX);
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
    };
    match n {
        Num::Int(i) => i64::try_from(*i).map_or_else(|_| float(*i as f64), Value::from),
        Num::Float(f) => float(*f),
        Num::BigInt(_) | Num::Dec(_) => {
            let text = n.to_string();
            if let Ok(i) = text.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = text.parse::<u64>() {
                Value::from(u)
            } else {
                float(text.parse::<f64>().unwrap_or(f64::NAN))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(source: &str, input: Value) -> Result<Vec<Value>, ExprError> {
        JqProgram::compile(source).unwrap().run(&input)
    }

    fn compile_error(source: &str) -> (String, Option<Position>) {
        match JqProgram::compile(source) {
            Err(ExprError::Compile { message, position }) => (message, position),
            other => panic!("expected a compile error for {source:?}, got {other:?}"),
        }
    }

    #[test]
    fn the_design_example_sums_the_prices_of_an_upstream_output() {
        let program = JqProgram::compile(".nodes.fetch.output.items | map(.price) | add").unwrap();
        let input = json!({ "nodes": { "fetch": { "output": {
            "items": [ { "price": 1 }, { "price": 2.5 } ] } } } });
        assert_eq!(program.run_one(&input), Ok(json!(3.5)));
        assert_eq!(program.run(&input), Ok(vec![json!(3.5)]));
    }

    #[test]
    fn run_returns_every_output_in_order() {
        assert_eq!(
            run(".[] | . * 2", json!([1, 2, 3])),
            Ok(vec![json!(2), json!(4), json!(6)])
        );
        assert_eq!(run("empty", json!(null)), Ok(vec![]));
    }

    #[test]
    fn run_one_computes_only_the_first_output() {
        let program = JqProgram::compile("1, error(\"never reached\")").unwrap();
        assert_eq!(program.run_one(&json!(null)), Ok(json!(1)));
        let endless = JqProgram::compile("repeat(.)").unwrap();
        assert_eq!(endless.run_one(&json!("x")), Ok(json!("x")));
    }

    #[test]
    fn an_expression_without_output_is_an_error_for_run_one() {
        let program = JqProgram::compile(".[] | select(. > 5)").unwrap();
        assert_eq!(program.run_one(&json!([1, 2])), Err(ExprError::NoOutput));
    }

    #[test]
    fn an_expression_that_does_not_parse_is_rejected_with_its_position() {
        let (message, position) = compile_error(".items | map(.price) +");
        assert_eq!(message, "expected term, found end of input");
        assert_eq!(
            position,
            Some(Position {
                line: 1,
                column: 23
            })
        );

        let error = JqProgram::compile("1 +\n  @").unwrap_err();
        assert_eq!(error.to_string(), "expected identifier at line 2, column 4");

        let (message, _) = compile_error("map(.a");
        assert_eq!(message, "expected `)`");
        let (message, position) = compile_error("{a: 1 1}");
        assert!(message.starts_with("expected "), "{message}");
        assert!(message.ends_with("found `1`"), "{message}");
        assert_eq!(position, Some(Position { line: 1, column: 7 }));
    }

    #[test]
    fn an_undefined_filter_or_variable_is_rejected_naming_it_and_its_position() {
        let (message, position) = compile_error(".[] | frobnicate(1)");
        assert_eq!(message, "undefined filter `frobnicate/1`");
        assert_eq!(position, Some(Position { line: 1, column: 7 }));
        let (message, _) = compile_error("$x + 1");
        assert_eq!(message, "undefined variable `$x`");
    }

    #[test]
    fn the_process_environment_and_input_streams_are_not_available() {
        for source in ["env", "env.HOME", "$ENV.HOME", "input", "[inputs]"] {
            let (message, _) = compile_error(source);
            assert!(message.contains("undefined"), "{source}: {message}");
        }
        assert!(
            compile_error("env")
                .0
                .contains("environment is not available")
        );
    }

    #[test]
    fn endless_generators_are_stopped_by_the_step_budget() {
        let limit = Limits::default().max_steps;
        for source in [
            "last(range(1e18))",
            "[range(1e9)] | length",
            "last(repeat(1))",
            "def f: f; f",
            "[limit(1e9; repeat(1))] | length",
            "until(false; .)",
        ] {
            assert_eq!(
                run(source, json!(0)),
                Err(ExprError::StepLimit { limit }),
                "{source}"
            );
        }
    }

    #[test]
    fn range_still_behaves_like_jq() {
        assert_eq!(
            run(
                "[range(4)], [range(1; 3)], [range(0; 10; 4)], [range(5; 0; -2)], [range(1, 2; 3)]",
                json!(null)
            ),
            Ok(vec![
                json!([0, 1, 2, 3]),
                json!([1, 2]),
                json!([0, 4, 8]),
                json!([5, 3, 1]),
                json!([1, 2, 2])
            ])
        );
    }

    #[test]
    fn the_time_budget_stops_a_long_run() {
        let limits = Limits {
            max_steps: u64::MAX,
            max_duration: Duration::from_millis(50),
            ..Limits::default()
        };
        let program = JqProgram::compile("last(range(1e18))")
            .unwrap()
            .with_limits(limits);
        let started = Instant::now();
        assert_eq!(
            program.run(&json!(null)),
            Err(ExprError::TimeLimit {
                limit: Duration::from_millis(50)
            })
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn unbounded_recursion_stops_before_the_stack_overflows() {
        for source in [
            "def f: 1 + f; f",
            "def f: [f]; f",
            "def f: {a: f}; f | length",
        ] {
            let error = JqProgram::compile(source)
                .unwrap()
                .with_limits(Limits {
                    max_steps: u64::MAX,
                    max_duration: Duration::from_secs(60),
                    ..Limits::default()
                })
                .run(&json!(null))
                .unwrap_err();
            assert_eq!(error, ExprError::TooDeep, "{source}");
        }
    }

    #[test]
    fn a_deeply_nested_value_is_built_and_dropped_without_overflowing() {
        let program = JqProgram::compile("reduce range(50000) as $i (null; [.]) | length")
            .unwrap()
            .with_limits(Limits {
                max_steps: 10_000_000,
                max_duration: Duration::from_secs(60),
                ..Limits::default()
            });
        assert_eq!(program.run(&json!(null)), Ok(vec![json!(1)]));
    }

    #[test]
    fn an_output_nested_deeper_than_json_can_be_read_back_is_rejected() {
        let error = run("reduce range(200) as $i (null; [.])", json!(null)).unwrap_err();
        assert!(
            matches!(&error, ExprError::Unrepresentable(m) if m.contains("128 levels")),
            "{error}"
        );
        assert!(run("reduce range(100) as $i (null; [.])", json!(null)).is_ok());
    }

    #[test]
    fn a_small_program_building_a_huge_shared_structure_hits_the_output_size_limit() {
        let error = run("reduce range(40) as $i (0; [., .])", json!(null)).unwrap_err();
        assert!(
            matches!(&error, ExprError::Unrepresentable(m) if m.contains("larger than")),
            "{error}"
        );
    }

    #[test]
    fn more_outputs_than_allowed_is_an_error_not_a_truncation() {
        let program = JqProgram::compile("range(5)").unwrap().with_limits(Limits {
            max_outputs: 3,
            ..Limits::default()
        });
        assert_eq!(
            program.run(&json!(null)),
            Err(ExprError::TooManyOutputs { limit: 3 })
        );
        assert_eq!(program.run_one(&json!(null)), Ok(json!(0)));
    }

    #[test]
    fn halt_is_an_error_and_never_exits_the_process() {
        assert_eq!(run("halt", json!(null)), Err(ExprError::Halted { code: 0 }));
        assert_eq!(
            run("\"bye\" | halt_error", json!(null)),
            Err(ExprError::Halted { code: 5 })
        );
    }

    #[test]
    fn debug_and_stderr_pass_their_input_through() {
        assert_eq!(run("debug | stderr | . + 1", json!(1)), Ok(vec![json!(2)]));
    }

    #[test]
    fn errors_raised_by_the_program_carry_its_message() {
        assert_eq!(
            run("error(\"boom\")", json!(null)),
            Err(ExprError::Runtime("boom".into()))
        );
        assert_eq!(
            run("error({code: 1})", json!(null)),
            Err(ExprError::Runtime("{\"code\":1}".into()))
        );
        let Err(ExprError::Runtime(message)) = run(".a.b", json!({ "a": "x".repeat(5_000) }))
        else {
            panic!("indexing a string is an error");
        };
        assert!(message.starts_with("cannot index"), "{message}");
        assert!(message.chars().count() <= MAX_ERROR_CHARS + 1, "{message}");
    }

    #[test]
    fn numbers_come_back_as_jq_writes_them() {
        assert_eq!(
            run(
                "3, 1.5, 100000000000000000000, nan, infinite, -infinite",
                json!(null)
            ),
            Ok(vec![
                json!(3),
                json!(1.5),
                json!(1e20),
                json!(null),
                json!(f64::MAX),
                json!(f64::MIN)
            ])
        );
        assert_eq!(run(".", json!(u64::MAX)), Ok(vec![json!(u64::MAX)]));
    }

    #[test]
    fn an_object_with_a_non_string_key_is_unrepresentable() {
        let error = run("{(1): 2}", json!(null)).unwrap_err();
        assert!(
            matches!(&error, ExprError::Unrepresentable(m) if m.contains("key 1")),
            "{error}"
        );
    }

    #[test]
    fn a_compiled_program_is_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<JqProgram>();
        assert_send_sync::<ProgramCache>();
        let program = JqProgram::compile(". * 2").unwrap();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let program = program.clone();
                std::thread::spawn(move || program.run_one(&json!(i)))
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results,
            [Ok(json!(0)), Ok(json!(2)), Ok(json!(4)), Ok(json!(6))]
        );
    }

    #[test]
    fn the_program_cache_compiles_each_source_once_and_stays_bounded() {
        let cache = ProgramCache::with_capacity(2);
        let first = cache.get(". + 1").unwrap();
        let again = cache.get(". + 1").unwrap();
        assert!(Arc::ptr_eq(&first.compiled, &again.compiled));
        assert!(cache.get("(").is_err());
        assert_eq!(cache.len(), 1);
        cache.get(". + 2").unwrap();
        cache.get(". + 3").unwrap();
        assert!(cache.len() <= 2);
    }

    #[test]
    fn a_program_nested_a_hundred_thousand_deep_is_refused_before_parsing() {
        for (open, close) in [("(", ")"), ("[", "]"), ("{a:", "}"), ("\"\\(", ")\"")] {
            let source = format!("{}.{}", open.repeat(100_000), close.repeat(100_000));
            let (message, _) = compile_error(&source);
            assert!(message.contains("bytes long"), "{message}");
            // Within the size limit, the nesting is what is refused, and where.
            let source = format!("{}.{}", open.repeat(5_000), close.repeat(5_000));
            let (message, position) = compile_error(&source);
            assert!(message.contains("nests brackets more than"), "{message}");
            assert!(position.is_some(), "{open}");
        }
        let (message, _) = compile_error(&".".repeat(super::bounds::MAX_EXPR_BYTES + 1));
        assert!(message.contains("bytes long"), "{message}");
    }

    #[test]
    fn the_deepest_programs_without_brackets_that_fit_the_size_limit_still_compile() {
        let size = super::bounds::MAX_EXPR_BYTES;
        let fill = |unit: &str, tail: &str| {
            let n = (size - tail.len()) / unit.len();
            format!("{}{tail}", unit.repeat(n))
        };
        let ifs = (size - 1) / "if . then  end".len();
        let defs = (size - 1) / "def f: ; .".len();
        for source in [
            fill("1+", "1"),
            fill(".|", "."),
            fill("1,", "1"),
            fill("- ", "1"),
            fill("try ", "."),
            fill(". as $x | ", "."),
            fill("label $x | ", "."),
            fill("1 as [$a] | ", "."),
            fill(".a", ""),
            format!("{}.{}", "if . then ".repeat(ifs), " end".repeat(ifs)),
            format!("{}.{}", "def f: ".repeat(defs), "; .".repeat(defs)),
        ] {
            assert!(source.len() <= size);
            // Compiling is what must not overflow; some of these are refused by jaq.
            let _ = JqProgram::compile(&source);
        }
        assert_eq!(run(&fill("1+", "1"), json!(null)), Err(ExprError::TooDeep));
    }

    fn too_large(source: &str, input: Value) -> &'static str {
        match run(source, input) {
            Err(ExprError::TooLarge {
                operation, limit, ..
            }) => {
                assert_eq!(limit, Limits::default().max_output_bytes);
                operation
            }
            other => panic!("{source}: expected a size error, got {other:?}"),
        }
    }

    #[test]
    fn operations_that_would_allocate_more_than_the_budget_fail_before_allocating() {
        assert_eq!(too_large("\"x\" * 100000000000", json!(null)), "`*`");
        assert_eq!(too_large("100000000000 * \"x\"", json!(null)), "`*`");
        assert_eq!(too_large(". * 100000000000000000000", json!("x")), "`*`");
        assert_eq!(
            too_large("reduce range(40) as $i (\"x\"; . + .)", json!(null)),
            "`+`"
        );
        assert_eq!(
            too_large("reduce range(40) as $i ([1]; . + .)", json!(null)),
            "`+`"
        );
        assert_eq!(
            too_large("reduce range(40) as $i (\"x\"; . += .)", json!(null)),
            "`+`"
        );
        let squares = run(
            "reduce range(40) as $i (123456789012345678901; . * .)",
            json!(null),
        );
        assert!(
            matches!(
                squares,
                Err(ExprError::TooLarge {
                    operation: "`*` of big integers",
                    limit: 4096,
                    ..
                })
            ),
            "{squares:?}"
        );
        assert_eq!(
            too_large(
                "[range(30)] | map(\"x\" * 1000000) | join(\",\")",
                json!(null)
            ),
            "`+`"
        );
        for source in [
            "tojson",
            "tostring",
            "\"\\(.)\"",
            "@json",
            "@text",
            "@base64",
        ] {
            let built = format!("reduce range(40) as $i (0; [., .]) | {source}");
            too_large(&built, json!(null));
        }
        assert_eq!(
            too_large("\"x\" * 10000000 | explode", json!(null)),
            "`explode`"
        );
        too_large(
            "\"a\" * 2000000 | [match(\"a\"; \"g\")] | length",
            json!(null),
        );
        too_large("\"a\" * 2000000 | gsub(\"a\"; \"b\")", json!(null));
        too_large("\"a\" * 2000000 | . / \"\"", json!(null));
        // `try` cannot swallow the refusal and go on allocating.
        too_large("try (\"x\" * 100000000000) catch \"caught\"", json!(null));
    }

    #[test]
    fn arithmetic_within_the_budget_behaves_like_jq() {
        assert_eq!(
            run(
                "\"ab\" * 3, [1] + [2], {a: 1} + {b: 2}, {a: {b: 1}} * {a: {c: 2}}, \
                 \"a,b\" / \",\", 7 / 2, 1 + 2, null + 1, .x += 1, .y *= 2, \"n=\\(1)\", \
                 ([1, 2] | join(\"-\")), ({a: 1} | tojson), (\"ab\" | explode), \
                 (\"aXbX\" | [splits(\"X\")]), (\"abc\" | test(\"b\"))",
                json!({ "x": 1, "y": 3 })
            ),
            Ok(vec![
                json!("ababab"),
                json!([1, 2]),
                json!({ "a": 1, "b": 2 }),
                json!({ "a": { "b": 1, "c": 2 } }),
                json!(["a", "b"]),
                json!(3.5),
                json!(3),
                json!(1),
                json!({ "x": 2, "y": 3 }),
                json!({ "x": 1, "y": 6 }),
                json!("n=1"),
                json!("1-2"),
                json!("{\"a\":1}"),
                json!([97, 98]),
                json!(["a", "b", ""]),
                json!(true),
            ])
        );
    }

    #[test]
    fn an_error_carrying_a_huge_value_is_reported_by_its_beginning() {
        let error = run("reduce range(40) as $i (0; [., .]) | .a", json!(null)).unwrap_err();
        let ExprError::Runtime(message) = error else {
            panic!("expected a runtime error, got {error:?}");
        };
        assert!(message.starts_with("cannot index [[[["), "{message}");
        assert!(message.chars().count() <= MAX_ERROR_CHARS + 1);
    }

    #[test]
    fn a_long_evaluation_leaves_its_async_worker_to_the_other_tasks() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let program = JqProgram::compile("last(range(1e18))")
            .unwrap()
            .with_limits(Limits {
                max_steps: u64::MAX,
                max_duration: Duration::from_secs(2),
                ..Limits::default()
            });
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let neighbour_saw_it_finished = runtime.block_on({
            let finished = finished.clone();
            async move {
                let evaluation = tokio::spawn({
                    let finished = finished.clone();
                    async move {
                        // Queued on this task's worker, which the evaluation then blocks.
                        let neighbour = tokio::spawn({
                            let finished = finished.clone();
                            async move { finished.load(std::sync::atomic::Ordering::SeqCst) }
                        });
                        let result = program.run(&json!(null));
                        finished.store(true, std::sync::atomic::Ordering::SeqCst);
                        (result, neighbour)
                    }
                });
                let (result, neighbour) = evaluation.await.unwrap();
                assert!(
                    matches!(result, Err(ExprError::TimeLimit { .. })),
                    "{result:?}"
                );
                neighbour.await.unwrap()
            }
        });
        assert!(!neighbour_saw_it_finished);
    }

    #[test]
    fn run_one_over_nodes_sees_outputs_under_nodes_and_the_input() {
        let program = JqProgram::compile("[.nodes.a.output, .input.x, (.nodes | keys)]").unwrap();
        let a = json!({ "v": 1 });
        let input = json!({ "x": 2 });
        assert_eq!(
            program.run_one_over_nodes([("a", &a)], &input),
            Ok(json!([{ "v": 1 }, 2, ["a"]]))
        );
    }
}
