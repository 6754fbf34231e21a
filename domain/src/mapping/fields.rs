//! An output schema as the flat list of fields a `ref` can point at, for the parameter
//! mapping dialog's tree.
//!
//! The list is in pre-order (a field, then its children), each entry carrying the `ref` that
//! reads it, so the client never builds a ref itself and never builds one the checker would
//! read differently: types are named by the same function the save-time checker uses. A
//! schema is user data and may be huge or self-referential (`$ref` cycles), so the walk is
//! bounded in depth and in count and says when it stopped early.

use serde_json::Value;

use super::typecheck::{deref, type_name};

/// Deepest field listed below a node's output (the output itself is depth 0).
pub const MAX_FIELD_DEPTH: usize = 6;
/// Most fields listed for one node's output.
pub const MAX_FIELDS: usize = 200;

/// One field of an output schema.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputField {
    /// A binding's `ref` that reads this field, e.g. `fetch.output.items.0`.
    pub reference: String,
    /// The last segment (`output` for the whole output).
    pub name: String,
    /// The type as the checker names it; `any` when the schema does not say.
    pub type_name: String,
    /// 0 for the whole output, 1 for its top-level fields, ...
    pub depth: usize,
    pub description: Option<String>,
}

/// The fields of `node_id`'s output schema, pre-order, and whether the list was cut at
/// [`MAX_FIELDS`] or [`MAX_FIELD_DEPTH`].
pub fn output_fields(node_id: &str, schema: &Value) -> (Vec<OutputField>, bool) {
    let mut walk = FieldWalk {
        root: schema,
        fields: Vec::new(),
        truncated: false,
    };
    walk.visit(format!("{node_id}.output"), "output", schema, 0);
    (walk.fields, walk.truncated)
}

struct FieldWalk<'s> {
    root: &'s Value,
    fields: Vec<OutputField>,
    truncated: bool,
}

impl FieldWalk<'_> {
    fn visit(&mut self, reference: String, name: &str, schema: &Value, depth: usize) {
        if self.fields.len() >= MAX_FIELDS {
            self.truncated = true;
            return;
        }
        let resolved = deref(self.root, schema);
        let description = [schema, resolved]
            .iter()
            .find_map(|s| s.get("description").and_then(Value::as_str))
            .map(str::to_owned);
        self.fields.push(OutputField {
            reference: reference.clone(),
            name: name.to_owned(),
            type_name: type_name(self.root, schema).unwrap_or_else(|| "any".to_owned()),
            depth,
            description,
        });
        let properties = resolved.get("properties").and_then(Value::as_object);
        let items = resolved.get("items").filter(|items| items.is_object());
        if properties.is_none_or(|p| p.is_empty()) && items.is_none() {
            return;
        }
        if depth >= MAX_FIELD_DEPTH {
            self.truncated = true;
            return;
        }
        for (key, child) in properties.into_iter().flatten() {
            // A ref splits on dots, so such a key can only be read by an `expr`.
            if key.is_empty() || key.contains('.') {
                continue;
            }
            self.visit(format!("{reference}.{key}"), key, child, depth + 1);
        }
        if let Some(items) = items {
            // The first element stands for all of them: a ref reads one element.
            self.visit(format!("{reference}.0"), "0", items, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listed(fields: &[OutputField]) -> Vec<(&str, &str, usize)> {
        fields
            .iter()
            .map(|f| (f.reference.as_str(), f.type_name.as_str(), f.depth))
            .collect()
    }

    #[test]
    fn fields_come_in_pre_order_with_refs_ready_to_bind() {
        let schema = json!({
            "type": "object",
            "properties": {
                "items": { "type": "array", "items": { "$ref": "#/$defs/item" } },
                "total": { "type": ["number", "null"], "description": "Sum of prices" },
                "odd.key": { "type": "string" }
            },
            "$defs": { "item": { "type": "object", "properties": {
                "price": { "type": "integer" } } } }
        });
        let (fields, truncated) = output_fields("fetch", &schema);
        assert!(!truncated);
        assert_eq!(
            listed(&fields),
            [
                ("fetch.output", "object", 0),
                ("fetch.output.items", "array", 1),
                ("fetch.output.items.0", "object", 2),
                ("fetch.output.items.0.price", "integer", 3),
                ("fetch.output.total", "null or number", 1),
            ]
        );
        assert_eq!(fields[4].description.as_deref(), Some("Sum of prices"));
        assert_eq!(fields[4].name, "total");
    }

    #[test]
    fn an_untyped_output_is_one_field_of_any_type() {
        let (fields, truncated) = output_fields("start", &json!({}));
        assert_eq!(listed(&fields), [("start.output", "any", 0)]);
        assert!(!truncated);
    }

    #[test]
    fn a_self_referential_schema_stops_at_the_depth_bound() {
        let schema = json!({ "$ref": "#/$defs/node", "$defs": { "node": {
            "type": "object", "properties": { "next": { "$ref": "#/$defs/node" } } } } });
        let (fields, truncated) = output_fields("tree", &schema);
        assert!(truncated);
        assert_eq!(fields.len(), MAX_FIELD_DEPTH + 1);
        assert_eq!(fields.last().unwrap().depth, MAX_FIELD_DEPTH);
    }

    #[test]
    fn a_huge_schema_is_cut_at_the_field_bound() {
        let properties: serde_json::Map<String, Value> = (0..1_000)
            .map(|i| (format!("f{i}"), json!({ "type": "string" })))
            .collect();
        let schema = json!({ "type": "object", "properties": properties });
        let (fields, truncated) = output_fields("wide", &schema);
        assert!(truncated);
        assert_eq!(fields.len(), MAX_FIELDS);
    }
}
