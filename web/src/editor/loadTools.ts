/** Every tool the caller may use, page by page (a single page is capped by query complexity). */
import type { Client } from "urql";
import { PaletteToolsQuery } from "../api/operations";
import type { PaletteToolsQuery as Result } from "../gql/graphql";

export type PaletteTool = Result["tools"]["edges"][number]["node"];

const MAX_PAGES = 40;

export async function loadAllTools(client: Client): Promise<PaletteTool[]> {
  const tools: PaletteTool[] = [];
  let after: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await client.query(PaletteToolsQuery, { after }, { requestPolicy: "network-only" }).toPromise();
    if (result.error) throw result.error;
    if (!result.data) break;
    tools.push(...result.data.tools.edges.map((e) => e.node));
    if (!result.data.tools.pageInfo.hasNextPage) break;
    after = result.data.tools.pageInfo.endCursor ?? null;
  }
  return tools;
}
