//! Size checks on the jq operations that allocate a whole result in one go.
//!
//! The step and time budgets of [`super::expr`] are charged between terms; a single operation
//! runs to completion in between. `"x" * 100000000000` asks the allocator for 100 GB at once,
//! which fails, and a failed allocation aborts the process (Rust cannot turn it into an error).
//! So the operations whose result can be much larger than their operands are checked against
//! the run's output budget ([`super::expr::Limits::max_output_bytes`]) *before* they allocate:
//!
//! - `+`, `*`, `/` and `+=`, `*=`, `/=`: the parsed program (and jq's standard definitions,
//!   such as `join` and `add`, which are written with `+`) is rewritten so that these call
//!   [`SIZED_ADD`] and friends, natives that compute the result's size from the operands
//!   (string repetition, concatenation of strings, arrays and objects, splitting a string, big
//!   integer products) and only then do the arithmetic;
//! - string interpolation and `tostring`, `tojson` / `@json`: the input's size is measured, with
//!   shared parts counted each time they would be written out, since `[., .]` in a loop builds a
//!   value of 2^40 leaves from 40 small steps;
//! - products of big integers are held to [`MAX_BIG_INT_BYTES`], since multiplying them costs
//!   more than linear time in a single step;
//! - `explode` (16 bytes per character) and regular expressions with the `g` flag (a match
//!   object per character at worst): the input string's length times that factor.
//!
//! A check that fails unwinds the run like an exhausted step budget, so `try` cannot catch it
//! and loop on it; the node fails with [`super::expr::ExprError::TooLarge`].
//!
//! What remains: operations whose result is no larger than their input (`sort`, `indices`,
//! `ascii_downcase`, …) are not checked, so one of them may allocate a small multiple of the
//! budget; comparing or hashing a value with many shared parts costs time in one step.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::native::{self, bome};
use jaq_core::ops::Math;
use jaq_core::path::{self, Part};
use jaq_core::{Cv, ValXs};
use jaq_json::{Num, Val};

use super::expr::Weft;

/// Natives that check the size of an arithmetic result before computing it.
pub(super) const SIZED_ADD: &str = "_weft_add";
const SIZED_MUL: &str = "_weft_mul";
const SIZED_DIV: &str = "_weft_div";
/// What string interpolation without a format calls instead of jaq's built-in conversion.
const SIZED_TOSTRING: &str = "_weft_tostring";
/// The variable `l op= r` binds `r` to after rewriting.
const UPDATE_VAR: &str = "$__weft_rhs";

/// Largest integer a product may make, in bytes: multiplying (and printing) big integers costs
/// time that grows faster than their size, and one multiplication is one step.
const MAX_BIG_INT_BYTES: usize = 4 << 10;

/// Bytes one value takes in an array or object, beside what it points to.
const VALUE_BYTES: usize = 16;

/// Standard natives that are reached only through a guard: calls to them are renamed to the
/// guard, a jq definition in [`GUARD_DEFS`] that checks the input first.
const GUARDED: [(&str, usize, &str); 5] = [
    ("tojson", 0, "_weft_tojson"),
    ("explode", 0, "_weft_explode"),
    ("matches", 2, "_weft_matches"),
    ("split_matches", 2, "_weft_split_matches"),
    ("split_", 2, "_weft_split_"),
];

/// The guards named in [`GUARDED`] and [`SIZED_TOSTRING`]; they come before the standard
/// definitions (which call them) and are not rewritten, so that they call the real natives.
pub(super) const GUARD_DEFS: &str = r#"
def _weft_tojson: _weft_measure("tojson") | tojson;
def _weft_tostring: _weft_measure("tostring") | "\(.)";
def _weft_explode: _weft_measure("explode") | explode;
def _weft_matches($re; $flags): _weft_measure_regex($flags) | matches($re; $flags);
def _weft_split_matches($re; $flags): _weft_measure_regex($flags) | split_matches($re; $flags);
def _weft_split_($re; $flags): _weft_measure_regex($flags) | split_($re; $flags);
"#;

/// The natives this module adds.
pub(super) fn natives() -> impl Iterator<Item = native::Fun<Weft>> {
    [
        native::run::<Weft>((SIZED_ADD, native::v(2), add)),
        native::run::<Weft>((SIZED_MUL, native::v(2), mul)),
        native::run::<Weft>((SIZED_DIV, native::v(2), div)),
        native::run::<Weft>(("_weft_measure", native::v(1), measure)),
        native::run::<Weft>(("_weft_measure_regex", native::v(1), measure_regex)),
    ]
    .into_iter()
}

/// Rewrites a definition's body (see [`rewrite`]).
pub(super) fn rewrite_def(def: Def<&str>) -> Def<&str> {
    Def {
        body: rewrite(def.body),
        ..def
    }
}

