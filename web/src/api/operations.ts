/**
 * Every GraphQL operation the studio sends. Typed by GraphQL Code Generator from
 * `schema.graphql` (`npm run codegen`), so a schema change breaks the build, not the user.
 */
import { graphql } from "../gql";

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      name
      email
      role
    }
  }
`);

export const WorkflowsQuery = graphql(`
  query Workflows {
    workflows(first: 100) {
      edges {
        node {
          id
          name
          description
          version
          updatedAt
          myRole
        }
      }
    }
  }
`);

export const CreateWorkflowMutation = graphql(`
  mutation CreateWorkflow($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) {
      id
      name
      version
    }
  }
`);

export const RenameWorkflowMutation = graphql(`
  mutation RenameWorkflow($input: UpdateWorkflowInput!) {
    updateWorkflow(input: $input) {
      id
      name
      version
    }
  }
`);

export const DeleteWorkflowMutation = graphql(`
  mutation DeleteWorkflow($input: DeleteWorkflowInput!) {
    deleteWorkflow(input: $input) {
      deletedId
    }
  }
`);

export const PaletteItemFields = graphql(`
  fragment PaletteItemFields on PaletteItemRef {
    nodeType
    toolId
    at
    tool {
      id
      uuid
      name
    }
  }
`);

export const EditorQuery = graphql(`
  query Editor($id: ID!) {
    workflow(id: $id) {
      id
      name
      version
      document
      myRole
    }
    nodeTypes {
      type
      category
      icon
      description
      inputSchema
      outputSchema
      configSchema
      handles
    }
  }
`);

/** One page of the caller's tools for the palette (pages keep each query under the complexity limit). */
export const PaletteToolsQuery = graphql(`
  query PaletteTools($after: String) {
    tools(first: 50, after: $after) {
      edges {
        node {
          id
          uuid
          name
          description
          category
          icon
          kind
          inputSchema
          outputSchema
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** Separate from the editor's query, so the editor works even if this part fails. */
export const PaletteRefsQuery = graphql(`
  query PaletteRefs {
    viewer {
      id
      favoriteTools {
        ...PaletteItemFields
      }
      recentTools {
        ...PaletteItemFields
      }
    }
  }
`);

export const SaveWorkflowMutation = graphql(`
  mutation SaveWorkflow($input: UpdateWorkflowInput!) {
    updateWorkflow(input: $input) {
      id
      version
      document
    }
  }
`);

export const LatestVersionQuery = graphql(`
  query LatestVersion($id: ID!) {
    workflow(id: $id) {
      id
      version
      updatedAt
      versions(first: 1) {
        edges {
          node {
            version
            createdAt
            createdBy {
              name
              email
            }
          }
        }
      }
    }
  }
`);

export const ValidateWorkflowQuery = graphql(`
  query ValidateWorkflow($document: JSON!) {
    validateWorkflow(document: $document) {
      valid
      problems {
        path
        message
      }
    }
  }
`);

export const ExecuteWorkflowMutation = graphql(`
  mutation ExecuteWorkflow($id: ID!, $input: JSON!) {
    executeWorkflow(id: $id, input: $input, wait: true) {
      id
      status
      output
      error
      nodeRuns {
        nodeId
        status
        output
        error
      }
    }
  }
`);

export const SetToolFavoriteMutation = graphql(`
  mutation SetToolFavorite($input: SetToolFavoriteInput!) {
    setToolFavorite(input: $input) {
      ...PaletteItemFields
    }
  }
`);

export const RecordToolPlacementMutation = graphql(`
  mutation RecordToolPlacement($input: RecordToolPlacementInput!) {
    recordToolPlacement(input: $input) {
      ...PaletteItemFields
    }
  }
`);
