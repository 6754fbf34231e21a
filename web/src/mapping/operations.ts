/**
 * The GraphQL the panel, the mapping dialog and the expression builder send. Every verdict,
 * problem and preview comes from the server's own checker and mapping engine, so what the
 * studio shows and what a save or a run decides can never disagree.
 */
import { graphql } from "../gql";

export const NodeMappingQuery = graphql(`
  query NodeMapping($document: JSON!, $nodeId: String!) {
    nodeMapping(document: $document, nodeId: $nodeId) {
      nodeId
      inputs {
        name
        schema
        required
        default
        description
        binding
        sourceType
        targetType
        verdict {
          status
          reason
          path
        }
      }
      upstream {
        nodeId
        nodeName
        nodeType
        fields {
          ref
          name
          type
          depth
          description
        }
      }
      problems {
        path
        message
      }
    }
  }
`);

export const PreviewMappingQuery = graphql(`
  query PreviewMapping($input: PreviewMappingInput!) {
    previewMapping(input: $input) {
      value
      error
      sampleSource
      verdict {
        status
        reason
        path
      }
    }
  }
`);

export const PanelValidationQuery = graphql(`
  query PanelValidation($document: JSON!) {
    validateWorkflow(document: $document) {
      valid
      problems {
        path
        message
      }
    }
  }
`);
