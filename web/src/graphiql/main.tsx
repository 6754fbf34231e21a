/**
 * GraphiQL from the local `graphiql` package (no CDN), served by `weft` at `GET /graphql`. The
 * studio's token, when signed in, is prefilled as the Authorization header.
 */
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";

const { protocol, host } = window.location;
const fetcher = createGraphiQLFetcher({
  url: "/graphql",
  subscriptionUrl: `${protocol === "https:" ? "wss:" : "ws:"}//${host}/graphql/ws`,
});
const token = localStorage.getItem("weft.token");
const headers = token ? JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2) : undefined;

const root = document.getElementById("graphiql");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <GraphiQL fetcher={fetcher} initialHeaders={headers} />
    </StrictMode>,
  );
}
