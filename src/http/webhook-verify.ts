import { createHmac, timingSafeEqual } from "node:crypto";
import * as deploykit from "../index.ts";
import type { BuildDeps, Deps } from "./context.ts";

export type WebhookVerdict = { ok: true; provider: "github" | "gitlab" | "gitea" } | { ok: false; reason: string };

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  // Compared at equal length so the time does not tell how much matched.
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Checks a push webhook against the service's secret, in constant time: GitHub's
 * `X-Hub-Signature-256: sha256=<hmac>`, Gitea's `X-Gitea-Signature: <hmac>` (both HMAC-SHA256 of
 * the raw body), or GitLab's `X-Gitlab-Token: <secret>`.
 */
export function verifyWebhook(headers: Record<string, string | string[] | undefined>, body: Buffer, secret: string): WebhookVerdict {
  const hmac = () => createHmac("sha256", secret).update(body).digest("hex");
  const gh = header(headers, "x-hub-signature-256");
  if (gh !== undefined)
    return safeEqual(gh.trim().toLowerCase(), `sha256=${hmac()}`)
      ? { ok: true, provider: "github" }
      : { ok: false, reason: "X-Hub-Signature-256 does not match" };
  const gitea = header(headers, "x-gitea-signature");
  if (gitea !== undefined)
    return safeEqual(gitea.trim().toLowerCase(), hmac())
      ? { ok: true, provider: "gitea" }
      : { ok: false, reason: "X-Gitea-Signature does not match" };
  const gl = header(headers, "x-gitlab-token");
  if (gl !== undefined)
    return safeEqual(gl, secret) ? { ok: true, provider: "gitlab" } : { ok: false, reason: "X-Gitlab-Token does not match" };
  return { ok: false, reason: "unsigned (no X-Hub-Signature-256, X-Gitlab-Token or X-Gitea-Signature)" };
}

/** The ref and new head of a push payload (GitHub, GitLab and Gitea all send `ref` and `after`). */
export function parsePushBody(body: Buffer): deploykit.PushEvent {
  let p: unknown;
  try {
    p = JSON.parse(body.toString("utf8"));
  } catch {
    throw deploykit.errorf(deploykit.EINVALID, "The webhook body is not JSON.");
  }
  const o = (p && typeof p === "object" ? p : {}) as { ref?: unknown; after?: unknown };
  if (typeof o.ref !== "string") throw deploykit.fieldError({ ref: ["A push event has a ref."] });
  return { ref: o.ref, after: typeof o.after === "string" && /^[0-9a-f]{7,64}$/.test(o.after) ? o.after : null };
}

/**
 * The service a webhook names, once its signature checks out. Anything else is 401 and logged (no
 * secret, no body in the log): an unknown service answers like a bad signature, so ids cannot be probed.
 */
export async function verifyWebhookRequest(
  d: Pick<Deps, "services" | "logger">,
  b: BuildDeps,
  serviceID: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  ip: string,
): Promise<deploykit.Service> {
  let svc: deploykit.Service | null = null;
  try {
    svc = await d.services.findServiceByID(serviceID);
  } catch (err) {
    if (deploykit.errorCode(err) !== deploykit.ENOTFOUND) throw err;
  }
  const verdict = svc?.repo_url
    ? verifyWebhook(headers, body, await b.builds.webhookSecret(serviceID))
    : { ok: false as const, reason: "no such git service" };
  if (!verdict.ok) {
    d.logger.warn({ service_id: serviceID, ip, reason: verdict.reason }, "webhook refused");
    throw deploykit.errorf(deploykit.EUNAUTHORIZED, "Invalid webhook signature.");
  }
  d.logger.info({ service_id: serviceID, provider: verdict.provider }, "webhook accepted");
  return svc as deploykit.Service;
}
