// Types for every GraphQL operation the studio sends, generated from the server's SDL
// (`../schema.graphql`, itself checked against `weft schema`). `npm run codegen` rewrites
// `src/gql/`; `npm run check` fails when the committed output is stale.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: ["../schema.graphql", "schema.pending.graphql"],
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: true,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { JSON: "unknown", DateTime: "string", ID: "string" },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
