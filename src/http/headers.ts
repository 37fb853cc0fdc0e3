import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * Tokens live in the SPA's localStorage, so one injected script would be game over: scripts only from
 * this origin, never inline (Vite's build emits none); no framing (clickjacking); no referrer (URLs can
 * carry the setup token). Styles may be inline: toasts and the canvas set them at runtime. Images may
 * come from anywhere: service icons are URLs the user chose.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https: http:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** onRequest: the security headers every response carries (SPA, API, docs, errors). */
export function setSecurityHeaders(req: FastifyRequest, reply: FastifyReply): void {
  reply.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  reply.header("X-Frame-Options", "DENY");
  reply.header("Referrer-Policy", "no-referrer");
  reply.header("X-Content-Type-Options", "nosniff");
  reply.header("Cross-Origin-Opener-Policy", "same-origin");
  // Only over HTTPS (directly, or via a trusted proxy's X-Forwarded-Proto): a browser ignores it on HTTP,
  // and an instance reached by plain HTTP must stay reachable.
  if (req.protocol === "https") reply.header("Strict-Transport-Security", "max-age=31536000");
}