/// Routes the allocating operations of `term` through the checks of this module. Recursive:
/// runs on the compile stack, over a term whose depth the text bounds limited.
pub(super) fn rewrite<'s>(term: Term<&'s str>) -> Term<&'s str> {
    let boxed = |t: Box<Term<&'s str>>| Box::new(rewrite(*t));
    match term {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) | Term::Var(_) => term,
        Term::Str(format, parts) => {
            let interpolates = parts.iter().any(|p| matches!(p, StrPart::Term(_)));
            let parts = parts
                .into_iter()
                .map(|part| match part {
                    StrPart::Term(t) => StrPart::Term(rewrite(t)),
                    other => other,
                })
                .collect();
            let format = match format {
                None if interpolates => Some(SIZED_TOSTRING),
                other => other,
            };
            Term::Str(format, parts)
        }
        Term::Arr(t) => Term::Arr(t.map(boxed)),
        Term::Obj(entries) => Term::Obj(
            entries
                .into_iter()
                .map(|(k, v)| (rewrite(k), v.map(rewrite)))
                .collect(),
        ),
        Term::Neg(t) => Term::Neg(boxed(t)),
        Term::BinOp(l, op, r) => binary(rewrite(*l), op, rewrite(*r)),
        Term::Label(name, t) => Term::Label(name, boxed(t)),
        Term::Fold(kind, xs, pattern, args) => Term::Fold(
            kind,
            boxed(xs),
            rewrite_pattern(pattern),
            args.into_iter().map(rewrite).collect(),
        ),
        Term::TryCatch(t, catch) => Term::TryCatch(boxed(t), catch.map(boxed)),
        Term::IfThenElse(branches, otherwise) => Term::IfThenElse(
            branches
                .into_iter()
                .map(|(cond, then)| (rewrite(cond), rewrite(then)))
                .collect(),
            otherwise.map(boxed),
        ),
        Term::Def(defs, t) => Term::Def(defs.into_iter().map(rewrite_def).collect(), boxed(t)),
        Term::Call(name, args) => {
            let name = GUARDED
                .iter()
                .find(|(native, arity, _)| *native == name && *arity == args.len())
                .map_or(name, |(_, _, guard)| *guard);
            Term::Call(name, args.into_iter().map(rewrite).collect())
        }
        Term::Path(t, path) => Term::Path(
            boxed(t),
            path::Path(
                path.0
                    .into_iter()
                    .map(|(part, opt)| {
                        let part = match part {
                            Part::Index(i) => Part::Index(rewrite(i)),
                            Part::Range(from, to) => {
                                Part::Range(from.map(rewrite), to.map(rewrite))
                            }
                        };
                        (part, opt)
                    })
                    .collect(),
            ),
        ),
    }
}

fn rewrite_pattern(pattern: Pattern<&str>) -> Pattern<&str> {
    match pattern {
        Pattern::Var(_) => pattern,
        Pattern::Arr(items) => Pattern::Arr(items.into_iter().map(rewrite_pattern).collect()),
        Pattern::Obj(entries) => Pattern::Obj(
            entries
                .into_iter()
                .map(|(k, p)| (rewrite(k), rewrite_pattern(p)))
                .collect(),
        ),
    }
}

fn sized(op: &Math) -> Option<&'static str> {
    match op {
        Math::Add => Some(SIZED_ADD),
        Math::Mul => Some(SIZED_MUL),
        Math::Div => Some(SIZED_DIV),
        Math::Sub | Math::Rem => None,
    }
}

fn binary<'s>(l: Term<&'s str>, op: BinaryOp<&'s str>, r: Term<&'s str>) -> Term<&'s str> {
    // A number literal on either side of `+` or `/` means numbers (or an error): nothing
    // grows, so the common `. + 1` keeps jaq's own arithmetic.
    let literal = matches!(l, Term::Num(_)) || matches!(r, Term::Num(_));
    match op {
        BinaryOp::Math(math) => match sized(&math) {
            Some(name) if !(literal && math != Math::Mul) => Term::Call(name, vec![l, r]),
            _ => Term::BinOp(Box::new(l), BinaryOp::Math(math), Box::new(r)),
        },
        // `l op= r` is `r as $x | l |= . op $x` (jq's definition).
        BinaryOp::UpdateMath(math) => match sized(&math) {
            Some(name) if !(literal && math != Math::Mul) => Term::BinOp(
                Box::new(r),
                BinaryOp::Pipe(Some(Pattern::Var(UPDATE_VAR))),
                Box::new(Term::BinOp(
                    Box::new(l),
                    BinaryOp::Update,
                    Box::new(Term::Call(name, vec![Term::Id, Term::Var(UPDATE_VAR)])),
                )),
            ),
            _ => Term::BinOp(Box::new(l), BinaryOp::UpdateMath(math), Box::new(r)),
        },
        BinaryOp::Pipe(Some(pattern)) => Term::BinOp(
            Box::new(l),
            BinaryOp::Pipe(Some(rewrite_pattern(pattern))),
            Box::new(r),
        ),
        other => Term::BinOp(Box::new(l), other, Box::new(r)),
    }
}

/// The two operands of a sized operation, in source order.
fn operands(mut cv: Cv<'_, Weft>) -> (Val, Val, super::expr::Env<'_>) {
    let r = cv.0.pop_var();
    let l = cv.0.pop_var();
    (l, r, *cv.0.data())
}

fn bytes_of(v: &Val) -> Option<usize> {
    match v {
        Val::TStr(b) | Val::BStr(b) => Some(b.len()),
        _ => None,
    }
}

