/**
 * What the end-to-end suite runs against: the real `weft` binary on a fresh SQLite data
 * directory and a free port (admin token from WEFT_ADMIN_TOKEN), and Debian's Chromium driven
 * by playwright-core (Playwright cannot download its own browsers here). Nothing is mocked.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, homedir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const OUTPUT_DIR = resolve(import.meta.dirname, "../e2e-output");

export function weftBinary(): string {
  if (process.env.WEFT_BIN) return process.env.WEFT_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/weft-target");
  return join(target, "debug/weft");
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

export interface Weft {
  baseUrl: string;
  token: string;
  stop(): Promise<void>;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  log(): string;
}

export async function startWeft(): Promise<Weft> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "weft-e2e-"));
  const token = `weft_${randomBytes(24).toString("hex")}`;
  const baseUrl = `http://127.0.0.1:${port}`;
  let output = "";
  const child: ChildProcess = spawn(weftBinary(), ["serve"], {
    env: { ...process.env, WEFT_LISTEN: `127.0.0.1:${port}`, WEFT_DATA_DIR: dataDir, WEFT_ADMIN_TOKEN: token, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));

  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`weft exited early:\n${output}`);
    try {
      const r = await fetch(`${baseUrl}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (i > 600) throw new Error(`weft did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    baseUrl,
    token,
    log: () => output,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
    async gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const r = await fetch(`${baseUrl}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await r.json()) as { data?: T; errors?: unknown[] };
      if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
      return body.data as T;
    },
  };
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function startBrowser(): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), "weft-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.WEFT_CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

let shot = 0;
/** Saves a numbered screenshot of the page into web/e2e-output/ (gitignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  shot += 1;
  await page.screenshot({ path: join(OUTPUT_DIR, `${String(shot).padStart(2, "0")}-${name}.png`) });
}
