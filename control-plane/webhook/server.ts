// HTTPS transport for the admission webhook: POST /mutate, GET /healthz. The decision lives in
// admission.ts; this file only reads bounded bodies, serves TLS and reloads rotated certs.
import { readFileSync, statSync } from "node:fs";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolveOptions, type InjectOptions } from "../../shared/inject/index.js";
import { createLogger, type Logger } from "../../shared/log.js";
import { review } from "./admission.js";

export interface WebhookOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** PEM text, or paths via certFile/keyFile (re-read when they change: Secret rotation). */
  certPem?: string;
  keyPem?: string;
  certFile?: string;
  keyFile?: string;
  inject?: Partial<InjectOptions>;
  /** Largest accepted AdmissionReview body. */
  maxBodyBytes?: number;
  /** How often to look for a rotated certificate on disk. */
  certCheckIntervalMs?: number;
  logger?: Logger;
}

export interface Webhook {
  port: number;
  url: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...(close ? { connection: "close" } : {}),
  });
  res.end(text);
}

function loadTls(opts: WebhookOptions): { cert: string; key: string } {
  if (opts.certPem && opts.keyPem) return { cert: opts.certPem, key: opts.keyPem };
  if (opts.certFile && opts.keyFile) return { cert: readFileSync(opts.certFile, "utf8"), key: readFileSync(opts.keyFile, "utf8") };
  throw new Error("webhook needs certPem+keyPem or certFile+keyFile");
}

export async function startWebhook(opts: WebhookOptions): Promise<Webhook> {
  const log = opts.logger ?? createLogger("webhook");
  const injectOpts = resolveOptions(opts.inject);
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" && req.method === "GET") return send(res, 200, { status: "ok" });
    if (path !== "/mutate") return send(res, 404, { error: "not found", code: "TSMESH_ERR_NOT_FOUND" });
    if (req.method !== "POST") return send(res, 405, { error: "use POST", code: "TSMESH_ERR_METHOD_NOT_ALLOWED" });
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, limit)).toString("utf8"));
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        // Stop reading the rest of an oversized upload: answer and close the connection.
        // Discard the rest so the client reads our answer (closing with unread data would reset
        // the connection and lose it), but cut off a sender that keeps going.
        const cutoff = setTimeout(() => req.destroy(), 1000);
        cutoff.unref();
        req.on("end", () => clearTimeout(cutoff));
        req.resume();
        send(res, 413, { error: `body larger than ${limit} bytes`, code: "TSMESH_ERR_BODY_TOO_LARGE" }, true);
        return;
      }
      return send(res, 400, { error: "body is not valid JSON", code: "TSMESH_ERR_ADMISSION_REVIEW" });
    }
    const outcome = review(body, injectOpts);
    if (!outcome.ok) {
      log.warn("malformed admission review", { code: outcome.code, error: outcome.error });
      return send(res, 400, { error: outcome.error, code: outcome.code });
    }
    log.info("admission review", outcome.summary);
    send(res, 200, outcome.review);
  };

  const tls = loadTls(opts);
  const server = https.createServer({ ...tls, minVersion: "TLSv1.2" }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error("webhook request failed", { error: err instanceof Error ? err : String(err) });
      if (!res.headersSent) send(res, 500, { error: "internal error", code: "TSMESH_ERR_INTERNAL" });
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;

  // Kubernetes Secrets are updated in place; pick up a rotated certificate without a restart.
  let timer: NodeJS.Timeout | undefined;
  if (opts.certFile && opts.keyFile) {
    const files = [opts.certFile, opts.keyFile];
    const stamp = () => files.map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0).join(":");
    let last = stamp();
    timer = setInterval(() => {
      const now = stamp();
      if (now === last) return;
      try {
        server.setSecureContext({ ...loadTls(opts), minVersion: "TLSv1.2" });
        last = now;
        log.info("webhook certificate reloaded");
      } catch (err) {
        log.warn("webhook certificate reload failed; keeping the old one", { error: err as Error });
      }
    }, opts.certCheckIntervalMs ?? 30_000);
    timer.unref();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? "0.0.0.0";
  log.info("webhook listening", { port, host });
  return {
    port,
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (timer) clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