fn big_int_bytes(n: &Num) -> usize {
    match n {
        Num::BigInt(b) => usize::try_from(b.bits() / 8 + 1).unwrap_or(usize::MAX),
        Num::Dec(text) => text.len(),
        Num::Int(_) | Num::Float(_) => 8,
    }
}

fn add(cv: Cv<'_, Weft>) -> ValXs<'_, Val> {
    let (l, r, env) = operands(cv);
    let bytes = match (&l, &r) {
        (Val::Arr(a), Val::Arr(b)) => (a.len() + b.len()).saturating_mul(VALUE_BYTES),
        (Val::Obj(a), Val::Obj(b)) => (a.len() + b.len()).saturating_mul(2 * VALUE_BYTES),
        (Val::Num(a), Val::Num(b)) => big_int_bytes(a).max(big_int_bytes(b)),
        _ => match (bytes_of(&l), bytes_of(&r)) {
            (Some(a), Some(b)) => a.saturating_add(b),
            _ => 0,
        },
    };
    env.allocate("`+`", bytes);
    bome(l + r)
}

fn mul(cv: Cv<'_, Weft>) -> ValXs<'_, Val> {
    let (l, r, env) = operands(cv);
    let repeat = |text: usize, n: &Num| match n {
        Num::Int(i) => text.saturating_mul(usize::try_from(*i).unwrap_or(0)),
        // jaq saturates a big count to the largest machine integer.
        Num::BigInt(_) => text.saturating_mul(usize::MAX),
        Num::Float(_) | Num::Dec(_) => 0,
    };
    let bytes = match (&l, &r) {
        (Val::Num(a), Val::Num(b)) => {
            let bytes = big_int_bytes(a).saturating_add(big_int_bytes(b));
            if bytes > MAX_BIG_INT_BYTES {
                env.refuse("`*` of big integers", bytes, MAX_BIG_INT_BYTES);
            }
            bytes
        }
        (Val::Num(n), text) | (text, Val::Num(n)) => bytes_of(text).map_or(0, |t| repeat(t, n)),
        (Val::Obj(a), Val::Obj(b)) => (a.len() + b.len()).saturating_mul(2 * VALUE_BYTES),
        _ => 0,
    };
    env.allocate("`*`", bytes);
    bome(l * r)
}

fn div(cv: Cv<'_, Weft>) -> ValXs<'_, Val> {
    let (l, r, env) = operands(cv);
    // Splitting a string: one value per piece, one piece per character for an empty separator.
    let bytes = match (bytes_of(&l), bytes_of(&r)) {
        (Some(text), Some(0)) => text.saturating_mul(VALUE_BYTES + 4),
        (Some(text), Some(sep)) => text + (text / sep + 1).saturating_mul(VALUE_BYTES),
        _ => 0,
    };
    env.allocate("`/`", bytes);
    bome(l / r)
}

/// `_weft_measure(what)`: passes its input through if `what` of it stays within the budget.
fn measure(mut cv: Cv<'_, Weft>) -> ValXs<'_, Val> {
    let what = cv.0.pop_var();
    let env = *cv.0.data();
    let limit = env.budget.max_bytes();
    let (operation, bytes) = match &what {
        Val::TStr(w) if &***w == b"explode" => (
            "`explode`",
            bytes_of(&cv.1).map_or(0, |t| t.saturating_mul(VALUE_BYTES)),
        ),
        Val::TStr(w) if &***w == b"tojson" => ("`tojson`", written_size(&cv.1, limit)),
        _ => ("`tostring`", written_size(&cv.1, limit)),
    };
    env.allocate(operation, bytes);
    bome(Ok(cv.1))
}

/// `_weft_measure_regex(flags)`: a global match makes up to one value per character.
fn measure_regex(mut cv: Cv<'_, Weft>) -> ValXs<'_, Val> {
    let flags = cv.0.pop_var();
    let env = *cv.0.data();
    let global = matches!(&flags, Val::TStr(f) | Val::BStr(f) if f.contains(&b'g'));
    if global {
        let bytes = bytes_of(&cv.1).map_or(0, |t| t.saturating_mul(VALUE_BYTES));
        env.allocate("a regular expression with the `g` flag", bytes);
    }
    bome(Ok(cv.1))
}

/// About how many bytes `value` takes written out as JSON, counting shared parts each time;
/// stops counting once past `limit` (so it costs at most about `limit / 8` visits).
pub(super) fn written_size(value: &Val, limit: usize) -> usize {
    let mut total = 0usize;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        total = total.saturating_add(match value {
            Val::TStr(b) | Val::BStr(b) => b.len() + 2,
            Val::Num(n) => big_int_bytes(n),
            Val::Null | Val::Bool(_) => 5,
            Val::Arr(items) => {
                pending.extend(items.iter());
                items.len() + 2
            }
            Val::Obj(entries) => {
                for (k, v) in entries.iter() {
                    pending.push(k);
                    pending.push(v);
                }
                entries.len() * 2 + 2
            }
        });
        if total > limit {
            break;
        }
    }
    total
}
