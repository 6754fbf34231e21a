/** The GraphQL the live view sends. */
import { graphql } from "../gql";

export const ExecutionEventsSubscription = graphql(`
  subscription ExecutionEvents($executionId: ID!, $afterSequence: Int) {
    executionEvents(executionId: $executionId, afterSequence: $afterSequence) {
      sequence
      kind
      at
      nodeId
      nodeName
      attempt
      error
      errorCode
      willRetry
      retryDelayMs
      durationMs
      status
      totalDurationMs
    }
  }
`);

export const StopExecutionMutation = graphql(`
  mutation StopExecution($input: StopExecutionInput!) {
    stopExecution(input: $input) {
      id
      status
    }
  }
`);
