/**
 * One urql client for the app: HTTP for queries and mutations, graphql-ws (`/graphql/ws`,
 * token in `connection_init`) for subscriptions. The map exchange is the single place that
 * reacts to the two cross-cutting failures: UNAUTHENTICATED drops the token (the router then
 * shows sign-in, drafts stay), a network error raises the "server unreachable" banner.
 */
import { Client, fetchExchange, mapExchange, subscriptionExchange } from "urql";
import { createClient as createWsClient } from "graphql-ws";
import { clearToken, readToken } from "../auth/token";
import { serverStatus } from "./serverStatus";

function wsUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss:" : "ws:"}//${host}/graphql/ws`;
}

export function createApiClient(): Client {
  const ws = createWsClient({
    url: wsUrl(),
    lazy: true,
    connectionParams: () => {
      const token = readToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
  });
  return new Client({
    url: "/graphql",
    requestPolicy: "cache-and-network",
    // `GET /graphql` is GraphiQL; every operation is a POST.
    preferGetMethod: false,
    fetchOptions: (): RequestInit => {
      const token = readToken();
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
      return { headers };
    },
    exchanges: [
      mapExchange({
        onResult(result) {
          if (!result.error?.networkError) serverStatus.markReachable();
          return result;
        },
        onError(error) {
          if (error.networkError) {
            serverStatus.markUnreachable();
            return;
          }
          const unauthenticated = error.graphQLErrors.some(
            (e) => (e.extensions as { code?: unknown } | undefined)?.code === "UNAUTHENTICATED",
          );
          if (unauthenticated) clearToken();
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}
