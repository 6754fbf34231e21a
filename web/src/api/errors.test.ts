import { describe, expect, it } from "vitest";
import { CombinedError } from "urql";
import { GraphQLError } from "graphql";
import { apiError, documentPath, hasCode, nodeIndexOf } from "./errors";

describe("the server's errors in the studio", () => {
  it("reads code, path and every problem of a BAD_USER_INPUT", () => {
    const error = new CombinedError({
      graphQLErrors: [
        new GraphQLError("2 problems", {
          extensions: {
            code: "BAD_USER_INPUT",
            path: "input.document.nodes[1].config.kind",
            problems: [
              { path: "input.document.nodes[1].config.kind", message: "must be one of manual, webhook" },
              { path: "input.document.edges[0].target", message: "no node 'x'" },
            ],
          },
        }),
      ],
    });
    const read = apiError(error);
    expect(read.code).toBe("BAD_USER_INPUT");
    expect(read.problems.map((p) => nodeIndexOf(p.path))).toEqual([1, null]);
    expect(documentPath(read.problems[1]?.path ?? "")).toBe("edges[0].target");
    expect(hasCode(error, "BAD_USER_INPUT")).toBe(true);
    expect(hasCode(error, "CONFLICT")).toBe(false);
  });

  it("turns a network failure into the unreachable message", () => {
    const read = apiError(new CombinedError({ networkError: new Error("fetch failed") }));
    expect(read.network).toBe(true);
    expect(read.message).toMatch(/cannot be reached/);
  });

  it("makes a single-path error a one-problem list", () => {
    const read = apiError(
      new CombinedError({ graphQLErrors: [new GraphQLError("bad", { extensions: { code: "NOT_FOUND", path: "input.toolId" } })] }),
    );
    expect(read.problems).toEqual([{ path: "input.toolId", message: "bad" }]);
  });
});
