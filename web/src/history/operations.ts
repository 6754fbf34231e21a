/** The GraphQL the history list and the execution view send. */
import { graphql } from "../gql";

export const ExecutionsQuery = graphql(`
  query Executions(
    $first: Int
    $after: String
    $status: ExecutionStatus
    $workflowId: ID
    $startedAfter: DateTime
    $startedBefore: DateTime
    $text: String
  ) {
    executions(
      first: $first
      after: $after
      status: $status
      workflowId: $workflowId
      startedAfter: $startedAfter
      startedBefore: $startedBefore
      text: $text
    ) {
      edges {
        cursor
        node {
          id
          status
          triggerKind
          startedAt
          durationMs
          error
          workflow {
            id
            name
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      searchResumeCursor
    }
  }
`);

export const ExecutionQuery = graphql(`
  query Execution($id: ID!) {
    execution(id: $id) {
      id
      status
      triggerKind
      replayOf
      workflowVersion
      input
      output
      error
      startedAt
      finishedAt
      durationMs
      workflow {
        id
        name
        document
      }
      nodeRuns {
        nodeId
        nodeType
        attempt
        status
        input
        output
        error
        errorDetail {
          code
          message
          retryable
          cause
        }
        startedAt
        finishedAt
        durationMs
      }
    }
  }
`);

export const ReplayExecutionMutation = graphql(`
  mutation ReplayExecution($input: ReplayExecutionInput!) {
    replayExecution(input: $input) {
      id
      status
    }
  }
`);

export const RetryExecutionMutation = graphql(`
  mutation RetryExecution($input: RetryExecutionInput!) {
    retryExecution(input: $input) {
      id
      status
    }
  }
`);
