use std::path::Path;

/// `schema.graphql` at the repository root is what clients generate types from; it must
/// be exactly what the server serves. Regenerate with `cargo run -p weft -- schema > schema.graphql`.
#[test]
fn schema_graphql_matches_the_served_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let expected = weft::graphql::sdl();
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if actual != expected && std::env::var("WEFT_UPDATE_SCHEMA").is_ok() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        actual == expected,
        "schema.graphql is out of date: run `cargo run -p weft -- schema > schema.graphql` \
         (or the tests with WEFT_UPDATE_SCHEMA=1)"
    );
}

#[test]
fn the_schema_has_the_names_clients_rely_on() {
    let sdl = weft::graphql::sdl();
    for name in [
        "node(id: ID!): Node!",
        "tools(",
        "tool(id: ID!)",
        "workflows(",
        "workflow(id: ID!)",
        "templates(",
        "template(id: ID!)",
        "executions(",
        "execution(id: ID!)",
        "nodeTypes",
        "validateWorkflow(",
        "createTool(",
        "updateTool(",
        "deleteTool(",
        "createWorkflow(",
        "updateWorkflow(",
        "deleteWorkflow(",
        "createTemplate(",
        "instantiateTemplate(",
        "importWorkflow(",
        "exportWorkflow(",
        "shareWorkflow(",
        "createApiKey(",
        "interface Node",
        "type PageInfo",
    ] {
        assert!(sdl.contains(name), "the schema lacks `{name}`");
    }
}
