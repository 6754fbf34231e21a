/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Viewer {\n    viewer {\n      id\n      name\n      email\n      role\n    }\n  }\n": typeof types.ViewerDocument,
    "\n  query Workflows {\n    workflows(first: 100) {\n      edges {\n        node {\n          id\n          name\n          description\n          version\n          updatedAt\n          myRole\n        }\n      }\n    }\n  }\n": typeof types.WorkflowsDocument,
    "\n  mutation CreateWorkflow($input: CreateWorkflowInput!) {\n    createWorkflow(input: $input) {\n      id\n      name\n      version\n    }\n  }\n": typeof types.CreateWorkflowDocument,
    "\n  mutation RenameWorkflow($input: UpdateWorkflowInput!) {\n    updateWorkflow(input: $input) {\n      id\n      name\n      version\n    }\n  }\n": typeof types.RenameWorkflowDocument,
    "\n  mutation DeleteWorkflow($input: DeleteWorkflowInput!) {\n    deleteWorkflow(input: $input) {\n      deletedId\n    }\n  }\n": typeof types.DeleteWorkflowDocument,
    "\n  fragment PaletteItemFields on PaletteItemRef {\n    nodeType\n    toolId\n    at\n    tool {\n      id\n      uuid\n      name\n    }\n  }\n": typeof types.PaletteItemFieldsFragmentDoc,
    "\n  query Editor($id: ID!) {\n    workflow(id: $id) {\n      id\n      name\n      version\n      document\n      myRole\n    }\n    nodeTypes {\n      type\n      category\n      icon\n      description\n      inputSchema\n      outputSchema\n      configSchema\n      handles\n    }\n  }\n": typeof types.EditorDocument,
    "\n  query PaletteTools($after: String) {\n    tools(first: 50, after: $after) {\n      edges {\n        node {\n          id\n          uuid\n          name\n          description\n          category\n          icon\n          kind\n          inputSchema\n          outputSchema\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.PaletteToolsDocument,
    "\n  query PaletteRefs {\n    viewer {\n      id\n      favoriteTools {\n        ...PaletteItemFields\n      }\n      recentTools {\n        ...PaletteItemFields\n      }\n    }\n  }\n": typeof types.PaletteRefsDocument,
    "\n  mutation SaveWorkflow($input: UpdateWorkflowInput!) {\n    updateWorkflow(input: $input) {\n      id\n      version\n      document\n    }\n  }\n": typeof types.SaveWorkflowDocument,
    "\n  query LatestVersion($id: ID!) {\n    workflow(id: $id) {\n      id\n      version\n      updatedAt\n      versions(first: 1) {\n        edges {\n          node {\n            version\n            createdAt\n            createdBy {\n              name\n              email\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.LatestVersionDocument,
    "\n  query ValidateWorkflow($document: JSON!) {\n    validateWorkflow(document: $document) {\n      valid\n      problems {\n        path\n        message\n      }\n    }\n  }\n": typeof types.ValidateWorkflowDocument,
    "\n  mutation ExecuteWorkflow($id: ID!, $input: JSON!) {\n    executeWorkflow(id: $id, input: $input, wait: true) {\n      id\n      status\n      output\n      error\n      nodeRuns {\n        nodeId\n        status\n        output\n        error\n      }\n    }\n  }\n": typeof types.ExecuteWorkflowDocument,
    "\n  mutation SetToolFavorite($input: SetToolFavoriteInput!) {\n    setToolFavorite(input: $input) {\n      ...PaletteItemFields\n    }\n  }\n": typeof types.SetToolFavoriteDocument,
    "\n  mutation RecordToolPlacement($input: RecordToolPlacementInput!) {\n    recordToolPlacement(input: $input) {\n      ...PaletteItemFields\n    }\n  }\n": typeof types.RecordToolPlacementDocument,
    "\n  query Executions(\n    $first: Int\n    $after: String\n    $status: ExecutionStatus\n    $workflowId: ID\n    $startedAfter: DateTime\n    $startedBefore: DateTime\n    $text: String\n  ) {\n    executions(\n      first: $first\n      after: $after\n      status: $status\n      workflowId: $workflowId\n      startedAfter: $startedAfter\n      startedBefore: $startedBefore\n      text: $text\n    ) {\n      edges {\n        cursor\n        node {\n          id\n          status\n          triggerKind\n          startedAt\n          durationMs\n          error\n          workflow {\n            id\n            name\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      searchResumeCursor\n    }\n  }\n": typeof types.ExecutionsDocument,
    "\n  query Execution($id: ID!) {\n    execution(id: $id) {\n      id\n      status\n      triggerKind\n      replayOf\n      workflowVersion\n      input\n      output\n      error\n      startedAt\n      finishedAt\n      durationMs\n      workflow {\n        id\n        name\n        document\n      }\n      nodeRuns {\n        nodeId\n        nodeType\n        attempt\n        status\n        input\n        output\n        error\n        errorDetail {\n          code\n          message\n          retryable\n          cause\n        }\n        startedAt\n        finishedAt\n        durationMs\n      }\n    }\n  }\n": typeof types.ExecutionDocument,
    "\n  mutation ReplayExecution($input: ReplayExecutionInput!) {\n    replayExecution(input: $input) {\n      id\n      status\n    }\n  }\n": typeof types.ReplayExecutionDocument,
    "\n  mutation RetryExecution($input: RetryExecutionInput!) {\n    retryExecution(input: $input) {\n      id\n      status\n    }\n  }\n": typeof types.RetryExecutionDocument,
    "\n  subscription ExecutionEvents($executionId: ID!, $afterSequence: Int) {\n    executionEvents(executionId: $executionId, afterSequence: $afterSequence) {\n      sequence\n      kind\n      at\n      nodeId\n      nodeName\n      attempt\n      error\n      errorCode\n      willRetry\n      retryDelayMs\n      durationMs\n      status\n      totalDurationMs\n    }\n  }\n": typeof types.ExecutionEventsDocument,
    "\n  mutation StopExecution($input: StopExecutionInput!) {\n    stopExecution(input: $input) {\n      id\n      status\n    }\n  }\n": typeof types.StopExecutionDocument,
    "\n  query NodeMapping($document: JSON!, $nodeId: String!) {\n    nodeMapping(document: $document, nodeId: $nodeId) {\n      nodeId\n      inputs {\n        name\n        schema\n        required\n        default\n        description\n        binding\n        sourceType\n        targetType\n        verdict {\n          status\n          reason\n          path\n        }\n      }\n      upstream {\n        nodeId\n        nodeName\n        nodeType\n        fields {\n          ref\n          name\n          type\n          depth\n          description\n        }\n      }\n      problems {\n        path\n        message\n      }\n    }\n  }\n": typeof types.NodeMappingDocument,
    "\n  query PreviewMapping($input: PreviewMappingInput!) {\n    previewMapping(input: $input) {\n      value\n      error\n      sampleSource\n      verdict {\n        status\n        reason\n        path\n      }\n    }\n  }\n": typeof types.PreviewMappingDocument,
    "\n  query PanelValidation($document: JSON!) {\n    validateWorkflow(document: $document) {\n      valid\n      problems {\n        path\n        message\n      }\n    }\n  }\n": typeof types.PanelValidationDocument,
};
const documents: Documents = {
    "\n  query Viewer {\n    viewer {\n      id\n      name\n      email\n      role\n    }\n  }\n": types.ViewerDocument,
    "\n  query Workflows {\n    workflows(first: 100) {\n      edges {\n        node {\n          id\n          name\n          description\n          version\n          updatedAt\n          myRole\n        }\n      }\n    }\n  }\n": types.WorkflowsDocument,
    "\n  mutation CreateWorkflow($input: CreateWorkflowInput!) {\n    createWorkflow(input: $input) {\n      id\n      name\n      version\n    }\n  }\n": types.CreateWorkflowDocument,
    "\n  mutation RenameWorkflow($input: UpdateWorkflowInput!) {\n    updateWorkflow(input: $input) {\n      id\n      name\n      version\n    }\n  }\n": types.RenameWorkflowDocument,
    "\n  mutation DeleteWorkflow($input: DeleteWorkflowInput!) {\n    deleteWorkflow(input: $input) {\n      deletedId\n    }\n  }\n": types.DeleteWorkflowDocument,
    "\n  fragment PaletteItemFields on PaletteItemRef {\n    nodeType\n    toolId\n    at\n    tool {\n      id\n      uuid\n      name\n    }\n  }\n": types.PaletteItemFieldsFragmentDoc,
    "\n  query Editor($id: ID!) {\n    workflow(id: $id) {\n      id\n      name\n      version\n      document\n      myRole\n    }\n    nodeTypes {\n      type\n      category\n      icon\n      description\n      inputSchema\n      outputSchema\n      configSchema\n      handles\n    }\n  }\n": types.EditorDocument,
    "\n  query PaletteTools($after: String) {\n    tools(first: 50, after: $after) {\n      edges {\n        node {\n          id\n          uuid\n          name\n          description\n          category\n          icon\n          kind\n          inputSchema\n          outputSchema\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.PaletteToolsDocument,
    "\n  query PaletteRefs {\n    viewer {\n      id\n      favoriteTools {\n        ...PaletteItemFields\n      }\n      recentTools {\n        ...PaletteItemFields\n      }\n    }\n  }\n": types.PaletteRefsDocument,
    "\n  mutation SaveWorkflow($input: UpdateWorkflowInput!) {\n    updateWorkflow(input: $input) {\n      id\n      version\n      document\n    }\n  }\n": types.SaveWorkflowDocument,
    "\n  query LatestVersion($id: ID!) {\n    workflow(id: $id) {\n      id\n      version\n      updatedAt\n      versions(first: 1) {\n        edges {\n          node {\n            version\n            createdAt\n            createdBy {\n              name\n              email\n            }\n          }\n        }\n      }\n    }\n  }\n": types.LatestVersionDocument,
    "\n  query ValidateWorkflow($document: JSON!) {\n    validateWorkflow(document: $document) {\n      valid\n      problems {\n        path\n        message\n      }\n    }\n  }\n": types.ValidateWorkflowDocument,
    "\n  mutation ExecuteWorkflow($id: ID!, $input: JSON!) {\n    executeWorkflow(id: $id, input: $input, wait: true) {\n      id\n      status\n      output\n      error\n      nodeRuns {\n        nodeId\n        status\n        output\n        error\n      }\n    }\n  }\n": types.ExecuteWorkflowDocument,
    "\n  mutation SetToolFavorite($input: SetToolFavoriteInput!) {\n    setToolFavorite(input: $input) {\n      ...PaletteItemFields\n    }\n  }\n": types.SetToolFavoriteDocument,
    "\n  mutation RecordToolPlacement($input: RecordToolPlacementInput!) {\n    recordToolPlacement(input: $input) {\n      ...PaletteItemFields\n    }\n  }\n": types.RecordToolPlacementDocument,
    "\n  query Executions(\n    $first: Int\n    $after: String\n    $status: ExecutionStatus\n    $workflowId: ID\n    $startedAfter: DateTime\n    $startedBefore: DateTime\n    $text: String\n  ) {\n    executions(\n      first: $first\n      after: $after\n      status: $status\n      workflowId: $workflowId\n      startedAfter: $startedAfter\n      startedBefore: $startedBefore\n      text: $text\n    ) {\n      edges {\n        cursor\n        node {\n          id\n          status\n          triggerKind\n          startedAt\n          durationMs\n          error\n          workflow {\n            id\n            name\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      searchResumeCursor\n    }\n  }\n": types.ExecutionsDocument,
    "\n  query Execution($id: ID!) {\n    execution(id: $id) {\n      id\n      status\n      triggerKind\n      replayOf\n      workflowVersion\n      input\n      output\n      error\n      startedAt\n      finishedAt\n      durationMs\n      workflow {\n        id\n        name\n        document\n      }\n      nodeRuns {\n        nodeId\n        nodeType\n        attempt\n        status\n        input\n        output\n        error\n        errorDetail {\n          code\n          message\n          retryable\n          cause\n        }\n        startedAt\n        finishedAt\n        durationMs\n      }\n    }\n  }\n": types.ExecutionDocument,
    "\n  mutation ReplayExecution($input: ReplayExecutionInput!) {\n    replayExecution(input: $input) {\n      id\n      status\n    }\n  }\n": types.ReplayExecutionDocument,
    "\n  mutation RetryExecution($input: RetryExecutionInput!) {\n    retryExecution(input: $input) {\n      id\n      status\n    }\n  }\n": types.RetryExecutionDocument,
    "\n  subscription ExecutionEvents($executionId: ID!, $afterSequence: Int) {\n    executionEvents(executionId: $executionId, afterSequence: $afterSequence) {\n      sequence\n      kind\n      at\n      nodeId\n      nodeName\n      attempt\n      error\n      errorCode\n      willRetry\n      retryDelayMs\n      durationMs\n      status\n      totalDurationMs\n    }\n  }\n": types.ExecutionEventsDocument,
    "\n  mutation StopExecution($input: StopExecutionInput!) {\n    stopExecution(input: $input) {\n      id\n      status\n    }\n  }\n": types.StopExecutionDocument,
    "\n  query NodeMapping($document: JSON!, $nodeId: String!) {\n    nodeMapping(document: $document, nodeId: $nodeId) {\n      nodeId\n      inputs {\n        name\n        schema\n        required\n        default\n        description\n        binding\n        sourceType\n        targetType\n        verdict {\n          status\n          reason\n          path\n        }\n      }\n      upstream {\n        nodeId\n        nodeName\n        nodeType\n        fields {\n          ref\n          name\n          type\n          depth\n          description\n        }\n      }\n      problems {\n        path\n        message\n      }\n    }\n  }\n": types.NodeMappingDocument,
    "\n  query PreviewMapping($input: PreviewMappingInput!) {\n    previewMapping(input: $input) {\n      value\n      error\n      sampleSource\n      verdict {\n        status\n        reason\n        path\n      }\n    }\n  }\n": types.PreviewMappingDocument,
    "\n  query PanelValidation($document: JSON!) {\n    validateWorkflow(document: $document) {\n      valid\n      problems {\n        path\n        message\n      }\n    }\n  }\n": types.PanelValidationDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer {\n      id\n      name\n      email\n      role\n    }\n  }\n"): (typeof documents)["\n  query Viewer {\n    viewer {\n      id\n      name\n      email\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Workflows {\n    workflows(first: 100) {\n      edges {\n        node {\n          id\n          name\n          description\n          version\n          updatedAt\n          myRole\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Workflows {\n    workflows(first: 100) {\n      edges {\n        node {\n          id\n          name\n          description\n          version\n          updatedAt\n          myRole\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateWorkflow($input: CreateWorkflowInput!) {\n    createWorkflow(input: $input) {\n      id\n      name\n      version\n    }\n  }\n"): (typeof documents)["\n  mutation CreateWorkflow($input: CreateWorkflowInput!) {\n    createWorkflow(input: $input) {\n      id\n      name\n      version\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RenameWorkflow($input: UpdateWorkflowInput!) {\n    updateWorkflow(input: $input) {\n      id\n      name\n      version\n    }\n  }\n"): (typeof documents)["\n  mutation RenameWorkflow($input: UpdateWorkflowInput!) {\n    updateWorkflow(input: $input) {\n      id\n      name\n      version\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteWorkflow($input: DeleteWorkflowInput!) {\n    deleteWorkflow(input: $input) {\n      deletedId\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteWorkflow($input: DeleteWorkflowInput!) {\n    deleteWorkflow(input: $input) {\n      deletedId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment PaletteItemFields on PaletteItemRef {\n    nodeType\n    toolId\n    at\n    tool {\n      id\n      uuid\n      name\n    }\n  }\n"): (typeof documents)["\n  fragment PaletteItemFields on PaletteItemRef {\n    nodeType\n    toolId\n    at\n    tool {\n      id\n      uuid\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Editor($id: ID!) {\n    workflow(id: $id) {\n      id\n      name\n      version\n      document\n      myRole\n    }\n    nodeTypes {\n      type\n      category\n      icon\n      description\n      inputSchema\n      outputSchema\n      configSchema\n      handles\n    }\n  }\n"): (typeof documents)["\n  query Editor($id: ID!) {\n    workflow(id: $id) {\n      id\n      name\n      version\n      document\n      myRole\n    }\n    nodeTypes {\n      type\n      category\n      icon\n      description\n      inputSchema\n      outputSchema\n      configSchema\n      handles\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PaletteTools($after: String) {\n    tools(first: 50, after: $after) {\n      edges {\n        node {\n          id\n          uuid\n          name\n          description\n          category\n          icon\n          kind\n          inputSchema\n          outputSchema\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query PaletteTools($after: String) {\n    tools(first: 50, after: $after) {\n      edges {\n        node {\n          id\n          uuid\n          name\n          description\n          category\n          icon\n          kind\n          inputSchema\n          outputSchema\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PaletteRefs {\n    viewer {\n      id\n      favoriteTools {\n        ...PaletteItemFields\n      }\n      recentTools {\n        ...PaletteItemFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query PaletteRefs {\n    viewer {\n      id\n      favoriteTools {\n        ...PaletteItemFields\n      }\n      recentTools {\n        ...PaletteItemFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SaveWorkflow($input: UpdateWorkflowInput!) {\n    updateWorkflow(input: $input) {\n      id\n      version\n      document\n    }\n  }\n"): (typeof documents)["\n  mutation SaveWorkflow($input: UpdateWorkflowInput!) {\n    updateWorkflow(input: $input) {\n      id\n      version\n      document\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query LatestVersion($id: ID!) {\n    workflow(id: $id) {\n      id\n      version\n      updatedAt\n      versions(first: 1) {\n        edges {\n          node {\n            version\n            createdAt\n            createdBy {\n              name\n              email\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query LatestVersion($id: ID!) {\n    workflow(id: $id) {\n      id\n      version\n      updatedAt\n      versions(first: 1) {\n        edges {\n          node {\n            version\n            createdAt\n            createdBy {\n              name\n              email\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ValidateWorkflow($document: JSON!) {\n    validateWorkflow(document: $document) {\n      valid\n      problems {\n        path\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  query ValidateWorkflow($document: JSON!) {\n    validateWorkflow(document: $document) {\n      valid\n      problems {\n        path\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ExecuteWorkflow($id: ID!, $input: JSON!) {\n    executeWorkflow(id: $id, input: $input, wait: true) {\n      id\n      status\n      output\n      error\n      nodeRuns {\n        nodeId\n        status\n        output\n        error\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ExecuteWorkflow($id: ID!, $input: JSON!) {\n    executeWorkflow(id: $id, input: $input, wait: true) {\n      id\n      status\n      output\n      error\n      nodeRuns {\n        nodeId\n        status\n        output\n        error\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetToolFavorite($input: SetToolFavoriteInput!) {\n    setToolFavorite(input: $input) {\n      ...PaletteItemFields\n    }\n  }\n"): (typeof documents)["\n  mutation SetToolFavorite($input: SetToolFavoriteInput!) {\n    setToolFavorite(input: $input) {\n      ...PaletteItemFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RecordToolPlacement($input: RecordToolPlacementInput!) {\n    recordToolPlacement(input: $input) {\n      ...PaletteItemFields\n    }\n  }\n"): (typeof documents)["\n  mutation RecordToolPlacement($input: RecordToolPlacementInput!) {\n    recordToolPlacement(input: $input) {\n      ...PaletteItemFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Executions(\n    $first: Int\n    $after: String\n    $status: ExecutionStatus\n    $workflowId: ID\n    $startedAfter: DateTime\n    $startedBefore: DateTime\n    $text: String\n  ) {\n    executions(\n      first: $first\n      after: $after\n      status: $status\n      workflowId: $workflowId\n      startedAfter: $startedAfter\n      startedBefore: $startedBefore\n      text: $text\n    ) {\n      edges {\n        cursor\n        node {\n          id\n          status\n          triggerKind\n          startedAt\n          durationMs\n          error\n          workflow {\n            id\n            name\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      searchResumeCursor\n    }\n  }\n"): (typeof documents)["\n  query Executions(\n    $first: Int\n    $after: String\n    $status: ExecutionStatus\n    $workflowId: ID\n    $startedAfter: DateTime\n    $startedBefore: DateTime\n    $text: String\n  ) {\n    executions(\n      first: $first\n      after: $after\n      status: $status\n      workflowId: $workflowId\n      startedAfter: $startedAfter\n      startedBefore: $startedBefore\n      text: $text\n    ) {\n      edges {\n        cursor\n        node {\n          id\n          status\n          triggerKind\n          startedAt\n          durationMs\n          error\n          workflow {\n            id\n            name\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      searchResumeCursor\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Execution($id: ID!) {\n    execution(id: $id) {\n      id\n      status\n      triggerKind\n      replayOf\n      workflowVersion\n      input\n      output\n      error\n      startedAt\n      finishedAt\n      durationMs\n      workflow {\n        id\n        name\n        document\n      }\n      nodeRuns {\n        nodeId\n        nodeType\n        attempt\n        status\n        input\n        output\n        error\n        errorDetail {\n          code\n          message\n          retryable\n          cause\n        }\n        startedAt\n        finishedAt\n        durationMs\n      }\n    }\n  }\n"): (typeof documents)["\n  query Execution($id: ID!) {\n    execution(id: $id) {\n      id\n      status\n      triggerKind\n      replayOf\n      workflowVersion\n      input\n      output\n      error\n      startedAt\n      finishedAt\n      durationMs\n      workflow {\n        id\n        name\n        document\n      }\n      nodeRuns {\n        nodeId\n        nodeType\n        attempt\n        status\n        input\n        output\n        error\n        errorDetail {\n          code\n          message\n          retryable\n          cause\n        }\n        startedAt\n        finishedAt\n        durationMs\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ReplayExecution($input: ReplayExecutionInput!) {\n    replayExecution(input: $input) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation ReplayExecution($input: ReplayExecutionInput!) {\n    replayExecution(input: $input) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryExecution($input: RetryExecutionInput!) {\n    retryExecution(input: $input) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation RetryExecution($input: RetryExecutionInput!) {\n    retryExecution(input: $input) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ExecutionEvents($executionId: ID!, $afterSequence: Int) {\n    executionEvents(executionId: $executionId, afterSequence: $afterSequence) {\n      sequence\n      kind\n      at\n      nodeId\n      nodeName\n      attempt\n      error\n      errorCode\n      willRetry\n      retryDelayMs\n      durationMs\n      status\n      totalDurationMs\n    }\n  }\n"): (typeof documents)["\n  subscription ExecutionEvents($executionId: ID!, $afterSequence: Int) {\n    executionEvents(executionId: $executionId, afterSequence: $afterSequence) {\n      sequence\n      kind\n      at\n      nodeId\n      nodeName\n      attempt\n      error\n      errorCode\n      willRetry\n      retryDelayMs\n      durationMs\n      status\n      totalDurationMs\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StopExecution($input: StopExecutionInput!) {\n    stopExecution(input: $input) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation StopExecution($input: StopExecutionInput!) {\n    stopExecution(input: $input) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NodeMapping($document: JSON!, $nodeId: String!) {\n    nodeMapping(document: $document, nodeId: $nodeId) {\n      nodeId\n      inputs {\n        name\n        schema\n        required\n        default\n        description\n        binding\n        sourceType\n        targetType\n        verdict {\n          status\n          reason\n          path\n        }\n      }\n      upstream {\n        nodeId\n        nodeName\n        nodeType\n        fields {\n          ref\n          name\n          type\n          depth\n          description\n        }\n      }\n      problems {\n        path\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  query NodeMapping($document: JSON!, $nodeId: String!) {\n    nodeMapping(document: $document, nodeId: $nodeId) {\n      nodeId\n      inputs {\n        name\n        schema\n        required\n        default\n        description\n        binding\n        sourceType\n        targetType\n        verdict {\n          status\n          reason\n          path\n        }\n      }\n      upstream {\n        nodeId\n        nodeName\n        nodeType\n        fields {\n          ref\n          name\n          type\n          depth\n          description\n        }\n      }\n      problems {\n        path\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PreviewMapping($input: PreviewMappingInput!) {\n    previewMapping(input: $input) {\n      value\n      error\n      sampleSource\n      verdict {\n        status\n        reason\n        path\n      }\n    }\n  }\n"): (typeof documents)["\n  query PreviewMapping($input: PreviewMappingInput!) {\n    previewMapping(input: $input) {\n      value\n      error\n      sampleSource\n      verdict {\n        status\n        reason\n        path\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PanelValidation($document: JSON!) {\n    validateWorkflow(document: $document) {\n      valid\n      problems {\n        path\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  query PanelValidation($document: JSON!) {\n    validateWorkflow(document: $document) {\n      valid\n      problems {\n        path\n        message\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;