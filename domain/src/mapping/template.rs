//! String templates (Jinja syntax, via minijinja) for `template` input bindings.
//!
//! Templates are strict: reading a variable or field that does not exist is an error that
//! names it, never an empty string. There is no template loader, so `include`, `import` and
//! `extends` find nothing. Rendering is bounded by minijinja's fuel (instructions and the
//! memory of values built) and its recursion limit; what a template writes out is charged to
//! the same fuel, so a loop cannot print an upstream output a million times.
//!
//! Text longer than [`bounds::MAX_TEMPLATE_BYTES`] or nesting brackets deeper than
//! [`bounds::MAX_NESTING`] is refused before minijinja sees it, and parsing and rendering run
//! on a stack segment of their own (see [`bounds`]): minijinja's code generator recurses
//! without a limit.
//!
//! Values print as a workflow author expects: strings as they are, numbers as usual, and
//! objects, arrays, booleans and null as JSON (`{"a":1}`, `true`, `null`), not in Python's
//! notation.

use std::collections::BTreeSet;

use minijinja::value::{Serde, ValueKind};
use minijinja::{Environment, ErrorKind, Output, State, UndefinedBehavior};
use serde_json::Value;

use super::bounds;

/// Fuel for one render; minijinja documents 50,000 as roughly 50,000 instructions or 3 MB of
/// data.
pub const TEMPLATE_FUEL: u64 = 100_000;

/// Deepest nesting of loops, conditions and macro calls in one render.
pub const TEMPLATE_RECURSION_LIMIT: usize = 100;

/// Bytes of rendered output that cost one unit of fuel, matching minijinja's own accounting
/// of about 64 bytes per unit.
const BYTES_PER_FUEL: usize = 64;

/// What went wrong with a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// The template does not parse.
    Syntax,
    /// It reads a variable or field that does not exist.
    Undefined,
    /// It ran out of fuel or recursion depth.
    Limit,
    /// Anything else that failed while rendering, e.g. an unknown filter.
    Render,
}

/// Why a template did not parse or render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct TemplateError {
    /// The kind of failure.
    pub kind: TemplateErrorKind,
    /// What went wrong, naming what was undefined for [`TemplateErrorKind::Undefined`], e.g.
    /// "undefined value: `fetch.output.total` is undefined".
    pub message: String,
    /// The 1-based line of the template where it went wrong, when known.
    pub line: Option<usize>,
}

impl From<minijinja::Error> for TemplateError {
    fn from(error: minijinja::Error) -> Self {
        let kind = match error.kind() {
            ErrorKind::SyntaxError | ErrorKind::BadEscape => TemplateErrorKind::Syntax,
            ErrorKind::UndefinedError => TemplateErrorKind::Undefined,
            ErrorKind::OutOfFuel => TemplateErrorKind::Limit,
            _ if error
                .detail()
                .is_some_and(|d| d.contains("recursion limit")) =>
            {
                TemplateErrorKind::Limit
            }
            _ => TemplateErrorKind::Render,
        };
        let message = match (kind, error.detail()) {
            (TemplateErrorKind::Limit, _) if error.kind() == ErrorKind::OutOfFuel => {
                "the template does too much work (it ran out of fuel)".to_owned()
            }
            (_, Some(detail)) => format!("{}: {detail}", error.kind()),
            (_, None) => error.kind().to_string(),
        };
        Self {
            kind,
            message,
            line: error.line(),
        }
    }
}

/// The environment every template is parsed and rendered in. It borrows the template text,
/// so one is built per call; that costs a few reference-count increments.
fn environment<'s>() -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_recursion_limit(TEMPLATE_RECURSION_LIMIT);
    env.set_formatter(format_value);
    env
}

fn format_value(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    let json = matches!(
        value.kind(),
        ValueKind::Map | ValueKind::Seq | ValueKind::Bool | ValueKind::None
    );
    if !json {
        if let Some(text) = value.as_str() {
            state.consume_fuel(fuel_for(text.len()))?;
        }
        return minijinja::escape_formatter(out, state, value);
    }
    let text = serde_json::to_string(value)
        .map_err(|e| minijinja::Error::new(ErrorKind::BadSerialization, e.to_string()))?;
    state.consume_fuel(fuel_for(text.len()))?;
    out.write_str(&text)
        .map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
}

fn fuel_for(bytes: usize) -> u64 {
    u64::try_from(bytes / BYTES_PER_FUEL).unwrap_or(u64::MAX)
}

/// Renders `template` with the top-level variables of `context`, which should be an object.
///
/// # Errors
///
/// The template does not parse, reads something `context` does not have (the error names
/// it), or exceeds the fuel or recursion limit.
pub fn render(template: &str, context: &Value) -> Result<String, TemplateError> {
    render_with(template, |root| {
        context
            .get(root)
            .map(|value| minijinja::Value::from(Serde(value)))
    })
}

/// Renders `template`, asking `root` for each top-level variable it names; only those are
/// converted, so a template that reads one upstream node does not pay for the others.
pub(crate) fn render_with(
    template: &str,
    root: impl Fn(&str) -> Option<minijinja::Value>,
) -> Result<String, TemplateError> {
    within_bounds(template)?;
    bounds::on_compile_stack(|| {
        let env = environment();
        let compiled = env.template_from_str(template)?;
        let context = minijinja::Value::from_pairs(
            compiled
                .undeclared_variables(false)
                .into_iter()
                .filter_map(|name| root(&name).map(|value| (name, value))),
        );
        Ok(compiled.render(context)?)
    })
}

fn within_bounds(template: &str) -> Result<(), TemplateError> {
    bounds::check_template(template).map_err(|e| TemplateError {
        kind: TemplateErrorKind::Limit,
        message: e.describe("template"),
        line: e.position(template).map(|p| p.line),
    })
}

/// Parses `template` without rendering it, for save-time validation.
///
/// # Errors
///
/// [`TemplateErrorKind::Syntax`] with the line of the problem.
pub fn check(template: &str) -> Result<(), TemplateError> {
    within_bounds(template)?;
    bounds::on_compile_stack(|| {
        environment().template_from_str(template)?;
        Ok(())
    })
}

/// The top-level variables `template` reads, sorted, without the template language's own
/// globals (`range`, `dict`, `namespace`, ...); empty if it does not parse. Names assigned
/// within the template (`set`, loop variables) are not included.
pub fn referenced_roots(template: &str) -> Vec<String> {
    undeclared(template, false)
}

/// The dotted attribute chains `template` reads from its variables, e.g.
/// `fetch.output.items` for `{{ fetch.output.items[0] }}`, sorted; a chain ends at the first
/// lookup that is not a plain attribute. Empty if it does not parse.
pub fn referenced_paths(template: &str) -> Vec<String> {
    undeclared(template, true)
}

fn undeclared(template: &str, nested: bool) -> Vec<String> {
    if within_bounds(template).is_err() {
        return Vec::new();
    }
    bounds::on_compile_stack(|| undeclared_bounded(template, nested))
}

fn undeclared_bounded(template: &str, nested: bool) -> Vec<String> {
    let env = environment();
    let Ok(compiled) = env.template_from_str(template) else {
        return Vec::new();
    };
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    let mut names: Vec<String> = compiled
        .undeclared_variables(nested)
        .into_iter()
        .filter(|name| {
            let root = name.split('.').next().unwrap_or_default();
            !globals.contains(root)
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Value {
        json!({
            "fetch": { "output": { "name": "Ada", "items": [ { "price": 2 } ],
                                   "meta": { "ok": true } } },
            "input": { "customer": "c-1" }
        })
    }

    #[test]
    fn a_template_renders_upstream_outputs_and_the_execution_input() {
        let text = render(
            "Order for {{ fetch.output.name }} ({{ input.customer }}), first price {{ \
             fetch.output.items[0].price }}",
            &context(),
        )
        .unwrap();
        assert_eq!(text, "Order for Ada (c-1), first price 2");
    }

    #[test]
    fn objects_arrays_booleans_and_null_render_as_json() {
        let text = render(
            "{{ fetch.output.meta }} {{ fetch.output.items }} {{ true }} {{ none }}",
            &context(),
        )
        .unwrap();
        assert_eq!(text, r#"{"ok":true} [{"price":2}] true null"#);
    }

    #[test]
    fn a_template_that_references_nothing_known_fails() {
        let error = render("Hello {{ nobody }}", &context()).unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Undefined);
        assert!(error.message.contains("`nobody`"), "{error}");
        assert_eq!(error.line, Some(1));
    }

    #[test]
    fn a_missing_field_is_an_error_naming_its_path() {
        let error = render("{{ fetch.output.total }}", &context()).unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Undefined);
        assert!(error.message.contains("`fetch.output.total`"), "{error}");
        let error = render("{% if fetch.output.nope %}x{% endif %}", &context()).unwrap_err();
        assert!(error.message.contains("`fetch.output.nope`"), "{error}");
    }

    #[test]
    fn a_default_or_defined_test_handles_missing_values_explicitly() {
        let text = render(
            "{{ fetch.output.total | default('n/a') }} {{ fetch.output.total is defined }}",
            &context(),
        )
        .unwrap();
        assert_eq!(text, "n/a false");
    }

    #[test]
    fn a_syntax_error_is_reported_with_its_line_by_check_and_render() {
        let error = check("line one\n{{ fetch.output.name + }}").unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Syntax);
        assert_eq!(error.line, Some(2));
        assert!(error.to_string().contains("(line 2)"), "{error}");
        assert_eq!(
            render("{% if %}", &context()).unwrap_err().kind,
            TemplateErrorKind::Syntax
        );
        assert_eq!(check("plain {{ text }}"), Ok(()));
    }

    #[test]
    fn a_template_cannot_load_other_templates() {
        let error = render("{% include 'secrets.txt' %}", &context()).unwrap_err();
        assert!(error.message.contains("secrets.txt"), "{error}");
        assert!(render("{% extends '/etc/passwd' %}", &context()).is_err());
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let error = render("{{ 'x' * 100000000 }}", &context()).unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Limit, "{error}");
        let error = render(
            "{% for i in range(10000) %}{% for j in range(10000) %}.{% endfor %}{% endfor %}",
            &context(),
        )
        .unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Limit, "{error}");
    }

    #[test]
    fn printing_a_large_value_many_times_runs_out_of_fuel() {
        let big = json!({ "blob": { "output": "x".repeat(100_000) } });
        let error = render(
            "{% for i in range(1000) %}{{ blob.output }}{% endfor %}",
            &big,
        )
        .unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Limit, "{error}");
    }

    #[test]
    fn recursive_macros_hit_the_recursion_limit() {
        let error = render(
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            &context(),
        )
        .unwrap_err();
        assert_eq!(error.kind, TemplateErrorKind::Limit, "{error}");
    }

    #[test]
    fn referenced_roots_lists_top_level_names_without_globals_or_locals() {
        let template = "{% set x = 1 %}{{ x }}{{ fetch.output.a }}{{ input.q }}\
                        {% for i in range(3) %}{{ i }}{{ loop.index }}{% endfor %}{{ b | upper }}";
        assert_eq!(referenced_roots(template), ["b", "fetch", "input"]);
        assert!(referenced_roots("{{ broken").is_empty());
    }

    #[test]
    fn referenced_paths_lists_attribute_chains() {
        assert_eq!(
            referenced_paths("{{ fetch.output.items[0].price }} {{ input.q }} {{ a }}"),
            ["a", "fetch.output.items", "input.q"]
        );
    }
}
